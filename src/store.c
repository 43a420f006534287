/*
 * store.c: the SQLite store.  One database file in WAL mode with foreign
 * keys on and synchronous=FULL; the schema is versioned (user_version)
 * and migrated on open inside one transaction.  Every state change runs
 * in a transaction together with its append-only event row.
 * Failure policy: SQLITE_BUSY is retried by the busy timeout; any other
 * error is logged and returned, and the caller rolls back and keeps its
 * input for the next pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "extern.h"
#include "store.h"

static const char *schema_v1 =
"CREATE TABLE account ("
"  id INTEGER PRIMARY KEY,"
"  name TEXT NOT NULL UNIQUE,"
"  balance INTEGER NOT NULL DEFAULT 0,"
"  created INTEGER NOT NULL);"
"CREATE TABLE contract ("
"  id INTEGER PRIMARY KEY,"
"  account_id INTEGER NOT NULL REFERENCES account(id),"
"  ref TEXT NOT NULL,"
"  units INTEGER NOT NULL,"
"  ends INTEGER,"
"  UNIQUE (account_id, ref));"
"CREATE TABLE organization ("
"  id INTEGER PRIMARY KEY,"
"  account_id INTEGER NOT NULL REFERENCES account(id),"
"  name TEXT NOT NULL,"
"  country TEXT NOT NULL,"
"  org_identifier TEXT NOT NULL,"
"  validated_at INTEGER,"
"  validated_by TEXT,"
"  validation_method TEXT,"
"  created INTEGER NOT NULL,"
"  UNIQUE (account_id, name));"
"CREATE TABLE org_request ("
"  id INTEGER PRIMARY KEY,"
"  org_id INTEGER NOT NULL REFERENCES organization(id),"
"  code_hash TEXT NOT NULL,"
"  created INTEGER NOT NULL,"
"  expires INTEGER NOT NULL,"
"  tries INTEGER NOT NULL DEFAULT 0,"
"  state TEXT NOT NULL);"
"CREATE TABLE domain ("
"  id INTEGER PRIMARY KEY,"
"  org_id INTEGER NOT NULL REFERENCES organization(id),"
"  name TEXT NOT NULL,"
"  validated_at INTEGER,"
"  method TEXT,"
"  UNIQUE (org_id, name));"
"CREATE TABLE dcv ("
"  id INTEGER PRIMARY KEY,"
"  domain_id INTEGER REFERENCES domain(id),"
"  account_id INTEGER REFERENCES account(id),"
"  mailbox TEXT,"
"  method TEXT NOT NULL,"
"  token_hash TEXT,"
"  value TEXT,"
"  created INTEGER NOT NULL,"
"  expires INTEGER NOT NULL,"
"  state TEXT NOT NULL);"
"CREATE TABLE mailbox ("
"  id INTEGER PRIMARY KEY,"
"  account_id INTEGER NOT NULL REFERENCES account(id),"
"  email TEXT NOT NULL,"
"  validated_at INTEGER,"
"  UNIQUE (account_id, email));"
"CREATE TABLE batch ("
"  id INTEGER PRIMARY KEY,"
"  account_id INTEGER NOT NULL REFERENCES account(id),"
"  ext_id TEXT NOT NULL,"
"  sha256 TEXT NOT NULL,"
"  file_name TEXT NOT NULL,"
"  received INTEGER NOT NULL,"
"  created TEXT,"
"  att_officer TEXT,"
"  att_title TEXT,"
"  next_seq INTEGER NOT NULL DEFAULT 1,"
"  dirty INTEGER NOT NULL DEFAULT 1,"
"  UNIQUE (account_id, ext_id),"
"  UNIQUE (account_id, sha256));"
"CREATE TABLE input ("
"  id INTEGER PRIMARY KEY,"
"  account_id INTEGER NOT NULL REFERENCES account(id),"
"  sha256 TEXT NOT NULL,"
"  work_name TEXT NOT NULL,"
"  kind TEXT NOT NULL,"
"  outcome TEXT NOT NULL,"
"  batch_id INTEGER REFERENCES batch(id),"
"  received INTEGER NOT NULL);"
"CREATE INDEX input_sha ON input(account_id, sha256);"
"CREATE TABLE orders ("
"  id INTEGER PRIMARY KEY,"
"  batch_id INTEGER NOT NULL REFERENCES batch(id),"
"  ext_id TEXT NOT NULL,"
"  line INTEGER,"
"  product TEXT NOT NULL,"
"  organization TEXT,"
"  org_id INTEGER REFERENCES organization(id),"
"  sig_hash TEXT NOT NULL,"
"  vkind INTEGER NOT NULL,"
"  vvalue TEXT,"
"  auto_renew INTEGER NOT NULL DEFAULT 0,"
"  att_officer TEXT,"
"  att_title TEXT,"
"  att_recorded INTEGER,"
"  add_emails TEXT,"
"  pay_method TEXT,"
"  pay_ref TEXT,"
"  agreement INTEGER NOT NULL,"
"  state TEXT NOT NULL,"
"  reason TEXT,"
"  message TEXT,"
"  not_before INTEGER,"
"  not_after INTEGER,"
"  updated INTEGER NOT NULL,"
"  UNIQUE (batch_id, ext_id));"
"CREATE INDEX orders_state ON orders(state);"
"CREATE TABLE recipient ("
"  id INTEGER PRIMARY KEY,"
"  order_id INTEGER NOT NULL REFERENCES orders(id),"
"  idx INTEGER NOT NULL,"
"  cn_type INTEGER NOT NULL,"
"  cn TEXT,"
"  given_name TEXT,"
"  surname TEXT,"
"  pseudonym TEXT,"
"  email TEXT NOT NULL,"
"  csr TEXT,"
"  csr_later INTEGER NOT NULL DEFAULT 0,"
"  keygen TEXT,"
"  spki_sha256 TEXT,"
"  state TEXT NOT NULL,"
"  reason TEXT,"
"  message TEXT,"
"  UNIQUE (order_id, idx));"
"CREATE INDEX recipient_state ON recipient(state);"
"CREATE INDEX recipient_spki ON recipient(spki_sha256);"
"CREATE TABLE pass ("
"  id INTEGER PRIMARY KEY,"
"  batch_id INTEGER NOT NULL REFERENCES batch(id),"
"  seq INTEGER NOT NULL,"
"  state TEXT NOT NULL,"
"  archive TEXT,"
"  created INTEGER NOT NULL,"
"  UNIQUE (batch_id, seq));"
"CREATE TABLE certificate ("
"  id INTEGER PRIMARY KEY,"
"  recipient_id INTEGER NOT NULL REFERENCES recipient(id),"
"  round INTEGER NOT NULL DEFAULT 0,"
"  serial TEXT NOT NULL UNIQUE,"
"  state TEXT NOT NULL,"
"  tbs BLOB NOT NULL,"
"  der BLOB,"
"  not_before INTEGER NOT NULL,"
"  not_after INTEGER NOT NULL,"
"  spki_sha256 TEXT NOT NULL,"
"  p12 BLOB,"
"  p12_password TEXT,"
"  pass_id INTEGER REFERENCES pass(id),"
"  mailed INTEGER NOT NULL DEFAULT 0,"
"  created INTEGER NOT NULL);"
"CREATE UNIQUE INDEX certificate_once ON certificate(recipient_id, round)"
"  WHERE state != 'void';"
"CREATE INDEX certificate_spki ON certificate(spki_sha256);"
"CREATE INDEX certificate_pass ON certificate(pass_id);"
"CREATE TABLE compromised_key ("
"  spki_sha256 TEXT PRIMARY KEY,"
"  reason TEXT,"
"  added INTEGER NOT NULL);"
"CREATE TABLE event ("
"  id INTEGER PRIMARY KEY,"
"  at INTEGER NOT NULL,"
"  kind TEXT NOT NULL,"
"  batch_id INTEGER,"
"  order_id INTEGER,"
"  recipient_id INTEGER,"
"  from_state TEXT,"
"  to_state TEXT,"
"  reason TEXT,"
"  detail TEXT);"
"CREATE TRIGGER event_append_only_u BEFORE UPDATE ON event"
"  BEGIN SELECT RAISE(ABORT, 'event log is append-only'); END;"
"CREATE TRIGGER event_append_only_d BEFORE DELETE ON event"
"  BEGIN SELECT RAISE(ABORT, 'event log is append-only'); END;";

/*
 * Schema 2: billing and coverage.  orders: the quote (price, unit_price,
 * cov_years), how it is paid (pay_used, contract_id), a card number
 * screened out at intake (card_flag), the agreement accepted
 * (agreement_version, agreement_at), cancelled_at.  recipient: round
 * (certificate generation; certificate.round), round_covered (1: a
 * reissue within paid coverage, no charge), the paid coverage
 * (cov_start, cov_end, cov_years), renewals done, notice_at (renewal
 * notice sent).  ledger: every money and unit movement, append-only;
 * a charge of one kind happens once per recipient and round.
 */
