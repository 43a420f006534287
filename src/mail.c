/*
 * mail.c: notification messages.
 * mail_render() builds an RFC 5322 / MIME message with CRLF line ends:
 * Date, From, To, Cc, Subject (RFC 2047 encoded-words when it is not
 * short plain ASCII), Message-ID, MIME-Version, Auto-Submitted, then
 * either one quoted-printable text/plain part or a multipart/mixed of
 * the text and base64 attachments.  Output is a pure function of the
 * message and the date: the Message-ID and the MIME boundary are hashed
 * from message_id_seed, so the same message rendered again for the same
 * date (a retry after a crash) is the same file byte for byte.
 *
 * A message whose addresses are all ASCII is RFC 5322 with 7-bit headers
 * (display names and subjects that are not plain ASCII as RFC 2047
 * words); one with an RFC 6531 UTF-8 local part in From, To or Cc is an
 * RFC 6532 message: UTF-8 in its headers as it is (display names as
 * quoted-strings where they can be), which needs an MTA with SMTPUTF8.
 *
 * Nothing from the message reaches a header unchecked: a header value
 * with CR, LF or another control character, an address that is not a
 * plain addr-spec (ASCII domain; a UTF-8 local part without C1
 * controls is allowed), an attachment name outside [A-Za-z0-9._-] or
 * text that is not UTF-8 makes mail_render() fail; it never repairs
 * input.  Writing messages to the spool and handing them to the
 * sendmail command is mailspool.c.
 *
 * Failure policy: bad input; mail_render() refuses the message (logged)
 * and its caller decides.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"

#define ADDR_MAX		254
#define LOCAL_MAX		64
#define LINE_SOFT		78	/* RFC 5322 2.1.1 "SHOULD" */
#define QP_LINE			76	/* RFC 2045 6.7 (5) */
#define B64_LINE		76	/* RFC 2045 6.8 */
#define EW_BYTES		42	/* text per encoded-word: 68 columns */
#define CTYPE_MAX		200

static void
str_add(struct buf *out, const char *s)
{
	buf_add(out, s, strlen(s));
}

static const char b64tab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Append base64 of in; with linelen > 0, CRLF after every linelen
 * characters and after the last (partial) line. */
static void
b64_add(struct buf *out, const unsigned char *in, size_t len, size_t linelen)
{
	char		 q[4];
	size_t		 i, col = 0;
	unsigned int	 v;

	for (i = 0; i < len; i += 3) {
		v = (unsigned int)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned int)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		q[0] = b64tab[(v >> 18) & 0x3f];
		q[1] = b64tab[(v >> 12) & 0x3f];
		q[2] = i + 1 < len ? b64tab[(v >> 6) & 0x3f] : '=';
		q[3] = i + 2 < len ? b64tab[v & 0x3f] : '=';
		buf_add(out, q, 4);
		col += 4;
		if (linelen > 0 && col >= linelen) {
			str_add(out, "\r\n");
			col = 0;
		}
	}
	if (linelen > 0 && col > 0)
		str_add(out, "\r\n");
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), 0 if none. */
static size_t
utf8_seq(const unsigned char *s, size_t left)
{
	size_t		 n, i;
	unsigned int	 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * UTF-8 text check.  Header text (lines == 0) admits no control
 * character at all; body text (lines == 1) admits TAB, CR and LF.
 */
static int
valid_text(const char *s, int lines)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 left = strlen(s), n;

	while (left > 0) {
		if (*p < 0x20 || *p == 0x7f) {
			if (!lines || !(*p == '\t' || *p == '\r' ||
			    *p == '\n'))
				return 0;
		}
		if ((n = utf8_seq(p, left)) == 0)
			return 0;
		p += n;
		left -= n;
	}
	return 1;
}

static int
has_linebreak(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") != NULL;
}

/*
 * A plain addr-spec of len bytes: a dot-atom local part of printable
 * ASCII without specials or of UTF-8 characters (RFC 6531 3.3: atext
 * widened by UTF8-non-ascii; no C1 control), one '@', a domain of ASCII
 * LDH labels.  No display names, comments, quoting or address literals.
 * *intl (if not NULL) is set when the local part is not ASCII.
 */
