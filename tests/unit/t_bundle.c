/*
 * t_bundle: outbound archives (bundle.c) and notification mail (mail.c).
 * Archives are read back with libarchive's reader and listed with
 * bsdtar; messages are taken apart by a small MIME reader here and by
 * python3's email package as an independent opinion.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "extern.h"
#include "ca.h"
#include "t.h"

#define NOW_STR		"2026-11-24T04:00:00Z"
#define NOW		((time_t)1795492800)
#define NOW_RFC5322	"Tue, 24 Nov 2026 04:00:00 +0000"

struct ent {
	const char		*path;
	const unsigned char	*data;
	size_t			 len;
};

static char	 tmpdir[] = "/tmp/t_bundle.XXXXXX";

static const char cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIUXx8AAAAAAAAAAAAAAAAAAAAAAAAwCgYIKoZIzj0EAwIw\n"
    "-----END CERTIFICATE-----\n";
static const char chain_pem[] =
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";

/* ---- helpers ---- */

static void
fill(unsigned char *p, size_t len, unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)(seed >> 16);
	}
	if (len > 256)
		for (i = 0; i < 256; i++)
			p[i] = (unsigned char)i;
}

/* Entries of dir other than "." and ".."; the first one in *first. */
static int
dir_count(const char *dir, char *first, size_t firstlen)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if (first != NULL && firstlen > 0)
		first[0] = '\0';
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n++ == 0 && first != NULL)
			strlcpy_(first, de->d_name, firstlen);
	}
	closedir(d);
	return n;
}

static int
file_exists(const char *dir, const char *name)
{
	char		 path[512];
	struct stat	 st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	unsigned char	*p = NULL;

	if (fs_read_file(path, 64 << 20, &p, len) == -1)
		return NULL;
	return p;
}

/* Run cmd, return its whole output (NUL-terminated) or NULL. */
static char *
run(const char *cmd)
{
	FILE		*f;
	struct buf	 b = { 0 };
	char		 tmp[4096];
	size_t		 n;

	if ((f = popen(cmd, "r")) == NULL)
		return NULL;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_add(&b, tmp, n);
	if (pclose(f) != 0) {
		buf_free(&b);
		return NULL;
	}
	if (b.p == NULL)
		buf_add(&b, "", 0);
	return (char *)b.p;
}

static int
b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Base64 decode of s[0..len), skipping CR and LF; -1 on anything else. */
static int
b64_decode(const char *s, size_t len, struct buf *out)
{
	unsigned int	 v = 0;
	size_t		 i;
	int		 n = 0, pad = 0, x;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad || (x = b64_val((unsigned char)s[i])) == -1)
			return -1;
		v = (v << 6) | (unsigned int)x;
		if (++n == 4) {
			unsigned char	 o[3] = { v >> 16, v >> 8, v };

			buf_add(out, o, 3);
			n = 0;
			v = 0;
		}
	}
	if (n == 2 && pad == 2) {
		unsigned char	 o = (unsigned char)(v >> 4);

		buf_add(out, &o, 1);
	} else if (n == 3 && pad == 1) {
		unsigned char	 o[2] = { v >> 10, v >> 2 };

		buf_add(out, o, 2);
	} else if (n != 0 || pad != 0)
		return -1;
	if (out->p == NULL)
		buf_add(out, "", 0);
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Quoted-printable decode; -1 on a malformed escape. */
static int
qp_decode(const char *s, size_t len, struct buf *out)
{
	size_t	 i;
	int	 h, l;

	for (i = 0; i < len; i++) {
		if (s[i] != '=') {
			buf_add(out, &s[i], 1);
			continue;
		}
		if (i + 2 < len && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (i + 2 >= len || (h = hexval(s[i + 1])) == -1 ||
		    (l = hexval(s[i + 2])) == -1)
			return -1;
		unsigned char	 c = (unsigned char)(h << 4 | l);
		buf_add(out, &c, 1);
		i += 2;
	}
	if (out->p == NULL)
		buf_add(out, "", 0);
	return 0;
}

/* The header section: length up to and including the blank line. */
static size_t
header_len(const char *m)
{
	const char	*e = strstr(m, "\r\n\r\n");

	return e == NULL ? 0 : (size_t)(e - m) + 4;
}

/* Unfolded value of header name in the section h[0..hlen), or NULL. */
static char *
header_get(const char *h, size_t hlen, const char *name)
{
	struct buf	 b = { 0 };
	const char	*p = h, *end = h + hlen, *eol;
	size_t		 nl = strlen(name);
	int		 in = 0;

	for (; p < end; p = eol + 2) {
		if ((eol = strstr(p, "\r\n")) == NULL || eol >= end)
			break;
		if (in && (*p == ' ' || *p == '\t')) {
			buf_add(&b, p, (size_t)(eol - p));
			continue;
		}
		if (in)
			break;
		if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 &&
		    p[nl] == ':') {
			in = 1;
			p += nl + 1;
			while (*p == ' ')
				p++;
			buf_add(&b, p, (size_t)(eol - p));
		}
	}
	if (!in)
		return NULL;
	if (b.p == NULL)
		buf_add(&b, "", 0);
	return (char *)b.p;
}

/* Decode a header value made of =?UTF-8?B?...?= words only. */
static char *
ew_decode(const char *v)
{
	struct buf	 b = { 0 };
	const char	*p = v, *e;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (strncmp(p, "=?UTF-8?B?", 10) != 0 ||
		    (e = strstr(p + 10, "?=")) == NULL ||
		    (size_t)(e + 2 - p) > 75 ||
		    b64_decode(p + 10, (size_t)(e - p - 10), &b) == -1) {
			buf_free(&b);
			return NULL;
		}
		p = e + 2;
	}
	if (b.p == NULL)
		buf_add(&b, "", 0);
	return (char *)b.p;
}

/* ---- bundles ---- */

