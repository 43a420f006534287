/*
 * portal_pickup.c: the one pickup of a server-generated key (README,
 * Pickup).  /pickup/TOKEN shows whose PKCS#12 it is (mailbox, serial,
 * validity, organization), a link to /pickup/TOKEN/bundle.p12 (the
 * encrypted PKCS#12 as stored; each download is an event
 * p12_downloaded) and a form: its POST, the recipient's confirmation of
 * the import, purges the PKCS#12 and its password from the database,
 * marks the token used and records an event p12_picked_up (who, when,
 * from which address), all in one transaction.  The password never
 * passes here: it travels in its own message.
 * Refusals: an unknown link 404; a used one 410 with the date of the
 * pickup and nothing else; an expired link, a PKCS#12 already purged
 * (p12keep.c) or a revoked certificate 410.
 * Failure policy: a database error returns -1 (web.c answers 503 and
 * rolls back); nothing is purged unless the whole transaction commits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "dcv.h"
#include "portal.h"

/* Answer a refusal if the PKCS#12 cannot be picked up through t: 1 if
 * answered, 0 if it can. */
static int
pickup_refused(const struct portal_tok *t, const struct pickup *pk,
    struct web_resp *resp)
{
	char	 date[32], msg[256];

	if (t->used_at != 0) {
		time_fmt((time_t)t->used_at, date, sizeof(date));
		snprintf(msg, sizeof(msg), "This PKCS#12 was picked up on %s; "
		    "the certificate authority no longer holds a copy.", date);
		web_error(resp, 410, "Already picked up", msg);
		return 1;
	}
	if (pk->revoked_at != 0) {
		web_error(resp, 410, "Certificate revoked", "The certificate "
		    "of this key was revoked; its key is not handed out.");
		return 1;
	}
	if (!pk->has_p12) {
		time_fmt((time_t)pk->purged_at, date, sizeof(date));
		snprintf(msg, sizeof(msg), "This PKCS#12 was erased on %s "
		    "(it is kept for a limited time only).", pk->purged_at ?
		    date : "an earlier date");
		web_error(resp, 410, "No longer held", msg);
		return 1;
	}
	if (clock_now() >= t->expires) {
		web_error(resp, 410, "Link expired", "This pickup link has "
		    "expired.");
		return 1;
	}
	return 0;
}

/* The page: whose key, the download, the confirmation form. */
static void
pickup_page(const struct web_req *req, const char *canon,
    const struct pickup *pk, struct web_resp *resp)
{
	struct buf	 b = { 0 };
	char		*email, *serial, *org = NULL, *csrf;
	char		 nb[32], na[32];

	email = web_esc(pk->email);
	serial = web_esc(pk->serial);
	csrf = web_esc(req->csrf != NULL ? req->csrf : "");
	if (pk->org != NULL)
		org = web_esc(pk->org);
	time_fmt((time_t)pk->not_before, nb, sizeof(nb));
	time_fmt((time_t)pk->not_after, na, sizeof(na));
	buf_addf(&b, "<main id=\"pickup\">\n<h1>Your certificate bundle</h1>\n"
	    "<p>The private key of this certificate was generated for you. "
	    "Download it once, import it, then confirm the import below: "
	    "the certificate authority then erases its copy.</p>\n"
	    "<dl>\n<dt>Mailbox</dt><dd id=\"email\">%s</dd>\n"
	    "<dt>Serial number</dt><dd id=\"serial\">%s</dd>\n"
	    "<dt>Valid</dt><dd id=\"validity\">%s to %s</dd>\n", email,
	    serial, nb, na);
	if (org != NULL)
		buf_addf(&b, "<dt>Organization</dt><dd id=\"org\">%s</dd>\n",
		    org);
	buf_addf(&b, "</dl>\n<p><a id=\"download\" href=\"/pickup/%s/"
	    "bundle.p12\">Download bundle.p12</a></p>\n"
	    "<p>Its password came in a separate message.</p>\n"
	    "<form method=\"post\" action=\"/pickup/%s\">\n"
	    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n"
	    "<button id=\"confirm-import\" type=\"submit\">I have imported "
	    "it: erase the copy</button>\n</form>\n</main>\n", canon, canon,
	    csrf);
	buf_add(&b, "", 1);
	web_page(resp, 200, "Certificate pickup", (const char *)b.p);
	buf_free(&b);
	free(email);
	free(serial);
	free(org);
	free(csrf);
}