static const char schema_v2[] =
"ALTER TABLE orders ADD COLUMN price INTEGER;"
"ALTER TABLE orders ADD COLUMN unit_price INTEGER;"
"ALTER TABLE orders ADD COLUMN cov_years INTEGER;"
"ALTER TABLE orders ADD COLUMN pay_used TEXT;"
"ALTER TABLE orders ADD COLUMN contract_id INTEGER REFERENCES contract(id);"
"ALTER TABLE orders ADD COLUMN card_flag INTEGER NOT NULL DEFAULT 0;"
"ALTER TABLE orders ADD COLUMN agreement_version TEXT;"
"ALTER TABLE orders ADD COLUMN agreement_at INTEGER;"
"ALTER TABLE orders ADD COLUMN cancelled_at INTEGER;"
"ALTER TABLE recipient ADD COLUMN round INTEGER NOT NULL DEFAULT 0;"
"ALTER TABLE recipient ADD COLUMN round_covered INTEGER NOT NULL DEFAULT 0;"
"ALTER TABLE recipient ADD COLUMN cov_start INTEGER;"
"ALTER TABLE recipient ADD COLUMN cov_end INTEGER;"
"ALTER TABLE recipient ADD COLUMN cov_years INTEGER;"
"ALTER TABLE recipient ADD COLUMN renewals INTEGER NOT NULL DEFAULT 0;"
"ALTER TABLE recipient ADD COLUMN notice_at INTEGER;"
"ALTER TABLE contract ADD COLUMN created INTEGER;"
"CREATE TABLE ledger ("
"  id INTEGER PRIMARY KEY,"
"  at INTEGER NOT NULL,"
"  account_id INTEGER NOT NULL REFERENCES account(id),"
"  kind TEXT NOT NULL CHECK (kind IN ('deposit', 'debit', 'refund',"
"    'unit_debit', 'unit_credit', 'card_authorize', 'card_capture',"
"    'card_release')),"
"  amount INTEGER NOT NULL,"
"  contract_id INTEGER REFERENCES contract(id),"
"  batch_id INTEGER,"
"  order_id INTEGER,"
"  recipient_id INTEGER,"
"  round INTEGER,"
"  ref TEXT,"
"  detail TEXT);"
"CREATE UNIQUE INDEX ledger_once ON ledger(recipient_id, round, kind)"
"  WHERE recipient_id IS NOT NULL;"
"CREATE INDEX ledger_account ON ledger(account_id, id);"
"CREATE INDEX ledger_order ON ledger(order_id);"
"CREATE TRIGGER ledger_append_only_u BEFORE UPDATE ON ledger"
"  BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
"CREATE TRIGGER ledger_append_only_d BEFORE DELETE ON ledger"
"  BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;"
"CREATE INDEX certificate_expiry ON certificate(not_after)"
"  WHERE state = 'issued';"
"CREATE TABLE meta ("
"  key TEXT PRIMARY KEY,"
"  value TEXT NOT NULL);"
/* Certificates issued under schema 1: their coverage is the order's. */
"UPDATE recipient SET"
"  cov_end = (SELECT o.not_after FROM orders o WHERE o.id = order_id),"
"  cov_start = (SELECT min(c.not_before) FROM certificate c"
"    WHERE c.recipient_id = recipient.id AND c.state = 'issued')"
"  WHERE state = 'issued';"
/* Opening balances and units, so that the ledger reconciles. */
"INSERT INTO ledger (at, account_id, kind, amount, detail)"
"  SELECT created, id, 'deposit', balance, 'opening balance (schema 2)'"
"  FROM account WHERE balance != 0;"
"INSERT INTO ledger (at, account_id, kind, amount, contract_id, ref,"
"  detail) SELECT a.created, c.account_id, 'unit_credit', c.units, c.id,"
"  c.ref, 'opening units (schema 2)' FROM contract c JOIN account a"
"  ON a.id = c.account_id WHERE c.units != 0;"
/* A recipient's certificates by round, and the write-ahead rows: the
 * lookups of signing, results and renewals stay logarithmic. */
