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
#include "store_revoke.h"

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
