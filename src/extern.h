/*
 * certspool: shared declarations.
 *
 * Data flows one way: spool intake (spool.c) -> streaming batch parser
 * (batch.c) -> store (store.c) -> validation stages (stage_*.c, driven by
 * pipeline.c) -> certificate profile (profile.c) + pre-issuance lint
 * (lint.c) -> signer pool (signer.c, ca.c) -> bundle and mail writers
 * (bundle.c, mail.c) -> result report (report.c).
 *
 * Conventions: functions that act return 0 on success and -1 on failure;
 * constructors return a pointer or NULL; *_free() accepts NULL.
 */
#ifndef CERTSPOOL_EXTERN_H
#define CERTSPOOL_EXTERN_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define CERTSPOOL_VERSION	"0.1.0"

/* ---- time and randomness: the only sources (clock.c) ---- */

/*
 * The one clock.  Returns the current UTC time, unless the environment
 * variable CERTSPOOL_NOW is set (tests): either an absolute time
 * "YYYY-MM-DDTHH:MM:SSZ" / seconds since the epoch, or "+N" / "-N" seconds
 * of offset from the real clock.
 */
time_t	 clock_now(void);
/* The one source of randomness (the OpenSSL CSPRNG); aborts on failure. */
void	 rnd_bytes(void *buf, size_t len);
/* Milliseconds of CLOCK_MONOTONIC: for time limits and intervals only,
 * never for a date (that is clock_now()). */
long long	 mono_ms(void);
/* Format t as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). */
void	 time_fmt(time_t t, char *buf, size_t len);
/* Parse "YYYY-MM-DDTHH:MM:SSZ" or "YYYY-MM-DD" (00:00:00Z); -1 if bad. */
int	 time_parse(const char *s, time_t *t);

/* ---- crash points of the torture tests (crash.c) ---- */
/* Die here if CERTSPOOL_CRASH_AT names this point (tests only). */
void		 crash_point(const char *name);

/* "certspool: " and the message on stderr, for the operator at a
 * command; returns 1, the commands' failure status (cli.c). */
int		 cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- logging (log.c) ---- */

#define LOGL_ERR	3
#define LOGL_WARN	4
#define LOGL_INFO	6
#define LOGL_DEBUG	7

/*
 * Log to where ("stderr", "syslog" or "journal", over the socket at
 * sock: the syslog socket or the journal's native socket) from
 * level (LOGL_*) up.  0, or -1 with one line in err when the target
 * cannot be opened; the previous target then stays in use.
 */
int	 log_open(const char *where, int level, const char *sock, char *err,
	    size_t errlen);
/* log_open() with the target's default socket; a failure is logged on
 * stderr, which stays the target (tests and tools). */
void	 log_init(const char *where, int level);
/* Whether log_open() could open that target; 0 or -1 with err. */
int	 log_check(const char *where, const char *sock, char *err,
	    size_t errlen);
