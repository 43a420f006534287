/*
 * main.c: the certspool command line (SPEC section 5).  Global option
 * --config FILE (default ./certspool.conf) may stand anywhere.  The
 * command table below holds each command's synopsis and help: --help,
 * GROUP --help and GROUP COMMAND --help are answered from it without
 * reading the config.  Errors are one line on stderr and exit 1.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "batch.h"
#include "ca.h"
#include "spool.h"
#include "ca_ceremony.h"
#include "p11.h"
#include "cmd.h"
#include "daemon.h"
#include "doctor.h"
#include "issuer.h"
#include "keyproc.h"
#include "pipeline.h"
#include "store_list.h"
#include "store_node.h"

static int
has_help(int argc, char **argv)
{
	int	 i;

	for (i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

/* The value of "--name VALUE" in argv, removing both; NULL if absent. */
static const char *
take_opt(int *argc, char **argv, const char *name)
{
	int		 i;
	const char	*v;

	for (i = 0; i + 1 < *argc; i++) {
		if (strcmp(argv[i], name) != 0)
			continue;
		v = argv[i + 1];
		memmove(&argv[i], &argv[i + 2], (size_t)(*argc - i - 2) *
		    sizeof(char *));
		*argc -= 2;
		return v;
	}
	return NULL;
}

static int
take_flag(int *argc, char **argv, const char *name)
{
	int	 i;

	for (i = 0; i < *argc; i++) {
		if (strcmp(argv[i], name) != 0)
			continue;
		memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i - 1) *
		    sizeof(char *));
		(*argc)--;
		return 1;
	}
	return 0;
}

/* ---- accounts: cmd_billing.c ---- */

/* ---- status ---- */

static int
stuck_row(void *arg, const struct stuck_row *r)
{
	char	 since[32];

	if (r == NULL)
		return 0;
	time_fmt((time_t)r->since, since, sizeof(since));
	printf("stuck %s %s %s %s %s since %s: %s\n", r->account, r->batch,
	    r->order, r->email, r->stuck, since, r->detail);
	return 0;
}

/* Certificates whose message could not be published (report.c), of
 * every batch or of the batch or order named by id; how many. */
static int
status_stuck(struct cmd_env *env, const char *id)
{
	return certs_stuck(env->st, id, stuck_row, NULL);
}

static int
batch_state_row(void *arg, const struct batch_state_row *r)
{
	if (r == NULL)
		printf("%-16s %-32s %-14s %s\n", "ACCOUNT", "BATCH", "STATE",
		    "ORDERS");
	else
		printf("%-16s %-32s %-14s %d\n", r->account, r->batch,
		    r->state, r->orders);
	return 0;
}

/* A live daemon sharing the database (PostgreSQL). */
static int
node_line(void *arg, const struct node_row *n)
{
	char	 since[32];

	time_fmt((time_t)n->started, since, sizeof(since));
	printf("node %lld %s since %s: %lld account%s, lease %lld s%s\n",
	    n->id, n->name, since, n->accounts, n->accounts == 1 ? "" : "s",
	    n->left, n->on_duty ? ", on duty" : "");
	return 0;
}

static int
status_row(void *arg, const struct status_row *r)
{
	if (r != NULL)
		printf("%s %s %s %s %s %s %s %s %s\n", r->account, r->batch,
		    r->order, r->order_state, r->order_reason, r->email,
		    r->rcpt_state, r->rcpt_reason, r->serial);
	return 0;
}

static int
cmd_status(struct cmd_env *env, int argc, char **argv)
{
	struct buf	 b = { 0 };
	int		 n = 0;

	if (argc > 1)
		return cli_err("usage: certspool status [BATCH-ID|ORDER-ID]");
	if (argc == 0) {
		if (status_batches(env->st, batch_state_row, NULL) == -1)
			return cli_err("status: database error");
		/* Batches there are never read: say so (intake.c). */
		if ((n = spool_unknown_dirs(env->st, env->conf, &b)) > 0)
			printf("inbound directories without an account: %d "
			    "(%s)\n", n, (char *)b.p);
		buf_free(&b);
		if (status_stuck(env, NULL) == -1 ||
		    revoke_status(env, NULL) == -1 ||
		    node_list(env->st, node_line, NULL) == -1)
			return cli_err("status: database error");
		return 0;
	}
	if ((n = status_recipients(env->st, argv[0], status_row, NULL)) == -1)
		return cli_err("status: database error");
	if (n == 0)
		return cli_err("status: no batch or order \"%s\"", argv[0]);
	if (status_stuck(env, argv[0]) == -1 ||
	    revoke_status(env, argv[0]) == -1)
		return cli_err("status: database error");
	return 0;
}

