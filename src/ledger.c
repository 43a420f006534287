/*
 * ledger.c: what certificates cost and where the money went.  Every
 * movement of money goes through here: balances, contracts and their
 * units, charges at approval (stage_payment.c calls the card processor,
 * card.c, and records its answer here), refunds and card settlement.
 * Prices come from the config's table (price_<product> = cents for 1, 2
 * and 3 years of coverage).  Every deposit, debit, refund, unit movement and
 * card authorization, capture and release is one append-only row of the
 * ledger table, written in the same transaction as the balance or units
 * it moves; a unique index allows each charge kind once per recipient
 * and round, so a retry after a crash finds the charge instead of
 * making it again.  Card numbers are screened out at intake
 * (is_card_number) and never reach this table.
 * Failure policy: a database error is returned and the caller rolls
 * back; a card processor failure is logged and retried in the next
 * pass (settle), as the processor is idempotent by reference.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "billing.h"
#include "pipeline.h"
#include "store.h"

#define YEAR_DAYS	366

int
price_parse(const char *s, long long out[PRICE_YEARS])
{
	const char	*p = s;
	char		*end;
	int		 i;

	for (i = 0; i < PRICE_YEARS; i++) {
		while (*p == ' ')
			p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		out[i] = strtoll(p, &end, 10);
		if (errno != 0 || out[i] > 100000000LL)
			return -1;
		p = end;
		while (*p == ' ')
			p++;
		if (i < PRICE_YEARS - 1 && *p++ != ',')
			return -1;
	}
	return *p == '\0' ? 0 : -1;
}

static const char *
price_entry(const struct conf *c, const char *product)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} tab[] = {
		{ "secure_email_individual",
		    offsetof(struct conf, price_individual) },
		{ "secure_email_business",
		    offsetof(struct conf, price_business) },
		{ "secure_email_organization",
		    offsetof(struct conf, price_organization) },
		{ "premium", offsetof(struct conf, price_premium) },
		{ "email_security_plus", offsetof(struct conf, price_esp) },
		{ "digital_signature_plus", offsetof(struct conf, price_dsp) },
		{ "client1_smime", offsetof(struct conf, price_client1) },
	};
	size_t	 i;

	for (i = 0; product != NULL && i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].name, product) == 0)
			return *(char *const *)((const char *)c + tab[i].off);
	return NULL;
}

long long
price_of(const struct conf *c, const char *product, int years)
{
	const char	*s = price_entry(c, product);
	long long	 p[PRICE_YEARS];

	if (s == NULL || price_parse(s, p) == -1 || years < 1)
		return -1;
	if (years <= PRICE_YEARS)
		return p[years - 1];
	return p[PRICE_YEARS - 1] + (long long)(years - PRICE_YEARS) * p[0];
}

int
coverage_years(time_t span)
{
	long long	 days = ((long long)span + 86399) / 86400;
	int		 y = (int)((days + YEAR_DAYS - 1) / YEAR_DAYS);

	return y < 1 ? 1 : y;
}

static int
luhn_ok(const char *d, size_t n)
{
	size_t	 i;
	int	 sum = 0, v;

	for (i = 0; i < n; i++) {
		v = d[n - 1 - i] - '0';
		if (i % 2 == 1 && (v *= 2) > 9)
			v -= 9;
		sum += v;
	}
	return sum % 10 == 0;
}

/*
 * Digits grouped by spaces or dashes ("4111 1111 1111 1111", a number
 * followed by " 123"): any sequence of whole consecutive groups with 13
 * to 19 digits that passes Luhn is a card number.
 */
int
is_card_number(const char *s)
{
	char	 d[256];
	size_t	 grp[128], ng, nd, i, j, from, len;

	if (s == NULL)
		return 0;
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s)) {
			s++;
			continue;
		}
		/* One run of digit groups joined by spaces and dashes. */
		ng = nd = 0;
		while (isdigit((unsigned char)*s) && ng < 128) {
			grp[ng] = nd;
			while (isdigit((unsigned char)*s)) {
				if (nd < sizeof(d))
					d[nd++] = *s;
				s++;
			}
			ng++;
			while (*s == ' ' || *s == '-')
				s++;
		}
		for (i = 0; i < ng; i++)
			for (j = i; j < ng; j++) {
				from = grp[i];
				len = (j + 1 < ng ? grp[j + 1] : nd) - from;
				if (len > 19)
					break;
				if (len >= 13 && luhn_ok(d + from, len))
					return 1;
			}
	}
	return 0;
}