"CREATE INDEX certificate_recipient ON certificate(recipient_id, round);"
"CREATE INDEX certificate_signing ON certificate(state)"
"  WHERE state = 'signing';";

/*
 * Version 3: lookups a pass makes on a large database.  The two
 * certificate indexes were added to version 2 late; a database that was
 * made at version 2 before gets them here.
 */
static const char schema_v3[] =
"CREATE INDEX IF NOT EXISTS certificate_recipient"
"  ON certificate(recipient_id, round);"
"CREATE INDEX IF NOT EXISTS certificate_signing ON certificate(state)"
"  WHERE state = 'signing';"
/* Card authorizations to settle, without reading the whole ledger. */
"CREATE INDEX ledger_card ON ledger(id) WHERE kind = 'card_authorize';";

/*
 * Version 4: each change adds its statements in a block of its own.
 */
static const char schema_v4[] =
/* ---- schema 4: the open organization validation code ----
 * org_request.code holds the code of an open request in clear, so that
 * certspool org request shows the code the validation agent already has
 * instead of voiding it (SPEC 5: "open (or show)").  It is erased when
 * the request leaves 'open' (used, locked, expired), whoever changes the
 * state; org request --new overwrites it.  code_hash stays what org
 * verify compares. */
"ALTER TABLE org_request ADD COLUMN code TEXT;"
"CREATE TRIGGER org_request_code_erase AFTER UPDATE OF state ON org_request"
"  WHEN NEW.state != 'open' AND NEW.code IS NOT NULL"
"  BEGIN UPDATE org_request SET code = NULL WHERE id = NEW.id; END;"
/* ---- end of schema 4: org_request.code ---- */
/* ---- schema 4: items stuck in publishing (report.c) ---- */
/* A certificate whose message could not be published: the reason code,
 * what failed, since when.  Cleared once the message is published. */