/* ---- CA ---- */

static int
cmd_ca_import(struct cmd_env *env, int argc, char **argv)
{
	const char	*module, *pin_file;
	char		 err[512], warn[512];

	module = take_opt(&argc, argv, "--module");
	pin_file = take_opt(&argc, argv, "--pin-file");
	if (argc >= 2 && p11_is_uri(argv[1])) {
		if (argc > 3)
			return cli_err("usage: certspool ca import CERT "
			    "pkcs11:URI [CHAIN] [--module M] [--pin-file F]");
		if (ceremony_import(env->conf, argv[0], argv[1], argc == 3 ?
		    argv[2] : NULL, module, pin_file, warn, sizeof(warn), err,
		    sizeof(err)) == -1)
			return cli_err("ca import: %s", err);
		if (warn[0] != '\0')
			fprintf(stderr, "certspool: ca import: warning: %s\n",
			    warn);
		printf("issuing CA imported into %s; its key stays in the "
		    "token: %s\n", env->conf->ca_dir, argv[1]);
		return 0;
	}
	if (argc != 3 || module != NULL || pin_file != NULL)
		return cli_err("usage: certspool ca import CERT KEY CHAIN");
	if (ca_import(env->conf->ca_dir, argv[0], argv[1], argv[2], warn,
	    sizeof(warn), err, sizeof(err)) == -1)
		return cli_err("ca import: %s", err);
	if (warn[0] != '\0')
		fprintf(stderr, "certspool: ca import: warning: %s\n", warn);
	printf("issuing CA imported into %s\n", env->conf->ca_dir);
	return 0;
}

static int
cmd_ca_show(struct cmd_env *env, int argc, char **argv)
{
	char	 err[512];

	(void)argv;
	if (argc != 0)
		return cli_err("usage: certspool ca show");
	if (ceremony_show(env->conf, stdout, err, sizeof(err)) == -1) {
		fflush(stdout);
		return cli_err("ca show: %s", err);
	}
	if (issuer_show(env->st, stdout) == -1)
		return cli_err("ca show: the issuer table cannot be read");
	return 0;
}

/* ---- dispatch ---- */

#define EXIT_DEFAULT	"Exit status: 0 on success; 1 with one line on stderr " \
			"otherwise.\n"

/* usage: the synopsis after "certspool "; help: what it does and each
 * option; exits: its exit status when not EXIT_DEFAULT.  A NULL fn is
 * run by main() itself (it needs no open store). */
struct command {
	const char	*w1, *w2;
	int		(*fn)(struct cmd_env *, int, char **);
	const char	*usage;
	const char	*help;
	const char	*exits;
};

