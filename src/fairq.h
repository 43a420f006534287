/*
 * fairq.h: fair share between accounts.  A pass runs in time slices:
 * the evaluation and the signing each stop taking new work once their
 * slice is over (at least one group or chunk is always done), and
 * sooner when new input is waiting, so that the next pass takes it in.
 * Within a phase, work is taken round-robin by account (fairq.c).
 */
#ifndef CERTSPOOL_FAIRQ_H
#define CERTSPOOL_FAIRQ_H

#include "store_order.h"

struct store;

#define SLICE_MS	500	/* a phase's share of a pass */
#define SLICE_MIN_MS	100	/* ... when new input is waiting */

struct slice {
	long long	 phase_start;	/* mono_ms() */
	long long	 end;		/* the current phase's deadline */
	int		 fds[2];	/* readable: new input waits (or -1) */
	int		 woken;		/* one of fds was readable */
	int		 cut;		/* a phase stopped with work left */
};

/*
 * A pass starts: fds are polled (never read) to see new input.  hurry:
 * the pass before saw new input, which this pass takes in: its phases
 * get SLICE_MIN_MS, so that the new work is published soon.
 */
void	 slice_begin(struct slice *, int fd1, int fd2, int hurry);
/* A phase (evaluation, signing) starts its share of the pass. */
void	 slice_phase(struct slice *);
/* Is the current phase's share used up?  NULL: never. */
int	 slice_over(struct slice *);

/*
 * The accounts with work of that kind, in *ids (*n of them, free()), in
 * turn: the first one after *last comes first, so that the account
 * served first in one pass is served last in the next; *last becomes
 * the first one listed.  0 or -1.
 */
int	 fairq_accounts(struct store *, enum fairq_kind, long long *last,
	    long long **ids, size_t *n);

#endif
