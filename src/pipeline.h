/*
 * pipeline.h: the driver of the validation stages (pipeline.c): it loads
 * the open orders of each account in turn, runs the stages of stage.h
 * over them in SPEC 3 order and saves their outcome through the state
 * machine (store_state.h).  The other passes of the daemon have their own
 * headers: spool.h (intake), signer.h (signing), report.h (results).
 */
#ifndef CERTSPOOL_PIPELINE_H
#define CERTSPOOL_PIPELINE_H

#include "extern.h"
#include "ca.h"
#include "stage.h"

struct slice;

/* Recompute an order's state from its recipients (same transaction). */
int		 order_resettle(struct store *, long long id);
/*
 * Evaluate every order that is new or waiting, the accounts in turn,
 * until done or the slice is over (fairq.h; NULL: no limit); 0 or -1
 * (environment).
 */
int		 pipeline_evaluate(struct store *, const struct conf *,
		    const struct ca *, struct slice *);
/* Run the stages over e->o (e->dry_run: no side effects). */
int		 pipeline_eval(struct eval *);

#endif