static const struct command commands[] = {
	{ "init", NULL, NULL, "init [DIR] [--ca-key p384|rsa4096] "
	  "[--database URI] [--hsm MODULE --token LABEL [--pin-file FILE]]",
	  "Set up DIR (default .): certspool.conf with every key, its default\n"
	  "and an explanation, the spool tree, the database, and a demo\n"
	  "root and issuing CA.  The config's paths point inside DIR.  An\n"
	  "existing certspool.conf is never overwritten.  New CA keys follow\n"
	  "S/MIME BR 6.1.5 (ballot SMC017v2): RSA keys under 4096 bits are\n"
	  "refused.  A P-384 CA signs with SHA-384 only (S/MIME BR 7.1.3.2.2).\n"
	  "  DIR                    the directory, created if missing\n"
	  "  --ca-key p384|rsa4096  key type of the demo CAs (default p384)\n"
	  "  --database URI         keep the state in this PostgreSQL database\n"
	  "                         (postgresql://...), created beforehand;\n"
	  "                         init migrates it and writes the URI into\n"
	  "                         the config (default: certspool.db in DIR)\n"
	  "  --hsm MODULE           key ceremony: the issuing CA key is made\n"
	  "                         inside a PKCS#11 token (non-extractable)\n"
	  "                         through this module; the demo root (a file\n"
	  "                         key) signs its certificate; no ca.key is\n"
	  "                         written; the config gets ca_key = pkcs11:...,\n"
	  "                         pkcs11_module and pkcs11_pin_file\n"
	  "  --token LABEL          the initialized token to use (with --hsm)\n"
	  "  --pin-file FILE        its user PIN, mode 0600 (default: the\n"
	  "                         environment variable CERTSPOOL_PKCS11_PIN)\n",
	  NULL },
	{ "daemon", NULL, NULL, "daemon [--once]",
	  "Take ready batches from spool/inbound and process them: validation,\n"
	  "payment, signing, results and mail.  Runs until SIGTERM; SIGHUP\n"
	  "re-reads the config.\n"
	  "  --once  one pass over what is ready, then exit\n",
	  "Exit status: 0 when stopped by a signal, or with --once when the\n"
	  "pass did everything that was ready; 75 (EX_TEMPFAIL) with --once\n"
	  "when it left work to retry (a full disk, the database, a message\n"
	  "not published); 1 with one line on stderr when it cannot start.\n" },
	{ "doctor", NULL, NULL, "doctor [--json] [--strict]",
	  "Check the deployment, one line per check, \"ok|warning|problem\n"
	  "NAME: detail\": the config loads (config); the spool tree exists,\n"
	  "is writable and is writable by no one else (spool); the database\n"
	  "is not world-readable (database); the CA key file is mode 0600 and\n"
	  "ours (ca_key_file); free space and inodes on the spool's and the\n"
	  "database's file systems: a problem under 1 GiB or 5%, a warning\n"
	  "under 10% (disk_spool, disk_database); ca.pem verifies to the root\n"
	  "of chain.pem now (ca_chain); the signer process starts and its test\n"
	  "signature verifies with ca.pem's key (ca_key); sendmail_command's\n"
	  "program exists (mta); dns_resolver answers (resolver); and the\n"
	  "demo-only settings in force, as warnings (caa, root_key, mta, card,\n"
	  "crl_url, aia_url, ocsp_url).  Changes nothing.\n"
	  "  --json    one JSON document: {\"checks\": [{\"name\", \"status\",\n"
	  "            \"detail\"}, ...], \"problems\": N, \"warnings\": N}\n"
	  "  --strict  warnings count as problems for the exit status\n",
	  "Exit status: 0 when no check found a problem (with --strict, nor a\n"
	  "warning); 1 otherwise, also when the config does not load.\n" },
	{ "db", "migrate", NULL, "db migrate",
	  "Bring the configured database to this program's schema version and\n"
	  "say from which version to which (every command and the daemon\n"
	  "also migrate the database they open); a second run changes\n"
	  "nothing.\n", NULL },
	{ "db", "check", NULL, "db check",
	  "Check the database's integrity, one line per check, \"ok NAME\" or\n"
	  "\"problem NAME: N rows: ...\" with the rows' ids: orphan rows of\n"
	  "every reference between tables, balances and contract units\n"
	  "against the ledger, serial numbers unique per issuer, known\n"
	  "states (issued recipients with their certificate, revoked\n"
	  "certificates with their reason), CRL numbers.  Changes nothing;\n"
	  "a database at another schema version is not checked.\n",
	  "Exit status: 0 when every check passes; 1 otherwise.\n" },
	{ "db", "copy", NULL, "db copy --to URI",
	  "Copy the configured SQLite database into the empty PostgreSQL\n"
	  "database URI (postgresql://...): the schema, then every table in\n"
	  "one transaction, verified by row count and digest per table;\n"
	  "prints the rows copied per table.  Refused while a daemon runs on\n"
	  "the spool, and when the target holds any table.  Then set\n"
	  "database = URI in the config.\n"
	  "  --to URI  the PostgreSQL database, empty (created beforehand)\n",
	  NULL },
	{ "account", "add", cmd_account_add, "account add NAME [--contract REF "
	  "--units N [--ends DATE]] [--balance CENTS]",
	  "Add account NAME and its spool directories (inbound/NAME, ...).\n"
	  "  NAME             [A-Za-z0-9._-], at most 32 characters\n"
	  "  --contract REF   a contract orders may pay by (needs --units)\n"
	  "  --units N        certificates the contract covers\n"
	  "  --ends DATE      the contract's last day, YYYY-MM-DD (UTC)\n"
	  "  --balance CENTS  opening balance\n", NULL },
	{ "account", "deposit", cmd_account_deposit, "account deposit NAME "
	  "CENTS",
	  "Credit CENTS to the account's balance and print the new balance.\n"
	  "Orders waiting for funds move on in the daemon's next pass, oldest\n"
	  "first.\n", NULL },
	{ "account", "contract", cmd_account_contract, "account contract NAME "
	  "REF --units N [--ends DATE]",
	  "Add contract REF to the account, or add units to it.\n"
	  "  --units N    certificates added to the contract\n"
	  "  --ends DATE  the contract's last day, YYYY-MM-DD (UTC); changes it\n",
	  NULL },
	{ "account", "show", cmd_account_show, "account show NAME "
	  "[--limit N]",
	  "Balance, contracts and the newest rows of the account's ledger.\n"
	  "  --limit N  ledger rows shown (default 20)\n", NULL },
	{ "account", "list", cmd_account_list, "account list [--json]",
	  "Every account: id, name, balance, number of contracts and of\n"
	  "organizations.\n"
	  "  --json  one JSON document: {\"accounts\": [{\"id\", \"name\",\n"
	  "          \"balance_cents\", \"currency\", \"contracts\",\n"
	  "          \"organizations\", \"created\"}, ...]}\n", NULL },
	{ "order", "cancel", cmd_order_cancel, "order cancel BATCH-ID "
	  "ORDER-ID [--account NAME]",
	  "Cancel an order: no further certificates, reissues or renewals;\n"
	  "card authorizations of what was not issued are released.\n"
	  "  --account NAME  the account, when several have a batch BATCH-ID\n",
	  NULL },
	{ "revoke", NULL, cmd_revoke, "revoke (--serial S | --email E "
	  "[--account A] | --order BATCH-ID ORDER-ID [--account A]) --reason R "
	  "[--at TIME] | --withdraw ID",
	  "Revoke certificates (SPEC 7.2); prints each one revoked, or the id\n"
	  "of a pending request.  Unless the reason is superseded the\n"
	  "recipient's open rounds are cancelled (no reissue, no renewal);\n"
	  "keyCompromise also blocks the key and revokes every certificate\n"
	  "with it, in every account.  Each recipient gets a message.\n"
	  "  --serial S        the certificate with serial number S (hex)\n"
	  "  --email E         every unexpired certificate of mailbox E\n"
	  "  --order B O       every certificate of order O of batch B\n"
	  "  --account A       only certificates of account A\n"
	  "  --reason R        unspecified, keyCompromise, affiliationChanged,\n"
	  "                    superseded, cessationOfOperation or\n"
	  "                    privilegeWithdrawn (RFC 5280 CRLReason)\n"
	  "  --at TIME         YYYY-MM-DDTHH:MM:SSZ; in the future: pending\n"
	  "                    until then (the daemon applies it); in the\n"
	  "                    past: revoked now, TIME as invalidity date\n"
	  "  --withdraw ID     withdraw pending request ID\n",
	  "Exit status: 0 on success; 1 with one line on stderr otherwise,\n"
	  "also when nothing matches (not_found).\n" },
	{ "key", "block", cmd_key_block, "key block (--spki-sha256 HEX | "
	  "--cert FILE | --csr FILE) [--reason TEXT]",
	  "List a key as compromised for every account: any later CSR with it\n"
	  "is refused (csr_key_compromised), and every issued certificate\n"
	  "with it is revoked now (keyCompromise).\n"
	  "  --spki-sha256 HEX  SHA-256 of the key's DER SubjectPublicKeyInfo\n"
	  "  --cert FILE        the key of this certificate (PEM or DER)\n"
	  "  --csr FILE         the key of this CSR (PEM or DER)\n"
	  "  --reason TEXT      why, kept with the key (default keyCompromise)\n",
	  NULL },
	{ "renew", NULL, cmd_renew, "renew --due",
	  "Run the reissue and renewal scheduler once (from cron): reissues\n"
	  "within paid coverage, charged automatic renewals, renewal notices.\n"
	  "  --due  act on what is due now (required)\n", NULL },
	{ "org", "add", cmd_org_add, "org add ACCOUNT NAME --country CC "
	  "--org-id ID",
	  "Add organization NAME to ACCOUNT; prints\n"
	  "  organization ID \"NAME\" added to account ACCOUNT\n"
	  "Orders name it by NAME; the commands take its ID.\n"
	  "  --country CC  ISO 3166-1 country code, e.g. US\n"
	  "  --org-id ID   S/MIME BR organizationIdentifier, e.g.\n"
	  "                NTRUS+CA-1234567 (scheme, country, reference)\n",
	  NULL },
	{ "org", "request", cmd_org_request, "org request ORG [--new]",
	  "Open the organization's validation request (S/MIME BR 3.2.3), or\n"
	  "show the open one: prints the verification code the validation\n"
	  "agent leaves by phone, as the last word of the line.  While the\n"
	  "request is open (30 days) the same code is shown again.\n"
	  "  ORG    the organization's id (org add, org list)\n"
	  "  --new  give the open request a new code: the old one stops\n"
	  "         working, the count of wrong codes starts again\n", NULL },
	{ "org", "verify", cmd_org_verify, "org verify ORG CODE",
	  "Complete the organization's validation with the CODE of its open\n"
	  "request; it counts for 825 days.  Five wrong codes lock the\n"
	  "request (org request opens a new one).\n", NULL },
	{ "org", "list", cmd_org_list, "org list [ACCOUNT] [--json]",
	  "Organizations (of ACCOUNT, or all) and their validation: valid\n"
	  "until DATE (825 days after it), pending (a request is open), expired\n"
	  "DATE, or not validated.\n"
	  "  ACCOUNT  only this account's organizations\n"
	  "  --json   one JSON document: {\"as_of\", \"organizations\": [{\"id\",\n"
	  "           \"account\", \"name\", \"country\", \"org_identifier\",\n"
	  "           \"state\" (valid, pending, expired, not_validated),\n"
	  "           \"validated_at\", \"valid_until\", \"validation_method\",\n"
	  "           \"request\": {\"id\", \"open_until\"} or null}, ...]}\n",
	  NULL },
	{ "domain", "add", cmd_domain_add, "domain add ORG DOMAIN",
	  "Add DOMAIN (LDH labels, A-labels for internationalized names) to\n"
	  "organization ORG; prints\n"
	  "  domain ID DOMAIN added to organization ORG \"NAME\"\n", NULL },
	{ "domain", "dcv", cmd_domain_dcv, "domain dcv DOMAIN [--org ORG] "
	  "[--method email|dns-txt|dns-cname|http]",
	  "Start a domain control validation (S/MIME BR 3.2.2.1).  email\n"
	  "mails a link to the constructed addresses (admin@, ...); the other\n"
	  "methods print what to publish, then domain check looks.\n"
	  "  --org ORG    the organization, when several have DOMAIN\n"
	  "  --method M   email (default), dns-txt, dns-cname or http\n", NULL },
	{ "domain", "confirm", cmd_domain_confirm, "domain confirm TOKEN",
	  "The recipient of a DCV or mailbox control mail followed its link:\n"
	  "TOKEN is the one in that mail; each token works once.\n", NULL },
	{ "domain", "check", cmd_domain_check, "domain check DOMAIN "
	  "[--org ORG]",
	  "Look up the open DNS TXT, DNS CNAME and HTTP validations of DOMAIN\n"
	  "now and print the result.\n"
	  "  --org ORG  the organization, when several have DOMAIN\n",
	  "Exit status: 0 when the domain became validated; 1 otherwise, with\n"
	  "one line per open validation on stderr.\n" },
	{ "domain", "list", cmd_domain_list, "domain list [ORG|ACCOUNT] "
	  "[--json]",
	  "Domains (of one organization or account, or all) and their domain\n"
	  "control validation: valid until DATE (398 days after it), pending\n"
	  "(a DCV is open), expired DATE, or not validated.\n"
	  "  ORG|ACCOUNT  a number is an organization id (when one has it),\n"
	  "               anything else an account name\n"
	  "  --json       one JSON document: {\"as_of\", \"domains\": [{\"id\",\n"
	  "               \"name\", \"org_id\", \"organization\", \"account\",\n"
	  "               \"state\", \"validated_at\", \"valid_until\", \"method\",\n"
	  "               \"dcv\": {\"method\", \"open_until\"} or null}, ...]}\n",
	  NULL },
	{ "check", NULL, cmd_check, "check FILE [--account NAME]",
	  "Run every stage on a batch or csrSubmission as the daemon would and\n"
	  "print what would happen; stores, charges and issues nothing.\n"
	  "  --account NAME  the account (must match the document's)\n", NULL },
	{ "validations", NULL, cmd_validations, "validations --expiring DAYS",
	  "Organization and domain validations whose reuse period ends within\n"
	  "DAYS days, one per line: kind, account, organization, domain,\n"
	  "validated at, lapses at (tab-separated).\n"
	  "  --expiring DAYS  0 to 36500\n", NULL },
	{ "status", NULL, cmd_status, "status [BATCH-ID|ORDER-ID]",
	  "Without an argument: the number of orders per batch and state,\n"
	  "and the pending revocations (their ids for revoke --withdraw).\n"
	  "With one: each recipient of that batch or order (account, batch,\n"
	  "order, state, reason, email, recipient state and reason, serial),\n"
	  "then its revoked certificates with reason and time.\n",
	  NULL },
	{ "crl", NULL, cmd_crl, "crl [--now]",
	  "Publish the CRLs in crl_dir: every shard with revocations not yet in\n"
	  "its CRL, without a CRL, or whose CRL is crl_refresh_hours old; and\n"
	  "issuing.cer.  Prints one line per CRL written: file, shard, number,\n"
	  "entries, thisUpdate, nextUpdate.\n"
	  "  --now  every shard, even if nothing changed and none is due\n",
	  NULL },
	{ "purge", NULL, cmd_purge, "purge [--dry-run]",
	  "Remove what the retention keys no longer keep, as the daemon does\n"
	  "once a day: delivered mail older than mail_retention_days, archived\n"
	  "inputs older than archive_retention_days (card_archive_retention_days\n"
	  "for an input that held a card number), outbound files older than\n"
	  "outbound_retention_days; 0 keeps for ever.  Undelivered mail and\n"
	  "inputs whose orders are not all final are kept; symbolic links are\n"
	  "never followed.  Records one purge event with the counts.\n"
	  "  --dry-run  print each file that would go (kind, path below the\n"
	  "             spool, age in days; tab-separated), remove nothing\n",
	  "Exit status: 0; 1 with one line on stderr when a file due could not\n"
	  "be examined or removed (it is kept; see the log).\n" },
	{ "web", NULL, cmd_web, "web",
	  "Serve the recipient portal on web_listen until SIGTERM or SIGINT:\n"
	  "confirmation links, key generation in the browser, pickup of\n"
	  "server-made keys, certificate copies, and the files of crl_dir\n"
	  "(/crl/NAME, /issuing.cer).  HTTPS when web_tls_cert and\n"
	  "web_tls_key are set.  Links in messages use web_base_url.  Runs\n"
	  "next to the daemon on the same database; holds no CA key.\n",
	  "Exit status: 0 when stopped by a signal; 1 with one line on stderr\n"
	  "when it cannot start (port in use, TLS files unreadable).\n" },
	{ "ca", "import", cmd_ca_import, "ca import CERT (KEY CHAIN | "
	  "pkcs11:URI [CHAIN] [--module M] [--pin-file F])",
	  "Install an issuing CA from PEM files: its certificate, its private\n"
	  "key and the chain up to the root.  An existing RSA CA of 2048 bits\n"
	  "or more is accepted; one under 3072 bits is imported with a warning,\n"
	  "and from 2027-09-15 nothing is issued from it (S/MIME BR 6.1.5,\n"
	  "ballot SMC017v2).  With a pkcs11: URI (RFC 7512) the key stays in\n"
	  "its token: the certificate's public key must be the token key's;\n"
	  "ca.pem and chain.pem are written and the config gets ca_key,\n"
	  "pkcs11_module and pkcs11_pin_file.\n"
	  "  --module M    the PKCS#11 module (default: pkcs11_module)\n"
	  "  --pin-file F  the token's PIN file, mode 0600 (default:\n"
	  "                pkcs11_pin_file, else CERTSPOOL_PKCS11_PIN)\n", NULL },
	{ "ca", "rollover", cmd_ca_rollover, "ca rollover [--ca-key p384|"
	  "rsa4096] | --import CERT [CHAIN] (KEYFILE|pkcs11:URI)",
	  "Change the issuing CA; run it with the daemon stopped.  With the\n"
	  "demo root in ca_dir (root.key) the root signs a new issuing CA\n"
	  "certificate (CN of the current one with \" G<N>\") for a new key of\n"
	  "the current kind: a file, or a key generated in the same token.\n"
	  "Otherwise --import adopts an issuing CA signed elsewhere, with the\n"
	  "checks of ca import.  New certificates come from the new CA; the\n"
	  "old one keeps its files in ca_dir/issuer-N and signs the CRLs of\n"
	  "its certificates (its own URLs) until they have all expired.\n"
	  "  --ca-key ALG  p384 or rsa4096 (default: the current key's kind)\n",
	  "Exit status: 0; 1 with one line on stderr (no root key and no\n"
	  "--import, a new CA whose key or subject is an existing issuer's,\n"
	  "the daemon running).\n" },
	{ "ca", "show", cmd_ca_show, "ca show",
	  "Where the issuing CA key lives (a file and its mode, or the token\n"
	  "URI, module, PIN source and whether the token holds ca.pem's key),\n"
	  "its algorithm and size, and each certificate of chain.pem: subject,\n"
	  "issuer, notBefore, notAfter, key and SHA-256 fingerprint.\n",
	  "Exit status: 0; 1 with one line on stderr when the chain cannot be\n"
	  "read or the key is missing or is not ca.pem's.\n" },
};
#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

