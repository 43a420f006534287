/*
 * stage_csr.c: SPEC 3.6 — the recipient's key.  A CSR must parse, carry
 * a valid self-signature and an allowed key (csr.c); only its public key
 * is used.  A key that is listed as compromised, or already certified
 * (or about to be) for another mailbox, is refused.  csrLater without a
 * CSR waits in waiting_csr, and its recipient is mailed a link to make
 * the key in the browser (keygen_invite); a server-generated key passes here and is
 * made at signing time.  The CSR's verification, the costly part, can
 * run ahead for many recipients at once on the worker threads
 * (csr_precheck, called by pipeline.c); the database checks follow here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stage.h"
#include "portal_token.h"
#include "store_stage.h"

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

/*
 * A csrLater recipient whose validations are done is mailed a link to
 * the portal's key generation page (portal_keygen.c), once per open
 * link: again only when the last one expired unused.  The message is
 * named after the token's row (keygen-<id>): after a rollback the retried
 * row gets the same id and its message replaces the void one.  A message
 * that cannot be written takes its row back, so the next pass retries.
 */
static int
keygen_invite(struct eval *e, struct rcpt *r)
{
	struct mail_msg	 m;
	struct buf	 body = { 0 };
	char		 tok[PORTAL_TOKEN_CHARS + 1], link[512], name[64];
	char		 exp[32], detail[256];
	long long	 id, now = clock_now();
	int		 rc = -1, n;

	if ((n = keygen_link_open(e->st, r->id, now)) == -1)
		return -1;
	if (n > 0)
		return 0;
	if ((id = portal_token_new(e->st, "keygen", r->id, 0, KEYGEN_TTL,
	    tok)) == -1)
		return -1;
	portal_link(e->conf, "keygen", tok, link, sizeof(link));
	time_fmt((time_t)(now + KEYGEN_TTL), exp, sizeof(exp));
	buf_addf(&body, "An S/MIME certificate for %s is ready to be made.  "
	    "Its key is made by your own web browser and never leaves it; "
	    "the certificate authority only receives a signing request.\n\n"
	    "Open this link in the browser you send mail from and follow "
	    "the page:\n\n    %s\n\n"
	    "The page makes an RSA 2048-bit key (or P-256) with SHA-256, "
	    "sends the request, waits for the certificate and then lets you "
	    "save it with your key as a PKCS#12 file protected by a "
	    "password you choose.\n\n"
	    "The link is valid until %s and takes one request.  If you did "
	    "not expect this message, ignore it.\n", r->email, link, exp);
	snprintf(name, sizeof(name), "keygen-%lld", id);
	memset(&m, 0, sizeof(m));
	m.from = e->conf->mail_from;
	m.to = r->email;
	m.subject = "Create your S/MIME certificate";
	m.body = (const char *)body.p;
	m.message_id_seed = name;
	if (mail_send(e->conf, name, &m) == -1) {
		log_warn("recipient %lld: key generation message to %s not "
		    "written; retried next pass", r->id, r->email);
		rc = keygen_link_drop(e->st, id);
		goto out;
	}
	snprintf(detail, sizeof(detail), "key generation link for %s mailed "
	    "(%s); valid until %s", r->email, name, exp);
	rc = store_event(e->st, "keygen_link_sent", e->o->batch_id, e->o->id,
	    r->id, NULL, NULL, NULL, detail);
out:
	buf_free(&body);
	return rc;
}

enum stage_rc
stage_csr(struct eval *e, struct rcpt *r)
{
	const char	*spki;
	int		 n;

	if (r->keygen != NULL)
		return STAGE_PASS;
	if (r->csr == NULL) {
		if (r->csr_later) {
			if (!e->dry_run && keygen_invite(e, r) == -1)
				return STAGE_ERROR;
			rcpt_set(r, S_WAIT_CSR, NULL, "waiting for the "
			    "recipient's key (the key generation link mailed "
			    "to %s) or a csrSubmission", r->email);
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
	if ((n = spki_compromised(e->st, spki)) == -1)
		return STAGE_ERROR;
	if (n > 0) {
		rcpt_set(r, S_REJECTED, "csr_key_compromised", "the key is "
		    "listed as compromised (S/MIME BR 6.1.1.3)");
		return STAGE_REJECT;
	}
	if ((n = spki_certified_elsewhere(e->st, spki, r->email)) == -1)
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
