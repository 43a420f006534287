/*
 * store_stage.h: what the validation stages read and record with an
 * order and its recipients (store_stage.c): the acceptance of the
 * agreement, the attestation, the price and how the order pays, each
 * recipient's paid coverage, and the lookups of stage_csr (keys, key
 * generation links).  States are not changed here (store_state.h).
 * Every function runs in the caller's transaction (the evaluation's
 * group); predicates return 1 or 0, the others 0; all return -1 on a
 * database error.
 */
#ifndef CERTSPOOL_STORE_STAGE_H
#define CERTSPOOL_STORE_STAGE_H

#include <time.h>

struct store;

/* ---- the order (stage_agreement, stage_terms, stage_attest) ---- */

/* 1 if the order's acceptance of the agreement is recorded. */
int	 order_agreement_recorded(struct store *, long long order_id);
/* Record the acceptance of the agreement version now, with its event. */
int	 order_agreement_record(struct store *, long long batch_id,
	    long long order_id, const char *version);
/* Record the attestation (officer, title); its time only once. */
int	 order_attest_record(struct store *, long long order_id,
	    const char *officer, const char *title);
/* 1 if intake screened a card number out of the payment reference. */
int	 order_card_flagged(struct store *, long long order_id);
/* 1 if a recipient of the order has a paid coverage (cov_end). */
int	 order_has_coverage(struct store *, long long order_id);

/* ---- payment (stage.c billing_quote, stage_payment) ---- */

/* Record the order's price: the total, per certificate, years covered. */
int	 order_price_record(struct store *, long long order_id,
	    long long price, long long unit, long long years);
/* 1 if a recipient of the order is still to be charged. */
int	 order_charge_due(struct store *, long long order_id);
/* Record how the order pays: method, contract id (0: none). */
int	 order_payment_record(struct store *, long long order_id,
	    const char *method, long long contract_id);

/* A recipient's round and the coverage paid for it (0: none). */
struct rcpt_coverage {
	int	 round;
	int	 covered;	/* the round is a reissue within coverage */
	time_t	 start, end;
	int	 years;
};
/* The recipient's coverage; all zero if there is no such recipient. */
int	 rcpt_coverage_get(struct store *, long long rcpt_id,
	    struct rcpt_coverage *);
/* Record the coverage just paid for. */
int	 rcpt_coverage_set(struct store *, long long rcpt_id, time_t start,
	    time_t end, int years);

/* ---- keys (stage_csr) ---- */

/* 1 if the key (hex SHA-256 of its SPKI) is listed as compromised. */
int	 spki_compromised(struct store *, const char *spki);
/* 1 if the key is approved or issued for a mailbox other than email. */
int	 spki_certified_elsewhere(struct store *, const char *spki,
	    const char *email);
/* 1 if the recipient has an unused key generation link valid at now. */
int	 keygen_link_open(struct store *, long long rcpt_id, long long now);
/* Take back the key generation token token_id (its message failed). */
int	 keygen_link_drop(struct store *, long long token_id);

#endif