/* What each group of commands is about; a group is the first word of
 * commands that have two. */
static const struct {
	const char	*name, *about;
} groups[] = {
	{ "account", "Accounts: balance, contracts and their ledger." },
	{ "order", "Orders already taken from the spool." },
	{ "org", "Organizations and their validation by phone code." },
	{ "domain", "Domains and their domain control validation." },
	{ "ca", "The issuing CA." },
	{ "key", "Keys known to be compromised." },
	{ "db", "The database: schema, integrity, moving to PostgreSQL." },
};

static void
usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: certspool [--config FILE] COMMAND ...\n"
	    "  --config FILE  the configuration (default ./certspool.conf)\n"
	    "commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fprintf(f, "certspool GROUP --help and certspool COMMAND --help "
	    "describe each one.\n" EXIT_DEFAULT);
}

static int
is_group(const char *w)
{
	size_t	 i;

	for (i = 0; i < NCOMMANDS; i++)
		if (commands[i].w2 != NULL && strcmp(commands[i].w1, w) == 0)
			return 1;
	return 0;
}

static void
group_help(const char *g)
{
	size_t	 i;

	printf("usage: certspool [--config FILE] %s COMMAND ...\n", g);
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(groups[i].name, g) == 0)
			printf("%s\n", groups[i].about);
	printf("commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		if (commands[i].w2 != NULL && strcmp(commands[i].w1, g) == 0)
			printf("  %s\n", commands[i].usage);
	printf("certspool %s COMMAND --help describes each one.\n", g);
}

