/*
 * store_stage.c: the rows the validation stages read and record with an
 * order and its recipients, apart from states (store_state.c), money
 * (ledger.c) and organizations (store_org.c).
 * Failure policy: a database error is logged by store.c and returned as
 * -1; the stage then answers STAGE_ERROR and the evaluation's group is
 * rolled back.
 */
#include <string.h>


#include "extern.h"
#include "store.h"
#include "store_stage.h"

/* A count or flag from stmt as 1 (non-zero) or 0; -1 on error. */
static int
some(struct store *st, struct dbstmt *q)
{
	long long	 n;

	if (store_int(st, &n, 0, q) == -1)
		return -1;
	return n != 0;
}

int
order_agreement_recorded(struct store *st, long long order_id)
{
	return some(st, store_prep(st, "SELECT count(*)"
	    " FROM orders WHERE id = ? AND agreement_at IS NOT NULL", "i",
	    order_id));
}

int
order_agreement_record(struct store *st, long long batch_id,
    long long order_id, const char *version)
{
	if (store_done(st, store_prep(st, "UPDATE orders SET"
	    " agreement_version = ?, agreement_at = ? WHERE id = ?", "tii",
	    version, (long long)clock_now(), order_id)) == -1)
		return -1;
	return store_event(st, "agreement_accepted", batch_id, order_id, 0,
	    NULL, NULL, NULL, version);
}

int
order_attest_record(struct store *st, long long order_id,
    const char *officer, const char *title)
{
	return store_done(st, store_prep(st,
	    "UPDATE orders SET att_officer = ?, att_title = ?,"
	    " att_recorded = COALESCE(att_recorded, ?) WHERE id = ?", "ttii",
	    officer, title, (long long)clock_now(), order_id));
}

int
order_card_flagged(struct store *st, long long order_id)
{
	return some(st, store_prep(st, "SELECT card_flag"
	    " FROM orders WHERE id = ?", "i", order_id));
}

int
order_has_coverage(struct store *st, long long order_id)
{
	return some(st, store_prep(st,
	    "SELECT count(*) FROM recipient WHERE order_id = ? AND"
	    " cov_end IS NOT NULL", "i", order_id));
}

int
order_price_record(struct store *st, long long order_id, long long price,
    long long unit, long long years)
{
	return store_done(st, store_prep(st, "UPDATE orders SET"
	    " price = ?, unit_price = ?, cov_years = ? WHERE id = ?", "iiii",
	    price, unit, years, order_id));
}

int
order_charge_due(struct store *st, long long order_id)
{
	return some(st, store_prep(st, "SELECT count(*)"
	    " FROM recipient WHERE order_id = ? AND round_covered = 0 AND"
	    " state NOT IN ('issued', 'rejected', 'cancelled', 'approved')",
	    "i", order_id));
}

int
order_payment_record(struct store *st, long long order_id,
    const char *method, long long contract_id)
{
	return store_done(st, store_prep(st, "UPDATE orders SET pay_used ="
	    " ?, contract_id = NULLIF(?, 0) WHERE id = ?", "tii", method,
	    contract_id, order_id));
}

int
rcpt_coverage_get(struct store *st, long long rcpt_id,
    struct rcpt_coverage *c)
{
	struct dbstmt	*q;
	int		 rc;

	memset(c, 0, sizeof(*c));
	if ((q = store_prep(st, "SELECT round, round_covered,"
	    " COALESCE(cov_start, 0), COALESCE(cov_end, 0),"
	    " COALESCE(cov_years, 0) FROM recipient WHERE id = ?", "i",
	    rcpt_id)) == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW) {
		c->round = db_int(q, 0);
		c->covered = db_int(q, 1);
		c->start = (time_t)db_int64(q, 2);
		c->end = (time_t)db_int64(q, 3);
		c->years = db_int(q, 4);
	}
	store_release(q);
	return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

int
rcpt_coverage_set(struct store *st, long long rcpt_id, time_t start,
    time_t end, int years)
{
	return store_done(st, store_prep(st, "UPDATE recipient SET"
	    " cov_start = ?, cov_end = ?, cov_years = ? WHERE id = ?", "iiii",
	    (long long)start, (long long)end, (long long)years, rcpt_id));
}

int
spki_compromised(struct store *st, const char *spki)
{
	return some(st, store_prep(st,
	    "SELECT count(*) FROM compromised_key WHERE spki_sha256 = ?", "t",
	    spki));
}

int
spki_certified_elsewhere(struct store *st, const char *spki,
    const char *email)
{
	return some(st, store_prep(st,
	    "SELECT count(*) FROM recipient WHERE spki_sha256 = ? AND"
	    " lower(email) != lower(?) AND state IN ('approved', 'issued')",
	    "tt", spki, email));
}

int
keygen_link_open(struct store *st, long long rcpt_id, long long now)
{
	return some(st, store_prep(st, "SELECT count(*) FROM"
	    " portal_token WHERE recipient_id = ? AND kind = 'keygen' AND"
	    " used_at IS NULL AND expires > ?", "ii", rcpt_id, now));
}

int
keygen_link_drop(struct store *st, long long token_id)
{
	return store_done(st, store_prep(st, "DELETE FROM"
	    " portal_token WHERE id = ?", "i", token_id));
}