static void
check_archive(const char *path, const char *format, const struct ent *e,
    size_t n)
{
	struct archive		*a;
	struct archive_entry	*ae;
	unsigned char		*got;
	size_t			 i, off;
	la_ssize_t		 r;
	locale_t		 loc, old = (locale_t)0;

	/* UTF-8 names are read as a UTF-8 reader would (this thread). */
	if ((loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0)) !=
	    (locale_t)0)
		old = uselocale(loc);
	a = archive_read_new();
	archive_read_support_format_all(a);
	archive_read_support_filter_all(a);
	T_CHECK(archive_read_open_filename(a, path, 10240) == ARCHIVE_OK,
	    "%s: %s", path, archive_error_string(a));
	for (i = 0; i < n; i++) {
		if (archive_read_next_header(a, &ae) != ARCHIVE_OK) {
			T_CHECK(0, "%s: entry %zu missing: %s", path, i,
			    archive_error_string(a));
			break;
		}
		T_STREQ(archive_entry_pathname_utf8(ae), e[i].path);
		T_CHECK(archive_entry_filetype(ae) == AE_IFREG, "%s: type",
		    e[i].path);
		T_CHECK((archive_entry_mode(ae) & 07777) == 0644,
		    "%s: mode %o", e[i].path, archive_entry_mode(ae));
		T_CHECK(archive_entry_mtime(ae) == NOW, "%s: mtime %lld",
		    e[i].path, (long long)archive_entry_mtime(ae));
		T_CHECK(archive_entry_size_is_set(ae) &&
		    archive_entry_size(ae) == (la_int64_t)e[i].len,
		    "%s: size %lld, want %zu", e[i].path,
		    (long long)archive_entry_size(ae), e[i].len);
		if (strcmp(format, "tar.gz") == 0)
			T_CHECK(archive_entry_uid(ae) == 0 &&
			    archive_entry_gid(ae) == 0, "%s: owner",
			    e[i].path);
		got = malloc(e[i].len + 1);
		off = 0;
		while ((r = archive_read_data(a, got + off,
		    e[i].len + 1 - off)) > 0)
			off += (size_t)r;
		T_CHECK(r == 0 && off == e[i].len && (e[i].len == 0 ||
		    memcmp(got, e[i].data, e[i].len) == 0),
		    "%s: content differs (%zu bytes read)", e[i].path, off);
		free(got);
	}
	T_CHECK(archive_read_next_header(a, &ae) == ARCHIVE_EOF,
	    "%s: extra entries", path);
	if (strcmp(format, "zip") == 0)
		T_CHECK((archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) ==
		    ARCHIVE_FORMAT_ZIP, "%s: not zip", path);
	else {
		T_CHECK((archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) ==
		    ARCHIVE_FORMAT_TAR, "%s: not tar", path);
		T_CHECK(archive_filter_code(a, 0) == ARCHIVE_FILTER_GZIP,
		    "%s: not gzip", path);
	}
	archive_read_free(a);
	if (loc != (locale_t)0) {
		uselocale(old);
		freelocale(loc);
	}
}

static void
check_bsdtar(const char *path, const struct ent *e, size_t n)
{
	char		 cmd[600];
	char		*out, *p;
	size_t		 i;
	int		 regular = 0;

	snprintf(cmd, sizeof(cmd), "LC_ALL=C.UTF-8 bsdtar -tvf '%s' 2>&1",
	    path);
	if ((out = run(cmd)) == NULL) {
		T_CHECK(0, "%s failed", cmd);
		return;
	}
	for (i = 0; i < n; i++)
		T_CHECK(strstr(out, e[i].path) != NULL, "bsdtar: %s not listed",
		    e[i].path);
	for (p = out; (p = strstr(p, "-rw-r--r--")) != NULL; p++)
		regular++;
	T_CHECK(regular == (int)n, "bsdtar: %d entries -rw-r--r--, want %zu:"
	    "\n%s", regular, n, out);
	free(out);
}

/*
 * python3's tarfile/zipfile: the UTF-8 entry is named in UTF-8 where
 * the format says so (a pax "path" record; zip general purpose bit 11).
 */
static void
check_utf8_names(const char *path, const char *format, const char *want)
{
	static const char script[] =
	    "import sys, tarfile, zipfile\n"
	    "p, w = sys.argv[1], sys.argv[2].encode(\"utf-8\", "
	    "\"surrogateescape\").decode(\"utf-8\")\n"
	    "if p.endswith(\".zip\"):\n"
	    "    z = zipfile.ZipFile(p)\n"
	    "    i = [i for i in z.infolist() if i.filename == w]\n"
	    "    print(\"found=%d flag=%d\" % (len(i), bool(i) and "
	    "bool(i[0].flag_bits & 0x800)))\n"
	    "else:\n"
	    "    t = tarfile.open(p, encoding=\"ascii\")\n"
	    "    i = [m for m in t.getmembers() if m.name == w]\n"
	    "    print(\"found=%d flag=%d\" % (len(i), bool(i) and "
	    "i[0].pax_headers.get(\"path\") == w))\n";
	struct buf	 cmd = { 0 };
	char		*out;

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		fprintf(stderr, "t_bundle: no python3, UTF-8 names skipped\n");
		return;
	}
	buf_addf(&cmd, "LC_ALL=C.UTF-8 python3 -c '%s' '%s' '%s' 2>&1", script,
	    path, want);
	out = run((char *)cmd.p);
	buf_free(&cmd);
	T_CHECK(out != NULL && strcmp(out, "found=1 flag=1\n") == 0,
	    "%s: %s: UTF-8 name as python reads it: %s", format, want,
	    out ? out : "(failed)");
	free(out);
}

static void
test_bundle(const char *format)
{
	static const char *const bad[] = {
		"../x", "/abs", "a//b", "a/../b", "a/b\nc", "", "a/", "./a",
		"a/./b", "a/b/c/d/e", ".hidden", "a b", "a\\b", "a/b\r",
		"jane\"@acme.example", "x/y;rm", "a/b/..",
		"a/j\xc2\x85rg@acme.example", "a/j\xc3", "a/\xc0\xaf",
		"a/\xed\xa0\x80", "a/j\xc3\xb6rg@acme.example/..",
	};
	unsigned char	*big, *p12;
	struct ent	 e[6];
	struct bundle	*b;
	struct stat	 st;
	char		 dir[300], name[64], path[400], first[256];
	unsigned char	*raw;
	size_t		 i, rawlen;
	int		 dfd;

	snprintf(dir, sizeof(dir), "%s/out-%s", tmpdir, format);
	snprintf(name, sizeof(name), "HR-2026-11-24-0001.1.%s", format);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	T_CHECK(mkdir(dir, 0755) == 0, "mkdir %s", dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	T_CHECK(dfd != -1, "open %s", dir);

	p12 = malloc(3000);
	fill(p12, 3000, 7);
	big = malloc(300000);
	fill(big, 300000, 11);
	e[0] = (struct ent){ "EMP-1001/jane.doe@acme.example/cert.pem",
	    (const unsigned char *)cert_pem, strlen(cert_pem) };
	e[1] = (struct ent){ "EMP-1001/jane.doe@acme.example/chain.pem",
	    (const unsigned char *)chain_pem, strlen(chain_pem) };
	e[2] = (struct ent){ "EMP-1001/jane.doe@acme.example/bundle.p12",
	    p12, 3000 };
	e[3] = (struct ent){ "EMP-1002/ops+it@acme.example/cert.p7b",
	    big, 300000 };
	e[4] = (struct ent){ "EMP-1003/empty", NULL, 0 };
	/* SPEC 4 with an RFC 6531 mailbox: a UTF-8 directory name. */
	e[5] = (struct ent){ "EMP-1004/j\xc3\xb6rg@acme.example/cert.pem",
	    (const unsigned char *)cert_pem, strlen(cert_pem) };

	b = bundle_open(dfd, name, format);
	T_CHECK(b != NULL, "bundle_open %s", format);
	if (b == NULL)
		goto out;
	T_CHECK(dir_count(dir, first, sizeof(first)) == 1 &&
	    strcmp(first, name) != 0 && first[0] == '.',
	    "%s: before commit only a temporary name, found \"%s\"",
	    format, first);
	T_CHECK(!file_exists(dir, name), "%s exists before commit", name);
	for (i = 0; i < 6; i++)
		T_CHECK(bundle_add(b, e[i].path, e[i].data, e[i].len) == 0,
		    "bundle_add %s", e[i].path);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_CHECK(bundle_add(b, bad[i], "x", 1) == -1,
		    "bundle_add accepted \"%s\"", bad[i]);
	T_CHECK(bundle_add(b, NULL, "x", 1) == -1, "NULL path accepted");
	T_CHECK(bundle_add(b, "a/b", NULL, 5) == -1, "NULL data accepted");
	T_CHECK(!file_exists(dir, name), "%s exists before commit", name);
	T_CHECK(bundle_commit(b) == 0, "bundle_commit %s", format);

	T_CHECK(dir_count(dir, first, sizeof(first)) == 1 &&
	    strcmp(first, name) == 0,
	    "%s: after commit only the final name, found \"%s\"", format,
	    first);
	T_CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & 07777) == 0644, "%s: mode %o", path,
	    (unsigned int)st.st_mode);
	check_archive(path, format, e, 6);
	check_bsdtar(path, e, 6);
	check_utf8_names(path, format, e[5].path);

	if (strcmp(format, "tar.gz") == 0 &&
	    (raw = slurp(path, &rawlen)) != NULL) {
		/* RFC 1952: no wall-clock MTIME in the gzip member. */
		T_CHECK(rawlen > 10 && raw[0] == 0x1f && raw[1] == 0x8b &&
		    raw[4] == 0 && raw[5] == 0 && raw[6] == 0 && raw[7] == 0,
		    "gzip header carries a timestamp");
		free(raw);
	}

	/* Abort: nothing is left behind. */
	b = bundle_open(dfd, "aborted.1.tar.gz", format);
	T_CHECK(b != NULL, "bundle_open for abort");
	if (b != NULL) {
		T_CHECK(bundle_add(b, e[0].path, e[0].data, e[0].len) == 0,
		    "bundle_add before abort");
		T_CHECK(dir_count(dir, NULL, 0) == 2, "temporary file");
		bundle_abort(b);
	}
	T_CHECK(dir_count(dir, first, sizeof(first)) == 1 &&
	    strcmp(first, name) == 0, "abort left \"%s\"", first);

	/* Refused opens create nothing. */
	T_CHECK(bundle_open(dfd, "x.rar", "rar") == NULL, "format rar");
	T_CHECK(bundle_open(dfd, "x.tar", NULL) == NULL, "format NULL");
	T_CHECK(bundle_open(dfd, "../x.tar.gz", format) == NULL, "../ name");
	T_CHECK(bundle_open(dfd, "a/b.zip", format) == NULL, "/ in name");
	T_CHECK(bundle_open(dfd, ".x.zip", format) == NULL, "dot name");
	T_CHECK(dir_count(dir, NULL, 0) == 1, "refused open left a file");

	/* An empty bundle is still a valid archive. */
	b = bundle_open(dfd, "empty.1.x", format);
	T_CHECK(b != NULL && bundle_commit(b) == 0, "empty bundle");
	snprintf(path, sizeof(path), "%s/empty.1.x", dir);
	check_archive(path, format, NULL, 0);
	bundle_abort(NULL);