"ALTER TABLE certificate ADD COLUMN stuck TEXT;"
"ALTER TABLE certificate ADD COLUMN stuck_detail TEXT;"
"ALTER TABLE certificate ADD COLUMN stuck_since INTEGER;"
"CREATE INDEX certificate_stuck ON certificate(id) WHERE stuck IS NOT NULL;"
/* ---- end of schema 4: stuck items ---- */
"";

/*
 * Version 5: revocation and CRLs (SPEC 7).  Each change adds its
 * statements in a block of its own.
 */
static const char schema_v5[] =
/* ---- schema 5: revocation state of a certificate (revoke.c) ----
 * crl_shard: the CRL partition the certificate names in its CRL
 * distribution point, fixed when its write-ahead row is made (SPEC 7.3).
 * revoked_at: the revocationDate of its CRL entry (never in the future,
 * never before revoke_recorded's pass); revoke_reason: the RFC 5280
 * CRLReason name; invalidity_at: an earlier time the key or the
 * affiliation is known to have become invalid (invalidityDate), or NULL.
 * Certificates made before version 5 are in shard 0. */
"ALTER TABLE certificate ADD COLUMN crl_shard INTEGER NOT NULL DEFAULT 0;"
"ALTER TABLE certificate ADD COLUMN revoked_at INTEGER;"
"ALTER TABLE certificate ADD COLUMN revoke_reason TEXT;"
"ALTER TABLE certificate ADD COLUMN invalidity_at INTEGER;"
"CREATE INDEX certificate_revoked ON certificate(crl_shard, id)"
"  WHERE revoked_at IS NOT NULL;"
/* A shard whose published CRL no longer shows every revocation: set in
 * the transaction that records one, cleared once a CRL built after it
 * is published (crl.c). */