static int
valid_addr(const char *s, size_t len, int *intl)
{
	const unsigned char	*u = (const unsigned char *)s;
	const char		*at;
	size_t			 i, n, llen, label = 0;
	char			 c;

	if (intl != NULL)
		*intl = 0;
	if (len == 0 || len > ADDR_MAX)
		return 0;
	if ((at = memchr(s, '@', len)) == NULL ||
	    memchr(at + 1, '@', len - (size_t)(at - s) - 1) != NULL)
		return 0;
	llen = (size_t)(at - s);
	if (llen == 0 || llen > LOCAL_MAX || s[0] == '.' || s[llen - 1] == '.')
		return 0;
	for (i = 0; i < llen; i += n) {
		c = s[i];
		n = 1;
		if (u[i] >= 0x80) {
			/* U+0080..U+009F are the C1 controls. */
			if ((n = utf8_seq(u + i, llen - i)) == 0 ||
			    (u[i] == 0xc2 && u[i + 1] < 0xa0))
				return 0;
			if (intl != NULL)
				*intl = 1;
			continue;
		}
		if (c <= ' ' || c >= 0x7f || strchr("()<>[]:;@\\,\"", c))
			return 0;
		if (c == '.' && s[i + 1] == '.')
			return 0;
	}
	for (i = llen + 1; i < len; i++) {
		c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c == '-' && label > 0)) {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return label > 0 && s[len - 1] != '-';
}

/* 1 if every address of the message is ASCII (an RFC 5322 message);
 * 0 if one has a UTF-8 local part (an RFC 6532 message, which needs
 * SMTPUTF8 to travel); -1 if one is not an address at all. */
static int
ascii_message(const struct mail_msg *m, const char **which)
{
	const char	*p, *end, *lt;
	size_t		 alen;
	int		 intl, any = 0;

	if ((lt = strchr(m->from, '<')) != NULL) {
		p = lt + 1;
		alen = strlen(p);
		if (alen == 0 || p[alen - 1] != '>')
			return -1;
		alen--;
	} else {
		p = m->from;
		alen = strlen(p);
	}
	*which = "From";
	if (!valid_addr(p, alen, &intl))
		return -1;
	any |= intl;
	*which = "To";
	if (!valid_addr(m->to, strlen(m->to), &intl))
		return -1;
	any |= intl;
	*which = "Cc";
	for (p = m->cc; p != NULL && p[strspn(p, " ")] != '\0'; p = end + 1) {
		end = list_item(p, &p, &alen);
		if (!valid_addr(p, alen, &intl))
			return -1;
		any |= intl;
		if (*end == '\0')
			break;
	}
	return !any;
}

/* Length of the RFC 2045 token at s (its safe subset); 0 if none. */
static size_t
token_len(const char *s)
{
	size_t	 n;
	char	 c;

	for (n = 0; (c = s[n]) != '\0'; n++)
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("!#$&^_.+-", c)))
			break;
	return n;
}

/*
 * A Content-Type value: type/subtype, then "; attribute=value"
 * parameters, each value a token or a quoted string of printable ASCII
 * without '"' and '\'.
 */
static int
valid_ctype(const char *s)
{
	size_t	 n;

	if (strlen(s) > CTYPE_MAX)
		return 0;
	if ((n = token_len(s)) == 0 || s[n] != '/')
		return 0;
	s += n + 1;
	if ((n = token_len(s)) == 0)
		return 0;
	for (s += n; *s != '\0';) {
		if (*s++ != ';')
			return 0;
		while (*s == ' ')
			s++;
		if ((n = token_len(s)) == 0 || s[n] != '=')
			return 0;
		s += n + 1;
		if (*s == '"') {
			for (s++; *s != '"'; s++)
				if (*s < ' ' || *s >= 0x7f || *s == '\\')
					return 0;
			s++;
		} else if ((n = token_len(s)) == 0)
			return 0;
		else
			s += n;
	}
	return 1;
}

/*
 * Append s as RFC 2047 "B" encoded-words of whole UTF-8 characters, one
 * per line after the first (folded with CRLF SP).  s is valid UTF-8.
 */