out:
	free(p12);
	free(big);
	close(dfd);
}

/* ---- mail ---- */

static const char subject[] =
    "Ihr Zertifikat f\xc3\xbcr jane.doe@acme.example wurde ausgestellt \xe2"
    "\x80\x94 \xe8\xa8\xbc\xe6\x98\x8e\xe6\x9b\xb8\xe3\x81\x8c\xe7\x99\xba"
    "\xe8\xa1\x8c\xe3\x81\x95\xe3\x82\x8c\xe3\x81\xbe\xe3\x81\x97\xe3\x81"
    "\x9f \xf0\x9f\x94\x90";
static const char body[] =
    "Hello Jane,\n"
    "\n"
    "your client certificate for jane.doe@acme.example has been issued.\n"
    "Gr\xc3\xbc\xc3\x9f""e aus M\xc3\xbcnchen \xe2\x80\x94 "
    "\xe8\xa8\xbc\xe6\x98\x8e\xe6\x9b\xb8\n"
    "trailing spaces   \n"
    "tab\tinside and = sign and a lone\rCR\r\n"
    ".\n"
    "From the certificate team\n"
    "A very long line that goes on and on and on and on and on and on and "
    "on and on and on and on and on beyond seventy-six characters.\n";

/* Checks every structural rule on one rendered message. */
static void
check_lines(const char *m, size_t len)
{
	size_t	 i, col = 0, maxcol = 0, hlen, hmax = 0;
	int	 bad_lf = 0, bad_cr = 0, bad_byte = 0;

	hlen = header_len(m);
	T_CHECK(hlen > 0, "no header/body separator");
	for (i = 0; i < len; i++) {
		if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r'))
			bad_lf++;
		if (m[i] == '\r' && (i + 1 >= len || m[i + 1] != '\n'))
			bad_cr++;
		if (m[i] == '\r')
			continue;
		if (m[i] == '\n') {
			if (i < hlen && col > hmax)
				hmax = col;
			col = 0;
			continue;
		}
		if (++col > maxcol)
			maxcol = col;
		if ((unsigned char)m[i] >= 0x80 || m[i] == '\0')
			bad_byte++;
	}
	T_CHECK(hmax <= 998, "header line of %zu characters", hmax);
	T_CHECK(bad_byte == 0, "%d bytes outside 7-bit ASCII", bad_byte);
	T_CHECK(bad_lf == 0, "%d bare LF", bad_lf);
	T_CHECK(bad_cr == 0, "%d bare CR", bad_cr);
	T_CHECK(maxcol <= 78, "line of %zu characters", maxcol);
	T_CHECK(len >= 2 && m[len - 2] == '\r' && m[len - 1] == '\n',
	    "message does not end with CRLF");
}

/* The body with CRLF line ends and without its final line break. */
static void
body_crlf(const char *s, struct buf *out)
{
	size_t	 n;

	for (; *s != '\0'; s++) {
		if (*s == '\n' &&
		    (out->len == 0 || out->p[out->len - 1] != '\r'))
			buf_add(out, "\r", 1);
		buf_add(out, s, 1);
	}
	n = out->len;
	if (n >= 2 && out->p[n - 2] == '\r' && out->p[n - 1] == '\n')
		out->len -= 2;
}

