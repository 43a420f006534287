/*
 * lint_ext.c: the pre-issuance linter's extension rules (lint.c runs
 * them): the set of extensions, keyUsage, extKeyUsage, certificatePolicies,
 * subjectAltName, AKI/SKI, CRL distribution point, AIA and
 * basicConstraints against the order's product (S/MIME BR 7.1.2.3) and
 * the issuing CA.
 * Failure policy: as lint.c: the first broken rule returns -1 with its
 * reason code and a sentence naming the section.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "extern.h"
#include "ca.h"
#include "crl.h"
#include "profile.h"
#include "lint_local.h"

static const int allowed_ext[] = {
	NID_authority_key_identifier, NID_subject_key_identifier,
	NID_key_usage, NID_ext_key_usage, NID_certificate_policies,
	NID_subject_alt_name, NID_crl_distribution_points, NID_info_access,
	NID_basic_constraints
};
#define NALLOWED	(sizeof(allowed_ext) / sizeof(allowed_ext[0]))

/* Only known extensions, each once, each in canonical DER. */
int
check_ext_set(struct lint *l, X509 *x)
{
	X509_EXTENSION		*ext;
	const X509V3_EXT_METHOD	*m;
	const ASN1_OCTET_STRING	*data;
	unsigned char		*re = NULL;
	void			*val;
	char			 oid[80];
	int			 seen[NALLOWED] = { 0 };
	int			 i, n, nid, relen, ok;
	size_t			 k;

	if (X509_get_extension_flags(x) & EXFLAG_INVALID)
		return lint_fail(l, "lint_extension_der", "RFC 5280 4.2: an "
		    "extension does not decode or appears twice");
	n = X509_get_ext_count(x);
	for (i = 0; i < n; i++) {
		ext = X509_get_ext(x, i);
		nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
		for (k = 0; k < NALLOWED; k++)
			if (allowed_ext[k] == nid)
				break;
		if (k == NALLOWED) {
			OBJ_obj2txt(oid, sizeof(oid),
			    X509_EXTENSION_get_object(ext), 1);
			return lint_fail(l, "lint_extension_unknown", "S/MIME BR "
			    "7.1.2.4: extension %s%s is not in the profile",
			    oid, X509_EXTENSION_get_critical(ext) ?
			    " (critical)" : "");
		}
		if (seen[k]++)
			return lint_fail(l, "lint_extension_unknown", "RFC 5280 "
			    "4.2: extension %s appears twice",
			    OBJ_nid2sn(nid));
		if ((m = X509V3_EXT_get(ext)) == NULL || m->it == NULL ||
		    (val = X509V3_EXT_d2i(ext)) == NULL)
			return lint_fail(l, "lint_extension_der", "RFC 5280 4.2: "
			    "extension %s does not decode", OBJ_nid2sn(nid));
		data = X509_EXTENSION_get_data(ext);
		relen = ASN1_item_i2d(val, &re, ASN1_ITEM_ptr(m->it));
		ok = relen > 0 && relen == ASN1_STRING_length(data) &&
		    memcmp(re, ASN1_STRING_get0_data(data), relen) == 0;
		ASN1_item_free(val, ASN1_ITEM_ptr(m->it));
		OPENSSL_free(re);
		re = NULL;
		if (!ok)
			return lint_fail(l, "lint_extension_der", "X.690: "
			    "extension %s is not in DER", OBJ_nid2sn(nid));
	}
	return 0;
}

/* Decoded extension nid, with criticality; NULL and crit -1 if absent. */
static void *
ext_get(X509 *x, int nid, int *crit)
{
	void	*v = X509_get_ext_d2i(x, nid, crit, NULL);

	ERR_clear_error();
	return v;
}

