/*
 * fsutil.c: the file-system discipline of the spool.
 * Untrusted files are opened without following links and checked with
 * fstat before a byte is read.  Everything published is written under a
 * temporary name in the same directory, fsynced, renamed and the
 * directory fsynced, so a reader sees a file whole or not at all.
 * A group of files may share the flushes instead (fs_tmp_close, then
 * one fs_syncfs, the renames, one fs_fsync_dir): see mail_batch_commit.
 * Failure policy: every function reports -1 with errno kept and a log
 * line; the caller decides whether to keep the input and retry.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "extern.h"

int
valid_name(const char *s)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0' || s[0] == '.')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		char	 c = s[i];

		if (i >= 128)
			return 0;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Length of the escape of one byte. */
static size_t
esc_len(unsigned char c)
{
	return (c < 0x20 || c > 0x7e || c == '\\') ? 4 : 1;
}

void
name_escape(const char *in, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p;
	size_t			 o = 0, total = 0, room;

	if (outlen == 0)
		return;
	for (p = (const unsigned char *)in; *p != '\0'; p++)
		total += esc_len(*p);
	/* When it does not fit, whole escapes only, then "...". */
	room = total < outlen ? outlen - 1 : (outlen > 4 ? outlen - 4 : 0);
	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (o + esc_len(*p) > room)
			break;
		if (esc_len(*p) == 4) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		} else
			out[o++] = (char)*p;
	}
	if (*p != '\0' && o + 4 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

int
fs_mkdirs(const char *path, mode_t mode)
{
	char	 tmp[4096];
	char	*p;

	if (strlcpy_(tmp, path, sizeof(tmp)) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
fs_fsync_dir(int dirfd)
{
	if (fsync(dirfd) == -1) {
		log_warn("fsync of directory: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
fs_open_untrusted(int dirfd, const char *name, off_t maxsize,
    struct stat *st, char *err, size_t errlen)
{
	int	 fd;

	fd = openat(dirfd, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		if (errno == ELOOP)
			snprintf(err, errlen, "is a symbolic link");
		else
			snprintf(err, errlen, "cannot open: %s",
			    strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1) {
		snprintf(err, errlen, "fstat: %s", strerror(errno));
		goto bad;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "not a regular file");
		goto bad;
	}
	if (st->st_nlink != 1) {
		snprintf(err, errlen, "has %lu hard links; only 1 is allowed",
		    (unsigned long)st->st_nlink);
		goto bad;
	}
	if (st->st_size > maxsize) {
		snprintf(err, errlen, "size %lld exceeds max_batch_bytes %lld",
		    (long long)st->st_size, (long long)maxsize);
		goto bad;
	}
	/* Regular file: blocking reads are fine from here on. */
	if (fcntl(fd, F_SETFL, 0) == -1) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return -1;
}

int
fs_read_fd(int fd, size_t max, unsigned char **out, size_t *outlen)
{
	struct buf	 b = { 0 };
	unsigned char	 tmp[65536];
	ssize_t		 n;

	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			buf_free(&b);
			return -1;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			buf_free(&b);
			errno = EFBIG;
			return -1;
		}
		buf_add(&b, tmp, (size_t)n);
	}
	if (b.p == NULL)
		buf_add(&b, "", 0);
	*out = b.p;
	*outlen = b.len;
	return 0;
}

int
fs_read_file(const char *path, size_t max, unsigned char **out,
    size_t *outlen)
{
	int	 fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	rc = fs_read_fd(fd, max, out, outlen);
	close(fd);
	return rc;
}

int
fs_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	ssize_t			 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fs_tmp_open(struct fs_tmp *t, int dirfd, const char *name, mode_t mode)
{
	unsigned char	 r[6];
	char		 hex[13];

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->dirfd = dirfd;
	if (strlcpy_(t->name, name, sizeof(t->name)) >= sizeof(t->name)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	rnd_bytes(r, sizeof(r));
	hex_encode(r, sizeof(r), hex);
	snprintf(t->tmpname, sizeof(t->tmpname), ".%s.%s.tmp", name, hex);
	t->fd = openat(dirfd, t->tmpname,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (t->fd == -1) {
		log_warn("%s: create: %s", t->tmpname, strerror(errno));
		t->tmpname[0] = '\0';
		return -1;
	}
	/* The umask must not widen or narrow what we publish. */
	(void)fchmod(t->fd, mode);
	return 0;
}

int
fs_tmp_close(struct fs_tmp *t)
{
	int	 rc = 0;

	if (close(t->fd) == -1) {
		log_warn("%s: close: %s", t->tmpname, strerror(errno));
		rc = -1;
	}
	t->fd = -1;
	return rc;
}

int
fs_syncfs(int fd)
{
	if (syncfs(fd) == -1) {
		if (errno != ENOSYS)
			log_warn("syncfs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
fs_fsync_at(int dirfd, const char *name)
{
	int	 fd, save;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		log_warn("%s: open: %s", name, strerror(errno));
		return -1;
	}
	if (fsync(fd) == -1) {
		save = errno;
		log_warn("%s: fsync: %s", name, strerror(errno));
		close(fd);
		errno = save;
		return -1;
	}
	return close(fd);
}

int
fs_tmp_commit(struct fs_tmp *t)
{
	int	 save;

	if (fsync(t->fd) == -1) {
		log_warn("%s: fsync: %s", t->tmpname, strerror(errno));
		goto bad;
	}
	if (close(t->fd) == -1) {
		t->fd = -1;
		log_warn("%s: close: %s", t->tmpname, strerror(errno));
		goto bad;
	}
	t->fd = -1;
	if (renameat(t->dirfd, t->tmpname, t->dirfd, t->name) == -1) {
		log_warn("%s: rename: %s", t->name, strerror(errno));
		goto bad;
	}
	t->tmpname[0] = '\0';
	return fs_fsync_dir(t->dirfd);
bad:
	save = errno;
	fs_tmp_abort(t);
	errno = save;
	return -1;
}

void
fs_tmp_abort(struct fs_tmp *t)
{
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
	if (t->tmpname[0] != '\0')
		(void)unlinkat(t->dirfd, t->tmpname, 0);
	t->tmpname[0] = '\0';
}

int
fs_write_atomic(int dirfd, const char *name, const void *buf, size_t len,
    mode_t mode)
{
	struct fs_tmp	 t;

	if (fs_tmp_open(&t, dirfd, name, mode) == -1)
		return -1;
	if (fs_write_all(t.fd, buf, len) == -1) {
		log_warn("%s: write: %s", t.tmpname, strerror(errno));
		fs_tmp_abort(&t);
		return -1;
	}
	return fs_tmp_commit(&t);
}

int
fs_write_atomic_path(const char *dir, const char *name, const void *buf,
    size_t len, mode_t mode)
{
	int	 dfd, rc;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("%s: %s", dir, strerror(errno));
		return -1;
	}
	rc = fs_write_atomic(dfd, name, buf, len, mode);
	close(dfd);
	return rc;
}

int
fs_move(int fromdir, const char *from, int todir, const char *to)
{
	if (renameat(fromdir, from, todir, to) == -1)
		return -1;
	if (fs_fsync_dir(todir) == -1)
		return -1;
	if (fromdir != todir && fs_fsync_dir(fromdir) == -1)
		return -1;
	return 0;
}

int
fs_sweep_tmp(const char *dir, time_t min_age)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	time_t		 now = time(NULL);
	size_t		 n;
	int		 fd, count = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] != '.' || n < 6 ||
		    strcmp(de->d_name + n - 4, ".tmp") != 0)
			continue;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(sb.st_mode) || now - sb.st_mtime < min_age)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			count++;
	}
	closedir(d);
	return count;
}

/* SHA-256 of what fd holds from its offset to its end, as 64 hex digits;
 * the offset is put back to 0 so that the caller reads the same bytes. */
int
fs_sha256(int fd, char out[65])
{
	EVP_MD_CTX	*ctx;
	unsigned char	 buf[65536], md[32];
	ssize_t		 n;
	int		 rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, NULL) != 1)
		goto out;
	hex_encode(md, sizeof(md), out);
	rc = lseek(fd, 0, SEEK_SET) == 0 ? 0 : -1;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