/* Split the multipart body by boundary and check every part. */
static void
check_mime(const char *m, size_t len, const struct mail_msg *msg)
{
	struct buf	 dec = { 0 }, want = { 0 };
	const char	*h = m, *p, *q, *next, *end = m + len;
	char		*ct, *bnd, *cte, *cd, *pct, delim[128];
	size_t		 hlen = header_len(m), plen, i, phl;
	int		 part = 0;

	ct = header_get(h, hlen, "Content-Type");
	T_CHECK(ct != NULL && strncmp(ct, "multipart/mixed;", 16) == 0,
	    "content-type %s", ct ? ct : "(none)");
	if (ct == NULL || (bnd = strstr(ct, "boundary=\"")) == NULL) {
		T_CHECK(0, "no boundary");
		free(ct);
		return;
	}
	bnd += 10;
	if ((q = strchr(bnd, '"')) == NULL) {
		T_CHECK(0, "boundary not quoted");
		free(ct);
		return;
	}
	*(char *)q = '\0';
	snprintf(delim, sizeof(delim), "\r\n--%s", bnd);
	T_CHECK(strlen(bnd) <= 70, "boundary too long");

	/* Preamble ends at the first delimiter. */
	p = strstr(m + hlen - 2, delim);
	T_CHECK(p != NULL, "first delimiter missing");
	while (p != NULL) {
		p += strlen(delim);
		if (strncmp(p, "--\r\n", 4) == 0) {
			T_CHECK(p + 4 == end, "data after the close delimiter");
			break;
		}
		T_CHECK(strncmp(p, "\r\n", 2) == 0, "delimiter line");
		p += 2;
		next = strstr(p, delim);
		T_CHECK(next != NULL, "part %d not closed", part);
		if (next == NULL)
			break;
		phl = header_len(p);
		T_CHECK(phl > 0 && p + phl <= next + 2, "part %d headers",
		    part);
		q = p + phl;
		plen = next > q ? (size_t)(next - q) : 0;
		pct = header_get(p, phl, "Content-Type");
		cte = header_get(p, phl, "Content-Transfer-Encoding");
		cd = header_get(p, phl, "Content-Disposition");
		dec.len = 0;
		want.len = 0;
		if (part == 0) {
			T_STREQ(pct, "text/plain; charset=UTF-8");
			T_STREQ(cte, "quoted-printable");
			T_CHECK(qp_decode(q, plen, &dec) == 0, "qp decode");
			body_crlf(msg->body, &want);
			T_CHECK(dec.len == want.len &&
			    memcmp(dec.p, want.p, want.len) == 0,
			    "text part differs:\n%.*s", (int)dec.len, dec.p);
			T_CHECK(memmem(q, plen, "\r\n=2E\r\n", 7) != NULL,
			    "lone dot line not encoded");
			T_CHECK(memmem(q, plen, "\r\n=46rom ", 9) != NULL,
			    "From at line start not encoded");
		} else if ((i = (size_t)part - 1) < msg->natt) {
			char	 want_ct[200], want_cd[200];

			snprintf(want_ct, sizeof(want_ct), "%s; name=\"%s\"",
			    msg->att[i].content_type, msg->att[i].filename);
			snprintf(want_cd, sizeof(want_cd),
			    "attachment; filename=\"%s\"",
			    msg->att[i].filename);
			T_STREQ(pct, want_ct);
			T_STREQ(cd, want_cd);
			T_STREQ(cte, "base64");
			T_CHECK(b64_decode(q, plen, &dec) == 0, "b64 decode");
			T_CHECK(dec.len == msg->att[i].len &&
			    memcmp(dec.p, msg->att[i].data, dec.len) == 0,
			    "attachment %s differs", msg->att[i].filename);
		} else
			T_CHECK(0, "extra part %d", part);
		free(pct);
		free(cte);
		free(cd);
		part++;
		p = next;
	}
	T_CHECK(part == (int)msg->natt + 1, "%d parts", part);
	free(ct);
	buf_free(&dec);
	buf_free(&want);
}

/* python3's email package: its view of To, Cc, Subject and payloads. */
static void
check_python(const char *file, const struct mail_msg *msg)
{
	static const char script[] =
	    "import sys, email, hashlib\n"
	    "from email import policy\n"
	    "m = email.message_from_binary_file(open(sys.argv[1], \"rb\"),"
	    " policy=policy.default)\n"
	    "print(\"to=\" + str(m[\"to\"]))\n"
	    "print(\"cc=\" + str(m[\"cc\"]))\n"
	    "print(\"subject=\" + str(m[\"subject\"]))\n"
	    "print(\"defects=%d\" % sum(len(p.defects) for p in m.walk()))\n"
	    "for p in m.walk():\n"
	    "    if p.get_content_disposition() == \"attachment\":\n"
	    "        d = p.get_payload(decode=True)\n"
	    "        print(\"att=\" + p.get_filename() + \" \" +"
	    " hashlib.sha256(d).hexdigest())\n"
	    "    elif p.get_content_type() == \"text/plain\":\n"
	    "        t = p.get_content().replace(\"\\r\\n\", \"\\n\")"
	    ".rstrip(\"\\n\")\n"
	    "        print(\"text=\" +"
	    " hashlib.sha256(t.encode()).hexdigest())\n";
	struct buf	 cmd = { 0 }, line = { 0 };
	char		*out, hex[65], *t;
	size_t		 i, n;

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		fprintf(stderr, "t_bundle: no python3, email check skipped\n");
		return;
	}
	buf_addf(&cmd, "PYTHONIOENCODING=utf-8 python3 -c '%s' '%s' 2>&1",
	    script, file);
	out = run((char *)cmd.p);
	buf_free(&cmd);
	if (out == NULL) {
		T_CHECK(0, "python3 email parse failed");
		return;
	}
	buf_addf(&line, "to=%s\n", msg->to);
	T_CHECK(strstr(out, (char *)line.p) != NULL, "python: %s", out);
	line.len = 0;
	buf_addf(&line, "cc=%s\n", msg->cc);
	T_CHECK(strstr(out, (char *)line.p) != NULL, "python: %s", out);
	line.len = 0;
	buf_addf(&line, "subject=%s\n", msg->subject);
	T_CHECK(strstr(out, (char *)line.p) != NULL, "python: %s", out);
	T_CHECK(strstr(out, "defects=0\n") != NULL, "python: %s", out);
	for (i = 0; i < msg->natt; i++) {
		sha256_hex(msg->att[i].data, msg->att[i].len, hex);
		line.len = 0;
		buf_addf(&line, "att=%s %s\n", msg->att[i].filename, hex);
		T_CHECK(strstr(out, (char *)line.p) != NULL,
		    "python: want %s in %s", line.p, out);
	}
	/* The text as python hands it back: LF line ends, no final LF. */
	t = xstrdup(msg->body);
	for (i = 0, n = 0; t[i] != '\0'; i++)
		if (!(t[i] == '\r' && t[i + 1] == '\n'))
			t[n++] = t[i];
	while (n > 0 && t[n - 1] == '\n')
		n--;
	sha256_hex(t, n, hex);
	free(t);
	line.len = 0;
	buf_addf(&line, "text=%s\n", hex);
	T_CHECK(strstr(out, (char *)line.p) != NULL,
	    "python: want %s in %s", line.p, out);
	free(out);
	buf_free(&line);
}