static void
ew_add(struct buf *out, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 left = strlen(s), chunk, n;
	int			 first = 1;

	while (left > 0) {
		for (chunk = 0; chunk < left; chunk += n) {
			n = utf8_seq(p + chunk, left - chunk);
			if (chunk + n > EW_BYTES)
				break;
		}
		if (!first)
			str_add(out, "\r\n ");
		str_add(out, "=?UTF-8?B?");
		b64_add(out, p, chunk, 0);
		str_add(out, "?=");
		p += chunk;
		left -= chunk;
		first = 0;
	}
}

/*
 * Short text that can stand in a header as it is: printable ASCII, or in
 * an RFC 6532 message (intl) UTF-8 too, and nothing that could be
 * mistaken for an encoded-word.  s is valid UTF-8 without controls.
 */
static int
is_plain_header(const char *s, size_t col, int intl)
{
	const unsigned char	*p;

	if (col + strlen(s) > LINE_SOFT || strstr(s, "=?") != NULL)
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && !intl) ||
		    (*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0))
			return 0;	/* C1 controls only as encoded-words */
	return 1;
}

/* A display name: a quoted-string where it can be one, else RFC 2047
 * encoded-words (which RFC 6532 messages may carry as well). */
static int
phrase_add(struct buf *out, const char *hdr, const char *name, size_t col,
    int intl)
{
	if (!valid_text(name, 0)) {
		log_err("mail: %s: bad display name", hdr);
		return -1;
	}
	if (is_plain_header(name, col + 2, intl) &&
	    strpbrk(name, "\"\\") == NULL)
		buf_addf(out, "\"%s\"", name);
	else
		ew_add(out, name);
	return 0;
}

/* From: either "addr" or "Display Name <addr>". */
static int
from_add(struct buf *out, const char *from, const char **domain,
    size_t *domlen, int intl)
{
	const char	*lt, *addr, *p;
	char		*name = NULL, safe[ADDR_MAX + 2];
	size_t		 alen, nlen;
	int		 rc = -1;

	if ((lt = strchr(from, '<')) == NULL) {
		addr = from;
		alen = strlen(from);
	} else {
		addr = lt + 1;
		alen = strlen(addr);
		if (alen > 0 && addr[alen - 1] == '>')
			alen--;
		else
			alen = 0;
	}
	if (!valid_addr(addr, alen, NULL)) {
		log_err("mail: From: not a plain address: \"%s\"",
		    log_safe(from, SIZE_MAX, safe, sizeof(safe)));
		goto out;
	}
	*domain = (const char *)memchr(addr, '@', alen) + 1;
	*domlen = alen - (size_t)(*domain - addr);

	str_add(out, "From: ");
	if (lt != NULL) {
		for (nlen = (size_t)(lt - from);
		    nlen > 0 && from[nlen - 1] == ' '; nlen--)
			continue;
		for (p = from; nlen > 0 && *p == ' '; p++, nlen--)
			continue;
		name = xcalloc(1, nlen + 1);
		memcpy(name, p, nlen);
		if (nlen > 0) {
			if (phrase_add(out, "From", name, 6, intl) == -1)
				goto out;
			str_add(out, " ");
		}
		str_add(out, "<");
		buf_add(out, addr, alen);
		str_add(out, ">");
	} else
		buf_add(out, addr, alen);
	str_add(out, "\r\n");
	rc = 0;
out:
	free(name);
	return rc;
}

/* To: the address, after its display name if there is one. */
static int
to_add(struct buf *out, const char *to, const char *name, int intl)
{
	char	 safe[ADDR_MAX + 2];

	if (!valid_addr(to, strlen(to), NULL)) {
		log_err("mail: To: not a plain address: \"%s\"",
		    log_safe(to, SIZE_MAX, safe, sizeof(safe)));
		return -1;
	}
	str_add(out, "To: ");
	if (name != NULL && name[0] != '\0') {
		if (phrase_add(out, "To", name, 4, intl) == -1)
			return -1;
		buf_addf(out, " <%s>\r\n", to);
	} else
		buf_addf(out, "%s\r\n", to);
	return 0;
}