int
ledger_add(struct store *st, const struct ledger_row *l)
{
	return store_done(st, store_prep(st, "INSERT INTO ledger (at,"
	    " account_id, kind, amount, contract_id, batch_id, order_id,"
	    " recipient_id, round, ref, detail) VALUES (?, ?, ?, ?,"
	    " NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0),"
	    " CASE WHEN ? = 0 THEN NULL ELSE ? END, ?, ?)",
	    "iitiiiiiiitt", (long long)clock_now(), l->account_id, l->kind,
	    l->amount, l->contract_id, l->batch_id, l->order_id, l->rcpt_id,
	    l->rcpt_id, (long long)l->round, l->ref, l->detail));
}

int
ledger_deposit(struct store *st, long long account_id, long long cents,
    const char *detail)
{
	struct ledger_row	 l;

	memset(&l, 0, sizeof(l));
	l.account_id = account_id;
	l.kind = L_DEPOSIT;
	l.amount = cents;
	l.detail = detail;
	if (store_done(st, store_prep(st, "UPDATE account SET balance ="
	    " balance + ? WHERE id = ?", "ii", cents, account_id)) == -1)
		return -1;
	return ledger_add(st, &l);
}

int
ledger_units(struct store *st, long long account_id, long long contract_id,
    long long units, const char *ref, const char *detail)
{
	struct ledger_row	 l;

	memset(&l, 0, sizeof(l));
	l.account_id = account_id;
	l.kind = L_UNIT_CREDIT;
	l.amount = units;
	l.contract_id = contract_id;
	l.ref = ref;
	l.detail = detail;
	if (store_done(st, store_prep(st, "UPDATE contract SET units ="
	    " units + ? WHERE id = ?", "ii", units, contract_id)) == -1)
		return -1;
	return ledger_add(st, &l);
}

int
ledger_refund(struct store *st, long long rcpt_id, int round, const char *why)
{
	struct ledger_row	 l;
	struct dbstmt		*q;
	int			 rc = 0;

	/* The charge of this round that was not given back yet. */
	q = store_prep(st, "SELECT l.account_id, l.kind, l.amount,"
	    " l.contract_id, l.batch_id, l.order_id FROM ledger l"
	    " WHERE l.recipient_id = ? AND l.round = ? AND l.kind IN"
	    " ('debit', 'unit_debit') AND NOT EXISTS (SELECT 1 FROM ledger x"
	    " WHERE x.recipient_id = l.recipient_id AND x.round = l.round"
	    " AND x.kind IN ('refund', 'unit_credit'))", "ii", rcpt_id,
	    (long long)round);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		memset(&l, 0, sizeof(l));
		l.account_id = db_int64(q, 0);
		l.kind = strcmp((const char *)db_text(q, 1),
		    L_DEBIT) == 0 ? L_REFUND : L_UNIT_CREDIT;
		l.amount = -db_int64(q, 2);
		l.contract_id = db_int64(q, 3);
		l.batch_id = db_int64(q, 4);
		l.order_id = db_int64(q, 5);
		l.rcpt_id = rcpt_id;
		l.round = round;
		l.detail = why;
		if (strcmp(l.kind, L_REFUND) == 0)
			rc = store_done(st, store_prep(st, "UPDATE account SET"
			    " balance = balance + ? WHERE id = ?", "ii",
			    l.amount, l.account_id));
		else
			rc = store_done(st, store_prep(st, "UPDATE contract"
			    " SET units = units + ? WHERE id = ?", "ii",
			    l.amount, l.contract_id));
		if (rc == 0)
			rc = ledger_add(st, &l);
	}
	store_release(q);
	return rc;
}

const char *
ledger_instance(struct store *st)
{
	static char	 id[40];
	struct dbstmt	*q;

	if (id[0] != '\0')
		return id;
	if ((q = store_prep(st, "SELECT value FROM meta WHERE key ="
	    " 'instance'", NULL)) == NULL)
		return "";
	if (db_step(q) == DB_ROW)
		strlcpy_(id, (const char *)db_text(q, 0),
		    sizeof(id));
	store_release(q);
	return id;
}

