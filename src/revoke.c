/*
 * revoke.c: the revocation of one certificate (SPEC 7).  cert_revoke()
 * is the one place that marks a certificate revoked: it records the
 * CRL entry's data on the certificate row, marks the certificate's CRL
 * shard dirty (crl.c publishes a shard that is dirty) and appends the
 * event, all inside the caller's transaction, so a revocation and the
 * knowledge that its CRL must be published commit together.
 * Failure policy: a database failure returns -1 and the caller rolls
 * back; nothing here touches files.
 */
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "store.h"

/* RFC 5280 5.3.1 CRLReason values S/MIME BR 7.2.2 allows. */
static const struct {
	const char	*name;
	int		 code;
} reasons[] = {
	{ "unspecified", 0 },
	{ "keyCompromise", 1 },
	{ "affiliationChanged", 3 },
	{ "superseded", 4 },
	{ "cessationOfOperation", 5 },
	{ "privilegeWithdrawn", 9 },
};

int
revoke_reason_code(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].name, name) == 0)
			return reasons[i].code;
	return -1;
}

const char *
revoke_reason_name(int code)
{
	size_t	 i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			return reasons[i].name;
	return NULL;
}

int
cert_revoke(struct store *st, long long cert_id, const char *reason,
    time_t at, time_t invalidity, const char *source)
{
	sqlite3_stmt	*q;
	char		*old = NULL;
	long long	 shard = 0, rid = 0, oid = 0, bid = 0, iss = 1;
	int		 found = 0, revoked = 0, rc = -1;

	if (revoke_reason_code(reason) == -1)
		abort();	/* callers check reasons at their input */
	q = store_prep(st, "SELECT c.crl_shard, c.revoke_reason,"
	    " c.revoked_at IS NOT NULL, r.id, o.id, o.batch_id, c.issuer_id"
	    " FROM certificate c JOIN recipient r ON r.id = c.recipient_id"
	    " JOIN orders o ON o.id = r.order_id"
	    " WHERE c.id = ? AND c.state = 'issued'", "i", cert_id);
	if (q == NULL)
		return -1;
	if (sqlite3_step(q) == SQLITE_ROW) {
		found = 1;
		shard = sqlite3_column_int64(q, 0);
		old = store_col_text(q, 1);
		revoked = sqlite3_column_int(q, 2);
		rid = sqlite3_column_int64(q, 3);
		oid = sqlite3_column_int64(q, 4);
		bid = sqlite3_column_int64(q, 5);
		iss = sqlite3_column_int64(q, 6);
	}
	if (store_release(q) != SQLITE_OK)
		goto out;
	if (!found) {
		rc = 0;
		goto out;
	}
	/* Revoked already: only a later keyCompromise changes the entry. */
	if (revoked && (strcmp(reason, "keyCompromise") != 0 ||
	    (old != NULL && strcmp(old, "keyCompromise") == 0))) {
		rc = 0;
		goto out;
	}
	if (revoked)
		q = store_prep(st, "UPDATE certificate SET revoke_reason = ?"
		    " WHERE id = ?", "ti", reason, cert_id);
	else
		q = store_prep(st, "UPDATE certificate SET revoked_at = ?,"
		    " revoke_reason = ?, invalidity_at = NULLIF(?, 0)"
		    " WHERE id = ?", "itii", (long long)at, reason,
		    invalidity > 0 && invalidity < at ? (long long)invalidity :
		    0LL, cert_id);
	if (store_done(st, q) == -1)
		goto out;
	/* The CRL of the certificate's own issuer (issuer.c). */
	if (store_done(st, store_prep(st, "INSERT OR IGNORE INTO"
	    " crl_shard_state (issuer_id, shard, dirty) VALUES (?, ?, 1)",
	    "ii", iss, shard)) == -1 || store_done(st, store_prep(st,
	    "UPDATE crl_shard_state SET dirty = 1 WHERE issuer_id = ? AND"
	    " shard = ?", "ii", iss, shard)) == -1)
		goto out;
	if (store_event(st, "certificate_revoked", bid, oid, rid,
	    revoked ? "revoked" : "issued", "revoked", reason, source) == -1)
		goto out;
	rc = 1;
out:
	free(old);
	return rc;
}
