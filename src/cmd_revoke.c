/*
 * cmd_revoke.c: the operator's revocation commands (SPEC 7.2) and the
 * revocation lines of certspool status.
 *   revoke (--serial S | --email E [--account A] |
 *           --order BATCH-ID ORDER-ID [--account A]) --reason R [--at T]
 *   revoke --withdraw ID
 *   key block (--spki-sha256 HEX | --cert FILE | --csr FILE) [--reason T]
 * A request is stored and applied in one transaction (revdoc.c), then
 * its messages and any owed result are written and card authorizations
 * of cancelled rounds released, as the daemon would.
 * Failure policy: a database error rolls back and exits 1; a message or
 * result that cannot be written now is left to the daemon's next pass.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "extern.h"
#include "store_account.h"
#include "revoke.h"
#include "billing.h"
#include "cmd.h"
#include "store_revoke.h"

#define REVOKE_USAGE	"usage: certspool revoke (--serial S | --email E " \
	"[--account A] | --order BATCH-ID ORDER-ID [--account A]) --reason R " \
	"[--at TIME] | --withdraw ID"
#define BLOCK_USAGE	"usage: certspool key block (--spki-sha256 HEX | " \
	"--cert FILE | --csr FILE) [--reason TEXT]"

/* The value of "--name VALUE" (n values) in argv, removing them. */
static char **
optn(int *argc, char **argv, const char *name, int n)
{
	static char	*v[2];
	int		 i, k;

	for (i = 0; i + n < *argc; i++) {
		if (strcmp(argv[i], name) != 0)
			continue;
		for (k = 0; k < n; k++)
			v[k] = argv[i + 1 + k];
		memmove(&argv[i], &argv[i + 1 + n], (size_t)(*argc - i - 1 -
		    n) * sizeof(char *));
		*argc -= 1 + n;
		return v;
	}
	return NULL;
}

static const char *
opt1(int *argc, char **argv, const char *name)
{
	char	**v = optn(argc, argv, name, 1);

	return v != NULL ? v[0] : NULL;
}

/* One certificate a request revoked, as the command reports it. */
static int
print_hit(void *arg, const struct revoke_hit_row *h)
{
	char	 when[32];

	time_fmt(h->at, when, sizeof(when));
	printf("revoked %s %s account %s reason %s at %s\n", h->serial,
	    h->email, h->account, h->reason, when);
	return 0;
}

/* After the commit: messages, owed results, card releases. */
static void
after_commit(struct cmd_env *env)
{
	if (revresult_flush(env->st, env->conf) == -1)
		fprintf(stderr, "certspool: a message or result could not be "
		    "written now; the daemon writes it in its next pass\n");
	if (billing_settle(env->st, env->conf, 0) == -1)
		fprintf(stderr, "certspool: a card release failed; the daemon "
		    "retries it\n");
}

/* Store request r and apply it now, or leave it pending. */
static int
run_request(struct cmd_env *env, struct revoke_req *r, const char *what)
{
	long long	 id, n;
	char		*state = NULL, when[32];
	time_t		 now = clock_now();
	int		 rc = 1;

	if (store_begin(env->st) == -1)
		return cli_err("%s: database busy", what);
	if ((id = revoke_request_add(env->st, r)) == -1)
		goto fail;
	if (r->at <= now && revoke_apply(env->st, id, now, NULL) == -1)
		goto fail;
	if (store_commit(env->st) == -1)
		goto fail;
	if (r->at > now) {
		time_fmt(r->at, when, sizeof(when));
		printf("revocation request %lld pending until %s (withdraw: "
		    "certspool revoke --withdraw %lld)\n", id, when, id);
		return 0;
	}
	after_commit(env);
	if (revoke_hit_count(env->st, id, &n) == -1)
		return cli_err("%s: database error", what);
	if (revoke_request_state(env->st, id, &state) == -1 || state == NULL)
		return cli_err("%s: database error", what);
	if (strcmp(state, "not_found") == 0)
		rc = cli_err("%s: request %lld: no unexpired issued certificate "
		    "matches (not_found)", what, id);
	else {
		if (revoke_hits(env->st, id, print_hit, NULL) == -1)
			rc = cli_err("%s: database error", what);
		else
			rc = 0;
		if (strcmp(state, "already_revoked") == 0)
			printf("request %lld: already revoked, nothing "
			    "changed\n", id);
	}
	free(state);
	return rc;
fail:
	store_rollback(env->st);
	return cli_err("%s: database error", what);
}

