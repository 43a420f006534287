/*
 * fairq.c: time slices of a pass and the accounts with work waiting
 * (fairq.h).  The accounts are read with one short index probe each
 * (fairq_account_after: a loose scan of orders_open or
 * recipient_approved, schema 8), so a huge backlog of one account costs
 * nothing to list.
 * Failure policy: a database error is returned; a poll error counts as
 * no new input.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "fairq.h"
#include "store_order.h"

void
slice_begin(struct slice *s, int fd1, int fd2, int hurry)
{
	memset(s, 0, sizeof(*s));
	s->fds[0] = fd1;
	s->fds[1] = fd2;
	s->woken = hurry;
	slice_phase(s);
}

void
slice_phase(struct slice *s)
{
	s->phase_start = mono_ms();
	s->end = s->phase_start + (s->woken ? SLICE_MIN_MS : SLICE_MS);
}

/* Is some input waiting on the pass's descriptors (without reading)? */
static int
input_waits(const struct slice *s)
{
	struct pollfd	 pfd[2];
	nfds_t		 n = 0;
	size_t		 i;

	for (i = 0; i < 2; i++)
		if (s->fds[i] != -1) {
			pfd[n].fd = s->fds[i];
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			n++;
		}
	return n > 0 && poll(pfd, n, 0) > 0;
}

int
slice_over(struct slice *s)
{
	long long	 now;

	if (s == NULL)
		return 0;
	now = mono_ms();
	if (!s->woken && input_waits(s)) {
		s->woken = 1;
		if (s->end > s->phase_start + SLICE_MIN_MS)
			s->end = s->phase_start + SLICE_MIN_MS;
	}
	return now >= s->end;
}

int
fairq_accounts(struct store *st, enum fairq_kind kind, long long *last,
    long long **ids, size_t *n)
{
	long long	*v = NULL, a = 0, *t;
	size_t		 cap = 0, k = 0, first;

	*ids = NULL;
	*n = 0;
	for (;;) {
		if ((a = fairq_account_after(st, kind, a)) == -1) {
			free(v);
			return -1;
		}
		if (a == 0)
			break;
		if (k == cap) {
			cap = cap ? cap * 2 : 8;
			if ((t = reallocarray(v, cap, sizeof(*v))) == NULL)
				abort();
			v = t;
		}
		v[k++] = a;
	}
	/* Rotate: the first account after *last leads. */
	for (first = 0; first < k && v[first] <= *last; first++)
		continue;
	if (first == k)
		first = 0;
	if (k > 0) {
		t = xcalloc(k, sizeof(*t));
		memcpy(t, v + first, (k - first) * sizeof(*t));
		memcpy(t + (k - first), v, first * sizeof(*t));
		free(v);
		v = t;
		*last = v[0];
	}
	*ids = v;
	*n = k;
	return 0;
}
