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
#include "revoke.h"
#include "store_revoke.h"

int
cert_revoke(struct store *st, long long cert_id, const char *reason,
    time_t at, time_t invalidity, const char *source)
{
	struct revoke_cert	 c;
	int			 r, rc = -1;

	if (revoke_reason_code(reason) == -1)
		abort();	/* callers check reasons at their input */
	if ((r = revoke_cert_get(st, cert_id, &c)) != 1)
		return r;
	/* Revoked already: only a later keyCompromise changes the entry. */
	if (c.revoked && (strcmp(reason, "keyCompromise") != 0 ||
	    (c.reason != NULL && strcmp(c.reason, "keyCompromise") == 0))) {
		rc = 0;
		goto out;
	}
	if (c.revoked)
		r = revoke_cert_rereason(st, cert_id, reason);
	else
		r = revoke_cert_mark(st, cert_id, at, reason,
		    invalidity > 0 && invalidity < at ? invalidity : 0);
	if (r == -1)
		goto out;
	/* The CRL of the certificate's own issuer (issuer.c). */
	if (revoke_shard_dirty(st, c.issuer, c.shard) == -1)
		goto out;
	if (store_event(st, "certificate_revoked", c.batch, c.order, c.rcpt,
	    c.revoked ? "revoked" : "issued", "revoked", reason, source) == -1)
		goto out;
	rc = 1;
out:
	revoke_cert_free(&c);
	return rc;
}