static void
command_help(const struct command *c)
{
	printf("usage: certspool [--config FILE] %s\n%s%s", c->usage, c->help,
	    c->exits != NULL ? c->exits : EXIT_DEFAULT);
}

/*
 * The command that argv names, or NULL after an error line.  *help is
 * set when help was asked for: then a NULL command with *help set means
 * the group help of argv[0] was printed.
 */
static const struct command *
find_command(int argc, char **argv, int *help)
{
	size_t	 i;

	*help = has_help(argc, argv);
	for (i = 0; i < NCOMMANDS; i++) {
		const struct command *c = &commands[i];

		if (strcmp(argv[0], c->w1) != 0 ||
		    (c->w2 && (argc < 2 || strcmp(argv[1], c->w2) != 0)))
			continue;
		return c;
	}
	if (is_group(argv[0])) {
		if (argc == 1 || strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0) {
			if (argc == 1) {
				cli_err("%s: which command? see certspool %s "
				    "--help", argv[0], argv[0]);
				*help = 0;
			} else
				group_help(argv[0]);
			return NULL;
		}
		*help = 0;
		cli_err("unknown command \"%s %s\"; see certspool %s --help",
		    argv[0], argv[1], argv[0]);
		return NULL;
	}
	*help = 0;
	cli_err("unknown command \"%s\"; see certspool --help", argv[0]);
	return NULL;
}