"CREATE TABLE crl_shard_state ("
"  shard INTEGER PRIMARY KEY,"
"  dirty INTEGER NOT NULL DEFAULT 1,"
"  number INTEGER,"
"  this_update INTEGER,"
"  next_update INTEGER,"
"  prev_this_update INTEGER);"
/* ---- end of schema 5: revocation state ---- */
/* ---- schema 5: revocation documents and requests (revdoc.c) ----
 * revocation_doc: one accepted <revocation> (SPEC 7.1); seq is the last
 * result sequence number given out, written the last one written to
 * outbound (written < seq: a result is owed, also after a crash).
 * revoke_request: one <revoke> of a document, or one certspool revoke
 * (doc_id NULL); kind email|order|serial|key, value the mailbox, order
 * id, serial (upper-case hex) or SPKI SHA-256; state pending (at in the
 * future), done, not_found, already_revoked or withdrawn; seq the
 * document's result that reports the outcome (NULL while pending).
 * revoke_hit: each certificate a request revoked; listed 0 for another
 * account's certificate revoked for a compromised key (never shown to
 * this account); mailed once its "certificate revoked" message is out. */
"CREATE TABLE revocation_doc ("
"  id INTEGER PRIMARY KEY,"
"  account_id INTEGER NOT NULL REFERENCES account(id),"
"  ext_id TEXT NOT NULL,"
"  sha256 TEXT NOT NULL,"
"  file_name TEXT NOT NULL,"
"  received INTEGER NOT NULL,"
"  created TEXT,"
"  seq INTEGER NOT NULL DEFAULT 1,"
"  written INTEGER NOT NULL DEFAULT 0,"
"  UNIQUE (account_id, ext_id));"
"CREATE INDEX revocation_doc_owed ON revocation_doc(id)"
"  WHERE written < seq;"
"CREATE TABLE revoke_request ("
"  id INTEGER PRIMARY KEY,"
"  doc_id INTEGER REFERENCES revocation_doc(id),"
"  account_id INTEGER REFERENCES account(id),"
"  line INTEGER,"
"  kind TEXT NOT NULL CHECK (kind IN ('email', 'order', 'serial',"
"    'key')),"
"  value TEXT NOT NULL,"
"  batch_ext TEXT,"
"  reason TEXT NOT NULL,"
"  at INTEGER,"
"  state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'not_found',"
"    'already_revoked', 'withdrawn')),"
"  seq INTEGER,"
"  created INTEGER NOT NULL,"
"  done_at INTEGER);"
"CREATE INDEX revoke_request_doc ON revoke_request(doc_id, id);"
"CREATE INDEX revoke_request_pending ON revoke_request(at)"
"  WHERE state = 'pending';"
"CREATE TABLE revoke_hit ("
"  request_id INTEGER NOT NULL REFERENCES revoke_request(id),"
"  certificate_id INTEGER NOT NULL REFERENCES certificate(id),"
"  listed INTEGER NOT NULL,"
"  mailed INTEGER NOT NULL DEFAULT 0,"
"  PRIMARY KEY (request_id, certificate_id));"
"CREATE INDEX revoke_hit_unmailed ON revoke_hit(request_id)"
"  WHERE mailed = 0;"
/* Leavers are selected by mailbox (ASCII case-insensitive). */
"CREATE INDEX recipient_email_lower ON recipient(lower(email));"
/* ---- end of schema 5: revocation documents ---- */
"";

/*
 * Version 6: the recipient portal (web.c, portal_*.c).  Each change adds
 * its statements in a block of its own.
 */
static const char schema_v6[] =
/* ---- schema 6: portal tokens (portal_token.c) ----
 * One link mailed to a recipient: keygen (generate the key in the
 * browser; used when the CSR is submitted), pickup (download the
 * server-generated PKCS#12 of certificate_id; used when the recipient
 * confirms the import), cert (copies of the current certificate, public
 * data; reusable until it expires).  Only the token's SHA-256 is kept;
 * used_at/used_from record when and from which client address it was
 * used.  A token never reaches another recipient's data. */