static void
test_mail(void)
{
	unsigned char		 p12[3000];
	struct mail_attach	 att[3];
	struct mail_msg		 m;
	struct buf		 a = { 0 }, b = { 0 };
	char			*v, *s, path[400];
	size_t			 hlen;
	FILE			*f;

	fill(p12, sizeof(p12), 3);
	att[0] = (struct mail_attach){ "cert.pem",
	    "application/pem-certificate-chain", cert_pem, strlen(cert_pem) };
	att[1] = (struct mail_attach){ "bundle.p12",
	    "application/pkcs7-mime; smime-type=certs-only; x=\"a b\"",
	    p12, sizeof(p12) };
	att[2] = (struct mail_attach){
	    "chain-for-a.very.long.mailbox.name.for.folding.example.pem",
	    "application/pem-certificate-chain", chain_pem,
	    strlen(chain_pem) };
	memset(&m, 0, sizeof(m));
	m.from = "certspool@ca.example";
	m.to = "jane.doe@acme.example";
	m.cc = "ops+it@acme.example, security@acme.example,"
	    " a.very.long.mailbox.name.for.folding@subsidiary.acme.example,"
	    " x@y.example";
	m.subject = subject;
	m.body = body;
	m.att = att;
	m.natt = 3;
	m.message_id_seed = "HR-2026-11-24-0001/EMP-1001/jane.doe@acme.example";

	if (mail_render(&m, NOW, &a) == -1 || mail_render(&m, NOW, &b) == -1) {
		T_CHECK(0, "mail_render");
		return;
	}
	T_CHECK(a.len == b.len && memcmp(a.p, b.p, a.len) == 0,
	    "two renderings differ");
	check_lines((char *)a.p, a.len);
	hlen = header_len((char *)a.p);

	v = header_get((char *)a.p, hlen, "Date");
	T_STREQ(v, NOW_RFC5322);
	free(v);
	v = header_get((char *)a.p, hlen, "From");
	T_STREQ(v, "certspool@ca.example");
	free(v);
	v = header_get((char *)a.p, hlen, "To");
	T_STREQ(v, "jane.doe@acme.example");
	free(v);
	v = header_get((char *)a.p, hlen, "Cc");
	T_STREQ(v, m.cc);
	free(v);
	v = header_get((char *)a.p, hlen, "MIME-Version");
	T_STREQ(v, "1.0");
	free(v);
	v = header_get((char *)a.p, hlen, "Auto-Submitted");
	T_STREQ(v, "auto-generated");
	free(v);
	v = header_get((char *)a.p, hlen, "Message-ID");
	T_CHECK(v != NULL && strlen(v) == 1 + 32 + 12 && v[0] == '<' &&
	    strspn(v + 1, "0123456789abcdef") == 32 &&
	    strcmp(v + 33, "@ca.example>") == 0, "message-id %s",
	    v ? v : "(none)");
	free(v);
	v = header_get((char *)a.p, hlen, "Subject");
	T_CHECK(v != NULL && strncmp(v, "=?UTF-8?B?", 10) == 0,
	    "subject not an encoded-word: %s", v ? v : "(none)");
	s = v == NULL ? NULL : ew_decode(v);
	T_STREQ(s, subject);
	free(s);
	free(v);
	T_CHECK(memmem(a.p, hlen, "Bcc", 3) == NULL, "Bcc header");
	check_mime((char *)a.p, a.len, &m);

	/* A different seed changes Message-ID and boundary; date only Date. */
	b.len = 0;
	m.message_id_seed = "another";
	T_CHECK(mail_render(&m, NOW, &b) == 0, "render other seed");
	T_CHECK(b.len == a.len && memcmp(a.p, b.p, a.len) != 0,
	    "seed has no effect");
	m.message_id_seed = "HR-2026-11-24-0001/EMP-1001/jane.doe@acme.example";
	b.len = 0;
	T_CHECK(mail_render(&m, NOW + 86400, &b) == 0, "render other date");
	v = header_get((char *)b.p, header_len((char *)b.p), "Date");
	T_STREQ(v, "Wed, 25 Nov 2026 04:00:00 +0000");
	free(v);
	T_CHECK(b.len == a.len && memcmp(a.p + 37, b.p + 37, a.len - 37) == 0,
	    "date changed more than the Date header");

	snprintf(path, sizeof(path), "%s/msg.eml", tmpdir);
	if ((f = fopen(path, "wb")) != NULL) {
		fwrite(a.p, 1, a.len, f);
		fclose(f);
		check_python(path, &m);
	} else
		T_CHECK(0, "cannot write %s", path);

	/* A plain message: one text part; a display name in From. */
	m.natt = 0;
	m.cc = NULL;
	m.subject = "Your certificate";
	m.from = "Certspool CA <ca@ca.example>";
	b.len = 0;
	T_CHECK(mail_render(&m, NOW, &b) == 0, "render plain");
	check_lines((char *)b.p, b.len);
	hlen = header_len((char *)b.p);
	v = header_get((char *)b.p, hlen, "Content-Type");
	T_STREQ(v, "text/plain; charset=UTF-8");
	free(v);
	v = header_get((char *)b.p, hlen, "Subject");
	T_STREQ(v, "Your certificate");
	free(v);
	v = header_get((char *)b.p, hlen, "From");
	T_STREQ(v, "\"Certspool CA\" <ca@ca.example>");
	free(v);
	T_CHECK(header_get((char *)b.p, hlen, "Cc") == NULL, "empty Cc shown");
	{
		struct buf	 dec = { 0 }, want = { 0 };

		T_CHECK(qp_decode((char *)b.p + hlen, b.len - hlen, &dec) == 0,
		    "qp decode plain");
		body_crlf(body, &want);
		buf_add(&want, "\r\n", 2);
		T_CHECK(dec.len == want.len &&
		    memcmp(dec.p, want.p, dec.len) == 0, "plain body differs");
		buf_free(&dec);
		buf_free(&want);
	}
	m.from = "M\xc3\xbcller CA <ca@ca.example>";
	b.len = 0;
	T_CHECK(mail_render(&m, NOW, &b) == 0, "render utf-8 display name");
	v = header_get((char *)b.p, header_len((char *)b.p), "From");
	T_STREQ(v, "=?UTF-8?B?TcO8bGxlciBDQQ==?= <ca@ca.example>");
	free(v);
	m.from = "certspool@ca.example";

	/* An ASCII mailbox with a UTF-8 display name: RFC 2047 words. */
	m.to = "joerg@acme.example";
	m.to_name = "J\xc3\xb6rg M\xc3\xbcller";
	m.subject = "Zertifikat f\xc3\xbcr joerg@acme.example";
	b.len = 0;
	T_CHECK(mail_render(&m, NOW, &b) == 0, "render utf-8 To name");
	hlen = header_len((char *)b.p);
	for (s = (char *)b.p; s < (char *)b.p + hlen; s++)
		if ((unsigned char)*s >= 0x80)
			break;
	T_CHECK(s == (char *)b.p + hlen, "ASCII message has 8-bit headers");
	v = header_get((char *)b.p, hlen, "To");
	T_CHECK(v != NULL && strncmp(v, "=?UTF-8?B?", 10) == 0 &&
	    strstr(v, "?= <joerg@acme.example>") != NULL, "To: %s",
	    v ? v : "(none)");
	if (v != NULL && (s = strstr(v, " <")) != NULL)
		*s = '\0';
	s = v == NULL ? NULL : ew_decode(v);
	T_STREQ(s, m.to_name);
	free(s);
	free(v);
	v = header_get((char *)b.p, hlen, "Subject");
	s = v == NULL ? NULL : ew_decode(v);
	T_STREQ(s, m.subject);
	free(s);
	free(v);

	/* A UTF-8 local part (RFC 6531): an RFC 6532 message, UTF-8 as is. */
	m.to = "j\xc3\xb6rg@acme.example";
	m.cc = "hr@acme.example, m\xc3\xbcller@acme.example";
	m.subject = "Client certificate issued for j\xc3\xb6rg@acme.example";
	b.len = 0;
	T_CHECK(mail_render(&m, NOW, &b) == 0, "render utf-8 mailbox");
	hlen = header_len((char *)b.p);
	/* UTF-8 in the header only; the body stays 7-bit. */
	for (s = (char *)b.p + hlen; s < (char *)b.p + b.len; s++)
		if ((unsigned char)*s >= 0x80)
			break;
	T_CHECK(hlen > 0 && s == (char *)b.p + b.len, "8-bit body");
	v = header_get((char *)b.p, hlen, "To");
	T_STREQ(v, "\"J\xc3\xb6rg M\xc3\xbcller\" <j\xc3\xb6rg@acme.example>");
	free(v);
	v = header_get((char *)b.p, hlen, "Cc");
	T_STREQ(v, m.cc);
	free(v);
	v = header_get((char *)b.p, hlen, "Subject");
	T_STREQ(v, m.subject);
	free(v);
	/* A name that needs quoting is encoded even then. */
	m.to_name = "M\xc3\xbcller, \"J\xc3\xb6rg\"";
	b.len = 0;
	T_CHECK(mail_render(&m, NOW, &b) == 0, "render quoted name");
	v = header_get((char *)b.p, header_len((char *)b.p), "To");
	T_CHECK(v != NULL && strncmp(v, "=?UTF-8?B?", 10) == 0, "To: %s",
	    v ? v : "(none)");
	free(v);
	/* A C1 control (U+0085) never stands in a header as it is. */
	m.to_name = "J\xc3\xb6rg\xc2\x85M";
	b.len = 0;
	T_CHECK(mail_render(&m, NOW, &b) == 0, "render C1 name");
	v = header_get((char *)b.p, header_len((char *)b.p), "To");
	T_CHECK(v != NULL && strncmp(v, "=?UTF-8?B?", 10) == 0, "C1: To: %s",
	    v ? v : "(none)");
	free(v);
	m.to_name = "J\xc3\xb6rg\tM";
	b.len = 0;
	T_CHECK(mail_render(&m, NOW, &b) == -1 && b.len == 0,
	    "TAB in the To display name accepted");
	m.to_name = NULL;
	m.to = "jane.doe@acme.example";
	m.cc = NULL;

	m.body = NULL;
	m.subject = NULL;
	b.len = 0;
	T_CHECK(mail_render(&m, NOW, &b) == 0, "render empty");
	check_lines((char *)b.p, b.len);

	buf_free(&a);
	buf_free(&b);
}

