/*
 * t_billing.c: unit tests of the price table, card-number screening,
 * the ledger (append-only, one charge per recipient and round, refunds)
 * and the card processor client, linked from the real sources.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "extern.h"
#include "billing.h"
#include "store.h"
#include "t.h"

static char	 dir[] = "/tmp/certspool-billing.XXXXXX";

/* The default config with one "key = value\n" line of extra instead. */
static struct conf *
conf_with(const char *extra)
{
	char	 p[512], err[512], *text, *line, *save = NULL;
	size_t	 klen = strcspn(extra, " =");
	FILE	*f;
	struct conf *c;

	snprintf(p, sizeof(p), "%s/t.conf", dir);
	text = conf_default_text(dir);
	f = fopen(p, "w");
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (klen == 0 || strncmp(line, extra, klen) != 0 ||
		    line[klen] != ' ')
			fprintf(f, "%s\n", line);
	fputs(extra, f);
	fclose(f);
	free(text);
	c = conf_load(p, err, sizeof(err));
	T_CHECK(c != NULL, "conf_load: %s", err);
	if (c == NULL)
		exit(t_done("t_billing"));
	return c;
}

static void
test_prices(void)
{
	long long	 p[PRICE_YEARS];
	struct conf	*c;
	char		 err[512], path[512];
	FILE		*f;

	T_CHECK(price_parse("4900,8900,12900", p) == 0 && p[0] == 4900 &&
	    p[2] == 12900, "parse");
	T_CHECK(price_parse(" 0, 0 ,0", p) == 0, "spaces and zeros");
	T_CHECK(price_parse("1,2", p) == -1, "two prices");
	T_CHECK(price_parse("1,2,3,4", p) == -1, "four prices");
	T_CHECK(price_parse("1,-2,3", p) == -1, "negative");
	T_CHECK(price_parse("1,2,x", p) == -1, "not a number");
	T_CHECK(price_parse("1,2,999999999999", p) == -1, "too large");
	T_CHECK(coverage_years(365 * 86400) == 1, "a year");
	T_CHECK(coverage_years(366 * 86400) == 1, "a leap year");
	T_CHECK(coverage_years(367 * 86400) == 2, "a started second year");
	T_CHECK(coverage_years(1096 * 86400 - 1) == 3, "3 years from now");
	T_CHECK(coverage_years(1185 * 86400) == 4, "longest days");
	T_CHECK(coverage_years(1) == 1, "at least one");

	if ((c = conf_with("")) == NULL)
		return;
	T_CHECK(price_of(c, "secure_email_business", 1) == 4900, "default");
	T_CHECK(price_of(c, "premium", 3) == 25900, "premium 3 years");
	T_CHECK(price_of(c, "secure_email_business", 4) == 12900 + 4900,
	    "a fourth year costs one more year");
	T_CHECK(price_of(c, "no_such_product", 1) == -1, "unknown product");
	T_CHECK(price_of(c, "client1_smime", 0) == -1, "zero years");
	conf_free(c);
	if ((c = conf_with("price_client1_smime = 1,2,3\n")) == NULL)
		return;
	T_CHECK(price_of(c, "client1_smime", 2) == 2, "configured price");
	conf_free(c);
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	f = fopen(path, "w");
	fputs("price_premium = 1,2\n", f);
	fclose(f);
	T_CHECK(conf_load(path, err, sizeof(err)) == NULL &&
	    strstr(err, "price_premium") != NULL, "bad price refused: %s", err);
}

static void
test_card_numbers(void)
{
	static const char *pan[] = { "4111111111111111",
	    "4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444",
	    "378282246310005", "4111111111111111 123", "pay 6011111111111117",
	    "4012 8888 8888 1881", NULL };
	static const char *notpan[] = { "tok_1Nv8Qx2eZvKYlo2C", "C-2026-01",
	    "4111111111111112", "1234567890123", "411111111111", "", "12 34",
	    "41111111111111111111111", NULL };
	size_t	 i;

	for (i = 0; pan[i] != NULL; i++)
		T_CHECK(is_card_number(pan[i]), "%s", pan[i]);
	for (i = 0; notpan[i] != NULL; i++)
		T_CHECK(!is_card_number(notpan[i]), "%s", notpan[i]);
	T_CHECK(!is_card_number(NULL), "NULL");
}

static long long
one(struct store *st, const char *sql)
{
	long long	 v = -1;

	(void)store_int(st, &v, -1, store_prep(st, sql, NULL));
	return v;
}

