/*
 * portal_cert.c: copies of a recipient's certificate later (README,
 * Copies).  /cert/TOKEN shows the recipient's current certificate (the
 * latest issued to that recipient, so a reissue or renewal shows the new
 * one): mailbox, serial, validity, revoked or not; and links to
 * /cert/TOKEN/cert.pem, chain.pem (the certificate, then the CA chain)
 * and cert.p7b (certs-only PKCS#7, DER, as in the archive).  Public data
 * only: the CA chain is read from the chain.pem of the CA that signed
 * the certificate (ca_dir/issuer-N/chain.pem when that issuer has its
 * own directory, issuer.c; else ca_dir's: the issuing CA, then the rest
 * up to the root), never anything else of ca_dir.  The
 * token is reusable until it expires (the notAfter of the certificate it
 * was mailed with).
 * Refusals: an unknown link 404, an expired one 410.
 * Failure policy: a database error returns -1 (web.c answers 503); a
 * chain.pem that cannot be read is logged and answered 503 for the
 * files that need it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "certfiles.h"
#include "store_result.h"
#include "dcv.h"
#include "portal.h"

#define CHAIN_MAX	(1024 * 1024)

/* The CA chain from ca_dir/chain.pem into ch, as report.c's chain_load
 * makes it from the loaded CA (so chain.pem and cert.p7b are the
 * archive's bytes).  Reads the public file only.  0 or -1. */
static int
chain_read(const struct conf *c, int issuer_id, struct chain *ch)
{
	struct buf	 pem = { 0 }, der = { 0 };
	unsigned char	*file = NULL, *d = NULL;
	char		 path[PATH_MAX], *p;
	size_t		 filelen = 0, n;
	BIO		*bio = NULL;
	X509		*x;
	int		 len, count = 0, rc = -1;

	memset(ch, 0, sizeof(*ch));
	snprintf(path, sizeof(path), "%s/issuer-%d/chain.pem", c->ca_dir,
	    issuer_id);
	if (access(path, F_OK) == -1)
		snprintf(path, sizeof(path), "%s/chain.pem", c->ca_dir);
	if (fs_read_file(path, CHAIN_MAX, &file, &filelen) == -1) {
		log_err("%s: cannot read", path);
		goto out;
	}
	if ((bio = BIO_new_mem_buf(file, (int)filelen)) == NULL)
		goto out;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		len = i2d_X509(x, &d);
		X509_free(x);
		if (len <= 0) {
			log_ssl(LOGL_ERR, "%s: certificate %d", path,
			    count + 1);
			goto out;
		}
		buf_add(&der, d, (size_t)len);
		p = pem_of_der(d, (size_t)len, &n);
		buf_add(&pem, p, n);
		free(p);
		OPENSSL_free(d);
		d = NULL;
		count++;
	}
	ERR_clear_error();	/* the end of the file */
	if (count == 0) {
		log_err("%s: no PEM certificate", path);
		goto out;
	}
	ch->pem = (char *)pem.p;
	ch->pemlen = pem.len;
	ch->der = der.p;
	ch->derlen = der.len;
	memset(&pem, 0, sizeof(pem));
	memset(&der, 0, sizeof(der));
	rc = 0;
out:
	BIO_free(bio);
	free(file);
	buf_free(&pem);
	buf_free(&der);
	return rc;
}

static void
cert_page(const char *canon, const struct cert_current *cu,
    struct web_resp *resp)
{
	struct buf	 b = { 0 };
	char		*email, *serial;
	char		 nb[32], na[32], rv[32];

