/*
 * bundle.c: the outbound certificate archive of one processing pass.
 * A bundle is a tar.gz (ustar headers, pax only where ustar cannot say
 * it, e.g. a UTF-8 path) or a zip (UTF-8 names flagged as such, general
 * purpose bit 11), streamed with libarchive straight into a temporary file
 * beside its final name; each entry is written as it is added and
 * nothing is held in memory.  Entries are regular files only, mode
 * 0644, owned by 0/0 ("root"), stamped with clock_now() taken when the
 * bundle is opened.  Entry paths are built from order ids and mailbox
 * addresses (UTF-8 local parts too) and are checked here again,
 * component by component: no "." or "..", no '/', no control, valid
 * UTF-8.
 *
 * Failure policy: a refused path leaves the bundle usable (nothing was
 * written for it); any libarchive or write error poisons the bundle,
 * and bundle_commit() then discards it.  The final name appears only
 * after the archive is complete and fsynced (fs_tmp_commit); on every
 * failure the temporary file is removed, so a reader never sees a
 * partial archive.
 */
#include <sys/stat.h>

#include <errno.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "extern.h"

#define BUNDLE_MODE		0644	/* the archive file in outbound/ */
#define BUNDLE_ENTRY_MODE	0644	/* files inside it */
#define BUNDLE_MAX_DEPTH	4
#define BUNDLE_MAX_PATH		512
#define BUNDLE_MAX_COMPONENT	128

struct bundle {
	struct fs_tmp	 tmp;
	struct archive	*a;
	locale_t	 loc;		/* C.UTF-8 for libarchive, or 0 */
	time_t		 mtime;
	int		 broken;	/* a write failed: never commit */
};

/*
 * One path component, 1..128 bytes, not starting with '.' (so neither
 * "." nor ".."; "O..1" is a name like any other): ASCII letters, digits, the atext of a mailbox
 * (RFC 5322 3.2.3) but '/', '.' and '@'; and UTF-8 characters (RFC 3629:
 * no overlong form, no surrogate) other than the C1 controls.  So a
 * mailbox with a UTF-8 local part passes (SPEC 4: <order-id>/<email>/);
 * no space, quote, backslash, ';' or control does.
 */
int
bundle_valid_component(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n, k;
	unsigned int		 cp;

	if (len == 0 || len > BUNDLE_MAX_COMPONENT || s[0] == '.')
		return 0;
	for (i = 0; i < len; i += n) {
		if (p[i] < 0x80) {
			n = 1;
			if (!((p[i] >= 'A' && p[i] <= 'Z') ||
			    (p[i] >= 'a' && p[i] <= 'z') ||
			    (p[i] >= '0' && p[i] <= '9') ||
			    strchr("!#$%&'*+-=?^_`{|}~.@", p[i]) != NULL) ||
			    p[i] == '\0')
				return 0;
			continue;
		}
		if (p[i] >= 0xc2 && p[i] <= 0xdf) {
			n = 2;
			cp = p[i] & 0x1f;
		} else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			n = 3;
			cp = p[i] & 0x0f;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			n = 4;
			cp = p[i] & 0x07;
		} else
			return 0;
		if (len - i < n)
			return 0;
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
	}
	return 1;
}

/* A relative path of 1..4 valid components separated by single '/'. */
static int
valid_entry_path(const char *path)
{
	const char	*p, *slash;
	size_t		 n = 0;

	if (path == NULL || strlen(path) > BUNDLE_MAX_PATH)
		return 0;
	for (p = path;; p = slash + 1) {
		if ((slash = strchr(p, '/')) == NULL)
			slash = p + strlen(p);
		if (!bundle_valid_component(p, (size_t)(slash - p)))
			return 0;
		if (++n > BUNDLE_MAX_DEPTH)
			return 0;
		if (*slash == '\0')
			return 1;
	}
}