int
check_key_usage(struct lint *l, X509 *x, const struct cert_req *req)
{
	ASN1_BIT_STRING		*ku;
	const ASN1_OCTET_STRING	*raw;
	const unsigned char	*d;
	int			 crit, i, want, have = 0, n, last, unused;

	if ((ku = ext_get(x, NID_key_usage, &crit)) == NULL)
		return lint_fail(l, "lint_key_usage", "S/MIME BR 7.1.2.3 (e): "
		    "keyUsage is missing");
	n = ASN1_STRING_length(ku);
	for (i = 0; i < n * 8; i++)
		if (ASN1_BIT_STRING_get_bit(ku, i))
			have |= 1 << (i < 30 ? i : 30);
	ASN1_BIT_STRING_free(ku);
	if (crit != 1)
		return lint_fail(l, "lint_key_usage", "S/MIME BR 7.1.2.3 (e): "
		    "keyUsage is not critical");
	/* bit 0 digitalSignature, 2 keyEncipherment, 4 keyAgreement */
	if (req->prod->sign_only)
		want = 1 << 0;
	else if (l->rsa)
		want = 1 << 0 | 1 << 2;
	else
		want = 1 << 0 | 1 << 4;
	if (have != want)
		return lint_fail(l, "lint_key_usage", "S/MIME BR 7.1.2.3 (e): "
		    "keyUsage bits 0x%x, expected 0x%x for a %s%s key", have,
		    want, req->prod->sign_only ? "signing-only " : "dual-use ",
		    l->rsa ? "RSA" : "ECC");
	/* X.690 11.2.2: no trailing zero bits in a named bit list. */
	raw = X509_EXTENSION_get_data(X509_get_ext(x,
	    X509_get_ext_by_NID(x, NID_key_usage, -1)));
	d = ASN1_STRING_get0_data(raw);
	n = ASN1_STRING_length(raw);
	if (n < 4 || d[0] != 0x03 || d[1] != n - 2)
		return lint_fail(l, "lint_key_usage", "X.690: keyUsage is not a "
		    "short BIT STRING");
	unused = d[2];
	last = d[n - 1];
	if (last == 0 || unused > 7 || (last & ((1 << unused) - 1)) != 0 ||
	    (last & (1 << unused)) == 0)
		return lint_fail(l, "lint_key_usage", "X.690 11.2.2: keyUsage has "
		    "trailing zero bits");
	return 0;
}

int
check_eku(struct lint *l, X509 *x, const struct cert_req *req)
{
	EXTENDED_KEY_USAGE	*eku;
	int			 crit, i, nid, email = 0, client = 0, other = 0,
				 want_client, rc = -1;

	if ((eku = ext_get(x, NID_ext_key_usage, &crit)) == NULL)
		return lint_fail(l, "lint_eku", "S/MIME BR 7.1.2.3 (f): "
		    "extKeyUsage is missing");
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		if (nid == NID_email_protect)
			email++;
		else if (nid == NID_client_auth)
			client++;
		else if (nid == NID_anyExtendedKeyUsage ||
		    nid == NID_server_auth || nid == NID_code_sign ||
		    nid == NID_time_stamp) {
			lint_fail(l, "lint_eku", "S/MIME BR 7.1.2.3 (f): %s is "
			    "prohibited", OBJ_nid2sn(nid));
			goto out;
		} else
			other++;
	}
	want_client = req->prod->client_auth &&
	    req->prod->gen == GEN_MULTIPURPOSE;
	if (email != 1) {
		lint_fail(l, "lint_eku", "S/MIME BR 7.1.2.3 (f): emailProtection "
		    "must be present once");
		goto out;
	}
	if (req->prod->gen == GEN_STRICT && (client || other)) {
		lint_fail(l, "lint_eku", "S/MIME BR 7.1.2.3 (f): a strict "
		    "certificate has emailProtection only");
		goto out;
	}
	if (other || client != want_client) {
		lint_fail(l, "lint_eku", "S/MIME BR 7.1.2.4: extKeyUsage is not "
		    "emailProtection%s as product %s requires",
		    want_client ? " and clientAuth" : " alone",
		    req->prod->name);
		goto out;
	}
	rc = 0;
 out:
	EXTENDED_KEY_USAGE_free(eku);
	return rc;
}

