/*
 * metrics.c: the daemon's metrics as a Prometheus text exposition file
 * (metrics_file), for node_exporter's textfile collector.  After each
 * pass the daemon calls metrics_pass(): the pass is observed (duration
 * histogram, signing rate) and so are the events written since the last
 * call, read by rowid from the event table (signatures, results and
 * their pickup-to-result latency, rejections by reason, events by
 * kind); each event is observed once.  These live in memory and start
 * from zero when the daemon starts, as Prometheus counters may.  At most
 * every metrics_interval_seconds (and after the last pass of daemon
 * --once) the state of the database is read (collect(): the queries are
 * store_metrics.c's) and the file is replaced atomically: a temporary
 * in the same directory, fsync, rename, fsync of the directory.  The
 * counts by account scan orders and recipients (about 0.5 s each per
 * million rows); the rest uses indexes or small tables.  So that this
 * never takes more than a tenth of the daemon's time, the next write
 * waits at least ten times as long as the last one took.  Temporaries
 * of this file a crash left are removed at the first write (only ours:
 * the directory may be node_exporter's, shared with others).
 * Failure policy: metrics never hold up or fail the daemon.  A query or
 * a write that fails is one warning, at most every ten minutes; the
 * next interval tries again.
 */
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "metrics.h"
#include "store_metrics.h"
#include "store_node.h"

#define WARN_EVERY_MS	(10 * 60 * 1000LL)
#define MAX_REASONS	64		/* label values kept; then "other" */
#define MAX_KINDS	32

/* Upper bounds (seconds) of the histograms' buckets; +Inf is added. */
static const double pass_bounds[] = { 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1, 2.5, 5, 10, 30, 60 };
static const double latency_bounds[] = { 1, 2, 5, 10, 30, 60, 120, 300,
    600, 1800, 3600, 21600, 86400 };
#define NBOUNDS	16

struct hist {
	const double		*bounds;
	size_t			 nbounds;
	unsigned long long	 bucket[NBOUNDS];	/* not cumulative */
	unsigned long long	 count;
	double			 sum;
};

/* A counter per label value, a bounded set. */
struct labelled {
	char			 name[MAX_REASONS][48];
	unsigned long long	 n[MAX_REASONS];
	size_t			 len;
};

static struct {
	int			 started;
	int			 swept;		/* our old temporaries */
	long long		 last_event;	/* highest event id observed */
	time_t			 start_time;
	time_t			 last_pass;
	long long		 next_write_ms;	/* 0: at the next pass */
	long long		 last_warn_ms;
	unsigned long long	 passes_incomplete;
	unsigned long long	 signatures;
	unsigned long long	 results;
	double			 rate;		/* signatures/s, last pass */
	struct hist		 pass, latency;
	struct labelled		 order_rej, rcpt_rej, kinds;
} m = {
	.pass = { pass_bounds, sizeof(pass_bounds) / sizeof(double) },
	.latency = { latency_bounds, sizeof(latency_bounds) / sizeof(double) },
};

/* Warn at most every WARN_EVERY_MS. */
static void
warn_limited(const char *what, const char *detail)
{
	long long	 now = mono_ms();

	if (m.last_warn_ms != 0 && now - m.last_warn_ms < WARN_EVERY_MS)
		return;
	m.last_warn_ms = now;
	log_warn("metrics: %s: %s; the daemon goes on (this warning is "
	    "repeated at most every 10 minutes)", what, detail);
}

static void
hist_observe(struct hist *h, double v)
{
	size_t	 i;

	for (i = 0; i < h->nbounds && v > h->bounds[i]; i++)
		continue;
	h->bucket[i]++;		/* i == nbounds: +Inf only */
	h->count++;
	h->sum += v;
}

/* A label value we may show: [a-z0-9_], 1..47 bytes; else "other". */
static void
labelled_add(struct labelled *l, const char *v)
{
	size_t	 i;

	if (v == NULL || *v == '\0' || strlen(v) >= sizeof(l->name[0]) ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(v))
		v = "other";
	for (i = 0; i < l->len; i++)
		if (strcmp(l->name[i], v) == 0)
			break;
	if (i == l->len) {
		if (l->len == MAX_REASONS - 1 && strcmp(v, "other") != 0) {
			labelled_add(l, "other");
			return;
		}
		strlcpy_(l->name[i], v, sizeof(l->name[i]));
		l->len++;
	}
	l->n[i]++;
}

