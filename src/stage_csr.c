/*
 * stage_csr.c: SPEC 3.6 — the recipient's key.  A CSR must parse, carry
 * a valid self-signature and an allowed key (csr.c); only its public key
 * is used.  A key that is listed as compromised, or already certified
 * (or about to be) for another mailbox, is refused.  csrLater without a
 * CSR waits in waiting_csr; a server-generated key passes here and is
 * made at signing time.  The CSR's verification, the costly part, can
 * run ahead for many recipients at once on the worker threads
 * (csr_precheck, called by pipeline.c); the database checks follow here.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "store.h"

void
csr_precheck(struct rcpt *r)
{
	EVP_PKEY	*pub = NULL;

	r->pre = PRE_NONE;
	if (r->keygen != NULL || r->csr == NULL)
		return;
	if (csr_check_spki(r->csr, strlen(r->csr), &pub, r->pre_spki,
	    r->pre_reason, sizeof(r->pre_reason), r->pre_message,
	    sizeof(r->pre_message)) == -1)
		r->pre = strcmp(r->pre_reason, "csr_internal") == 0 ?
		    PRE_INTERNAL : PRE_REFUSED;
	else
		r->pre = PRE_OK;
	EVP_PKEY_free(pub);
}

enum stage_rc
stage_csr(struct eval *e, struct rcpt *r)
{
	const char	*spki;
	long long	 n;

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
	if (r->pre == PRE_NONE)
		csr_precheck(r);
	if (r->pre == PRE_INTERNAL)
		return STAGE_ERROR;	/* libcrypto, not the CSR */
	if (r->pre != PRE_OK) {
		rcpt_set(r, S_REJECTED, r->pre_reason, "%s", r->pre_message);
		return STAGE_REJECT;
	}
	spki = r->pre_spki;
	if (store_int(e->st, &n, 0, store_prep(e->st,
	    "SELECT count(*) FROM compromised_key WHERE spki_sha256 = ?", "t",
	    spki)) == -1)
		return STAGE_ERROR;
	if (n > 0) {
		rcpt_set(r, S_REJECTED, "csr_key_compromised", "the key is "
		    "listed as compromised (S/MIME BR 6.1.1.3)");
		return STAGE_REJECT;
	}
	if (store_int(e->st, &n, 0, store_prep(e->st,
	    "SELECT count(*) FROM recipient WHERE spki_sha256 = ? AND"
	    " lower(email) != lower(?) AND state IN ('approved', 'issued')",
	    "tt", spki, r->email)) == -1)
		return STAGE_ERROR;
	if (n > 0) {
		rcpt_set(r, S_REJECTED, "csr_key_reused", "the key is already "
		    "certified for another subject; a key belongs to one "
		    "mailbox");
		return STAGE_REJECT;
	}
	free(r->spki);
	r->spki = xstrdup(spki);
	return STAGE_PASS;
}