int
main(int argc, char *argv[])
{
	const struct command *c;
	struct cmd_env	 env;
	const char	*confpath;
	struct init_opts	 io;
	char		 err[512];
	int		 rc, once = -1, help, want_help = 0;

	keyproc_dispatch(argc, argv);	/* the signer process, if it is one */
	argc--;
	argv++;
	confpath = take_opt(&argc, argv, "--config");
	if (confpath == NULL)
		confpath = "certspool.conf";
	if (argc == 0) {
		usage(stderr);
		return 1;
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
	    strcmp(argv[0], "help") == 0) {
		if (argc == 1) {
			usage(stdout);
			return 0;
		}
		/* help GROUP [COMMAND]: as GROUP [COMMAND] --help. */
		if (argc == 2 && is_group(argv[1])) {
			group_help(argv[1]);
			return 0;
		}
		want_help = 1;
		argc--;
		argv++;
	}
	if (strcmp(argv[0], "--version") == 0) {
		printf("certspool %s\n", CERTSPOOL_VERSION);
		return 0;
	}
	if ((c = find_command(argc, argv, &help)) == NULL)
		return help ? 0 : 1;
	if (help || want_help) {
		command_help(c);
		return 0;
	}
	argc -= c->w2 != NULL ? 2 : 1;
	argv += c->w2 != NULL ? 2 : 1;
	if (strcmp(c->w1, "init") == 0) {
		io.ca_key = take_opt(&argc, argv, "--ca-key");
		io.database = take_opt(&argc, argv, "--database");
		io.hsm.module = take_opt(&argc, argv, "--hsm");
		io.hsm.token = take_opt(&argc, argv, "--token");
		io.hsm.pin_file = take_opt(&argc, argv, "--pin-file");
		if (io.hsm.module == NULL && (io.hsm.token != NULL ||
		    io.hsm.pin_file != NULL))
			return cli_err("init: --token and --pin-file go with "
			    "--hsm");
		if (io.hsm.module != NULL && io.hsm.token == NULL)
			return cli_err("init: --hsm needs --token LABEL");
		if (io.ca_key == NULL)
			io.ca_key = "p384";
		return cmd_init(argc, argv, &io);
	}
	if (strcmp(c->w1, "doctor") == 0)
		return cmd_doctor(confpath, argc, argv);
	if (strcmp(c->w1, "db") == 0)
		return cmd_db(confpath, c->w2, argc, argv);
	if (strcmp(c->w1, "daemon") == 0) {
		once = take_flag(&argc, argv, "--once");
		if (argc != 0)
			return cli_err("usage: certspool %s", c->usage);
	}

	memset(&env, 0, sizeof(env));
	env.confpath = confpath;
	if ((env.conf = conf_load(confpath, err, sizeof(err))) == NULL)
		return cli_err("%s", err);
	if ((env.st = store_open(env.conf->database, err, sizeof(err))) ==
	    NULL) {
		conf_free(env.conf);
		return cli_err("%s", err);
	}
	/* The commands that sign start the signer before reading any
	 * input, with the retired issuers' keys too (issuer.c). */
	if ((once != -1 || strcmp(c->w1, "crl") == 0) &&
	    (env.kp = issuer_keyproc_start(env.st, env.conf, err,
	    sizeof(err))) == NULL) {
		store_close(env.st);
		conf_free(env.conf);
		return cli_err("signer process: %s", err);
	}
	if (once != -1)
		rc = daemon_run(&env.conf, env.st, confpath, once, env.kp);
	else
		rc = c->fn(&env, argc, argv);
	keyproc_stop(env.kp);
	store_close(env.st);
	conf_free(env.conf);
	return rc;
}
