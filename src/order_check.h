/*
 * order_check.h: the checks an order passes when its document is parsed,
 * before it is stored for the stages (order_check.c).
 */
#ifndef CERTSPOOL_ORDER_CHECK_H
#define CERTSPOOL_ORDER_CHECK_H

#include "extern.h"
#include "batch.h"

struct order_refusal {
	char	 reason[48];	/* reason code (README "Reason codes") */
	char	 message[512];	/* "line N: ..." */
	int	 line;		/* line of the offending element */
};

/*
 * Check an order's mailboxes, additional emails and subject names as
 * they will be issued and delivered (README "Intake checks").  Returns 0
 * if the order may go on to the stages, 1 if it is refused (ref says
 * why; the first refusal in document order, duplicates last).  Pure:
 * no database, no clock, no log.
 */
int	 order_check(const struct order_in *,
	    struct order_refusal *ref);
/* The NFC form of a subject name, newly allocated; NULL for NULL. */
char	*name_nfc(const char *);

#endif