static void
test_mail_refusals(void)
{
	static const struct {
		const char	*what, *from, *to, *cc, *subject, *body;
		const char	*fname, *ctype;
	} bad[] = {
		{ "subject CRLF Bcc", NULL, NULL, NULL,
		    "Hello\r\nBcc: x@evil.example", NULL, NULL, NULL },
		{ "subject LF", NULL, NULL, NULL, "Hello\nBcc: x@evil.example",
		    NULL, NULL, NULL },
		{ "subject CR", NULL, NULL, NULL, "Hello\rX", NULL, NULL,
		    NULL },
		{ "subject ESC", NULL, NULL, NULL, "a\x1b[1mb", NULL, NULL,
		    NULL },
		{ "subject not UTF-8", NULL, NULL, NULL, "caf\xe9", NULL, NULL,
		    NULL },
		{ "subject overlong", NULL, NULL, NULL, "\xc0\xaf", NULL, NULL,
		    NULL },
		{ "subject surrogate", NULL, NULL, NULL, "\xed\xa0\x80", NULL,
		    NULL, NULL },
		{ "to CRLF", NULL, "a@b.example\r\nBcc: x@evil.example", NULL,
		    NULL, NULL, NULL, NULL },
		{ "to two", NULL, "a@b.example, c@d.example", NULL, NULL,
		    NULL, NULL, NULL },
		{ "to angle", NULL, "<a@b.example>", NULL, NULL, NULL, NULL,
		    NULL },
		{ "to space", NULL, "a b@c.example", NULL, NULL, NULL, NULL,
		    NULL },
		{ "to two @", NULL, "a@b@c.example", NULL, NULL, NULL, NULL,
		    NULL },
		{ "to no @", NULL, "ab.example", NULL, NULL, NULL, NULL,
		    NULL },
		{ "to empty local", NULL, "@b.example", NULL, NULL, NULL,
		    NULL, NULL },
		{ "to bad domain", NULL, "a@-b.example", NULL, NULL, NULL,
		    NULL, NULL },
		{ "to literal", NULL, "a@[127.0.0.1]", NULL, NULL, NULL, NULL,
		    NULL },
		{ "to utf-8 domain", NULL, "jurgen@b\xc3\xbc.example", NULL,
		    NULL, NULL, NULL, NULL },
		{ "to C1 control", NULL, "j\xc2\x85rgen@b.example", NULL,
		    NULL, NULL, NULL, NULL },
		{ "to bad utf-8", NULL, "j\xc3(rgen@b.example", NULL, NULL,
		    NULL, NULL, NULL },
		{ "to overlong", NULL, "j\xc0\xafrgen@b.example", NULL, NULL,
		    NULL, NULL, NULL },
		{ "cc C1 control", NULL, NULL, "a@b.example, j\xc2\x9b@b.example",
		    NULL, NULL, NULL, NULL },
		{ "cc LF", NULL, NULL, "a@b.example\nBcc: x@evil.example",
		    NULL, NULL, NULL, NULL },
		{ "cc angle", NULL, NULL, "a@b.example, <c@d.example>", NULL,
		    NULL, NULL, NULL },
		{ "cc empty item", NULL, NULL, "a@b.example,,c@d.example",
		    NULL, NULL, NULL, NULL },
		{ "from CRLF", "ca@ca.example\r\nBcc: x@evil.example", NULL,
		    NULL, NULL, NULL, NULL, NULL },
		{ "from unclosed", "CA <ca@ca.example", NULL, NULL, NULL, NULL,
		    NULL, NULL },
		{ "from name ctl", "C\x01 <ca@ca.example>", NULL, NULL, NULL,
		    NULL, NULL, NULL },
		{ "body not UTF-8", NULL, NULL, NULL, NULL, "ok\n\xff\n", NULL,
		    NULL },
		{ "filename quote", NULL, NULL, NULL, NULL, NULL, "a\".pem",
		    NULL },
		{ "filename path", NULL, NULL, NULL, NULL, NULL, "../cert.pem",
		    NULL },
		{ "ctype CRLF", NULL, NULL, NULL, NULL, NULL, NULL,
		    "text/plain\r\nBcc: x@evil.example" },
		{ "ctype bare param", NULL, NULL, NULL, NULL, NULL, NULL,
		    "text/plain; charset" },
		{ "ctype open quote", NULL, NULL, NULL, NULL, NULL, NULL,
		    "text/plain; a=\"b" },
		{ "ctype backslash", NULL, NULL, NULL, NULL, NULL, NULL,
		    "text/plain; a=\"b\\\"\"" },
		{ "ctype two slashes", NULL, NULL, NULL, NULL, NULL, NULL,
		    "text/plain/x" },
		{ "ctype trailing ;", NULL, NULL, NULL, NULL, NULL, NULL,
		    "text/plain;" },
		{ "ctype no slash", NULL, NULL, NULL, NULL, NULL, NULL,
		    "application" },
	};
	struct mail_attach	 att;
	struct mail_msg		 m;
	struct buf		 out = { 0 };
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		att = (struct mail_attach){ "cert.pem",
		    "application/x-pem-file", "x", 1 };
		memset(&m, 0, sizeof(m));
		m.from = "ca@ca.example";
		m.to = "jane@acme.example";
		m.subject = "s";
		m.body = "b\n";
		m.att = &att;
		m.natt = 1;
		m.message_id_seed = "seed";
		if (bad[i].from)
			m.from = bad[i].from;
		if (bad[i].to)
			m.to = bad[i].to;
		m.cc = bad[i].cc;
		if (bad[i].subject)
			m.subject = bad[i].subject;
		if (bad[i].body)
			m.body = bad[i].body;
		if (bad[i].fname)
			att.filename = bad[i].fname;
		if (bad[i].ctype)
			att.content_type = bad[i].ctype;
		out.len = 0;
		buf_add(&out, "prefix", 6);
		T_CHECK(mail_render(&m, NOW, &out) == -1, "accepted: %s",
		    bad[i].what);
		T_CHECK(out.len == 6, "%s: output not rolled back",
		    bad[i].what);
	}
	memset(&m, 0, sizeof(m));
	m.from = "ca@ca.example";
	m.to = "jane@acme.example";
	out.len = 0;
	T_CHECK(mail_render(&m, NOW, &out) == -1, "accepted: no seed");
	m.message_id_seed = "s";
	T_CHECK(mail_render(&m, NOW, &out) == 0, "refused a minimal message");
	buf_free(&out);
}