struct bundle *
bundle_open(int dirfd, const char *name, const char *format)
{
	struct bundle	*b = NULL;
	locale_t	 old = (locale_t)0;
	char		 safe[64];
	int		 zip, set, ok = 0;

	if (!valid_name(name)) {
		log_err("bundle: refusing archive name \"%s\"",
		    log_safe(name, SIZE_MAX, safe, sizeof(safe)));
		return NULL;
	}
	if (format != NULL && strcmp(format, "tar.gz") == 0)
		zip = 0;
	else if (format != NULL && strcmp(format, "zip") == 0)
		zip = 1;
	else {
		log_err("%s: unknown archive format \"%s\"", name,
		    log_safe(format, SIZE_MAX, safe, sizeof(safe)));
		return NULL;
	}

	b = xcalloc(1, sizeof(*b));
	b->tmp.fd = -1;
	b->mtime = clock_now();
	/*
	 * libarchive converts names through the locale's character set and
	 * fails on UTF-8 names in the "C" locale the daemon runs in; its
	 * calls run under a C.UTF-8 LC_CTYPE of this thread alone.
	 */
	b->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (b->loc == (locale_t)0)
		log_warn("%s: no C.UTF-8 locale; only ASCII names can be "
		    "archived", name);
	old = b->loc != (locale_t)0 ? uselocale(b->loc) : (locale_t)0;
	if (fs_tmp_open(&b->tmp, dirfd, name, BUNDLE_MODE) == -1) {
		log_err("%s: cannot create temporary file: %s", name,
		    strerror(errno));
		goto out;
	}
	if ((b->a = archive_write_new()) == NULL) {
		log_err("%s: archive_write_new failed", name);
		goto out;
	}
	if (zip)
		set = archive_write_set_format_zip(b->a) == ARCHIVE_OK &&
		    archive_write_set_options(b->a,
		    "zip:compression=deflate,zip:compression-level=1,"
		    "zip:hdrcharset=UTF-8") ==
		    ARCHIVE_OK;
	else
		/* No wall-clock time in the gzip header: the entries
		 * carry the one clock's time.  Level 1: PEM and DER gain
		 * little from more, and it costs three times the CPU. */
		set = archive_write_set_format_pax_restricted(b->a) ==
		    ARCHIVE_OK &&
		    archive_write_add_filter_gzip(b->a) == ARCHIVE_OK &&
		    archive_write_set_options(b->a,
		    "gzip:!timestamp,gzip:compression-level=1,"
		    "pax:hdrcharset=UTF-8") == ARCHIVE_OK;
	if (!set || archive_write_open_fd(b->a, b->tmp.fd) != ARCHIVE_OK) {
		log_err("%s: libarchive: %s", name,
		    archive_error_string(b->a));
		goto out;
	}
	ok = 1;
out:
	if (old != (locale_t)0)
		uselocale(old);
	if (!ok) {
		bundle_abort(b);
		b = NULL;
	}
	return b;
}

/* 1 if s is ASCII only. */
static int
is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/* Write all of data into the current entry. */
static int
write_data(struct bundle *b, const void *data, size_t len)
{
	const unsigned char	*p = data;
	la_ssize_t		 n;

	while (len > 0) {
		n = archive_write_data(b->a, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
bundle_add(struct bundle *b, const char *path, const void *data, size_t len)
{
	struct archive_entry	*e = NULL;
	locale_t		 old = (locale_t)0;
	char			 safe[BUNDLE_MAX_PATH + 1];
	int			 rc = -1;

	if (b->broken) {
		log_err("%s: bundle already failed", b->tmp.name);
		return -1;
	}
	if (!valid_entry_path(path)) {
		log_err("%s: refusing entry path \"%s\"", b->tmp.name,
		    log_safe(path, SIZE_MAX, safe, sizeof(safe)));
		return -1;
	}
	if (data == NULL && len > 0) {
		log_err("%s: %s: no data", b->tmp.name, path);
		return -1;
	}
	if (b->loc == (locale_t)0 && !is_ascii(path)) {
		log_err("%s: refusing UTF-8 entry path \"%s\" without a "
		    "C.UTF-8 locale", b->tmp.name,
		    log_safe(path, SIZE_MAX, safe, sizeof(safe)));
		return -1;
	}

	if ((e = archive_entry_new()) == NULL) {
		log_err("out of memory");
		abort();
	}
	/* UTF-8 as it is: a pax "path" record or zip's UTF-8 flag. */
	archive_entry_set_pathname_utf8(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, BUNDLE_ENTRY_MODE);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_uname(e, "root");
	archive_entry_set_gname(e, "root");
	archive_entry_set_mtime(e, b->mtime, 0);

	if (b->loc != (locale_t)0)
		old = uselocale(b->loc);
	if (archive_write_header(b->a, e) != ARCHIVE_OK ||
	    write_data(b, data, len) == -1 ||
	    archive_write_finish_entry(b->a) != ARCHIVE_OK) {
		log_err("%s: %s: libarchive: %s%s%s", b->tmp.name, path,
		    archive_error_string(b->a), archive_errno(b->a) ? ": " : "",
		    archive_errno(b->a) ? strerror(archive_errno(b->a)) : "");
		b->broken = 1;
		goto out;
	}
	rc = 0;
out:
	if (old != (locale_t)0)
		uselocale(old);
	archive_entry_free(e);
	return rc;
}

int
bundle_commit(struct bundle *b)
{
	int	 rc = -1;

	if (b->broken) {
		log_err("%s: not published: an entry failed", b->tmp.name);
		goto out;
	}
	if (archive_write_close(b->a) != ARCHIVE_OK) {
		log_err("%s: libarchive: %s%s%s", b->tmp.name,
		    archive_error_string(b->a), archive_errno(b->a) ? ": " : "",
		    archive_errno(b->a) ? strerror(archive_errno(b->a)) : "");
		goto out;
	}
	archive_write_free(b->a);
	b->a = NULL;
	/* fs_tmp_commit removes the temporary file itself on failure. */
	if (fs_tmp_commit(&b->tmp) == -1) {
		log_err("%s: cannot publish: %s", b->tmp.name,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	bundle_abort(b);
	return rc;
}

void
bundle_abort(struct bundle *b)
{
	if (b == NULL)
		return;
	if (b->a != NULL)
		archive_write_free(b->a);
	fs_tmp_abort(&b->tmp);
	if (b->loc != (locale_t)0)
		freelocale(b->loc);
	free(b);
}