/* Cc: a comma-separated list of plain addresses, folded at commas. */
static int
cc_add(struct buf *out, const char *cc)
{
	const char	*p = cc, *end;
	char		 safe[ADDR_MAX + 2];
	size_t		 col, len, n = 0;

	str_add(out, "Cc:");
	col = 3;
	for (;;) {
		end = list_item(p, &p, &len);
		if (!valid_addr(p, len, NULL)) {
			log_err("mail: Cc: not a plain address: \"%s\"",
			    log_safe(p, len, safe, sizeof(safe)));
			return -1;
		}
		if (n > 0 && col + 2 + len > LINE_SOFT) {
			str_add(out, ",\r\n");
			col = 0;
		} else if (n > 0) {
			str_add(out, ",");
			col++;
		}
		str_add(out, " ");
		buf_add(out, p, len);
		col += 1 + len;
		n++;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	str_add(out, "\r\n");
	return 0;
}

/* RFC 5322 3.3 date-time in UTC, independent of the locale. */
static int
date_add(struct buf *out, time_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1900 ||
	    tm.tm_year + 1900 > 9999)
		return -1;
	buf_addf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

/* 32 hex digits of SHA-256(label NUL seed). */
static void
seed_hash(const char *label, const char *seed, char out[33])
{
	struct buf	 b = { 0 };
	char		 hex[65];

	buf_add(&b, label, strlen(label) + 1);
	buf_add(&b, seed, strlen(seed));
	sha256_hex(b.p, b.len, hex);
	buf_free(&b);
	memcpy(out, hex, 32);
	out[32] = '\0';
}

/*
 * Quoted-printable (RFC 2045 6.7) of UTF-8 text, LF or CRLF line ends
 * becoming CRLF; lines of at most 76 characters.  A '.' or "From " at
 * the start of a line is encoded too, so neither SMTP nor mbox
 * conventions can touch the text.  At least one line is produced.
 */
static void
qp_add(struct buf *out, const char *text)
{
	const unsigned char	*p = (const unsigned char *)text;
	const unsigned char	*eol;
	size_t			 col, tok;
	int			 lit;
	char			 enc[4];

	do {
		eol = (const unsigned char *)strchr((const char *)p, '\n');
		if (eol == NULL)
			eol = p + strlen((const char *)p);
		if (eol > p && eol[-1] == '\r' && *eol == '\n')
			eol--;
		for (col = 0; p < eol; p++) {
			lit = (*p > ' ' && *p < 0x7f && *p != '=') ||
			    ((*p == ' ' || *p == '\t') && p + 1 < eol);
			tok = lit ? 1 : 3;
			if (col + tok > QP_LINE - 1) {
				str_add(out, "=\r\n");
				col = 0;
			}
			if (col == 0 && (*p == '.' || (*p == 'F' &&
			    strncmp((const char *)p, "From ", 5) == 0))) {
				lit = 0;
				tok = 3;
			}
			if (lit)
				buf_add(out, p, 1);
			else {
				snprintf(enc, sizeof(enc), "=%02X", *p);
				buf_add(out, enc, 3);
			}
			col += tok;
		}
		str_add(out, "\r\n");
		if (*p == '\r')
			p++;
		if (*p == '\n')
			p++;
	} while (*p != '\0');
}

int
mail_render(const struct mail_msg *m, time_t date, struct buf *out)
{
	static const char *const hdrname[] = { "From", "To", "Cc",
	    "Subject", "To" };
	const char	*domain = NULL, *subj, *body, *hdr[5], *ct, *fn;
	const char	*which = "";
	char		 id[33], bnd[33];
	size_t		 start = out->len, domlen = 0, i;
	int		 ascii, rc = -1;

	subj = m->subject == NULL ? "" : m->subject;
	body = m->body == NULL ? "" : m->body;
	if (m->from == NULL || m->to == NULL) {
		log_err("mail: message without From or To");
		goto out;
	}
	if (m->message_id_seed == NULL || m->message_id_seed[0] == '\0') {
		log_err("mail: message without message_id_seed");
		goto out;
	}
	hdr[0] = m->from;
	hdr[1] = m->to;
	hdr[2] = m->cc;
	hdr[3] = subj;
	hdr[4] = m->to_name;
	for (i = 0; i < 5; i++) {
		if (has_linebreak(hdr[i])) {
			log_err("mail: %s: line break in header refused",
			    hdrname[i]);
			goto out;
		}
	}
	if (!valid_text(subj, 0)) {
		log_err("mail: Subject: control character or not UTF-8");
		goto out;
	}
	if (!valid_text(body, 1)) {
		log_err("mail: body: control character or not UTF-8");
		goto out;
	}
	/* Each address is checked again where its header is written. */
	if ((ascii = ascii_message(m, &which)) == -1) {
		log_err("mail: %s: an address is not a plain addr-spec",
		    which);
		goto out;
	}
	for (i = 0; i < m->natt; i++) {
		if (!valid_name(m->att[i].filename) ||
		    (m->att[i].content_type != NULL &&
		    !valid_ctype(m->att[i].content_type)) ||
		    (m->att[i].data == NULL && m->att[i].len > 0)) {
			log_err("mail: attachment %zu: bad name, type or data",
			    i + 1);
			goto out;
		}
	}

	if (date_add(out, date) == -1) {
		log_err("mail: date %lld out of range", (long long)date);
		goto out;
	}
	if (from_add(out, m->from, &domain, &domlen, !ascii) == -1 ||
	    to_add(out, m->to, m->to_name, !ascii) == -1)
		goto out;
	if (m->cc != NULL && m->cc[strspn(m->cc, " ")] != '\0' &&
	    cc_add(out, m->cc) == -1)
		goto out;
	str_add(out, "Subject:");
	if (subj[0] != '\0') {
		str_add(out, " ");
		if (is_plain_header(subj, 9, !ascii))
			buf_add(out, subj, strlen(subj));
		else
			ew_add(out, subj);
	}
	str_add(out, "\r\n");
	seed_hash("certspool message-id", m->message_id_seed, id);
	buf_addf(out, "Message-ID: <%s@%.*s>\r\n", id, (int)domlen, domain);
	str_add(out, "MIME-Version: 1.0\r\n");
	str_add(out, "Auto-Submitted: auto-generated\r\n");

	if (m->natt == 0) {
		str_add(out, "Content-Type: text/plain; charset=UTF-8\r\n"
		    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		qp_add(out, body);
		rc = 0;
		goto out;
	}

	/* "=_" cannot occur in quoted-printable or base64 text. */
	seed_hash("certspool boundary", m->message_id_seed, bnd);
	buf_addf(out, "Content-Type: multipart/mixed;\r\n"
	    " boundary=\"=_certspool_%s\"\r\n\r\n"
	    "This is a multi-part message in MIME format.\r\n", bnd);
	buf_addf(out, "--=_certspool_%s\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", bnd);
	qp_add(out, body);
	for (i = 0; i < m->natt; i++) {
		ct = m->att[i].content_type != NULL ?
		    m->att[i].content_type : "application/octet-stream";
		fn = m->att[i].filename;
		/* Fold before the name where the line would grow long. */
		buf_addf(out, "--=_certspool_%s\r\nContent-Type: %s;%s"
		    " name=\"%s\"\r\n", bnd, ct,
		    strlen(ct) + strlen(fn) + 23 > LINE_SOFT ? "\r\n" : "", fn);
		buf_addf(out, "Content-Disposition: attachment;%s"
		    " filename=\"%s\"\r\n"
		    "Content-Transfer-Encoding: base64\r\n\r\n",
		    strlen(fn) + 44 > LINE_SOFT ? "\r\n" : "", fn);
		if (m->att[i].len == 0)
			str_add(out, "\r\n");
		else
			b64_add(out, m->att[i].data, m->att[i].len, B64_LINE);
	}
	buf_addf(out, "--=_certspool_%s--\r\n", bnd);
	rc = 0;
out:
	if (rc == -1 && out->p != NULL) {
		out->len = start;
		out->p[start] = '\0';
	}
	return rc;
}

int
mail_valid_addr(const char *s, size_t len)
{
	return valid_addr(s, len, NULL);
}