int
check_policies(struct lint *l, X509 *x, const struct cert_req *req)
{
	CERTIFICATEPOLICIES	*cp;
	POLICYINFO		*pi;
	char			 want[40], have[80];
	int			 crit, rc = -1;

	if (req->prod->gen != GEN_MULTIPURPOSE &&
	    req->prod->gen != GEN_STRICT)
		return lint_fail(l, "lint_policy", "S/MIME BR 7.1.6.1: only "
		    "multipurpose and strict generations are issued");
	snprintf(want, sizeof(want), "2.23.140.1.5.%d.%d",
	    (int)req->prod->vtype, (int)req->prod->gen);
	if ((cp = ext_get(x, NID_certificate_policies, &crit)) == NULL)
		return lint_fail(l, "lint_policy", "S/MIME BR 7.1.2.3 (a): "
		    "certificatePolicies is missing");
	if (crit) {
		lint_fail(l, "lint_policy", "S/MIME BR 7.1.2.3 (a): "
		    "certificatePolicies is critical");
		goto out;
	}
	if (sk_POLICYINFO_num(cp) != 1) {
		lint_fail(l, "lint_policy", "S/MIME BR 7.1.6.4: %d policies; "
		    "exactly one (%s) is expected", sk_POLICYINFO_num(cp),
		    want);
		goto out;
	}
	pi = sk_POLICYINFO_value(cp, 0);
	OBJ_obj2txt(have, sizeof(have), pi->policyid, 1);
	if (strcmp(have, want) != 0 || pi->qualifiers != NULL) {
		lint_fail(l, "lint_policy", "S/MIME BR 7.1.6.1: policy %s is not "
		    "%s (without qualifiers) for product %s", have, want,
		    req->prod->name);
		goto out;
	}
	rc = 0;
 out:
	CERTIFICATEPOLICIES_free(cp);
	return rc;
}

int
check_san(struct lint *l, X509 *x, const struct cert_req *req, int empty)
{
	GENERAL_NAMES		*gens;
	GENERAL_NAME		*gn;
	const ASN1_STRING	*s = NULL;
	const char		*e = req->email, *p;
	int			 crit, utf8 = 0, ok = 0;

	for (p = e; p != NULL && *p != '\0' && *p != '@'; p++)
		if ((unsigned char)*p >= 0x80)
			utf8 = 1;
	if ((gens = ext_get(x, NID_subject_alt_name, &crit)) == NULL)
		return lint_fail(l, "lint_san", "S/MIME BR 7.1.2.3 (h): "
		    "subjectAltName is missing");
	if (sk_GENERAL_NAME_num(gens) == 1) {
		gn = sk_GENERAL_NAME_value(gens, 0);
		if (!utf8 && gn->type == GEN_EMAIL)
			s = gn->d.rfc822Name;
		else if (utf8 && gn->type == GEN_OTHERNAME &&
		    OBJ_obj2nid(gn->d.otherName->type_id) ==
		    NID_id_on_SmtpUTF8Mailbox &&
		    gn->d.otherName->value->type == V_ASN1_UTF8STRING)
			s = gn->d.otherName->value->value.utf8string;
		ok = s != NULL && e != NULL &&
		    (size_t)ASN1_STRING_length(s) == strlen(e) &&
		    memcmp(ASN1_STRING_get0_data(s), e, strlen(e)) == 0;
	}
	GENERAL_NAMES_free(gens);
	if (!ok)
		return lint_fail(l, "lint_san", "S/MIME BR 7.1.4.2.1: "
		    "subjectAltName is not exactly the mailbox as %s",
		    utf8 ? "SmtpUTF8Mailbox (RFC 9598)" : "rfc822Name");
	if (crit != empty)
		return lint_fail(l, "lint_san", "S/MIME BR 7.1.2.3 (h): "
		    "subjectAltName is critical exactly when the subject is "
		    "empty");
	return 0;
}

/* SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2, method 1). */
static int
spki_sha1(struct lint *l, unsigned char *md, unsigned int *mdlen)
{
	const unsigned char	*p = l->spki, *end = l->spki + l->spkilen;
	const unsigned char	*c, *bits;
	unsigned char		 tag;
	size_t			 clen, bitslen;

	if (der_next(&p, end, &tag, &c, &clen) == -1 || tag != 0x30)
		return -1;
	p = c;
	end = c + clen;
	if (der_next(&p, end, &tag, &c, &clen) == -1 ||
	    der_next(&p, end, &tag, &bits, &bitslen) == -1 || tag != 0x03 ||
	    bitslen < 1 || bits[0] != 0)
		return -1;
	return EVP_Digest(bits + 1, bitslen - 1, md, mdlen, EVP_sha1(),
	    NULL) == 1 ? 0 : -1;
}

int
check_aki_ski(struct lint *l, X509 *x, const struct ca *ca)
{
	AUTHORITY_KEYID		*akid;
	ASN1_OCTET_STRING	*ski;
	const ASN1_OCTET_STRING	*caski = X509_get0_subject_key_id(ca->cert);
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen;
	int			 crit, ok;

	if ((akid = ext_get(x, NID_authority_key_identifier, &crit)) == NULL)
		return lint_fail(l, "lint_aki", "S/MIME BR 7.1.2.3 (g): "
		    "authorityKeyIdentifier is missing");
	ok = crit == 0 && akid->keyid != NULL && akid->issuer == NULL &&
	    akid->serial == NULL && caski != NULL &&
	    ASN1_OCTET_STRING_cmp(akid->keyid, caski) == 0;
	AUTHORITY_KEYID_free(akid);
	if (!ok)
		return lint_fail(l, "lint_aki", "S/MIME BR 7.1.2.3 (g): "
		    "authorityKeyIdentifier is not a non-critical keyIdentifier "
		    "equal to the issuing CA's subjectKeyIdentifier");
	if ((ski = ext_get(x, NID_subject_key_identifier, &crit)) == NULL)
		return lint_fail(l, "lint_ski", "S/MIME BR 7.1.2.3 (n): "
		    "subjectKeyIdentifier is missing");
	ok = crit == 0 && spki_sha1(l, md, &mdlen) == 0 &&
	    (unsigned int)ASN1_STRING_length(ski) == mdlen &&
	    memcmp(ASN1_STRING_get0_data(ski), md, mdlen) == 0;
	ASN1_OCTET_STRING_free(ski);
	if (!ok)
		return lint_fail(l, "lint_ski", "S/MIME BR 7.1.2.3 (n): "
		    "subjectKeyIdentifier is critical or not derived from the "
		    "public key (RFC 5280 4.2.1.2 method 1)");
	return 0;
}

static int
is_http_uri(const GENERAL_NAME *gn)
{
	const ASN1_IA5STRING	*u;

	if (gn->type != GEN_URI)
		return 0;
	u = gn->d.uniformResourceIdentifier;
	return ASN1_STRING_length(u) > 7 &&
	    strncmp((const char *)ASN1_STRING_get0_data(u), "http://", 7) == 0;
}

static int
uri_is(const GENERAL_NAME *gn, const char *url)
{
	const ASN1_IA5STRING	*u = gn->d.uniformResourceIdentifier;

	return url != NULL && (size_t)ASN1_STRING_length(u) == strlen(url) &&
	    memcmp(ASN1_STRING_get0_data(u), url, strlen(url)) == 0;
}

/* One http:// fullName: crl_url with {shard} replaced by the
 * certificate's own shard (SPEC 7.3). */