	email = web_esc(cu->email);
	serial = web_esc(cu->serial);
	time_fmt((time_t)cu->not_before, nb, sizeof(nb));
	time_fmt((time_t)cu->not_after, na, sizeof(na));
	buf_addf(&b, "<main id=\"cert\">\n<h1>Your certificate</h1>\n"
	    "<dl>\n<dt>Mailbox</dt><dd id=\"email\">%s</dd>\n"
	    "<dt>Serial number</dt><dd id=\"serial\">%s</dd>\n"
	    "<dt>Valid</dt><dd id=\"validity\">%s to %s</dd>\n", email,
	    serial, nb, na);
	if (cu->revoked_at != 0) {
		time_fmt((time_t)cu->revoked_at, rv, sizeof(rv));
		buf_addf(&b, "<dt>Status</dt><dd id=\"status\" "
		    "data-state=\"revoked\">revoked on %s</dd>\n", rv);
	} else
		buf_addf(&b, "<dt>Status</dt><dd id=\"status\" "
		    "data-state=\"%s\">%s</dd>\n", clock_now() > cu->not_after ?
		    "expired" : "valid", clock_now() > cu->not_after ?
		    "expired" : "valid");
	buf_addf(&b, "</dl>\n<ul>\n"
	    "<li><a id=\"dl-cert\" href=\"/cert/%s/cert.pem\">cert.pem</a>: "
	    "the certificate</li>\n"
	    "<li><a id=\"dl-chain\" href=\"/cert/%s/chain.pem\">chain.pem</a>"
	    ": the certificate and the chain of the certificate authority"
	    "</li>\n"
	    "<li><a id=\"dl-p7b\" href=\"/cert/%s/cert.p7b\">cert.p7b</a>: "
	    "both as PKCS#7</li>\n</ul>\n"
	    "<p>These files hold no private key.</p>\n</main>\n", canon,
	    canon, canon);
	buf_add(&b, "", 1);
	web_page(resp, 200, "Your certificate", (const char *)b.p);
	buf_free(&b);
	free(email);
	free(serial);
}

/* cert.pem, chain.pem or cert.p7b of the current certificate. */
static int
cert_file(const struct conf *c, const char *sub,
    const struct cert_current *cu, struct web_resp *resp)
{
	struct chain	 ch;
	struct buf	 b = { 0 };
	unsigned char	*p7;
	char		*pem;
	size_t		 pemlen, p7len;

	pem = pem_of_der(cu->der, cu->derlen, &pemlen);
	if (strcmp(sub, "cert.pem") == 0) {
		web_data(resp, 200, "application/x-pem-file", pem, pemlen);
		snprintf(resp->filename, sizeof(resp->filename), "cert.pem");
		free(pem);
		return 0;
	}
	if (chain_read(c, cu->issuer_id, &ch) == -1) {
		free(pem);
		web_error(resp, 503, "Not available", "The chain of the "
		    "certificate authority cannot be read now; try later.");
		return 0;
	}
	if (strcmp(sub, "chain.pem") == 0) {
		buf_add(&b, pem, pemlen);
		buf_add(&b, ch.pem, ch.pemlen);
		web_data(resp, 200, "application/x-pem-file", b.p, b.len);
		snprintf(resp->filename, sizeof(resp->filename), "chain.pem");
		buf_free(&b);
	} else {
		p7 = p7b_of_der(cu->der, cu->derlen, &ch, &p7len);
		web_data(resp, 200, "application/pkcs7-mime; "
		    "smime-type=certs-only", p7, p7len);
		snprintf(resp->filename, sizeof(resp->filename), "cert.p7b");
		free(p7);
	}
	chain_free(&ch);
	free(pem);
	return 0;
}

int
portal_cert(struct portal *p, const struct web_req *req, const char *token,
    const char *sub, struct web_resp *resp)
{
	struct portal_tok	 t;
	struct cert_current	 cu;
	char			 canon[TOKEN_MAX + 1];
	int			 got, rc = -1;
	int			 is_file = sub != NULL && *sub != '\0';

	memset(&cu, 0, sizeof(cu));
	if ((is_file && strcmp(sub, "cert.pem") != 0 &&
	    strcmp(sub, "chain.pem") != 0 && strcmp(sub, "cert.p7b") != 0) ||
	    token_norm(token, canon, sizeof(canon)) == -1) {
		web_error(resp, 404, "Unknown link", "This link is not known; "
		    "check that it was copied whole.");
		return 0;
	}
	if (strcmp(req->method, "GET") != 0) {
		web_error(resp, 405, "Not allowed", "This page is only read.");
		return 0;
	}
	if ((got = portal_token_find(p->st, "cert", canon, &t)) == -1 ||
	    (got == 1 && (got = cert_current_load(p->st, t.recipient_id,
	    &cu)) == -1))
		goto out;
	if (got == 0) {
		web_error(resp, 404, "Unknown link", "This link is not known; "
		    "check that it was copied whole.");
		rc = 0;
		goto out;
	}
	if (clock_now() >= t.expires) {
		web_error(resp, 410, "Link expired", "This link has expired.");
		rc = 0;
		goto out;
	}
	if (is_file)
		rc = cert_file(p->conf, sub, &cu, resp);
	else {
		cert_page(canon, &cu, resp);
		rc = 0;
	}
out:
	cert_current_free(&cu);
	return rc;
}