void
metrics_start(struct store *st)
{
	if (metrics_event_last(st, &m.last_event) == -1)
		m.last_event = 0;
	m.start_time = clock_now();
	m.started = 1;
}

/* One event written since the last call; arg counts the certificates
 * signed among them. */
static int
observe_event(void *arg, const struct metrics_event *e)
{
	unsigned long long	*signed_now = arg;

	m.last_event = e->id;
	if (e->kind == NULL)
		return 0;
	labelled_add(&m.kinds, e->kind);
	if (strcmp(e->kind, "certificate_issued") == 0)
		(*signed_now)++;
	else if (strcmp(e->kind, "result_written") == 0) {
		m.results++;
		if (e->has_latency)
			hist_observe(&m.latency, e->latency < 0 ? 0 :
			    (double)e->latency);
	} else if (e->to_state != NULL &&
	    strcmp(e->to_state, "rejected") == 0) {
		if (strcmp(e->kind, "order_state") == 0)
			labelled_add(&m.order_rej, e->reason);
		else if (strcmp(e->kind, "recipient_state") == 0)
			labelled_add(&m.rcpt_rej, e->reason);
	}
	return 0;
}

/* ---- the text format ---- */

static void
head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the text format wants (\\, \", \n). */
static void
label_value(struct buf *b, const char *v)
{
	for (; v != NULL && *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			buf_addf(b, "\\%c", *v);
		else if (*v == '\n')
			buf_add(b, "\\n", 2);
		else
			buf_add(b, v, 1);
	}
}

static void
put_hist(struct buf *b, const char *name, const char *help,
    const struct hist *h)
{
	unsigned long long	 cum = 0;
	size_t			 i;

	head(b, name, "histogram", help);
	for (i = 0; i < h->nbounds; i++) {
		cum += h->bucket[i];
		buf_addf(b, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i],
		    cum);
	}
	buf_addf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, h->count);
	buf_addf(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name,
	    h->count);
}

static void
put_labelled(struct buf *b, const char *name, const char *label,
    const char *fixed, const struct labelled *l)
{
	size_t	 i;

	for (i = 0; i < l->len; i++)
		buf_addf(b, "%s{%s%s=\"%s\"} %llu\n", name, fixed, label,
		    l->name[i], l->n[i]);
}

/* What lives in memory: passes, signatures, results, events, log. */
static void
put_memory(struct buf *b)
{
	static const char *const lv[] = { "error", "warning", "info",
	    "debug" };
	static const int	 ln[] = { LOGL_ERR, LOGL_WARN, LOGL_INFO,
	    LOGL_DEBUG };
	size_t			 i;

	head(b, "certspool_start_time_seconds", "gauge",
	    "When the daemon started (Unix time); in-memory counters start "
	    "from zero then.");
	buf_addf(b, "certspool_start_time_seconds %lld\n",
	    (long long)m.start_time);
	head(b, "certspool_last_pass_timestamp_seconds", "gauge",
	    "When the last daemon pass ended (Unix time).");
	buf_addf(b, "certspool_last_pass_timestamp_seconds %lld\n",
	    (long long)m.last_pass);
	put_hist(b, "certspool_pass_duration_seconds", "Duration of each "
	    "daemon pass.", &m.pass);
	head(b, "certspool_passes_incomplete_total", "counter", "Passes "
	    "that left work for the next one (a step failed).");
	buf_addf(b, "certspool_passes_incomplete_total %llu\n",
	    m.passes_incomplete);
	head(b, "certspool_signatures_total", "counter", "Certificates "
	    "signed since the daemon started.");
	buf_addf(b, "certspool_signatures_total %llu\n", m.signatures);
	head(b, "certspool_signing_rate", "gauge", "Certificates signed "
	    "per second in the last pass (signed / pass duration).");
	buf_addf(b, "certspool_signing_rate %.3f\n", m.rate);
	head(b, "certspool_results_total", "counter", "Result reports "
	    "(result.xml) written since the daemon started.");
	buf_addf(b, "certspool_results_total %llu\n", m.results);
	put_hist(b, "certspool_result_latency_seconds", "Seconds from the "
	    "pickup of a batch file to each result report written for it.",
	    &m.latency);
	head(b, "certspool_rejections_total", "counter", "Orders and "
	    "recipients rejected since the daemon started, by reason code.");
	put_labelled(b, "certspool_rejections_total", "reason",
	    "level=\"order\",", &m.order_rej);
	put_labelled(b, "certspool_rejections_total", "reason",
	    "level=\"recipient\",", &m.rcpt_rej);
	head(b, "certspool_events_total", "counter", "Events written to "
	    "the event log since the daemon started, by kind.");
	put_labelled(b, "certspool_events_total", "kind", "", &m.kinds);
	head(b, "certspool_log_messages_total", "counter", "Log messages "
	    "since the daemon started, by level (whatever log_level lets "
	    "through).");
	for (i = 0; i < 4; i++)
		buf_addf(b, "certspool_log_messages_total{level=\"%s\"} "
		    "%llu\n", lv[i], log_count(ln[i]));
}

