/*
 * billing.h: prices, the account ledger, the card processor client and
 * the renewal scheduler (SPEC 3.7 payment; 2.1 validity and autoRenew).
 *
 *   ledger.c    prices, card-number screening, the append-only ledger,
 *               refunds, card capture/release after issuance (settle)
 *   card.c      the external card processor: JSON in, JSON out
 *   stage_payment.c  order-level payment terms and the per-recipient
 *               charge at approval
 *   renew.c     reissues within paid coverage, renewals, notices
 */
#ifndef CERTSPOOL_BILLING_H
#define CERTSPOOL_BILLING_H

#include <time.h>

#include "extern.h"

/* Ledger kinds (ledger.kind).  Amounts are signed from the account's
 * side: cents for deposit/debit/refund and the card kinds, units for
 * unit_debit/unit_credit. */
#define L_DEPOSIT	"deposit"
#define L_DEBIT		"debit"
#define L_REFUND	"refund"
#define L_UNIT_DEBIT	"unit_debit"
#define L_UNIT_CREDIT	"unit_credit"
#define L_CARD_AUTH	"card_authorize"
#define L_CARD_CAPTURE	"card_capture"
#define L_CARD_RELEASE	"card_release"

/* The most years of coverage the price table lists; a longer coverage
 * (days beyond 3 x 366) adds the one-year price per further year. */
#define PRICE_YEARS	3

struct ledger_row {
	long long	 account_id;
	const char	*kind;
	long long	 amount;
	long long	 contract_id;	/* 0: none */
	long long	 batch_id, order_id, rcpt_id;	/* 0: none */
	int		 round;
	const char	*ref;
	const char	*detail;
};

/* ---- ledger.c ---- */

/* "N,N,N": cents for 1, 2 and 3 years; 0 and out[], or -1. */
int	 price_parse(const char *s, long long out[PRICE_YEARS]);
/* Price in cents of one certificate of product for years of coverage;
 * -1 for an unknown product. */
long long price_of(const struct conf *, const char *product, int years);
/* Years of coverage a span of seconds counts as (a started year of 366
 * days counts whole; at least 1). */
int	 coverage_years(time_t span);
/* 1 if s looks like a payment card number: a run of 13 to 19 digits,
 * spaces and dashes allowed between them, that passes the Luhn check. */
int	 is_card_number(const char *s);
/* Append one ledger row (the caller's transaction). */
int	 ledger_add(struct store *, const struct ledger_row *);
/* Credit an account's balance with a deposit (the caller's tx). */
int	 ledger_deposit(struct store *, long long account_id, long long cents,
	    const char *detail);
/* Add units to a contract (the caller's tx). */
int	 ledger_units(struct store *, long long account_id,
	    long long contract_id, long long units, const char *ref,
	    const char *detail);
/*
 * Give back what was charged to the balance or a contract for this
 * recipient's round, once (the caller's transaction): after the signer
 * refused the certificate.  Card authorizations are released by
 * billing_settle().
 */
int	 ledger_refund(struct store *, long long rcpt_id, int round,
	    const char *why);
/* The database's instance id (idempotency references); "" on error. */
const char *ledger_instance(struct store *);
/*
 * Card settlement, in transactions of its own: capture the authorization
 * of every issued certificate, release that of every refused or
 * cancelled recipient.  order_id != 0 limits it to one order.  Processor
 * failures are logged and retried in the next pass.
 */
int	 billing_settle(struct store *, const struct conf *,
	    long long order_id);

/* ---- card.c ---- */

struct card_req {
	const char	*op;		/* authorize, capture, release */
	const char	*reference;	/* idempotency key */
	const char	*token;		/* authorize only */
	const char	*authorization;	/* capture and release */
	long long	 amount;
	const char	*currency;
	const char	*account;
	const char	*order;
	const char	*description;
};

enum card_rc { CARD_OK = 0, CARD_REFUSED, CARD_UNAVAILABLE };

struct card_resp {
	char	 id[128];	/* authorization / capture / release id */
	char	 error[64];	/* refusal code */
	char	 message[256];
};

/* Run card_processor_command once; CARD_UNAVAILABLE when it is not
 * configured, fails, times out or answers something unreadable. */
enum card_rc card_call(const struct conf *, const struct card_req *,
	    struct card_resp *);

/* ---- renew.c ---- */

/*
 * The scheduler, once: reissue certificates whose paid coverage runs
 * longer than them (renew_before_days before they expire, no charge),
 * send "renewal due" notices, and start renewals of auto-renewing
 * orders at the end of their coverage.  Counts go to the optional
 * pointers.  0 or -1 (environment).
 */
int	 renew_run(struct store *, const struct conf *, int *nreissue,
	    int *nrenew, int *nnotice);

#endif