int
check_crldp(struct lint *l, X509 *x, const struct conf *conf,
    const struct ca *ca, int shard)
{
	CRL_DIST_POINTS		*dps;
	DIST_POINT		*dp;
	GENERAL_NAME		*gn;
	char			 url[1024];
	int			 crit, ok = 0;

	if (shard < 0 || shard >= conf->crl_shards ||
	    crl_ca_url(conf, ca, shard, url, sizeof(url)) == -1)
		return lint_fail(l, "lint_crl_dp", "SPEC 7.3: CRL shard %d has no "
		    "URL under crl_url", shard);

	if ((dps = ext_get(x, NID_crl_distribution_points, &crit)) == NULL)
		return lint_fail(l, "lint_crl_dp", "S/MIME BR 7.1.2.3 (b): "
		    "cRLDistributionPoints is missing");
	if (crit == 0 && sk_DIST_POINT_num(dps) == 1) {
		dp = sk_DIST_POINT_value(dps, 0);
		if (dp->distpoint != NULL && dp->distpoint->type == 0 &&
		    dp->reasons == NULL && dp->CRLissuer == NULL &&
		    sk_GENERAL_NAME_num(dp->distpoint->name.fullname) == 1) {
			gn = sk_GENERAL_NAME_value(
			    dp->distpoint->name.fullname, 0);
			ok = is_http_uri(gn) && uri_is(gn, url);
		}
	}
	CRL_DIST_POINTS_free(dps);
	if (!ok)
		return lint_fail(l, "lint_crl_dp", "S/MIME BR 7.1.2.3 (b): "
		    "cRLDistributionPoints is not one non-critical http:// "
		    "fullName equal to crl_url for shard %d", shard);
	return 0;
}

int
check_aia(struct lint *l, X509 *x, const struct conf *conf,
    const struct ca *ca)
{
	AUTHORITY_INFO_ACCESS	*aia;
	ACCESS_DESCRIPTION	*ad;
	int			 crit, i, nid, ocsp = 0, issuers = 0, bad = 0;
	int			 want_ocsp, want_iss;

	want_ocsp = nonempty(conf->ocsp_url);
	want_iss = issuer_aia(conf, ca) != NULL;
	if ((aia = ext_get(x, NID_info_access, &crit)) == NULL) {
		if (want_ocsp || want_iss)
			return lint_fail(l, "lint_aia", "S/MIME BR 7.1.2.3 (c): "
			    "authorityInformationAccess is missing");
		return 0;
	}
	for (i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
		ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		nid = OBJ_obj2nid(ad->method);
		if (!is_http_uri(ad->location))
			bad++;
		else if (nid == NID_ad_OCSP &&
		    uri_is(ad->location, conf->ocsp_url))
			ocsp++;
		else if (nid == NID_ad_ca_issuers &&
		    uri_is(ad->location, issuer_aia(conf, ca)))
			issuers++;
		else
			bad++;
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	if (crit != 0 || bad || ocsp != want_ocsp || issuers != want_iss)
		return lint_fail(l, "lint_aia", "S/MIME BR 7.1.2.3 (c): "
		    "authorityInformationAccess is not non-critical with "
		    "exactly the configured http:// OCSP and caIssuers URLs");
	return 0;
}

int
check_basic_constraints(struct lint *l, X509 *x)
{
	BASIC_CONSTRAINTS	*bc;
	int			 crit, ok;

	if ((bc = ext_get(x, NID_basic_constraints, &crit)) == NULL)
		return 0;
	ok = !bc->ca && bc->pathlen == NULL;
	BASIC_CONSTRAINTS_free(bc);
	if (!ok)
		return lint_fail(l, "lint_basic_constraints", "S/MIME BR 7.1.2.3 "
		    "(d): a subscriber certificate is not a CA and has no "
		    "pathLenConstraint");
	return 0;
}