/* ---- the database's state (store_metrics.c) ---- */

/* Where the rows of a gauge go: NAME{L1="v0",L2="v1"} N. */
struct rows {
	struct buf		*b;
	const char		*name;
	const char *const	*labels;
	int			 nlabels;
};

static int
put_row(void *arg, const struct metrics_row *row)
{
	const struct rows	*r = arg;
	int			 i;

	buf_addf(r->b, "%s", r->name);
	for (i = 0; i < r->nlabels; i++) {
		buf_addf(r->b, "%s%s=\"", i ? "," : "{", r->labels[i]);
		label_value(r->b, row->label[i]);
		buf_add(r->b, "\"", 1);
	}
	buf_addf(r->b, "%s %lld\n", r->nlabels ? "}" : "", row->n);
	return 0;
}

/* Non-final order states, for the queue (SPEC 4; new, approved). */
static const char *const waiting[] = { "new", "approved", "waiting_org",
    "waiting_dcv", "waiting_csr", "waiting_funds" };

static int
collect_queue(struct store *st, struct buf *b, time_t now)
{
	long long	 n, received;
	size_t		 i;

	head(b, "certspool_queue_depth", "gauge", "Orders not in a final "
	    "state (issued, rejected, cancelled).");
	if (metrics_queue_depth(st, &n) == -1)
		return -1;
	buf_addf(b, "certspool_queue_depth %lld\n", n);
	head(b, "certspool_oldest_order_age_seconds", "gauge", "Seconds "
	    "since the pickup of the oldest order in each waiting state.");
	for (i = 0; i < sizeof(waiting) / sizeof(waiting[0]); i++) {
		if (metrics_oldest_received(st, waiting[i], &received) == -1)
			return -1;
		buf_addf(b, "certspool_oldest_order_age_seconds{state=\"%s\"} "
		    "%lld\n", waiting[i], received < 0 ? 0 :
		    (long long)now - received < 0 ? 0 :
		    (long long)now - received);
	}
	return 0;
}

/* This daemon among several (PostgreSQL): the live nodes, its share. */
struct nodes_seen {
	long long	 self, live, accounts;
	int		 duty;
};

static int
node_seen(void *arg, const struct node_row *n)
{
	struct nodes_seen	*s = arg;

	s->live++;
	if (n->id == s->self) {
		s->accounts = n->accounts;
		s->duty = n->on_duty;
	}
	return 0;
}

static int
collect_nodes(struct store *st, struct buf *b)
{
	struct nodes_seen	 s = { st->node, 0, 0, 0 };

	if (st->node == 0)
		return 0;	/* one daemon (SQLite) */
	if (node_list(st, node_seen, &s) == -1)
		return -1;
	head(b, "certspool_nodes", "gauge", "Daemons sharing the database "
	    "whose lease has not run out.");
	buf_addf(b, "certspool_nodes %lld\n", s.live);
	head(b, "certspool_node_accounts", "gauge", "Accounts this daemon "
	    "holds.");
	buf_addf(b, "certspool_node_accounts %lld\n", s.accounts);
	head(b, "certspool_node_on_duty", "gauge", "1 if this daemon runs "
	    "the installation-wide steps (CRLs, revocations, renewals, "
	    "settlement, retention), else 0.");
	buf_addf(b, "certspool_node_on_duty %d\n", s.duty);
	return 0;
}

