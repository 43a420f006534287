/* metrics.h: the daemon's Prometheus metrics file (metrics.c). */
#ifndef CERTSPOOL_METRICS_H
#define CERTSPOOL_METRICS_H

struct store;
struct conf;

/* At daemon start: events already in the database are not observed. */
void	 metrics_start(struct store *);
/*
 * After each daemon pass of pass_ms milliseconds (incomplete: it
 * returned -1): observe the pass and the events it wrote, and write
 * metrics_file when metrics_interval_seconds have passed since the last
 * write, or always with final.  Never fails the caller.
 */
void	 metrics_pass(struct store *, const struct conf *, long long pass_ms,
	    int incomplete, int final);

#endif