/* GET bundle.p12: the stored encrypted PKCS#12, recorded. */
static int
pickup_download(struct store *st, const struct web_req *req,
    const struct pickup *pk, struct web_resp *resp)
{
	unsigned char	*p12;
	size_t		 len;
	char		 detail[512];
	int		 got;

	snprintf(detail, sizeof(detail), "certificate %s: bundle.p12 "
	    "downloaded from %s", pk->serial, req->peer ? req->peer : "?");
	if (store_event(st, "p12_downloaded", pk->bid, pk->oid, pk->rid, NULL,
	    NULL, NULL, detail) == -1)
		return -1;
	if ((got = pickup_p12(st, pk->cid, &p12, &len)) == -1)
		return -1;
	if (got == 1) {
		web_data(resp, 200, "application/x-pkcs12", p12, len);
		snprintf(resp->filename, sizeof(resp->filename), "bundle.p12");
	} else
		web_error(resp, 410, "No longer held", "This PKCS#12 was "
		    "erased.");
	free(p12);
	return 0;
}

/* POST: the import confirmed; purge, mark the token used, record who,
 * when and from where.  The checks are made again inside the
 * transaction, so a concurrent purge or pickup is seen. */
static int
pickup_confirm(struct store *st, const struct web_req *req,
    const char *canon, struct web_resp *resp)
{
	struct portal_tok	 t;
	struct pickup		 pk;
	char			 detail[512], date[32], msg[256];
	long long		 now = clock_now();
	int			 rc = -1, got;

	memset(&pk, 0, sizeof(pk));
	if (store_begin(st) == -1)
		return -1;
	if ((got = portal_token_find(st, "pickup", canon, &t)) == -1 ||
	    (got == 1 && (got = pickup_load(st, &t, &pk)) == -1))
		goto out;
	if (got == 0) {
		web_error(resp, 404, "Unknown link", "This link is not known; "
		    "check that it was copied whole.");
		rc = 0;
		goto out;
	}
	if (pickup_refused(&t, &pk, resp)) {
		rc = 0;
		goto out;
	}
	snprintf(detail, sizeof(detail), "certificate %s: PKCS#12 picked up "
	    "by %s from %s; import confirmed", pk.serial, pk.email,
	    req->peer ? req->peer : "?");
	if (pickup_p12_erase(st, pk.cid, now) == -1 ||
	    pickup_token_use(st, t.id, now, req->peer) == -1 ||
	    store_event(st, "p12_picked_up", pk.bid, pk.oid, pk.rid, NULL,
	    NULL, NULL, detail) == -1)
		goto out;
	if (store_commit(st) == -1) {
		pickup_free(&pk);
		return -1;
	}
	log_info("certificate %s: PKCS#12 picked up by %s from %s; purged",
	    pk.serial, pk.email, req->peer ? req->peer : "?");
	time_fmt((time_t)now, date, sizeof(date));
	snprintf(msg, sizeof(msg), "<main id=\"pickup\">\n<p id=\"result\" "
	    "data-state=\"picked_up\">Import confirmed on %s. The certificate "
	    "authority has erased its copy of your key.</p>\n</main>\n", date);
	web_page(resp, 200, "Pickup confirmed", msg);
	pickup_free(&pk);
	return 0;
out:
	store_rollback(st);
	pickup_free(&pk);
	return rc;
}

int
portal_pickup(struct portal *p, const struct web_req *req, const char *token,
    const char *sub, struct web_resp *resp)
{
	struct portal_tok	 t;
	struct pickup		 pk;
	char			 canon[TOKEN_MAX + 1];
	int			 got, rc = -1;
	int			 is_p12 = sub != NULL && *sub != '\0';

	memset(&pk, 0, sizeof(pk));
	if ((is_p12 && strcmp(sub, "bundle.p12") != 0) ||
	    token_norm(token, canon, sizeof(canon)) == -1) {
		web_error(resp, 404, "Unknown link", "This link is not known; "
		    "check that it was copied whole.");
		return 0;
	}
	if (strcmp(req->method, "POST") == 0) {
		if (is_p12) {
			web_error(resp, 405, "Not allowed", "This address is "
			    "only for downloading.");
			return 0;
		}
		return pickup_confirm(p->st, req, canon, resp);
	}
	if ((got = portal_token_find(p->st, "pickup", canon, &t)) == -1 ||
	    (got == 1 && (got = pickup_load(p->st, &t, &pk)) == -1))
		goto out;
	if (got == 0) {
		web_error(resp, 404, "Unknown link", "This link is not known; "
		    "check that it was copied whole.");
		rc = 0;
		goto out;
	}
	if (pickup_refused(&t, &pk, resp)) {
		rc = 0;
		goto out;
	}
	if (is_p12)
		rc = pickup_download(p->st, req, &pk, resp);
	else {
		pickup_page(req, canon, &pk, resp);
		rc = 0;
	}
out:
	pickup_free(&pk);
	return rc;
}