static void
test_mail_send(void)
{
	static unsigned char	 big[400000];
	struct mail_attach	 att = { "cert.pem", "application/x-pem-file",
				     cert_pem, sizeof(cert_pem) - 1 };
	struct mail_msg		 m;
	struct conf		 c;
	struct buf		 want = { 0 }, lf = { 0 };
	struct stat		 st;
	char			 spool[300], maildir[320], sent[320], path[400];
	char			 cmd[400], eml[400], first[256];
	unsigned char		*got;
	size_t			 len, i;

	snprintf(spool, sizeof(spool), "%s/spool", tmpdir);
	snprintf(maildir, sizeof(maildir), "%s/mail", spool);
	snprintf(sent, sizeof(sent), "%s/sent.txt", tmpdir);
	snprintf(eml, sizeof(eml), "%s/HR-1.EMP-1001.1.eml", maildir);
	snprintf(cmd, sizeof(cmd), "cat > '%s'", sent);
	memset(&c, 0, sizeof(c));
	c.spool_dir = spool;
	c.sendmail_command = cmd;
	memset(&m, 0, sizeof(m));
	m.from = "certspool@ca.example";
	m.to = "jane.doe@acme.example";
	m.cc = "ops@acme.example";
	m.subject = subject;
	m.body = body;
	m.att = &att;
	m.natt = 1;
	m.message_id_seed = "HR-1/EMP-1001/1";

	T_CHECK(mail_send(&c, "HR-1.EMP-1001.1", &m) == 0, "mail_send");
	T_CHECK(mail_render(&m, NOW, &want) == 0, "render");
	got = slurp(eml, &len);
	T_CHECK(got != NULL && len == want.len &&
	    memcmp(got, want.p, len) == 0, "spooled .eml differs");
	free(got);
	T_CHECK(stat(eml, &st) == 0 && (st.st_mode & 07777) == 0640,
	    "eml mode %o", (unsigned int)st.st_mode);
	T_CHECK(dir_count(maildir, first, sizeof(first)) == 2,
	    "mail dir holds more than the message and .sent (%s)", first);
	for (i = 0; i < want.len; i++)
		if (want.p[i] != '\r')
			buf_add(&lf, &want.p[i], 1);
	got = slurp(sent, &len);
	T_CHECK(got != NULL && len == lf.len && memcmp(got, lf.p, len) == 0,
	    "piped message differs (%zu bytes, want %zu)", len, lf.len);
	T_CHECK(got != NULL && memchr(got, '\r', len) == NULL,
	    "CR in piped message");
	free(got);

	/* Handed over once: sending the same message again pipes nothing. */
	unlink(sent);
	T_CHECK(mail_send(&c, "HR-1.EMP-1001.1", &m) == 0, "resend");
	T_CHECK(access(sent, F_OK) == -1, "same message piped twice");

	/* A failing command keeps the record; mail_flush retries it. */
	c.sendmail_command = "cat >/dev/null; exit 3";
	T_CHECK(mail_send(&c, "HR-1.fail", &m) == 0, "record kept on exit 3");
	snprintf(path, sizeof(path), "%s/HR-1.fail.eml", maildir);
	T_CHECK(access(path, F_OK) == 0, ".eml missing after failed send");
	T_CHECK(mail_flush(&c) == -1, "exit 3 accepted by flush");
	c.sendmail_command = "kill -9 $$";
	T_CHECK(mail_flush(&c) == -1, "signal accepted");
	c.sendmail_command = "exec 2>/dev/null; /nonexistent/sendmail -t";
	T_CHECK(mail_flush(&c) == -1, "127 accepted");
	c.sendmail_command = cmd;
	T_CHECK(mail_flush(&c) == 0, "flush after the command recovers");
	got = slurp(sent, &len);
	T_CHECK(got != NULL && len > 0 && memmem(got, len, "To: jane.doe",
	    12) != NULL, "retried message piped");
	free(got);
	unlink(sent);
	T_CHECK(mail_flush(&c) == 0 && access(sent, F_OK) == -1,
	    "flush pipes a delivered message again");

	/* A command that quits without reading: EPIPE, not SIGPIPE death. */
	fill(big, sizeof(big), 5);
	att = (struct mail_attach){ "big.bin", "application/octet-stream",
	    big, sizeof(big) };
	c.sendmail_command = "exit 0";
	T_CHECK(mail_send(&c, "HR-1.big", &m) == 0, "big: record kept");
	T_CHECK(mail_flush(&c) == -1, "short read accepted");
	c.sendmail_command = "cat >/dev/null";
	T_CHECK(mail_flush(&c) == 0, "large message");

	/* No command: only the spool. */
	c.sendmail_command = "";
	T_CHECK(mail_send(&c, "HR-1.nocmd", &m) == 0, "spool only");
	T_CHECK(file_exists(maildir, "HR-1.nocmd.eml"), "spool only: file");
	c.sendmail_command = NULL;
	T_CHECK(mail_send(&c, "HR-1.nocmd2", &m) == 0, "spool only, NULL");

	/* Refused names and messages write nothing. */
	T_CHECK(mail_send(&c, "../evil", &m) == -1, "../ name");
	T_CHECK(mail_send(&c, "a/b", &m) == -1, "/ in name");
	T_CHECK(mail_send(&c, ".hidden", &m) == -1, "dot name");
	m.subject = "x\r\nBcc: x@evil.example";
	T_CHECK(mail_send(&c, "HR-1.evil", &m) == -1, "injection sent");
	T_CHECK(!file_exists(maildir, "HR-1.evil.eml"), "injection spooled");
	T_CHECK(dir_count(maildir, NULL, 0) == 6, "mail dir: %d entries",
	    dir_count(maildir, NULL, 0));

	buf_free(&want);
	buf_free(&lf);
}

/* Entries of dir named .*.tmp (the mail spool's temporaries). */
static int
tmp_count(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n;
	int		 c = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.' && n > 5 &&
		    strcmp(de->d_name + n - 4, ".tmp") == 0)
			c++;
	}
	closedir(d);
	return c;
}