"CREATE TABLE portal_token ("
"  id INTEGER PRIMARY KEY,"
"  kind TEXT NOT NULL CHECK (kind IN ('keygen', 'pickup', 'cert')),"
"  token_hash TEXT NOT NULL UNIQUE,"
"  recipient_id INTEGER NOT NULL REFERENCES recipient(id),"
"  certificate_id INTEGER REFERENCES certificate(id),"
"  created INTEGER NOT NULL,"
"  expires INTEGER NOT NULL,"
"  used_at INTEGER,"
"  used_from TEXT);"
"CREATE INDEX portal_token_recipient ON portal_token(recipient_id, kind);"
/* ---- end of schema 6: portal tokens ---- */
/* ---- schema 6: PKCS#12 retention (p12keep.c) ----
 * p12_purged_at: when the encrypted PKCS#12 (and its password) of a
 * server-generated key were erased, after the pickup or after
 * p12_retention_days; later archives no longer carry it. */
"ALTER TABLE certificate ADD COLUMN p12_purged_at INTEGER;"
"CREATE INDEX certificate_p12_kept ON certificate(created)"
"  WHERE p12 IS NOT NULL;"
/* ---- end of schema 6: PKCS#12 retention ---- */
"";

/*
 * Version 7: issuing CA rollover (issuer.c, ca_rollover.c).
 */
static const char schema_v7[] =
/* ---- schema 7: issuers (issuer.c) ----
 * One issuing CA: its certificate (DER), where its key is (a file path
 * or a pkcs11: URI), its chain (PEM: itself first, then up to the root),
 * its crl_url template and caIssuers URL ("": the config's, the first
 * issuer's), its directory under ca_dir once retired (issuer-N), state
 * current (exactly one) or retired, crl_ended when its last CRL was
 * published (SPEC 7.3: its certificates have all expired).  Issuer 1 is
 * the CA in ca_dir when the table is first used; certificates made
 * before version 7 are issuer 1's.  crl_shard_state gets one row per
 * issuer and shard. */
"CREATE TABLE issuer ("
"  id INTEGER PRIMARY KEY,"
"  cert BLOB NOT NULL,"
"  key_location TEXT NOT NULL,"
"  chain TEXT NOT NULL,"
"  crl_url TEXT NOT NULL,"
"  aia_url TEXT NOT NULL,"
"  state TEXT NOT NULL CHECK (state IN ('current', 'retired')),"
"  not_after INTEGER NOT NULL,"
"  crl_ended INTEGER,"
"  created INTEGER NOT NULL);"
"CREATE UNIQUE INDEX issuer_current ON issuer(state)"
"  WHERE state = 'current';"
"ALTER TABLE certificate ADD COLUMN issuer_id INTEGER NOT NULL DEFAULT 1;"
"DROP INDEX certificate_revoked;"
"CREATE INDEX certificate_revoked ON certificate(issuer_id, crl_shard, id)"
"  WHERE revoked_at IS NOT NULL;"
"CREATE TABLE crl_shard_state7 ("
"  issuer_id INTEGER NOT NULL DEFAULT 1,"
"  shard INTEGER NOT NULL,"
"  dirty INTEGER NOT NULL DEFAULT 1,"
"  number INTEGER,"
"  this_update INTEGER,"
"  next_update INTEGER,"
"  prev_this_update INTEGER,"
"  PRIMARY KEY (issuer_id, shard));"
"INSERT INTO crl_shard_state7 (issuer_id, shard, dirty, number,"
"  this_update, next_update, prev_this_update)"
"  SELECT 1, shard, dirty, number, this_update, next_update,"
"  prev_this_update FROM crl_shard_state;"
"DROP TABLE crl_shard_state;"
"ALTER TABLE crl_shard_state7 RENAME TO crl_shard_state;"
/* ---- end of schema 7: issuers ---- */
"";

