/*
 * store_metrics.h: what the metrics file (metrics.c) reads of the
 * database (store_metrics.c): the events written after a given one, and
 * the counts and gauges of orders, recipients, certificates, CRL shards
 * and validations.  Every function only reads, one statement each, in
 * the caller's transaction (the daemon calls them outside any: each
 * statement then reads a snapshot of its own).  They return 0, or -1 on
 * a database error; a callback that returns -1 stops its loop and the
 * function returns -1.
 */
#ifndef CERTSPOOL_STORE_METRICS_H
#define CERTSPOOL_STORE_METRICS_H

struct store;

/* An event as the metrics observe it; the texts are NULL when NULL and
 * valid during the callback only. */
struct metrics_event {
	long long	 id;
	const char	*kind, *to_state, *reason;
	int		 has_latency;	/* a result_written of a known batch */
	long long	 latency;	/* seconds since that batch's pickup */
};

/* A gauge's row: its label values (NULL when NULL; valid during the
 * callback only) and its number. */
struct metrics_row {
	const char	*label[2];
	long long	 n;
};
typedef int (*metrics_row_fn)(void *, const struct metrics_row *);

/* ---- the event log ---- */
/* The highest event id, 0 if there is none. */
int	 metrics_event_last(struct store *, long long *id);
/* Each event of id > after, in id order, streamed to fn. */
int	 metrics_events_after(struct store *, long long after,
	    int (*fn)(void *, const struct metrics_event *), void *arg);

/* ---- orders and recipients ---- */
/* Orders by account name and state (two labels), in that order. */
int	 metrics_orders_by_account(struct store *, metrics_row_fn, void *);
/* Recipients by account name and state (two labels), in that order. */
int	 metrics_recipients_by_account(struct store *, metrics_row_fn, void *);
/* Orders not in a final state (issued, rejected, cancelled). */
int	 metrics_queue_depth(struct store *, long long *n);
/* When the batch of the oldest order in state was picked up; -1 if no
 * order is in that state. */
int	 metrics_oldest_received(struct store *, const char *state,
	    long long *received);

/* ---- certificates ---- */
/* Certificate rows by state (one label). */
int	 metrics_certs_by_state(struct store *, metrics_row_fn, void *);
/* Certificates ever issued (issued or superseded since). */
int	 metrics_certs_issued(struct store *, long long *n);
/* Revoked certificates by RFC 5280 reason (one label). */
int	 metrics_certs_revoked(struct store *, metrics_row_fn, void *);
/* Certificates whose message could not be published. */
int	 metrics_certs_stuck(struct store *, long long *n);

/* ---- CRL shards (labels: issuer id, shard), published ones only ---- */
/* Seconds from each shard's thisUpdate to now. */
int	 metrics_crl_age(struct store *, long long now, metrics_row_fn,
	    void *);
/* Each shard's cRLNumber. */
int	 metrics_crl_number(struct store *, metrics_row_fn, void *);
/* Each shard's nextUpdate (Unix time). */
int	 metrics_crl_next_update(struct store *, metrics_row_fn, void *);

/* ---- validations ---- */
/* DCV rows by method and state (two labels). */
int	 metrics_dcv_by_method(struct store *, metrics_row_fn, void *);

#endif