/* The group commit: nothing under a final name before the commit,
 * every message after it, an abort leaves nothing behind. */
static void
test_mail_batch(void)
{
	struct mail_attach	 att = { "cert.pem", "application/x-pem-file",
				     cert_pem, sizeof(cert_pem) - 1 };
	struct mail_batch	*b;
	struct mail_msg		 m1, m2;
	struct conf		 c;
	struct buf		 want1 = { 0 }, want2 = { 0 };
	char			 spool[300], maildir[320], sent[320];
	char			 cmd[400], path[400];
	unsigned char		*got;
	size_t			 len, i;

	snprintf(spool, sizeof(spool), "%s/spool-batch", tmpdir);
	snprintf(maildir, sizeof(maildir), "%s/mail", spool);
	snprintf(sent, sizeof(sent), "%s/batch-sent.txt", tmpdir);
	snprintf(cmd, sizeof(cmd), "cat >> '%s'", sent);
	memset(&c, 0, sizeof(c));
	c.spool_dir = spool;
	c.sendmail_command = cmd;
	memset(&m1, 0, sizeof(m1));
	m1.from = "certspool@ca.example";
	m1.to = "jane.doe@acme.example";
	m1.subject = "Client certificate issued";
	m1.body = "A certificate.\n";
	m1.att = &att;
	m1.natt = 1;
	m1.message_id_seed = "cert-01";
	m2 = m1;
	m2.subject = "Password for your certificate bundle";
	m2.body = "The password is: secret\n";
	m2.att = NULL;
	m2.natt = 0;
	m2.message_id_seed = "p12-01";
	T_CHECK(mail_render(&m1, NOW, &want1) == 0, "render 1");
	T_CHECK(mail_render(&m2, NOW, &want2) == 0, "render 2");

	T_CHECK((b = mail_batch_begin(&c)) != NULL, "batch begin");
	if (b == NULL)
		return;
	T_CHECK(mail_batch_add(b, "cert-01", &m1, NULL) == 0, "add cert-01");
	T_CHECK(mail_batch_add(b, "p12pass-01", &m2, NULL) == 0, "add p12pass-01");
	T_CHECK(mail_batch_add(b, "../evil", &m1, NULL) == -1, "add ../evil");
	T_CHECK(tmp_count(maildir) == 2 && dir_count(maildir, NULL, 0) == 2,
	    "before the commit: %d temporaries, %d entries",
	    tmp_count(maildir), dir_count(maildir, NULL, 0));
	T_CHECK(!file_exists(maildir, "cert-01.eml") &&
	    !file_exists(maildir, "p12pass-01.eml"),
	    "a message under its final name before the commit");
	T_CHECK(mail_flush(&c) == 0 && access(sent, F_OK) == -1,
	    "mail_flush took a temporary");
	T_CHECK(mail_batch_commit(b) == 0, "batch commit");
	T_CHECK(tmp_count(maildir) == 0, "temporaries left after the commit");
	snprintf(path, sizeof(path), "%s/cert-01.eml", maildir);
	got = slurp(path, &len);
	T_CHECK(got != NULL && len == want1.len &&
	    memcmp(got, want1.p, len) == 0, "cert-01.eml differs");
	free(got);
	snprintf(path, sizeof(path), "%s/p12pass-01.eml", maildir);
	got = slurp(path, &len);
	T_CHECK(got != NULL && len == want2.len &&
	    memcmp(got, want2.p, len) == 0, "p12pass-01.eml differs");
	free(got);
	/* Both handed to the command after the commit, once each. */
	got = slurp(sent, &len);
	T_CHECK(got != NULL && memmem(got, len, "Subject: Client certificate",
	    27) != NULL && memmem(got, len, "Subject: Password", 17) != NULL,
	    "batch not piped");
	free(got);
	T_CHECK(file_exists(maildir, ".sent/cert-01.eml") &&
	    file_exists(maildir, ".sent/p12pass-01.eml"), "no .sent records");
	unlink(sent);
	T_CHECK((b = mail_batch_begin(&c)) != NULL, "batch begin again");
	T_CHECK(b != NULL && mail_batch_add(b, "cert-01", &m1, NULL) == 0 &&
	    mail_batch_commit(b) == 0 && access(sent, F_OK) == -1,
	    "a message handed over before was piped again");

	/* An aborted batch leaves nothing, an empty one commits. */
	T_CHECK((b = mail_batch_begin(&c)) != NULL, "batch begin 3");
	T_CHECK(b != NULL && mail_batch_add(b, "cert-02", &m1, NULL) == 0 &&
	    tmp_count(maildir) == 1, "add cert-02");
	mail_batch_abort(b);
	T_CHECK(tmp_count(maildir) == 0 && !file_exists(maildir,
	    "cert-02.eml"), "abort left files");
	mail_batch_abort(NULL);
	T_CHECK((b = mail_batch_begin(&c)) != NULL &&
	    mail_batch_commit(b) == 0, "empty batch");
	T_CHECK(dir_count(maildir, NULL, 0) == 3, "mail dir: %d entries",
	    dir_count(maildir, NULL, 0));

	/* A large batch commits in groups of 4096: memory stays bounded,
	 * and each group is durable before its names appear. */
	snprintf(spool, sizeof(spool), "%s/spool-group", tmpdir);
	snprintf(maildir, sizeof(maildir), "%s/mail", spool);
	c.sendmail_command = NULL;
	T_CHECK((b = mail_batch_begin(&c)) != NULL, "group batch begin");
	for (i = 0; b != NULL && i < 4100; i++) {
		snprintf(path, sizeof(path), "m-%zu", i);
		if (mail_batch_add(b, path, &m2, NULL) == -1)
			break;
	}
	T_CHECK(i == 4100, "add %zu", i);
	T_CHECK(tmp_count(maildir) == 4 && dir_count(maildir, NULL, 0) ==
	    4100 && file_exists(maildir, "m-4095.eml") &&
	    !file_exists(maildir, "m-4096.eml"), "groups: %d temporaries, "
	    "%d entries", tmp_count(maildir), dir_count(maildir, NULL, 0));
	T_CHECK(b != NULL && mail_batch_commit(b) == 0, "group commit");
	T_CHECK(tmp_count(maildir) == 0 && dir_count(maildir, NULL, 0) ==
	    4100 && file_exists(maildir, "m-4099.eml"), "after the commit: "
	    "%d temporaries, %d entries", tmp_count(maildir),
	    dir_count(maildir, NULL, 0));
	buf_free(&want1);
	buf_free(&want2);
}

int
main(void)
{
	char	 cmd[300];

	log_init("stderr", getenv("T_VERBOSE") ? LOGL_DEBUG : 0);
	setenv("CERTSPOOL_NOW", NOW_STR, 1);
	umask(022);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	T_CHECK(clock_now() == NOW, "clock %lld", (long long)clock_now());

	test_bundle("tar.gz");
	test_bundle("zip");
	test_mail();
	test_mail_refusals();
	test_mail_send();
	test_mail_batch();

	if (t_fail == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		(void)system(cmd);
	} else
		fprintf(stderr, "t_bundle: files kept in %s\n", tmpdir);
	return t_done("t_bundle");
}
