/*
 * workpool.c: run one function over every element of an array on the
 * configured number of threads (`workers`, one per core by default).
 * Elements are handed out one at a time from a shared index, so slow
 * and fast elements balance out; the call returns when all are done.
 * The function must touch only its element and what it reads from arg.
 * Failure policy: if no thread can be started the caller's thread does
 * all the work; a thread that cannot be started is simply not used.
 */
#include <pthread.h>
#include <stddef.h>

#include "extern.h"

#define MAX_THREADS	256

struct workpool {
	unsigned char	*items;
	size_t		 n, size, next;
	pthread_mutex_t	 mu;
	void		(*fn)(void *, void *);
	void		*arg;
};

static void *
worker(void *v)
{
	struct workpool	*w = v;
	size_t		 i;

	for (;;) {
		pthread_mutex_lock(&w->mu);
		i = w->next++;
		pthread_mutex_unlock(&w->mu);
		if (i >= w->n)
			return NULL;
		w->fn(w->items + i * w->size, w->arg);
	}
}

void
workpool_run(int workers, void *items, size_t n, size_t size,
    void (*fn)(void *item, void *arg), void *arg)
{
	struct workpool	 w;
	pthread_t	 th[MAX_THREADS];
	int		 i, nt = workers;

	if (n == 0)
		return;
	if (nt < 1)
		nt = 1;
	if (nt > MAX_THREADS)
		nt = MAX_THREADS;
	if ((size_t)nt > n)
		nt = (int)n;
	w.items = items;
	w.n = n;
	w.size = size;
	w.next = 0;
	w.fn = fn;
	w.arg = arg;
	pthread_mutex_init(&w.mu, NULL);
	/* One thread: no need for any. */
	for (i = 0; nt > 1 && i < nt; i++)
		if (pthread_create(&th[i], NULL, worker, &w) != 0)
			break;
	if (i == 0)
		worker(&w);
	while (i-- > 0)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&w.mu);
}
