/*
 * portal_confirm.c: /confirm/TOKEN, the link of an Email DCV (S/MIME BR
 * 3.2.2.1) or mailbox control (3.2.2.2) message.  GET only shows what
 * would be confirmed (the domain or mailbox, the organization, the
 * account that asked, the expiry) and a button: mail scanners that fetch
 * links validate nothing.  Only the POST (anti-CSRF checked by web.c)
 * confirms, through the same code as certspool domain confirm
 * (confirm.c); then the daemon is woken so that waiting orders move on.
 * Failure policy: a refused token is a page saying why (404 unknown,
 * 410 used, void or expired); a store error is -1 (web.c answers 503).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "dcv.h"
#include "portal.h"

/* The refusal page for a DCV that cannot be confirmed. */
static void
refuse(struct web_resp *resp, int code, const char *msg)
{
	char	*e = web_esc(msg);
	struct buf b = { 0 };

	buf_addf(&b, "<h1>This link cannot be used</h1>\n"
	    "<p id=\"result\" data-state=\"refused\">%s.</p>\n"
	    "<p>Nothing was confirmed.  If you still need to confirm, ask "
	    "the organization that ordered the certificates for a new "
	    "message.</p>\n", e);
	web_page(resp, code, "Confirmation refused", (const char *)b.p);
	buf_free(&b);
	free(e);
}

/* What is being confirmed, as HTML (escaped) for the page. */
static void
describe(struct buf *b, const struct dcv_info *d)
{
	char	*dom = web_esc(d->domain ? d->domain : "");
	char	*mbx = web_esc(d->mailbox ? d->mailbox : "");
	char	*org = web_esc(d->org ? d->org : "");
	char	*acct = web_esc(d->account ? d->account : "");
	char	 when[32];

	time_fmt((time_t)d->expires, when, sizeof(when));
	if (d->is_mailbox)
		buf_addf(b, "<h1>Confirm your mailbox</h1>\n"
		    "<p>An S/MIME certificate was ordered for the mailbox "
		    "<strong id=\"subject\">%s</strong>.  Confirming shows "
		    "that you control it (mailbox control validation, S/MIME "
		    "Baseline Requirements 3.2.2.2).</p>\n<dl>\n", mbx);
	else
		buf_addf(b, "<h1>Confirm control of %s</h1>\n"
		    "<p>The organization below asked for S/MIME certificates "
		    "for email addresses at <strong id=\"subject\">%s"
		    "</strong>.  Confirming shows that whoever administers "
		    "this domain agrees (Email domain control validation, "
		    "S/MIME Baseline Requirements 3.2.2.1).</p>\n<dl>\n"
		    "<dt>Organization</dt><dd id=\"org\">%s</dd>\n", dom, dom,
		    org);
	buf_addf(b, "<dt>Asked by</dt><dd id=\"account\">the account "
	    "&ldquo;%s&rdquo; of this certificate authority</dd>\n"
	    "<dt>Link valid until</dt><dd id=\"expires\">%s</dd>\n</dl>\n",
	    acct, when);
	free(dom);
	free(mbx);
	free(org);
	free(acct);
}

static int
confirm_get(struct portal *p, const struct web_req *req, const char *token,
    struct web_resp *resp)
{
	struct dcv_info	 d;
	struct buf	 b = { 0 };
	char		*csrf, *tok, msg[256];
	int		 rc;

	if ((rc = dcv_lookup(p->st, token, &d)) == -1)
		return -1;
	if (rc == 0) {
		refuse(resp, 404, "this confirmation link is unknown");
		return 0;
	}
	if (strcmp(d.state, "used") == 0)
		refuse(resp, 410, "this link was already used; the "
		    "confirmation it asked for is recorded");
	else if (strcmp(d.state, "open") != 0 || d.expires <= clock_now()) {
		snprintf(msg, sizeof(msg), "this link is no longer valid (%s)",
		    strcmp(d.state, "open") == 0 ? "expired" : d.state);
		refuse(resp, 410, msg);
	} else {
		describe(&b, &d);
		csrf = web_esc(req->csrf);
		tok = web_esc(token);
		buf_addf(&b, "<form method=\"post\" action=\"/confirm/%s\">\n"
		    "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n"
		    "<button id=\"confirm\" type=\"submit\">Confirm</button>\n"
		    "</form>\n<p class=\"note\">If you did not expect this, "
		    "close the page: without the confirmation no certificate "
		    "is issued.</p>\n", tok, csrf);
		free(csrf);
		free(tok);
		web_page(resp, 200, d.is_mailbox ? "Confirm your mailbox" :
		    "Confirm domain control", (const char *)b.p);
	}
	buf_free(&b);
	dcv_info_free(&d);
	return 0;
}

static int
confirm_post(struct portal *p, const struct web_req *req, const char *token,
    struct web_resp *resp)
{
	struct dcv_info	 d;
	struct buf	 b = { 0 };
	char		 by[128], msg[512], *what;
	int		 rc;

	snprintf(by, sizeof(by), "the recipient at the portal from %s",
	    req->peer);
	rc = dcv_confirm_token(p->st, token, by, &d, msg, sizeof(msg));
	if (rc == -1) {
		dcv_info_free(&d);
		return -1;
	}
	if (rc != DCV_CONFIRMED) {
		log_info("portal: confirm from %s refused: %s", req->peer, msg);
		refuse(resp, rc == DCV_UNKNOWN ? 404 : 410, rc == DCV_USED ?
		    "this link was already used; the confirmation it asked for "
		    "is recorded" : rc == DCV_EXPIRED ? "this link has expired" :
		    rc == DCV_UNKNOWN ? "this confirmation link is unknown" :
		    "this link is no longer valid");
		dcv_info_free(&d);
		return 0;
	}
	log_info("portal: dcv %lld (%s) confirmed from %s", d.id,
	    d.is_mailbox ? d.mailbox : d.domain, req->peer);
	portal_wake(p->conf);
	what = web_esc(d.is_mailbox ? d.mailbox : d.domain);
	buf_addf(&b, "<h1>Thank you</h1>\n<p id=\"result\" "
	    "data-state=\"confirmed\">Confirmed: <strong>%s</strong>.</p>\n"
	    "<p>The certificate authority goes on with the orders that "
	    "waited for this confirmation.  You can close this page.</p>\n",
	    what);
	web_page(resp, 200, "Confirmed", (const char *)b.p);
	free(what);
	buf_free(&b);
	dcv_info_free(&d);
	return 0;
}

int
portal_confirm(struct portal *p, const struct web_req *req,
    const char *token, const char *sub, struct web_resp *resp)
{
	if (*sub != '\0') {
		web_error(resp, 404, "Not found", "There is no such page.");
		return 0;
	}
	if (strcmp(req->method, "POST") == 0)
		return confirm_post(p, req, token, resp);
	return confirm_get(p, req, token, resp);
}