static int
collect_certs(struct store *st, struct buf *b)
{
	static const char *const state[] = { "state" };
	static const char *const reason[] = { "reason" };
	long long	 n;

	head(b, "certspool_certificates", "gauge", "Certificate rows by "
	    "state (signing: write-ahead, issued, superseded, void).");
	if (metrics_certs_by_state(st, put_row, &(struct rows){ b,
	    "certspool_certificates", state, 1 }) == -1)
		return -1;
	head(b, "certspool_certificates_issued_total", "counter",
	    "Certificates ever issued (issued or superseded since).");
	if (metrics_certs_issued(st, &n) == -1)
		return -1;
	buf_addf(b, "certspool_certificates_issued_total %lld\n", n);
	head(b, "certspool_certificates_revoked_total", "counter",
	    "Certificates revoked, by RFC 5280 reason.");
	if (metrics_certs_revoked(st, put_row, &(struct rows){ b,
	    "certspool_certificates_revoked_total", reason, 1 }) == -1)
		return -1;
	head(b, "certspool_certificates_stuck", "gauge", "Certificates "
	    "whose message could not be published (certspool status).");
	if (metrics_certs_stuck(st, &n) == -1)
		return -1;
	buf_addf(b, "certspool_certificates_stuck %lld\n", n);
	return 0;
}

static int
collect_crl(struct store *st, struct buf *b, time_t now)
{
	static const char *const lab[] = { "issuer", "shard" };

	head(b, "certspool_crl_age_seconds", "gauge", "Seconds since the "
	    "thisUpdate of each shard's published CRL.");
	if (metrics_crl_age(st, (long long)now, put_row, &(struct rows){ b,
	    "certspool_crl_age_seconds", lab, 2 }) == -1)
		return -1;
	head(b, "certspool_crl_number", "gauge", "cRLNumber of each "
	    "shard's published CRL.");
	if (metrics_crl_number(st, put_row, &(struct rows){ b,
	    "certspool_crl_number", lab, 2 }) == -1)
		return -1;
	head(b, "certspool_crl_next_update_timestamp_seconds", "gauge",
	    "nextUpdate of each shard's published CRL (Unix time).");
	return metrics_crl_next_update(st, put_row, &(struct rows){ b,
	    "certspool_crl_next_update_timestamp_seconds", lab, 2 });
}

/* Files in dir whose name ends with suffix ("": any), dot-files not. */
static long long
count_files(const char *dir, const char *suffix)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n, sl = strlen(suffix);
	long long	 count = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] != '.' && n > sl &&
		    strcmp(de->d_name + n - sl, suffix) == 0)
			count++;
	}
	closedir(d);
	return count;
}

static void
collect_mail(const struct conf *c, struct buf *b)
{
	char	 dir[PATH_MAX];

	head(b, "certspool_mail_spool_messages", "gauge", "Messages (.eml) "
	    "in spool/mail.");
	snprintf(dir, sizeof(dir), "%s/mail", c->spool_dir);
	buf_addf(b, "certspool_mail_spool_messages %lld\n",
	    count_files(dir, ".eml"));
	head(b, "certspool_mail_handed_over_messages", "gauge", "Messages "
	    "of spool/mail handed to sendmail_command (spool/mail/.sent).");
	snprintf(dir, sizeof(dir), "%s/mail/.sent", c->spool_dir);
	buf_addf(b, "certspool_mail_handed_over_messages %lld\n",
	    count_files(dir, ""));
}

/* Read the database's state into b; -1 on a database error. */
static int
collect(struct store *st, const struct conf *c, struct buf *b)
{
	static const char *const as[] = { "account", "state" };
	static const char *const ms[] = { "method", "state" };
	time_t	 now = clock_now();

	head(b, "certspool_orders", "gauge", "Orders by account and state.");
	if (metrics_orders_by_account(st, put_row, &(struct rows){ b,
	    "certspool_orders", as, 2 }) == -1)
		return -1;
	head(b, "certspool_recipients", "gauge", "Recipients by account "
	    "and state.");
	if (metrics_recipients_by_account(st, put_row, &(struct rows){ b,
	    "certspool_recipients", as, 2 }) == -1)
		return -1;
	if (collect_queue(st, b, now) == -1 || collect_certs(st, b) == -1 ||
	    collect_crl(st, b, now) == -1 || collect_nodes(st, b) == -1)
		return -1;
	head(b, "certspool_dcv", "gauge", "Domain and mailbox control "
	    "validations by method and state (open, used, failed, "
	    "expired).");
	if (metrics_dcv_by_method(st, put_row, &(struct rows){ b,
	    "certspool_dcv", ms, 2 }) == -1)
		return -1;
	collect_mail(c, b);
	return 0;
}

