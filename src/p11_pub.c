/*
 * p11_pub.c: the public half of a key in a PKCS#11 token, read from its
 * attributes (CKA_MODULUS and CKA_PUBLIC_EXPONENT, or CKA_EC_PARAMS and
 * CKA_EC_POINT) and made into an OpenSSL key; and the reading of one
 * attribute.  p11.c finds the objects and calls these.
 * Failure policy: as p11.c: nothing aborts except on memory exhaustion;
 * a failure is returned with one sentence in err (or a CKR_ value).
 */
#include <stdlib.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include "extern.h"
#include "p11_local.h"

/* err = "what: CKR_NAME". */
static void
errck(char *err, size_t errlen, const char *what, CK_RV rv)
{
	char	 b[32];

	p11_errf(err, errlen, "%s: %s", what, p11_ckr(rv, b, sizeof(b)));
}

/* Attribute type of obj into a malloc'd *val; CKR_ value. */
CK_RV
p11_get_attr(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    CK_ATTRIBUTE_TYPE type, unsigned char **val, CK_ULONG *len)
{
	CK_ATTRIBUTE	 a = { type, NULL, 0 };
	CK_RV		 rv;

	*val = NULL;
	*len = 0;
	if ((rv = fl->C_GetAttributeValue(s, obj, &a, 1)) != CKR_OK)
		return rv;
	if (a.ulValueLen == (CK_ULONG)-1)
		return CKR_ATTRIBUTE_TYPE_INVALID;
	a.pValue = xcalloc(1, a.ulValueLen);
	if ((rv = fl->C_GetAttributeValue(s, obj, &a, 1)) != CKR_OK) {
		free(a.pValue);
		return rv;
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

static EVP_PKEY *
fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY_CTX	*ctx = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY	*pk = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

static EVP_PKEY *
pub_rsa(const unsigned char *n, CK_ULONG nlen, const unsigned char *e,
    CK_ULONG elen)
{
	OSSL_PARAM_BLD	*bld = NULL;
	BIGNUM		*bn = NULL, *be = NULL;
	EVP_PKEY	*pk = NULL;

	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		goto out;
	pk = fromdata("RSA", bld);
 out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return pk;
}

static EVP_PKEY *
pub_ec_try(const char *group, const unsigned char *pt, size_t ptlen)
{
	OSSL_PARAM_BLD	*bld;
	EVP_PKEY	*pk = NULL;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return NULL;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
	    pt, ptlen))
		pk = fromdata("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	return pk;
}

/*
 * EC public key from CKA_EC_PARAMS (a named curve's OID) and CKA_EC_POINT
 * (a DER OCTET STRING around the point, or the raw point some modules
 * give).  NULL with err.
 */
static EVP_PKEY *
pub_ec(const unsigned char *params, CK_ULONG plen, const unsigned char *pt,
    CK_ULONG ptlen, char *err, size_t errlen)
{
	ASN1_OBJECT		*oid = NULL;
	ASN1_OCTET_STRING	*os = NULL;
	const unsigned char	*p;
	const char		*group;
	EVP_PKEY		*pk = NULL;
	int			 nid;

	p = params;
	if ((oid = d2i_ASN1_OBJECT(NULL, &p, (long)plen)) == NULL ||
	    p != params + plen || (nid = OBJ_obj2nid(oid)) == NID_undef ||
	    (group = OBJ_nid2sn(nid)) == NULL) {
		p11_errf(err, errlen, "CKA_EC_PARAMS is not a named curve");
		goto out;
	}
	p = pt;
	if ((os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)ptlen)) != NULL &&
	    p == pt + ptlen)
		pk = pub_ec_try(group, ASN1_STRING_get0_data(os),
		    (size_t)ASN1_STRING_length(os));
	if (pk == NULL)
		pk = pub_ec_try(group, pt, ptlen);
	if (pk == NULL)
		p11_errf(err, errlen, "CKA_EC_POINT is not a point on %s", group);
 out:
	ASN1_OBJECT_free(oid);
	ASN1_OCTET_STRING_free(os);
	return pk;
}

/* The public half of key obj (type kt) read from object src. */
EVP_PKEY *
p11_pub_read(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE src,
    CK_KEY_TYPE kt, char *err, size_t errlen)
{
	unsigned char	*a = NULL, *b = NULL;
	CK_ULONG	 alen, blen;
	CK_RV		 rv;
	EVP_PKEY	*pk = NULL;

	if (kt == CKK_RSA) {
		if ((rv = p11_get_attr(fl, s, src, CKA_MODULUS, &a, &alen)) !=
		    CKR_OK || (rv = p11_get_attr(fl, s, src, CKA_PUBLIC_EXPONENT,
		    &b, &blen)) != CKR_OK) {
			errck(err, errlen, "reading the RSA public key", rv);
			goto out;
		}
		if ((pk = pub_rsa(a, alen, b, blen)) == NULL)
			p11_errf(err, errlen, "CKA_MODULUS/CKA_PUBLIC_EXPONENT "
			    "do not form an RSA key");
	} else {
		if ((rv = p11_get_attr(fl, s, src, CKA_EC_PARAMS, &a, &alen)) !=
		    CKR_OK || (rv = p11_get_attr(fl, s, src, CKA_EC_POINT, &b,
		    &blen)) != CKR_OK) {
			errck(err, errlen, "reading the EC public key", rv);
			goto out;
		}
		pk = pub_ec(a, alen, b, blen, err, errlen);
	}
 out:
	free(a);
	free(b);
	return pk;
}
