/*
 * stage_csr.c: SPEC 3.6 — the recipient's key.  A CSR must parse, carry
 * a valid self-signature and an allowed key (csr.c); only its public key
 * is used.  A key that is listed as compromised, or already certified
 * (or about to be) for another mailbox, is refused.  csrLater without a
 * CSR waits in waiting_csr; a server-generated key passes here and is
 * made at signing time.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "store.h"

enum stage_rc
stage_csr(struct eval *e, struct rcpt *r)
{
	EVP_PKEY	*pub = NULL;
	char		 reason[48], msg[512], spki[65];
	long long	 n;
	enum stage_rc	 rc = STAGE_REJECT;

	if (r->keygen != NULL)
		return STAGE_PASS;
	if (r->csr == NULL) {
		if (r->csr_later) {
			rcpt_set(r, S_WAIT_CSR, NULL, "waiting for a "
			    "csrSubmission for %s", r->email);
			return STAGE_WAIT;
		}
		rcpt_set(r, S_REJECTED, "csr_missing", "no CSR given");
		return STAGE_REJECT;
	}
	if (csr_check(r->csr, strlen(r->csr), &pub, reason, sizeof(reason),
	    msg, sizeof(msg)) == -1) {
		if (strcmp(reason, "csr_internal") == 0)
			return STAGE_ERROR;	/* libcrypto, not the CSR */
		rcpt_set(r, S_REJECTED, reason, "%s", msg);
		return STAGE_REJECT;
	}
	if (key_spki_sha256(pub, spki) == -1) {
		rcpt_set(r, S_REJECTED, "csr_key_invalid", "cannot encode key");
		goto out;
	}
	if (store_int(e->st, &n, 0, store_prep(e->st,
	    "SELECT count(*) FROM compromised_key WHERE spki_sha256 = ?", "t",
	    spki)) == -1) {
		rc = STAGE_ERROR;
		goto out;
	}
	if (n > 0) {
		rcpt_set(r, S_REJECTED, "csr_key_compromised", "the key is "
		    "listed as compromised (S/MIME BR 6.1.1.3)");
		goto out;
	}
	if (store_int(e->st, &n, 0, store_prep(e->st,
	    "SELECT count(*) FROM recipient WHERE spki_sha256 = ? AND"
	    " lower(email) != lower(?) AND state IN ('approved', 'issued')",
	    "tt", spki, r->email)) == -1) {
		rc = STAGE_ERROR;
		goto out;
	}
	if (n > 0) {
		rcpt_set(r, S_REJECTED, "csr_key_reused", "the key is already "
		    "certified for another subject; a key belongs to one "
		    "mailbox");
		goto out;
	}
	free(r->spki);
	r->spki = xstrdup(spki);
	rc = STAGE_PASS;
out:
	EVP_PKEY_free(pub);
	return rc;
}