/* ---- card settlement ---- */

struct settle {
	long long	 account_id, batch_id, order_id, rcpt_id;
	int		 round;
	long long	 amount;
	char		*auth, *account, *order_ext;
	int		 capture;	/* 1 capture, 0 release */
};

static void
settle_free(struct settle *s)
{
	free(s->auth);
	free(s->account);
	free(s->order_ext);
	memset(s, 0, sizeof(*s));
}

/* The next authorization after ledger row *after to capture or
 * release; *after moves to it.  1 found, 0 none, -1 error. */
static int
settle_next(struct store *st, long long order_id, long long *after,
    struct settle *s)
{
	struct dbstmt	*q;
	int		 rc = 0;

	memset(s, 0, sizeof(*s));
	q = store_prep(st, "SELECT l.account_id, l.batch_id, l.order_id,"
	    " l.recipient_id, l.round, -l.amount, l.ref, a.name, o.ext_id,"
	    " EXISTS (SELECT 1 FROM certificate c WHERE c.recipient_id ="
	    " l.recipient_id AND c.round = l.round AND c.state IN ('issued',"
	    " 'superseded')), l.id"
	    " FROM ledger l JOIN recipient r ON r.id = l.recipient_id"
	    " JOIN orders o ON o.id = r.order_id"
	    " JOIN account a ON a.id = l.account_id"
	    " WHERE l.kind = 'card_authorize' AND l.id > ?"
	    " AND (? = 0 OR l.order_id = ?)"
	    " AND NOT EXISTS (SELECT 1 FROM ledger x WHERE x.recipient_id ="
	    " l.recipient_id AND x.round = l.round AND x.kind IN"
	    " ('card_capture', 'card_release'))"
	    " AND (EXISTS (SELECT 1 FROM certificate c WHERE c.recipient_id ="
	    " l.recipient_id AND c.round = l.round AND c.state IN ('issued',"
	    " 'superseded')) OR (r.round = l.round AND r.state IN"
	    " ('rejected', 'cancelled')) OR r.round > l.round)"
	    " ORDER BY l.id LIMIT 1", "iii", *after, order_id, order_id);
	if (q == NULL)
		return -1;
	if (db_step(q) == DB_ROW) {
		s->account_id = db_int64(q, 0);
		s->batch_id = db_int64(q, 1);
		s->order_id = db_int64(q, 2);
		s->rcpt_id = db_int64(q, 3);
		s->round = db_int(q, 4);
		s->amount = db_int64(q, 5);
		s->auth = store_col_text(q, 6);
		s->account = store_col_text(q, 7);
		s->order_ext = store_col_text(q, 8);
		s->capture = db_int(q, 9);
		*after = db_int64(q, 10);
		rc = 1;
	}
	store_release(q);
	return rc;
}

int
billing_settle(struct store *st, const struct conf *c, long long order_id)
{
	struct settle		 s;
	struct card_req		 req;
	struct card_resp	 resp;
	struct ledger_row	 l;
	char			 ref[160];
	long long		 after = 0;
	int			 got, rc = 0;

	for (;;) {
		if ((got = settle_next(st, order_id, &after, &s)) <= 0)
			return got == -1 ? -1 : rc;
		snprintf(ref, sizeof(ref), "certspool-%s-%s-%lld-%d",
		    ledger_instance(st), s.capture ? "capture" : "release",
		    s.rcpt_id, s.round);
		memset(&req, 0, sizeof(req));
		req.op = s.capture ? "capture" : "release";
		req.reference = ref;
		req.authorization = s.auth;
		req.amount = s.amount;
		req.currency = c->currency;
		req.account = s.account;
		req.order = s.order_ext;
		if (card_call(c, &req, &resp) != CARD_OK) {
			log_warn("card %s of %s (order %s): %s%s%s; retried in "
			    "the next pass", req.op, s.auth, s.order_ext,
			    resp.error[0] ? resp.error : "processor unavailable",
			    resp.message[0] ? ": " : "", resp.message);
			rc = -1;
			settle_free(&s);
			continue;
		}
		crash_point(s.capture ? "after_card_capture" :
		    "after_card_release");
		memset(&l, 0, sizeof(l));
		l.account_id = s.account_id;
		l.kind = s.capture ? L_CARD_CAPTURE : L_CARD_RELEASE;
		l.amount = s.capture ? -s.amount : s.amount;
		l.batch_id = s.batch_id;
		l.order_id = s.order_id;
		l.rcpt_id = s.rcpt_id;
		l.round = s.round;
		l.ref = resp.id[0] ? resp.id : s.auth;
		l.detail = s.auth;
		if (store_begin(st) == -1 || ledger_add(st, &l) == -1 ||
		    store_event(st, s.capture ? "card_captured" :
		    "card_released", s.batch_id, s.order_id, s.rcpt_id, NULL,
		    NULL, NULL, s.auth) == -1 || store_commit(st) == -1) {
			store_rollback(st);
			settle_free(&s);
			return -1;
		}
		log_info("card %s of %s for order %s: %lld", req.op, s.auth,
		    s.order_ext, s.amount);
		settle_free(&s);
	}
}

