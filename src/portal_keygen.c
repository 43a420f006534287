/*
 * portal_keygen.c: /keygen/TOKEN, where a csrLater recipient makes the
 * key in the browser (web/assets/keygen.js).  GET gives the page the
 * state and the anti-CSRF value; the script makes the key, and POSTs
 * only the PKCS#10 request, which is checked (signature, allowed key)
 * and stored as a csrSubmission's would be (recipient_take_csr); the
 * token is then used and the daemon woken, which runs every stage on
 * the recipient as for any CSR.  /keygen/TOKEN/status answers the state
 * as JSON, holding the request (long poll) while nothing changed, and
 * gives the certificate and the CA chain once issued.  The private key
 * never reaches this process; the portal cannot issue by itself.
 * Failure policy: a refused request is a JSON error (4xx) and changes
 * nothing; a store error is -1 (web.c answers 503).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "extern.h"
#include "portal.h"
#include "store_order.h"

/* What the page and the status answer know of the recipient. */
struct kg {
	struct portal_tok t;
	struct keygen_rcpt r;		/* the recipient and its order */
	unsigned char	*der;		/* the latest issued certificate */
	size_t		 derlen;
	const char	*state;		/* for the page and the script */
};

static void
kg_free(struct kg *k)
{
	keygen_rcpt_free(&k->r);
	free(k->der);
}

/* Load token and recipient: 1, 0 unknown token, -1 store error. */
static int
kg_load(struct store *st, const char *token, struct kg *k)
{
	int		 rc;

	memset(k, 0, sizeof(*k));
	if ((rc = portal_token_find(st, "keygen", token, &k->t)) != 1)
		return rc;
	if (keygen_rcpt_load(st, k->t.recipient_id, &k->r) != 1)
		return -1;
	if (keygen_issued_der(st, k->t.recipient_id, &k->der,
	    &k->derlen) == -1)
		return -1;
	if (k->der != NULL)
		k->state = "issued";
	else if (strcmp(k->r.rstate, "rejected") == 0 ||
	    strcmp(k->r.rstate, "cancelled") == 0)
		k->state = "refused";
	else if (k->r.has_csr || k->t.used_at != 0)
		k->state = "submitted";
	else
		k->state = "waiting_csr";
	return 1;
}

/* A JSON answer {"error": sentence}. */
static void
json_error(struct web_resp *resp, int status, const char *sentence)
{
	struct buf	 b = { 0 };

	buf_add(&b, "{\"error\":", 9);
	buf_json(&b, sentence);
	buf_add(&b, "}", 1);
	web_data(resp, status, "application/json", b.p, b.len);
	buf_free(&b);
}

/* The certificate as PEM into b. */
static int
cert_pem(const unsigned char *der, size_t len, struct buf *b)
{
	const unsigned char	*p = der;
	X509			*x;
	BIO			*bio;
	char			*data;
	long			 n;
	int			 rc = -1;

	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return -1;
	if ((bio = BIO_new(BIO_s_mem())) != NULL &&
	    PEM_write_bio_X509(bio, x) == 1 &&
	    (n = BIO_get_mem_data(bio, &data)) > 0) {
		buf_add(b, data, (size_t)n);
		rc = 0;
	}
	BIO_free(bio);
	X509_free(x);
	return rc;
}

static int
status_json(struct portal *p, const struct kg *k, struct web_resp *resp)
{
	struct buf	 b = { 0 }, pem = { 0 };
	unsigned char	*chain = NULL;
	char		 path[4096];
	size_t		 clen = 0;
	int		 rc = -1;

	buf_add(&b, "{\"state\":", 9);
	buf_json(&b, k->state);
	buf_add(&b, ",\"message\":", 11);
	buf_json(&b, strcmp(k->state, "issued") == 0 ? "Your certificate "
	    "is issued." : k->r.message);
	if (k->der != NULL) {
		snprintf(path, sizeof(path), "%s/chain.pem", p->conf->ca_dir);
		if (cert_pem(k->der, k->derlen, &pem) == -1 ||
		    fs_read_file(path, 1 << 20, &chain, &clen) == -1) {
			log_err("portal: certificate or %s unreadable", path);
			goto out;
		}
		buf_add(&pem, "", 1);
		buf_add(&b, ",\"cert_pem\":", 12);
		buf_json(&b, (const char *)pem.p);
		buf_add(&b, ",\"chain_pem\":", 13);
		buf_json(&b, (const char *)chain);
	}
	buf_add(&b, "}", 1);
	web_data(resp, 200, "application/json", b.p, b.len);
	rc = 0;
out:
	free(chain);
	buf_free(&pem);
	buf_free(&b);
	return rc;
}