static int
withdraw(struct cmd_env *env, const char *arg)
{
	char		*end;
	long long	 id;
	int		 r;

	errno = 0;
	id = strtoll(arg, &end, 10);
	if (errno != 0 || *arg == '\0' || *end != '\0' || id <= 0)
		return cli_err("revoke: --withdraw takes a request id");
	if (store_begin(env->st) == -1)
		return cli_err("revoke: database busy");
	if ((r = revoke_withdraw(env->st, id)) == -1 ||
	    store_commit(env->st) == -1) {
		store_rollback(env->st);
		return cli_err("revoke: database error");
	}
	if (r == 0)
		return cli_err("revoke: no pending revocation request %lld", id);
	after_commit(env);
	printf("revocation request %lld withdrawn\n", id);
	return 0;
}

int
cmd_revoke(struct cmd_env *env, int argc, char **argv)
{
	struct revoke_req	 r;
	const char		*serial, *email, *account, *reason, *at, *wd;
	char			**order, sbuf[48];
	long long		 n;
	size_t			 i;

	memset(&r, 0, sizeof(r));
	wd = opt1(&argc, argv, "--withdraw");
	serial = opt1(&argc, argv, "--serial");
	email = opt1(&argc, argv, "--email");
	account = opt1(&argc, argv, "--account");
	reason = opt1(&argc, argv, "--reason");
	at = opt1(&argc, argv, "--at");
	order = optn(&argc, argv, "--order", 2);
	if (wd != NULL) {
		if (argc != 0 || serial || email || account || reason || at ||
		    order)
			return cli_err(REVOKE_USAGE);
		return withdraw(env, wd);
	}
	if (argc != 0 || reason == NULL ||
	    (serial != NULL) + (email != NULL) + (order != NULL) != 1)
		return cli_err(REVOKE_USAGE);
	if (revoke_reason_code(reason) == -1)
		return cli_err("revoke: reason \"%s\" is not one of "
		    "unspecified, keyCompromise, affiliationChanged, "
		    "superseded, cessationOfOperation, privilegeWithdrawn",
		    reason);
	r.reason = reason;
	if (at != NULL && revoke_time_parse(at, &r.at) == -1 &&
	    time_parse(at, &r.at) == -1)
		return cli_err("revoke: --at \"%s\" is not a time "
		    "(YYYY-MM-DDTHH:MM:SSZ)", at);
	if (account != NULL) {
		if ((r.account_id = account_lookup(env->st, account)) == -1)
			return cli_err("revoke: database error");
		if (r.account_id == 0)
			return cli_err("revoke: no account \"%s\"", account);
	}
	if (serial != NULL) {
		if (strlen(serial) == 0 || strlen(serial) > 40 ||
		    strspn(serial, "0123456789abcdefABCDEF") != strlen(serial))
			return cli_err("revoke: --serial takes the serial "
			    "number in hex");
		for (i = 0; serial[i] != '\0'; i++)
			sbuf[i] = (char)tolower((unsigned char)serial[i]);
		sbuf[i] = '\0';
		r.kind = "serial";
		r.value = sbuf;
	} else if (email != NULL) {
		r.kind = "email";
		r.value = email;
	} else {
		r.kind = "order";
		r.batch_ext = order[0];
		r.value = order[1];
		if (r.account_id == 0) {
			if (revoke_order_accounts(env->st, order[0], order[1],
			    &n) == -1)
				return cli_err("revoke: database error");
			if (n > 1)
				return cli_err("revoke: batch \"%s\" exists in "
				    "several accounts; add --account NAME",
				    order[0]);
		}
	}
	return run_request(env, &r, "revoke");
}