/* Each entry migrates from version i to i + 1. */
static const char *migrations[] = {
	NULL,		/* 0 -> 1 is schema_v1 */
	schema_v2,	/* 1 -> 2 */
	schema_v3,	/* 2 -> 3 */
	schema_v4,	/* 3 -> 4 */
	schema_v5,	/* 4 -> 5 */
	schema_v6,	/* 5 -> 6 */
	schema_v7,	/* 6 -> 7 */
};
#define SCHEMA_VERSION	7

static int
exec_err(struct store *s, const char *sql, char *err, size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "sqlite: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
store_exec(struct store *s, const char *sql)
{
	char	 err[512];

	if (exec_err(s, sql, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

/* A random id of this database, for idempotency references given to
 * outside services (the card processor). */
static int
meta_instance(struct store *s, char *err, size_t errlen)
{
	unsigned char	 r[8];
	char		 hex[17], sql[96];

	rnd_bytes(r, sizeof(r));
	hex_encode(r, sizeof(r), hex);
	snprintf(sql, sizeof(sql), "INSERT INTO meta (key, value)"
	    " VALUES ('instance', '%s')", hex);
	return exec_err(s, sql, err, errlen);
}

static int
migrate(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	int		 v, rc = -1;
	char		 sql[64];

	if (exec_err(s, "BEGIN IMMEDIATE", err, errlen) == -1)
		return -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		snprintf(err, errlen, "sqlite: %s", sqlite3_errmsg(s->db));
		goto out;
	}
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen, "database schema version %d is newer "
		    "than this program's %d", v, SCHEMA_VERSION);
		goto out;
	}
	if (v == 0 && exec_err(s, schema_v1, err, errlen) == -1)
		goto out;
	for (v = v == 0 ? 1 : v; v < SCHEMA_VERSION; v++)
		if (exec_err(s, migrations[v], err, errlen) == -1 ||
		    (v == 1 && meta_instance(s, err, errlen) == -1))
			goto out;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
	if (exec_err(s, sql, err, errlen) == -1)
		goto out;
	if (exec_err(s, "COMMIT", err, errlen) == -1)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(st);
	if (rc == -1)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store	*s;

	s = xcalloc(1, sizeof(*s));
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto bad;
	}
	sqlite3_busy_timeout(s->db, 10000);
	if (exec_err(s, "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = ON;", err, errlen) == -1)
		goto bad;
	if (migrate(s, err, errlen) == -1)
		goto bad;
	return s;
bad:
	store_close(s);
	return NULL;
}

/*
 * Prepared statements are kept for reuse (the same SQL is run for every
 * order and certificate, and preparing it anew costs more than running
 * it).  store_prep takes a cached statement that is not in use, or
 * prepares one and caches it while there is room; store_release gives
 * it back reset, or finalizes a statement that is not cached.  The
 * database is used from one thread only.
 */
#define STMT_CACHE	192

static struct cached_stmt {
	sqlite3		*db;
	char		*sql;
	unsigned int	 hash;
	sqlite3_stmt	*st;
	int		 busy;
} stmts[STMT_CACHE];

static unsigned int
sql_hash(const char *s)
{
	unsigned int	 h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static sqlite3_stmt *
stmt_get(struct store *s, const char *sql)
{
	sqlite3_stmt	*st;
	unsigned int	 h = sql_hash(sql);
	size_t		 i, free_slot = STMT_CACHE;

	for (i = 0; i < STMT_CACHE; i++) {
		if (stmts[i].st == NULL) {
			if (free_slot == STMT_CACHE)
				free_slot = i;
			continue;
		}
		if (stmts[i].db == s->db && stmts[i].hash == h &&
		    !stmts[i].busy && strcmp(stmts[i].sql, sql) == 0) {
			stmts[i].busy = 1;
			return stmts[i].st;
		}
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, free_slot < STMT_CACHE ?
	    SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) != SQLITE_OK) {
		log_err("sqlite: prepare: %s: %s", sqlite3_errmsg(s->db), sql);
		return NULL;
	}
	if (free_slot < STMT_CACHE) {
		stmts[free_slot].db = s->db;
		stmts[free_slot].sql = xstrdup(sql);
		stmts[free_slot].hash = h;
		stmts[free_slot].st = st;
		stmts[free_slot].busy = 1;
	}
	return st;
}