static void
keygen_page(const struct web_req *req, const char *token,
    const struct kg *k, struct web_resp *resp)
{
	struct buf	 b = { 0 };
	char		*email = web_esc(k->r.email), *tok = web_esc(token);
	char		*csrf = web_esc(req->csrf);
	char		*org = web_esc(k->r.org ? k->r.org : "");
	char		 when[32];

	time_fmt((time_t)k->t.expires, when, sizeof(when));
	buf_addf(&b, "<h1>Your S/MIME certificate</h1>\n"
	    "<p>For <strong id=\"email\">%s</strong>%s%s%s.  Your browser "
	    "makes the key; it never leaves this computer.  Only a "
	    "certificate request is sent.</p>\n"
	    "<div id=\"keygen\" data-csrf=\"%s\" data-submit=\"/keygen/%s\" "
	    "data-status=\"/keygen/%s/status\" data-email=\"%s\" "
	    "data-state=\"%s\"></div>\n"
	    "<noscript><p>This page needs JavaScript to make your key in the "
	    "browser.</p></noscript>\n"
	    "<p class=\"note\">This link is valid until %s and takes one "
	    "request.</p>\n"
	    "<script src=\"/assets/keygen.js\"></script>\n", email,
	    *org ? " (" : "", org, *org ? ")" : "", csrf, tok, tok, email,
	    k->state, when);
	web_page(resp, 200, "Create your certificate", (const char *)b.p);
	buf_free(&b);
	free(email);
	free(tok);
	free(csrf);
	free(org);
}

/* POST: take the recipient's PKCS#10 request. */
static int
keygen_submit(struct portal *p, const struct web_req *req, struct kg *k,
    struct web_resp *resp)
{
	EVP_PKEY	*pub = NULL;
	char		*csr = NULL, spki[65], reason[48], msg[512], src[160];
	int		 rc = -1;

	if (k->t.used_at != 0 || k->r.has_csr) {
		json_error(resp, 409, "A request was already sent with this "
		    "link.");
		return 0;
	}
	if (k->t.expires <= clock_now()) {
		json_error(resp, 410, "This link has expired.");
		return 0;
	}
	if (strcmp(k->state, "waiting_csr") != 0 ||
	    strcmp(k->r.rstate, "waiting_csr") != 0) {
		json_error(resp, 409, "This certificate is not waiting for a "
		    "key.");
		return 0;
	}
	csr = web_field(req, "csr");
	if (csr == NULL || strstr(csr, "-----BEGIN CERTIFICATE REQUEST-----")
	    == NULL || strstr(csr, "PRIVATE KEY") != NULL) {
		json_error(resp, 400, "The request carries no PKCS#10 "
		    "certificate request.");
		rc = 0;
		goto out;
	}
	if (csr_check_spki(csr, strlen(csr), &pub, spki, reason,
	    sizeof(reason), msg, sizeof(msg)) == -1) {
		log_info("portal: keygen request from %s refused: %s (%s)",
		    req->peer, reason, msg);
		json_error(resp, 400, msg);
		rc = 0;
		goto out;
	}
	snprintf(src, sizeof(src), "key generation page, from %s", req->peer);
	if (store_begin(p->st) == -1)
		goto out;
	if (recipient_take_csr(p->st, k->t.recipient_id, k->r.order_id,
	    k->r.batch_id, csr, src) == -1 ||
	    keygen_token_use(p->st, k->t.id, clock_now(), req->peer) == -1 ||
	    store_commit(p->st) == -1) {
		store_rollback(p->st);
		goto out;
	}
	log_info("portal: recipient %lld: request received from %s",
	    k->t.recipient_id, req->peer);
	portal_wake(p->conf);
	web_data(resp, 200, "application/json", "{\"state\":\"submitted\"}",
	    21);
	rc = 0;
out:
	EVP_PKEY_free(pub);
	free(csr);
	return rc;
}

int
portal_keygen(struct portal *p, const struct web_req *req,
    const char *token, const char *sub, struct web_resp *resp)
{
	struct kg	 k;
	int		 rc, post = strcmp(req->method, "POST") == 0;

	if ((*sub != '\0' && strcmp(sub, "status") != 0) ||
	    (post && *sub != '\0')) {
		web_error(resp, 404, "Not found", "There is no such page.");
		return 0;
	}
	if ((rc = kg_load(p->st, token, &k)) != 1) {
		kg_free(&k);
		if (rc == 0 && (*sub != '\0' || post))
			json_error(resp, 404, "This link is unknown.");
		else if (rc == 0)
			web_error(resp, 404, "Unknown link", "This key "
			    "generation link is unknown.");
		return rc == 0 ? 0 : -1;
	}
	if (post)
		rc = keygen_submit(p, req, &k, resp);
	else if (*sub != '\0') {
		if (strcmp(k.state, "submitted") == 0 && !req->last)
			resp->retry = 1;	/* nothing new yet */
		else
			rc = status_json(p, &k, resp) == -1 ? -1 : 0;
		rc = rc == 1 ? 0 : rc;
	} else if (k.t.expires <= clock_now() && k.t.used_at == 0)
		web_error(resp, 410, "Link expired", "This key generation "
		    "link has expired; the organization that ordered the "
		    "certificate can have a new one sent.");
	else {
		keygen_page(req, token, &k, resp);
		rc = 0;
	}
	kg_free(&k);
	return rc;
}