/* The hex SHA-256 of the SubjectPublicKeyInfo of a certificate or CSR
 * file (PEM or DER); 0 or -1 with a message. */
static int
file_spki(const char *path, int is_cert, char out[65])
{
	unsigned char	*data = NULL, *der = NULL;
	const unsigned char *p;
	size_t		 len = 0, dlen = 0;
	X509		*x = NULL;
	BIO		*bio = NULL;
	int		 rc = -1;

	if (fs_read_file(path, 1 << 20, &data, &len) == -1) {
		cli_err("key block: %s: %s", path, strerror(errno));
		return -1;
	}
	if (!is_cert) {
		if (csr_spki((const char *)data, len, &der, &dlen) == -1) {
			cli_err("key block: %s: not a CSR", path);
			goto out;
		}
	} else {
		p = data;
		if ((bio = BIO_new_mem_buf(data, (int)len)) != NULL)
			x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (x == NULL)
			x = d2i_X509(NULL, &p, (long)len);
		if (x == NULL || key_spki(X509_get0_pubkey(x), &der,
		    &dlen) == -1) {
			cli_err("key block: %s: not a certificate", path);
			goto out;
		}
	}
	sha256_hex(der, dlen, out);
	rc = 0;
out:
	X509_free(x);
	BIO_free(bio);
	free(der);
	free(data);
	return rc;
}

int
cmd_key_block(struct cmd_env *env, int argc, char **argv)
{
	struct revoke_req	 r;
	const char		*hex, *cert, *csr, *why;
	char			 spki[65];
	size_t			 i;

	hex = opt1(&argc, argv, "--spki-sha256");
	cert = opt1(&argc, argv, "--cert");
	csr = opt1(&argc, argv, "--csr");
	why = opt1(&argc, argv, "--reason");
	if (argc != 0 || (hex != NULL) + (cert != NULL) + (csr != NULL) != 1)
		return cli_err(BLOCK_USAGE);
	if (hex != NULL) {
		if (strlen(hex) != 64 || strspn(hex,
		    "0123456789abcdefABCDEF") != 64)
			return cli_err("key block: --spki-sha256 takes 64 hex "
			    "digits");
		for (i = 0; i < 64; i++)
			spki[i] = (char)tolower((unsigned char)hex[i]);
		spki[64] = '\0';
	} else if (file_spki(cert != NULL ? cert : csr, cert != NULL,
	    spki) == -1)
		return 1;
	if (store_begin(env->st) == -1)
		return cli_err("key block: database busy");
	if (revoke_key_block(env->st, spki, why != NULL ? why :
	    "keyCompromise") == -1 || store_commit(env->st) == -1) {
		store_rollback(env->st);
		return cli_err("key block: database error");
	}
	printf("key %s blocked for every account\n", spki);
	memset(&r, 0, sizeof(r));
	r.kind = "key";
	r.value = spki;
	r.reason = "keyCompromise";
	return run_request(env, &r, "key block");
}

/* One pending request of certspool status; arg counts them. */
static int
print_pending(void *arg, const struct revoke_request_row *q)
{
	int	*n = arg;
	char	 when[32];

	if ((*n)++ == 0)
		printf("pending revocations (ID ACCOUNT SELECTOR REASON AT "
		    "FROM):\n");
	time_fmt(q->at, when, sizeof(when));
	printf("%lld %s %s=%s%s%s %s %s %s\n", q->id, q->account, q->kind,
	    q->value, *q->batch ? " batch=" : "", q->batch, q->reason, when,
	    q->from);
	return 0;
}

/* One revoked certificate of a batch or order in certspool status. */
static int
print_revoked(void *arg, const struct revoke_hit_row *h)
{
	char	 when[32];

	time_fmt(h->at, when, sizeof(when));
	printf("revoked %s %s order %s reason %s at %s\n", h->serial,
	    h->email, h->order, h->reason, when);
	return 0;
}

int
revoke_status(struct cmd_env *env, const char *arg)
{
	int	 n = 0;

	if (arg == NULL)
		return revoke_requests_pending(env->st, print_pending, &n);
	return revoke_revoked_of(env->st, arg, print_revoked, NULL);
}