static void
test_ledger(void)
{
	struct ledger_row	 l;
	struct store		*st;
	char			 p[512], err[512];

	snprintf(p, sizeof(p), "%s/b.db", dir);
	st = store_open(p, err, sizeof(err));
	T_CHECK(st != NULL, "store_open: %s", err);
	if (st == NULL)
		return;
	T_CHECK(strlen(ledger_instance(st)) == 16, "instance id");
	store_exec(st, "INSERT INTO account (id, name, created) VALUES"
	    " (1, 'a', 0);"
	    "INSERT INTO contract (id, account_id, ref, units) VALUES"
	    " (1, 1, 'K', 0);");
	T_CHECK(ledger_deposit(st, 1, 10000, "t") == 0, "deposit");
	T_CHECK(ledger_units(st, 1, 1, 5, "K", "t") == 0, "units");
	memset(&l, 0, sizeof(l));
	l.account_id = 1;
	l.kind = L_DEBIT;
	l.amount = -4900;
	l.rcpt_id = 7;
	l.round = 0;
	store_exec(st, "UPDATE account SET balance = balance - 4900");
	T_CHECK(ledger_add(st, &l) == 0, "debit");
	T_CHECK(ledger_add(st, &l) == -1, "the same debit twice");
	l.round = 1;
	store_exec(st, "UPDATE account SET balance = balance - 4900");
	T_CHECK(ledger_add(st, &l) == 0, "the next round's debit");
	l.kind = L_UNIT_DEBIT;
	l.amount = -2;
	l.contract_id = 1;
	l.rcpt_id = 8;
	l.round = 0;
	store_exec(st, "UPDATE contract SET units = units - 2");
	T_CHECK(ledger_add(st, &l) == 0, "unit debit");
	T_CHECK(one(st, "SELECT balance FROM account") == 200, "balance");
	T_CHECK(ledger_refund(st, 7, 1, "t") == 0, "refund");
	T_CHECK(ledger_refund(st, 7, 1, "t") == 0, "refund again: nothing");
	T_CHECK(ledger_refund(st, 8, 0, "t") == 0, "unit refund");
	T_CHECK(ledger_refund(st, 9, 0, "t") == 0, "nothing to refund");
	T_CHECK(one(st, "SELECT balance FROM account") == 5100, "refunded");
	T_CHECK(one(st, "SELECT units FROM contract") == 5, "units back");
	T_CHECK(one(st, "SELECT count(*) FROM ledger WHERE kind = 'refund'")
	    == 1, "one refund row");
	T_CHECK(one(st, "SELECT sum(amount) FROM ledger WHERE kind IN"
	    " ('deposit', 'debit', 'refund')") == 5100, "reconciles");
	T_CHECK(store_exec(st, "UPDATE ledger SET amount = 0") == -1,
	    "append-only: update");
	T_CHECK(store_exec(st, "DELETE FROM ledger") == -1,
	    "append-only: delete");
	T_CHECK(store_exec(st, "INSERT INTO ledger (at, account_id, kind,"
	    " amount) VALUES (0, 1, 'gift', 1)") == -1, "unknown kind");
	store_close(st);
}

static void
test_card(void)
{
	struct conf		*c;
	struct card_req		 q;
	struct card_resp	 r;
	char			 extra[1024];

	memset(&q, 0, sizeof(q));
	q.op = "authorize";
	q.reference = "ref-1";
	q.token = "tok_\"quoted\\";
	q.amount = 4900;
	q.currency = "USD";
	c = conf_with("");
	T_CHECK(card_call(c, &q, &r) == CARD_UNAVAILABLE &&
	    strstr(r.message, "no card processor") != NULL, "not configured");
	conf_free(c);
	snprintf(extra, sizeof(extra), "card_processor_command = \"cat"
	    " >%s/req.json; echo '{\"ok\": true, \"id\": \"auth_1\"}'\"\n",
	    dir);
	c = conf_with(extra);
	T_CHECK(card_call(c, &q, &r) == CARD_OK && strcmp(r.id, "auth_1") ==
	    0, "authorized: %s", r.message);
	conf_free(c);
	{
		char		 p[512];
		unsigned char	*b = NULL;
		size_t		 n;

		snprintf(p, sizeof(p), "%s/req.json", dir);
		T_CHECK(fs_read_file(p, 4096, &b, &n) == 0 &&
		    strstr((char *)b, "\"token\": \"tok_\\\"quoted\\\\\"") !=
		    NULL && strstr((char *)b, "\"amount\": 4900") != NULL,
		    "request JSON escaped: %s", b ? (char *)b : "");
		free(b);
	}
	c = conf_with("card_processor_command = \"echo '{\"ok\": false,"
	    " \"error\": \"card_declined\", \"message\": \"no\"}'\"\n");
	T_CHECK(card_call(c, &q, &r) == CARD_REFUSED &&
	    strcmp(r.error, "card_declined") == 0 &&
	    strcmp(r.message, "no") == 0, "declined");
	conf_free(c);
	c = conf_with("card_processor_command = \"exit 75\"\n");
	T_CHECK(card_call(c, &q, &r) == CARD_UNAVAILABLE, "exit status");
	conf_free(c);
	c = conf_with("card_processor_command = \"echo not json\"\n");
	T_CHECK(card_call(c, &q, &r) == CARD_UNAVAILABLE, "unreadable");
	conf_free(c);
	c = conf_with("card_processor_command = \"echo '{\"ok\": true}'\"\n");
	T_CHECK(card_call(c, &q, &r) == CARD_UNAVAILABLE, "ok without id");
	conf_free(c);
	c = conf_with("card_processor_command = \"exec 0<&-; echo "
	    "'{\"ok\": true, \"id\": \"x\"}'\"\n");
	T_CHECK(card_call(c, &q, &r) == CARD_OK, "stdin closed early");
	conf_free(c);
}

int
main(void)
{
	char	 cmd[600];

	if (mkdtemp(dir) == NULL)
		return 1;
	log_init("stderr", LOGL_ERR);
	test_prices();
	test_card_numbers();
	test_ledger();
	test_card();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
	return t_done("t_billing");
}