int	 log_level_parse(const char *s);
void	 logx(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Messages logged at level (LOGL_*) since the start, whether or not
 * log_level let them through (metrics.c). */
unsigned long long	 log_count(int level);
/* As logx(), then drains the OpenSSL error queue into the log. */
void	 log_ssl(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Drains the OpenSSL error queue into buf as one line ("" if empty). */
void	 ssl_errstr(char *buf, size_t len);
/* At most n bytes of s (NULL: "") for a log line in out: printable
 * ASCII, anything else as '?'.  Returns out. */
const char	*log_safe(const char *s, size_t n, char *out, size_t len);

#define log_err(...)	logx(LOGL_ERR, __VA_ARGS__)
#define log_warn(...)	logx(LOGL_WARN, __VA_ARGS__)
#define log_info(...)	logx(LOGL_INFO, __VA_ARGS__)
#define log_debug(...)	logx(LOGL_DEBUG, __VA_ARGS__)

/*
 * The context of this thread's log lines, appended to each as
 * " account=... file=... batch=... order=... recipient=...": set where
 * it is known, cleared when the work is done.  NULL unsets a key.
 */
enum log_key { LOGK_ACCOUNT, LOGK_FILE, LOGK_BATCH, LOGK_ORDER,
    LOGK_RECIPIENT, LOGK_MAX };
void	 log_ctx_set(const char *account, const char *batch,
	    const char *order, const char *recipient);
void	 log_ctx_put(enum log_key, const char *value);
void	 log_ctx_clear(void);

/*
 * Progress of a long phase: a line "PHASE: DONE/TOTAL UNIT ..." with the
 * rate when nothing at all was logged for interval_ms (5 s); total 0:
 * not known.  The closing line "PHASE: DONE/TOTAL UNIT done in ..." is
 * logged if a progress line was, or if quiet is 0 and DONE is at least
 * LOG_PROGRESS_MANY.
 */
#define LOG_PROGRESS_MS		5000
#define LOG_PROGRESS_MANY	1000
struct log_progress {
	const char	*phase;
	const char	*unit;
	size_t		 total;
	long long	 start_ms;	/* CLOCK_MONOTONIC */
	long long	 interval_ms;
	int		 lines;		/* progress lines logged */
};
void	 log_progress_begin(struct log_progress *, const char *phase,
	    const char *unit, size_t total);
void	 log_progress_tick(struct log_progress *, size_t done);
void	 log_progress_end(struct log_progress *, size_t done, int quiet);

/* ---- small utilities (util.c) ---- */

void	*xcalloc(size_t n, size_t sz);
char	*xstrdup(const char *s);	/* NULL in, NULL out */
void	 hex_encode(const unsigned char *in, size_t len, char *out); /* 2*len+1 */
/* SHA-256 of buf as 64 lower-case hex digits plus NUL. */
void	 sha256_hex(const void *buf, size_t len, char out[65]);
/* Growable byte buffer. */
struct buf {
	unsigned char	*p;
	size_t		 len, cap;
};
void	 buf_add(struct buf *b, const void *p, size_t len);
void	 buf_addf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_free(struct buf *b);
/* Append s as a JSON string in ASCII (\uXXXX escapes); NULL as null. */
void	 buf_json(struct buf *b, const char *s);
/*
 * One DER element at *pp before end (single-byte tag, definite length of
 * at most 4 bytes): its tag and content; *pp moves past it.  0 or -1.
 */
int	 der_next(const unsigned char **pp, const unsigned char *end,
	    unsigned char *tag, const unsigned char **content, size_t *clen);
/*
 * Call fn(&items[i], arg) for each of the n elements of size bytes on
 * `workers` threads (workpool.c); returns when every call has returned.
 */
void	 workpool_run(int workers, void *items, size_t n, size_t size,
	    void (*fn)(void *item, void *arg), void *arg);
/* Append a DER tag and the definite length of len content bytes. */
void	 der_put_hdr(struct buf *b, unsigned char tag, size_t len);
/*
 * A SubjectPublicKeyInfo of an unregistered algorithm (OID 1.3.6.1.4.1.
 * 99999.1) with an empty key.  Put in place of a real key before a
 * structure is handed to libcrypto, it is kept as bytes: OpenSSL 3.0 sets
 * up its key decoders on every parse of a real key, which costs a fifth of
 * an RSA signature (csr.c and lint.c check the key on its own bytes).
 */
#define DER_STANDIN_SPKI_LEN	20
extern const unsigned char der_standin_spki[DER_STANDIN_SPKI_LEN];
/* Copy src into dst of size dstsz, always NUL-terminated (like strlcpy). */
size_t	 strlcpy_(char *dst, const char *src, size_t dstsz);
/* In a forked child before exec: SIGPIPE back to its default, no signal
 * blocked, a process group of its own. */
void	 child_reset(void);
/* The item of a comma-separated list that starts at p, its blanks
 * trimmed: *item and *len.  Returns the comma after it or the final NUL. */
const char	*list_item(const char *p, const char **item, size_t *len);
/* c is an RFC 5322 3.2.3 atext character (ASCII). */
int	 is_atext(unsigned char c);

/* ---- file system (fsutil.c) ---- */

/* A name safe to use in the file system: [A-Za-z0-9._-], 1..128 bytes,
 * not starting with '.', not "..". */
int	 valid_name(const char *s);
/* mkdir -p with mode for every created component. */
int	 fs_mkdirs(const char *path, mode_t mode);
int	 fs_fsync_dir(int dirfd);
/* SHA-256 of what fd holds from its offset on (64 hex digits + NUL); the
 * offset is put back to 0.  0 or -1. */
int	 fs_sha256(int fd, char out[65]);
/*
 * Open an untrusted file dir/name: O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC,
 * then fstat: regular file, one link, size <= maxsize.  On refusal returns
 * -1 with a sentence in err.  On success *st is filled.
 */
struct stat;
int	 fs_open_untrusted(int dirfd, const char *name, off_t maxsize,
	    struct stat *st, char *err, size_t errlen);
/* Read all of fd (at most max bytes) into a NUL-terminated malloc'd buf. */
int	 fs_read_fd(int fd, size_t max, unsigned char **out, size_t *outlen);
/* Read a whole (trusted) file by path. */
int	 fs_read_file(const char *path, size_t max, unsigned char **out,
	    size_t *outlen);

/* A file being written under a temporary name, published by fs_tmp_commit. */
struct fs_tmp {
	int	 dirfd;		/* borrowed */
	int	 fd;
	char	 tmpname[160];
	char	 name[160];
};
int	 fs_tmp_open(struct fs_tmp *t, int dirfd, const char *name,
	    mode_t mode);
/* write -> fsync(file) -> rename -> fsync(dir); closes t->fd. */
int	 fs_tmp_commit(struct fs_tmp *t);
/* Closes and unlinks the temporary file; safe on a never-opened t. */
void	 fs_tmp_abort(struct fs_tmp *t);
/* Close t->fd without fsync: the temporary t->tmpname stays for a group
 * commit (one fs_syncfs for many files, then renameat, fs_fsync_dir). */
int	 fs_tmp_close(struct fs_tmp *t);
/* syncfs(2) of the file system of fd: every file written on it since fd
 * was opened is on disk (Linux >= 5.8 reports write-back errors).  -1
 * with errno ENOSYS where the kernel lacks it: fsync each file instead. */
int	 fs_syncfs(int fd);
/* fsync(2) of dirfd/name (opened O_RDONLY|O_NOFOLLOW, then closed). */
int	 fs_fsync_at(int dirfd, const char *name);
int	 fs_write_all(int fd, const void *buf, size_t len);
/* Remove our temporaries (".NAME.hex.tmp") left in dir by a crash, those
 * older than min_age seconds; returns how many were removed. */
int	 fs_sweep_tmp(const char *dir, time_t min_age);
/* The whole sequence for a buffer. */
int	 fs_write_atomic(int dirfd, const char *name, const void *buf,
	    size_t len, mode_t mode);
/* As above by directory path. */
int	 fs_write_atomic_path(const char *dir, const char *name,
	    const void *buf, size_t len, mode_t mode);
/* rename(2) between directories, then fsync both directories. */
int	 fs_move(int fromdir, const char *from, int todir, const char *to);
/* A name as text fit for a log line or a report: bytes outside printable
 * ASCII, and the backslash, written as \xHH; always NUL-terminated, "..."
 * at the end when out is too small (4 * strlen(in) + 1 always fits). */
void	 name_escape(const char *in, char *out, size_t outlen);

/* ---- processes holding files open for writing (openwriters.c) ---- */

struct ow_file {
	dev_t	 dev;
	ino_t	 ino;
	pid_t	 pid;		/* a process writing it, 0 when none was seen */
	char	 comm[17];	/* that process's name (/proc/PID/comm) */
	size_t	 idx;		/* the caller's own */
};
/*
 * Sort f by file and, in one walk of /proc, find for each a process that
 * holds it open for writing.  *unseen counts the processes that could
 * not be inspected (another user's without CAP_SYS_PTRACE, hidepid):
 * their writers are unknown.  -1 when /proc cannot be read at all.
 */
int	 ow_scan(struct ow_file *f, size_t n, size_t *unseen);
/* The entry for dev/ino in an array sorted by ow_scan, or NULL. */
struct ow_file *ow_find(struct ow_file *f, size_t n, dev_t dev, ino_t ino);

/* ---- configuration (conf.c) ---- */

enum ready_mode { READY_SETTLE, READY_MARKER };

struct conf {
	char		*path;		/* the file read */
	char		*base_dir;	/* directory of the config file */
	char		*spool_dir;
	char		*database;
	char		*ca_dir;	/* issuing CA: ca.pem, ca.key, chain.pem */
	char		*ca_key;	/* file or pkcs11: URI; "": ca_dir/ca.key */
	char		*pkcs11_module;
	char		*pkcs11_pin_file;	/* "": $CERTSPOOL_PKCS11_PIN */
	enum ready_mode	 ready;
	int		 settle_seconds;
	int		 poll_seconds;
	int		 lease_seconds;		/* several daemons */
	long long	 max_batch_bytes;
	int		 workers;
	char		*archive_format;	/* "tar.gz" or "zip" */
	char		*crl_url;		/* may hold {shard} */
	int		 crl_shards;		/* CRL partitions, >= 1 */
	char		*crl_dir;		/* published CRLs */
	int		 crl_refresh_hours;
	int		 crl_validity_hours;	/* nextUpdate - thisUpdate */
	char		*aia_ca_issuers_url;
	char		*ocsp_url;		/* may be empty */
	char		*log;			/* stderr, syslog or journal */
	int		 log_level;
	char		*syslog_socket;		/* with log = syslog */
	char		*journal_socket;	/* with log = journal */
	int		 caa_check;		/* 0 off, 1 on */
	char		*caa_identities;	/* comma separated */
	char		*dns_resolver;		/* host:port or "system" */
	char		*public_email_domains;	/* comma separated */
	char		*mail_from;
	char		*sendmail_command;	/* empty: only the mail spool */
	char		*p12_profile;		/* "aes" or "legacy" */
	int		 p12_iterations;
	int		 dns_timeout_seconds;	/* per DNS question */
	int		 http_dcv_port;		/* HTTP DCV fetches */
	char		*dcv_cname_target;	/* DNS CNAME DCV target */
	int		 p12_in_archive;	/* bundle.p12 in archives */
	int		 p12_retention_days;	/* kept for pickup */
	/* retention (purge.c); 0: kept for ever */
	int		 mail_retention_days;	/* delivered mail */
	int		 archive_retention_days;	/* archived inputs */
	int		 card_archive_retention_days; /* ... with a card number */
	int		 outbound_retention_days;	/* results, archives */
	/* the recipient portal (web.c) */
	char		*web_listen;		/* host:port */
	char		*web_base_url;		/* no trailing '/' */
	char		*web_tls_cert;		/* empty: plain HTTP */
	char		*web_tls_key;
	int		 web_max_connections;
	int		 web_timeout_seconds;	/* whole request */
	int		 web_max_body_bytes;
	int		 web_rate_limit;	/* per address and minute */
	/* billing (billing.h) */
	char		*agreement_version;	/* recorded with acceptance */
	char		*currency;		/* ISO 4217 code of prices */
	char		*price_individual;	/* "N,N,N" cents, 1-3 years */
	char		*price_business;
	char		*price_organization;
	char		*price_premium;
	char		*price_esp;		/* email_security_plus */
	char		*price_dsp;		/* digital_signature_plus */
	char		*price_client1;		/* client1_smime */
	char		*card_processor_command; /* empty: no card payments */
	int		 renew_before_days;	/* reissue/renew lead time */
	int		 renewal_notice_days;	/* notice before a renewal */
	char		*metrics_file;		/* empty: no metrics (metrics.c) */
	int		 metrics_interval_seconds; /* at most this often */
};

/* Load and check a config file; NULL with one line in err on failure. */
struct conf	*conf_load(const char *path, char *err, size_t errlen);
void		 conf_free(struct conf *);
/* The text init writes: every key, with its explanation, paths in dir. */
char		*conf_default_text(const char *dir);
/* The socket of c's log target (syslog_socket or journal_socket). */
const char	*conf_log_socket(const struct conf *c);

/* ---- products (product.c) ---- */

enum vtype { VT_MAILBOX = 1, VT_ORGANIZATION = 2, VT_SPONSOR = 3 };
enum generation { GEN_LEGACY = 1, GEN_MULTIPURPOSE = 2, GEN_STRICT = 3 };

struct product {
	const char	*name;
	enum vtype	 vtype;
	enum generation	 gen;
	int		 sign_only;	/* keyUsage digitalSignature only */
	int		 client_auth;	/* extKeyUsage adds clientAuth */
};

const struct product	*product_find(const char *name);
/* "2.23.140.1.5.<vtype>.<gen>" */
void			 product_policy_oid(const struct product *, char *,
			    size_t);

/* ---- revocation reasons (reasons.c) ---- */

/* RFC 5280 CRLReason value of a reason name S/MIME BR 7.2.2 allows
 * ("unspecified", "keyCompromise", "affiliationChanged", "superseded",
 * "cessationOfOperation", "privilegeWithdrawn"); -1 for any other. */
int		 revoke_reason_code(const char *name);
const char	*revoke_reason_name(int code);	/* NULL if not allowed */

/* ---- store (store.c over a driver, db.h) ---- */

struct db_driver;
struct store {
	const struct db_driver	*drv;
	void			*conn;		/* the driver's connection */
	int			 in_tx;
	/* A daemon of several (cluster.c): its node id, whose lease every
	 * commit renews and checks (fencing); 0 for one daemon and the
	 * commands.  lost: a commit found the lease gone and rolled back. */
	long long		 node;
	int			 lease_seconds;
	int			 lost;
};
/* target: an SQLite file path, or a postgresql:// URI (libpq). */
struct store	*store_open(const char *target, char *err, size_t errlen);
/* The database setting names a server (postgresql:// or postgres://),
 * not a file. */
int		 store_is_uri(const char *target);
/* Connect to target without migrating it and read its schema version
 * (0 for an empty database) into *version and this program's into
 * *current; 0, or -1 with err set.  Read-only (certspool doctor). */
int		 store_probe(const char *target, int *version, int *current,
		    char *err, size_t errlen);
void		 store_close(struct store *);
int		 store_begin(struct store *);	/* one writer at a time */
int		 store_commit(struct store *);
void		 store_rollback(struct store *);
/* Append an event (part of the caller's transaction). */
int		 store_event(struct store *, const char *kind, long long batch,
		    long long order, long long rcpt, const char *from,
		    const char *to, const char *reason, const char *detail);

/* ---- PKCS#12 retention (p12keep.c) ---- */
/* The daemon pass step: purge the PKCS#12 of certificates made more
 * than p12_retention_days ago (chunks, one transaction each).  0 or -1. */
int		 p12keep_run(struct store *, const struct conf *);

/* ---- CSR key stage (csr.c) ---- */

/*
 * Parse a CSR (PEM with either header, or base64 DER), verify its
 * self-signature, and check its key (S/MIME BR 6.1.5, 6.1.1.3).  On
 * success *pub is the public key (the only thing used).  On refusal
 * returns -1 with a reason code (snake_case) and a sentence.
 */
int	 csr_check(const char *text, size_t len, EVP_PKEY **pub,
	    char *reason, size_t reasonlen, char *msg, size_t msglen);
/* The same, and (if spki is not NULL) the hex SHA-256 of the key's DER
 * SubjectPublicKeyInfo (the SHA-256 of key_spki). */
int	 csr_check_spki(const char *text, size_t len, EVP_PKEY **pub,
	    char *spki, char *reason, size_t reasonlen, char *msg,
	    size_t msglen);
/* Check a public key alone (used for server-generated keys too). */
int	 key_check(EVP_PKEY *pub, char *reason, size_t reasonlen, char *msg,
	    size_t msglen);
/* The DER SubjectPublicKeyInfo of a key (malloc'd); 0 or -1. */
int	 key_spki(EVP_PKEY *pub, unsigned char **der, size_t *len);
/*
 * The SubjectPublicKeyInfo bytes of a CSR as they stand in it, without
 * decoding the key or checking anything else (csr_check does that);
 * 0 and a malloc'd copy, or -1 if the CSR does not have that shape.
 */
int	 csr_spki(const char *text, size_t len, unsigned char **spki,
	    size_t *spkilen);

/* ---- server-side keys and PKCS#12 (p12.c) ---- */

/* alg: ecc-p256, ecc-p384, rsa-2048, rsa-3072, rsa-4096. */
EVP_PKEY *keygen_new(const char *alg, char *err, size_t errlen);
/* A random password of >= 112 bits, base32, NUL-terminated (>= 32 B). */
void	 p12_password(char *out, size_t len);
/* PKCS#12 of key + cert + chain; legacy=0: AES-256-CBC, PBKDF2,
 * SHA-256 MAC; legacy=1: 3DES/SHA-1 for old clients. */
int	 p12_make(EVP_PKEY *key, X509 *cert, STACK_OF(X509) *chain,
	    const char *password, int legacy, int iterations,
	    unsigned char **der, size_t *len);

/* ---- bundle archives and mail (bundle.c, mail.c) ---- */

struct bundle;
/* Open outbound archive <name> (tar.gz or zip by format) in dirfd,
 * written under a temporary name. */
struct bundle *bundle_open(int dirfd, const char *name, const char *format);
/* Add a regular file (mode 0644) at path; path must be a safe relative
 * path of safe components. */
int	 bundle_add(struct bundle *, const char *path, const void *data,
	    size_t len);
/* 1 if s (len bytes) may be one component of an entry path: UTF-8, no
 * control, no '/', not starting with '.' (mailboxes of SPEC 4 pass). */
int	 bundle_valid_component(const char *s, size_t len);
/* Finish, fsync, rename into place, fsync the directory; frees b. */
int	 bundle_commit(struct bundle *);
void	 bundle_abort(struct bundle *);

struct mail_attach {
	const char	*filename;
	const char	*content_type;
	const void	*data;
	size_t		 len;
};
struct mail_msg {
	const char		*from;
	const char		*to;		/* one address */
	const char		*to_name;	/* its display name, or NULL */
	const char		*cc;		/* comma separated, or NULL */
	const char		*subject;	/* UTF-8 */
	const char		*body;		/* UTF-8 text */
	const struct mail_attach *att;
	size_t			 natt;
	const char		*message_id_seed; /* stable per message */
};
/* Render an RFC 5322 MIME message; 0 and a malloc'd buffer. */
int	 mail_render(const struct mail_msg *, time_t date, struct buf *out);
/* 1 if s (len bytes) is a plain addr-spec as mail_render takes it. */
int	 mail_valid_addr(const char *s, size_t len);
/* mailspool.c: */
/* Write it atomically as <name>.eml in the mail spool and, if
 * sendmail_command is set, pipe it to that command ("sendmail -t").
 * A batch of one (below). */
int	 mail_send(const struct conf *, const char *name,
	    const struct mail_msg *);
/*
 * Group commit of many messages.  mail_batch_add() renders a message and
 * writes it as a dot-temporary in the mail spool, without fsync;
 * mail_batch_commit() makes every temporary durable (one syncfs),
 * renames each to <name>.eml, fsyncs the directory once, then pipes
 * each to sendmail_command as mail_send() does; it frees the batch and
 * returns 0 only if every message is published.  A batch that reaches
 * 4096 messages commits them so from mail_batch_add() (bounded memory).
 * One message that cannot be rendered, written or renamed does not keep
 * the others back.  *state (if not NULL) tells what became of that
 * message: 0 published, -1 not (yet) published through no fault of its
 * own (the group's sync failed, the disk is full), or the errno of its
 * own failure (EINVAL: mail_render refused it).
 * mail_batch_abort() unlinks the temporaries and frees the batch (NULL
 * is fine).
 */
struct mail_batch;
struct mail_batch *mail_batch_begin(const struct conf *);
int	 mail_batch_add(struct mail_batch *, const char *name,
	    const struct mail_msg *, int *state);
int	 mail_batch_commit(struct mail_batch *);
void	 mail_batch_abort(struct mail_batch *);
/* Hand every message of the mail spool not yet handed over to the
 * sendmail command (retry after a failure); 0, or -1 if any failed. */
int	 mail_flush(const struct conf *);
/* 1 if message dir/<file> (its bytes p, len) was handed over to the
 * sendmail command as it is now (its record in dir/.sent/), else 0. */
int	 mail_handed_over(const char *dir, const char *file,
	    const unsigned char *p, size_t len);

/* ---- the service manager (notify.c): no-ops without NOTIFY_SOCKET ---- */

int	 notify_enabled(void);
void	 notify_ready(void);
void	 notify_reloading(void);
void	 notify_stopping(void);
void	 notify_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* WATCHDOG=1, at most once per half of the watchdog interval: cheap,
 * call it from any loop of a long phase, from any thread. */
void	 notify_watchdog(void);
/* Half the watchdog interval in ms (the longest a wait may last), or
 * -1 without a watchdog. */
long	 notify_watchdog_ms(void);

/*
 * The installed data directory sub ("schemas", "web") (datadir.c):
 * compiled when it is a directory, else ../share/certspool/sub beside
 * the running executable's directory when that is one (an installation
 * moved or under DESTDIR), else compiled.
 */
const char	*data_path(const char *compiled, const char *sub);

#endif /* CERTSPOOL_EXTERN_H */