/* ---- contracts ---- */

/* A contract's id and end (0: open-ended) from q's first row, if any. */
static int
contract_row(struct dbstmt *q, long long *id, long long *ends)
{
	int	 rc;

	*id = *ends = 0;
	if (q == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW) {
		*id = db_int64(q, 0);
		*ends = db_int64(q, 1);
	}
	store_release(q);
	return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

int
contract_in_force(struct store *st, long long account_id, time_t now,
    long long *id, long long *ends)
{
	return contract_row(store_prep(st, "SELECT id, COALESCE(ends, 0) FROM"
	    " contract WHERE account_id = ? AND (ends IS NULL OR"
	    " ends > ?) ORDER BY id DESC LIMIT 1", "ii", account_id,
	    (long long)now), id, ends);
}

int
contract_by_ref(struct store *st, long long account_id, const char *ref,
    long long *id, long long *ends)
{
	return contract_row(store_prep(st, "SELECT id, COALESCE(ends, 0) FROM"
	    " contract WHERE account_id = ? AND ref = ?", "it",
	    account_id, ref), id, ends);
}

int
contract_units(struct store *st, long long contract_id, char **ref,
    long long *units, long long *ends)
{
	struct dbstmt	*q;
	int		 rc;

	*ref = NULL;
	*units = *ends = 0;
	if ((q = store_prep(st, "SELECT ref, units, COALESCE(ends,"
	    " 0) FROM contract WHERE id = ?", "i", contract_id)) == NULL)
		return -1;
	if ((rc = db_step(q)) == DB_ROW) {
		*ref = store_col_text(q, 0);
		*units = db_int64(q, 1);
		*ends = db_int64(q, 2);
	}
	store_release(q);
	return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

int
contract_put(struct store *st, long long aid, const char *ref,
    long long units, long long ends)
{
	long long	 cid;

	if (store_int(st, &cid, 0, store_prep(st, "SELECT id FROM contract"
	    " WHERE account_id = ? AND ref = ?", "it", aid, ref)) == -1)
		return -1;
	if (cid == 0) {
		if (store_done(st, store_prep(st, "INSERT INTO contract"
		    " (account_id, ref, units, ends, created) VALUES (?, ?, 0,"
		    " NULLIF(?, 0), ?)", "itii", aid, ref, ends,
		    (long long)clock_now())) == -1)
			return -1;
		cid = store_last_id(st);
	} else if (ends != 0 && store_done(st, store_prep(st, "UPDATE contract"
	    " SET ends = ? WHERE id = ?", "ii", ends, cid)) == -1)
		return -1;
	if (units != 0 && ledger_units(st, aid, cid, units, ref,
	    "contract units") == -1)
		return -1;
	return store_event(st, "contract", 0, 0, 0, NULL, NULL, NULL, ref);
}

int
contract_list(struct store *st, long long account_id,
    int (*fn)(void *, const struct contract_row *), void *arg)
{
	struct contract_row	 c;
	struct dbstmt		*q;
	int			 rc;

	if ((q = store_prep(st, "SELECT ref, units, ends FROM contract"
	    " WHERE account_id = ? ORDER BY id", "i", account_id)) == NULL)
		return -1;
	while ((rc = db_step(q)) == DB_ROW) {
		c.ref = (const char *)db_text(q, 0);
		c.units = db_int64(q, 1);
		c.has_end = !db_null(q, 2);
		c.ends = db_int64(q, 2);
		if (fn(arg, &c) == -1)
			break;
	}
	store_release(q);
	return rc == DB_DONE ? 0 : -1;
}

/* ---- charges at approval (stage_payment.c) ---- */

int
ledger_charged(struct store *st, long long rcpt_id, int round)
{
	long long	 paid;

	if (store_int(st, &paid, 0, store_prep(st, "SELECT count(*)"
	    " FROM ledger WHERE recipient_id = ? AND round = ? AND kind IN"
	    " ('debit', 'unit_debit', 'card_authorize')", "ii", rcpt_id,
	    (long long)round)) == -1)
		return -1;
	return paid > 0;
}

int
ledger_debit_balance(struct store *st, const struct ledger_row *base,
    long long amount, long long *have)
{
	struct ledger_row	 l = *base;

	if (store_done(st, store_prep(st, "UPDATE account SET"
	    " balance = balance - ?1 WHERE id = ?2 AND balance >= ?1",
	    "ii", amount, l.account_id)) == -1)
		return -1;
	if (db_changes(st) == 0)
		return ledger_balance(st, l.account_id, have) == -1 ? -1 : 0;
	l.kind = L_DEBIT;
	l.amount = -amount;
	return ledger_add(st, &l) == -1 ? -1 : 1;
}

int
ledger_contract_use(struct store *st, const struct ledger_row *base,
    long long units)
{
	struct ledger_row	 l = *base;

	if (store_done(st, store_prep(st, "UPDATE contract SET"
	    " units = units - ? WHERE id = ?", "ii", units,
	    l.contract_id)) == -1)
		return -1;
	l.kind = L_UNIT_DEBIT;
	l.amount = -units;
	return ledger_add(st, &l);
}

int
ledger_card_authorized(struct store *st, const struct ledger_row *base,
    long long amount, const char *auth)
{
	struct ledger_row	 l = *base;

	l.kind = L_CARD_AUTH;
	l.amount = -amount;
	l.ref = auth;
	return ledger_add(st, &l);
}

/* ---- an account's money (cmd_billing.c) ---- */

int
ledger_balance(struct store *st, long long account_id, long long *cents)
{
	return store_int(st, cents, 0, store_prep(st,
	    "SELECT balance FROM account WHERE id = ?", "i", account_id));
}

int
ledger_count(struct store *st, long long account_id, long long *n)
{
	return store_int(st, n, 0, store_prep(st, "SELECT count(*)"
	    " FROM ledger WHERE account_id = ?", "i", account_id));
}

int
ledger_history(struct store *st, long long account_id, long long limit,
    int (*fn)(void *, const struct ledger_entry *), void *arg)
{
	struct ledger_entry	 e;
	struct dbstmt		*q;
	int			 rc;

	if ((q = store_prep(st, "SELECT l.id, l.at, l.kind, l.amount,"
	    " b.ext_id, o.ext_id, r.email, l.round, l.ref FROM ledger l"
	    " LEFT JOIN batch b ON b.id = l.batch_id"
	    " LEFT JOIN orders o ON o.id = l.order_id"
	    " LEFT JOIN recipient r ON r.id = l.recipient_id"
	    " WHERE l.account_id = ? ORDER BY l.id DESC LIMIT ?", "ii",
	    account_id, limit)) == NULL)
		return -1;
	while ((rc = db_step(q)) == DB_ROW) {
		e.id = db_int64(q, 0);
		e.at = db_int64(q, 1);
		e.kind = (const char *)db_text(q, 2);
		e.amount = db_int64(q, 3);
		e.batch = (const char *)db_text(q, 4);
		e.order = (const char *)db_text(q, 5);
		e.email = (const char *)db_text(q, 6);
		e.round = (const char *)db_text(q, 7);
		e.ref = (const char *)db_text(q, 8);
		if (fn(arg, &e) == -1)
			break;
	}
	store_release(q);
	return rc == DB_DONE ? 0 : -1;
}
