/*
 * util.c: small helpers shared by every module (allocation, hex, buffers,
 * list items, the child side of a fork).
 * Failure policy: allocation failure is a broken environment we cannot
 * recover from inside a signing pipeline, so it aborts.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "extern.h"

void *
xcalloc(size_t n, size_t sz)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, sz == 0 ? 1 : sz)) == NULL) {
		log_err("out of memory");
		abort();
	}
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL) {
		log_err("out of memory");
		abort();
	}
	return p;
}

size_t
strlcpy_(char *dst, const char *src, size_t dstsz)
{
	size_t	 n = strlen(src);

	if (dstsz > 0) {
		size_t	 c = n < dstsz - 1 ? n : dstsz - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

void
sha256_hex(const void *buf, size_t len, char out[65])
{
	unsigned char	 md[32];
	unsigned int	 mdlen = sizeof(md);

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		log_ssl(LOGL_ERR, "sha256");
		abort();
	}
	hex_encode(md, sizeof(md), out);
}

static void
buf_grow(struct buf *b, size_t need)
{
	unsigned char	*p;
	size_t		 cap;

	if (b->len + need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1)
		cap *= 2;
	if ((p = realloc(b->p, cap)) == NULL) {
		log_err("out of memory");
		abort();
	}
	b->p = p;
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t len)
{
	buf_grow(b, len);
	if (len > 0)
		memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* One DER element at *pp (single-byte tag, definite length). */
int
der_next(const unsigned char **pp, const unsigned char *end,
    unsigned char *tag, const unsigned char **content, size_t *clen)
{
	const unsigned char	*p = *pp;
	size_t			 len = 0, n;

	if (end - p < 2 || (p[0] & 0x1f) == 0x1f)
		return -1;
	*tag = *p++;
	if (*p < 0x80)
		len = *p++;
	else {
		n = *p++ & 0x7f;
		if (n == 0 || n > 4 || (size_t)(end - p) < n)
			return -1;
		while (n-- > 0)
			len = (len << 8) | *p++;
	}
	if ((size_t)(end - p) < len)
		return -1;
	*content = p;
	*clen = len;
	*pp = p + len;
	return 0;
}

void
der_put_hdr(struct buf *b, unsigned char tag, size_t len)
{
	unsigned char	 h[2 + sizeof(size_t)];
	size_t		 n = 0, i;

	h[0] = tag;
	if (len < 0x80) {
		h[1] = (unsigned char)len;
		buf_add(b, h, 2);
		return;
	}
	for (i = len; i > 0; i >>= 8)
		n++;
	h[1] = 0x80 | (unsigned char)n;
	for (i = 0; i < n; i++)
		h[2 + i] = (unsigned char)(len >> (8 * (n - 1 - i)));
	buf_add(b, h, 2 + n);
}

const unsigned char der_standin_spki[DER_STANDIN_SPKI_LEN] = {
	0x30, 0x12, 0x30, 0x0d, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01,
	0x86, 0x8d, 0x1f, 0x01, 0x05, 0x00, 0x03, 0x01, 0x00
};

void
child_reset(void)
{
	struct sigaction	 sa;
	sigset_t		 none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)setpgid(0, 0);
}

const char *
list_item(const char *p, const char **item, size_t *len)
{
	const char	*end, *e;

	while (*p == ' ')
		p++;
	if ((end = strchr(p, ',')) == NULL)
		end = p + strlen(p);
	for (e = end; e > p && e[-1] == ' '; e--)
		continue;
	*item = p;
	*len = (size_t)(e - p);
	return end;
}

int
is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* The code point of the UTF-8 sequence at *p, advancing *p; U+FFFD
 * (one byte consumed) for anything that is not well-formed UTF-8. */
static unsigned long
utf8_next(const unsigned char **p)
{
	const unsigned char	*s = *p;
	unsigned long		 cp, min;
	size_t			 n, i;

	if (s[0] < 0x80) {
		(*p)++;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		goto bad;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		goto bad;
	*p += n;
	return cp;
bad:
	(*p)++;
	return 0xfffd;
}

/* Append s as a JSON string (RFC 8259) in ASCII; NULL as null. */
void
buf_json(struct buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	unsigned long		 cp;

	if (s == NULL) {
		buf_add(b, "null", 4);
		return;
	}
	buf_add(b, "\"", 1);
	while (*p != '\0') {
		cp = utf8_next(&p);
		if (cp == '"' || cp == '\\')
			buf_addf(b, "\\%c", (int)cp);
		else if (cp == '\n')
			buf_add(b, "\\n", 2);
		else if (cp == '\t')
			buf_add(b, "\\t", 2);
		else if (cp == '\r')
			buf_add(b, "\\r", 2);
		else if (cp >= 0x20 && cp < 0x7f)
			buf_addf(b, "%c", (int)cp);
		else if (cp < 0x10000)
			buf_addf(b, "\\u%04lx", cp);
		else {
			cp -= 0x10000;
			buf_addf(b, "\\u%04lx\\u%04lx", 0xd800 + (cp >> 10),
			    0xdc00 + (cp & 0x3ff));
		}
	}
	buf_add(b, "\"", 1);
}