/* Split metrics_file into its directory and name; -1 if it has none. */
static int
split_path(const char *path, char *dir, size_t dirlen, const char **name)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL || slash[1] == '\0' ||
	    (size_t)(slash - path) + 1 > dirlen)
		return -1;
	snprintf(dir, dirlen, "%.*s", slash == path ? 1 : (int)(slash - path),
	    path);
	*name = slash + 1;
	return 0;
}

/*
 * dir/name replaced by b: a temporary .NAME.HEX.tmp in dir (which
 * fs_sweep_tmp knows), fsync, rename, fsync of dir.  Logs nothing: -1
 * with what failed in err (the caller's warning is rate-limited).
 */
static int
write_atomic(const char *dir, const char *name, const struct buf *b,
    char *err, size_t errlen)
{
	unsigned char	 r[8];
	char		 hex[17], tmp[NAME_MAX + 1];
	int		 dfd, fd = -1, rc = -1, made = 0;

	rnd_bytes(r, sizeof(r));
	hex_encode(r, sizeof(r), hex);
	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.%s.tmp", name, hex) >=
	    sizeof(tmp)) {
		snprintf(err, errlen, "name too long");
		return -1;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1) {
		snprintf(err, errlen, "%s/%s: %s", dir, tmp, strerror(errno));
		goto out;
	}
	made = 1;
	if (fs_write_all(fd, b->p, b->len) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "%s/%s: %s", dir, tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		snprintf(err, errlen, "%s/%s: close: %s", dir, tmp,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, name) == -1) {
		snprintf(err, errlen, "%s/%s: rename: %s", dir, name,
		    strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	if (fsync(dfd) == -1) {
		snprintf(err, errlen, "%s: fsync: %s", dir, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc == -1 && made && tmp[0] != '\0')
		(void)unlinkat(dfd, tmp, 0);
	close(dfd);
	return rc;
}

/* Remove our own temporaries (.NAME.HEX.tmp) a crash left in dir,
 * which may be shared with other exporters: nothing else is touched. */
static void
sweep_own(const char *dir, const char *name)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 nl = strlen(name), n;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n > nl + 6 && de->d_name[0] == '.' &&
		    strncmp(de->d_name + 1, name, nl) == 0 &&
		    de->d_name[nl + 1] == '.' &&
		    strcmp(de->d_name + n - 4, ".tmp") == 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static void
write_file(struct store *st, const struct conf *c)
{
	struct buf	 b = { 0 };
	char		 dir[PATH_MAX], err[PATH_MAX + 64];
	const char	*name;
	long long	 t0 = mono_ms();

	if (split_path(c->metrics_file, dir, sizeof(dir), &name) == -1) {
		warn_limited(c->metrics_file, "not a file path");
		return;
	}
	if (!m.swept) {
		sweep_own(dir, name);
		m.swept = 1;
	}
	put_memory(&b);
	if (collect(st, c, &b) == -1) {
		warn_limited(c->metrics_file, "database error; not written");
		goto out;
	}
	head(&b, "certspool_metrics_collect_seconds", "gauge", "Time taken "
	    "to read the database and the spool for this file.");
	buf_addf(&b, "certspool_metrics_collect_seconds %.3f\n",
	    (mono_ms() - t0) / 1000.0);
	if (write_atomic(dir, name, &b, err, sizeof(err)) == -1)
		warn_limited(c->metrics_file, err);
out:
	buf_free(&b);
}

void
metrics_pass(struct store *st, const struct conf *c, long long pass_ms,
    int incomplete, int final)
{
	unsigned long long	 signed_now = 0;
	long long		 now = mono_ms();

	if (c->metrics_file == NULL || *c->metrics_file == '\0')
		return;
	if (!m.started)
		metrics_start(st);
	m.last_pass = clock_now();
	hist_observe(&m.pass, pass_ms / 1000.0);
	if (incomplete)
		m.passes_incomplete++;
	if (metrics_events_after(st, m.last_event, observe_event,
	    &signed_now) == -1)
		warn_limited("event log", "database error");
	m.signatures += signed_now;
	m.rate = signed_now / (pass_ms > 0 ? pass_ms / 1000.0 : 0.001);
	if (!final && m.next_write_ms != 0 && now < m.next_write_ms)
		return;
	write_file(st, c);
	/* Reading the database takes at most a tenth of the daemon's
	 * time: on a large one the interval grows. */
	m.next_write_ms = now + c->metrics_interval_seconds * 1000LL;
	if (m.next_write_ms < now + 10 * (mono_ms() - now))
		m.next_write_ms = now + 10 * (mono_ms() - now);
}
