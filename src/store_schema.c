/*
 * store_schema.c: the SQL of the database schema, version by version:
 * schema_v1 creates version 1, each later text migrates from the version
 * before (store.c runs them in one transaction on open).  A migration is
 * never edited once released; a change is a new version.
 */
#include <stddef.h>

#include "store_schema.h"
#include "batch.h"

static const char schema_v1[] =
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
 * Version 7: issuing CA rollover (issuer.c, cmd_rollover.c).
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

/*
 * Version 8: fair share between accounts (fairq.c).  orders and
 * recipient carry their account, so that each account's open work is
 * found from its own index entries: the open orders of one account in
 * id order, its approved recipients in id order, and the accounts that
 * have any, without reading another account's rows.  A writer that
 * leaves account_id out gets it from the batch (the triggers); rows made
 * before version 8 get it here.  orders_unfinished and orders_waiting
 * find a batch's orders still to evaluate or to sign, and its waiting
 * ones (whose recipients may be approved already), without reading the
 * orders it has finished (report.c).
 */
static const char schema_v8[] =
/* ---- schema 8: account of each order and recipient ---- */
"ALTER TABLE orders ADD COLUMN account_id INTEGER REFERENCES account(id);"
"ALTER TABLE recipient ADD COLUMN account_id INTEGER"
"  REFERENCES account(id);"
"UPDATE orders SET account_id = (SELECT b.account_id FROM batch b"
"  WHERE b.id = orders.batch_id);"
"UPDATE recipient SET account_id = (SELECT o.account_id FROM orders o"
"  WHERE o.id = recipient.order_id);"
"CREATE TRIGGER orders_account AFTER INSERT ON orders"
"  WHEN NEW.account_id IS NULL BEGIN UPDATE orders SET account_id ="
"  (SELECT account_id FROM batch WHERE id = NEW.batch_id)"
"  WHERE id = NEW.id; END;"
"CREATE TRIGGER recipient_account AFTER INSERT ON recipient"
"  WHEN NEW.account_id IS NULL BEGIN UPDATE recipient SET account_id ="
"  (SELECT account_id FROM orders WHERE id = NEW.order_id)"
"  WHERE id = NEW.id; END;"
"CREATE INDEX orders_open ON orders(account_id, id) WHERE state IN"
"  ('new', 'waiting_org', 'waiting_dcv', 'waiting_csr', 'waiting_funds');"
"CREATE INDEX recipient_approved ON recipient(account_id, id)"
"  WHERE state = 'approved';"
"CREATE INDEX orders_unfinished ON orders(batch_id)"
"  WHERE state IN ('new', 'approved');"
"CREATE INDEX orders_waiting ON orders(batch_id) WHERE state IN"
"  ('waiting_org', 'waiting_dcv', 'waiting_csr', 'waiting_funds');"
/* ---- end of schema 8: account of each order and recipient ---- */
"";

/*
 * Version 9: several daemons on one database (PostgreSQL; cluster.c,
 * store_node.c).  A node row per running daemon with its lease; each
 * account is held by one live node (lease_node), which does its work.
 * Unused with SQLite (one daemon), but the same schema for both.
 */
static const char schema_v9[] =
/* ---- schema 9: nodes and account leases ---- */
"CREATE TABLE node ("
"  id INTEGER PRIMARY KEY,"
"  name TEXT NOT NULL,"
"  started INTEGER NOT NULL,"
"  expires INTEGER NOT NULL);"
"ALTER TABLE account ADD COLUMN lease_node INTEGER;"
"CREATE INDEX account_lease ON account(lease_node);"
/* ---- end of schema 9: nodes and account leases ---- */
"";

/* Each entry migrates from version i to i + 1; entry 0 creates version 1
 * in an empty database. */
const char *const store_migrations[STORE_SCHEMA_VERSION] = {
	schema_v1,	/* empty -> 1 */
	schema_v2,	/* 1 -> 2 */
	schema_v3,	/* 2 -> 3 */
	schema_v4,	/* 3 -> 4 */
	schema_v5,	/* 4 -> 5 */
	schema_v6,	/* 5 -> 6 */
	schema_v7,	/* 6 -> 7 */
	schema_v8,	/* 7 -> 8 */
	schema_v9,	/* 8 -> 9 */
};