int
store_release(sqlite3_stmt *st)
{
	size_t	 i;
	int	 rc;

	if (st == NULL)
		return SQLITE_OK;
	for (i = 0; i < STMT_CACHE; i++)
		if (stmts[i].st == st) {
			rc = sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			stmts[i].busy = 0;
			return rc;
		}
	return sqlite3_finalize(st);
}

static void
stmt_forget(sqlite3 *db)
{
	size_t	 i;

	for (i = 0; i < STMT_CACHE; i++)
		if (stmts[i].st != NULL && stmts[i].db == db) {
			sqlite3_finalize(stmts[i].st);
			free(stmts[i].sql);
			memset(&stmts[i], 0, sizeof(stmts[i]));
		}
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL) {
		stmt_forget(s->db);
		sqlite3_close_v2(s->db);
	}
	free(s);
}

int
store_begin(struct store *s)
{
	if (store_exec(s, "BEGIN IMMEDIATE") == -1)
		return -1;
	s->in_tx = 1;
	return 0;
}

int
store_commit(struct store *s)
{
	s->in_tx = 0;
	if (store_exec(s, "COMMIT") == -1) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *s)
{
	if (s->in_tx)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	s->in_tx = 0;
}

/*
 * Prepare sql and bind the arguments described by fmt: 'i' long long,
 * 't' text (NULL allowed), 'b' blob (pointer, size_t length).
 */
sqlite3_stmt *
store_prep(struct store *s, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt	*st;
	va_list		 ap;
	int		 i, rc = SQLITE_OK;

	if ((st = stmt_get(s, sql)) == NULL)
		return NULL;
	va_start(ap, fmt);
	for (i = 0; fmt != NULL && fmt[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, long long));
			break;
		case 't': {
			const char *t = va_arg(ap, const char *);
			rc = t == NULL ? sqlite3_bind_null(st, i + 1) :
			    sqlite3_bind_text(st, i + 1, t, -1, SQLITE_TRANSIENT);
			break;
		}
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);
			rc = p == NULL ? sqlite3_bind_null(st, i + 1) :
			    sqlite3_bind_blob64(st, i + 1, p, n, SQLITE_TRANSIENT);
			break;
		}
		default:
			abort();
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		log_err("sqlite: bind: %s", sqlite3_errmsg(s->db));
		store_release(st);
		return NULL;
	}
	return st;
}

/* Step a statement prepared by store_prep to completion and finalize it. */
int
store_done(struct store *s, sqlite3_stmt *st)
{
	int	 rc;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	store_release(st);
	if (rc != SQLITE_DONE) {
		log_err("sqlite: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* A single integer from the first row; def if there is no row. */
int
store_int(struct store *s, long long *out, long long def, sqlite3_stmt *st)
{
	int	 rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_type(st, 0) == SQLITE_NULL ? def :
		    sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*out = def;
	store_release(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		log_err("sqlite: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return 0;
}

/* malloc'd copy of a text column, NULL for NULL. */
char *
store_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t == NULL ? NULL : xstrdup((const char *)t);
}

long long
store_last_id(struct store *s)
{
	return sqlite3_last_insert_rowid(s->db);
}

int
store_event(struct store *s, const char *kind, long long batch,
    long long order, long long rcpt, const char *from, const char *to,
    const char *reason, const char *detail)
{
	return store_done(s, store_prep(s,
	    "INSERT INTO event (at, kind, batch_id, order_id, recipient_id,"
	    " from_state, to_state, reason, detail)"
	    " VALUES (?, ?, NULLIF(?, 0), NULLIF(?, 0), NULLIF(?, 0),"
	    " ?, ?, ?, ?)", "itiiitttt", (long long)clock_now(), kind, batch,
	    order, rcpt, from, to, reason, detail));
}

long long
store_account_id(struct store *s, const char *name)
{
	long long	 id;

	if (store_int(s, &id, 0, store_prep(s,
	    "SELECT id FROM account WHERE name = ?", "t", name)) == -1)
		return -1;
	return id;
}
