/*
 * p11.c: the CA key in a PKCS#11 token.  The module is loaded through
 * p11-kit (managed, so several users in one process share it), the token
 * and key are named by an RFC 7512 URI parsed by p11-kit, and signing is
 * done in the token: CKM_RSA_PKCS over a DER DigestInfo, or CKM_ECDSA over
 * the digest with the raw r||s re-encoded as a DER ECDSA-Sig-Value.  One
 * read-only session per signing thread; the user logs in once.  The key
 * ceremony and the PIN file are in p11_ceremony.c; the reading of a key's
 * public half from its attributes in p11_pub.c.
 * Failure policy: nothing here aborts except on memory exhaustion; every
 * failure is returned with one sentence in err naming the module, token or
 * key and the PKCS#11 return value by name.  A token that went away is
 * told apart (P11_GONE) so the caller keeps its work and reopens.
 */
#include <sys/mman.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>

#include "extern.h"
#include "p11.h"
#include "p11_local.h"

#define P11_MAX_SESSIONS	256

struct p11 {
	char			*module;
	P11KitUri		*uri;
	char			*pin;		/* mlock'd, wiped in p11_close */
	size_t			 pincap;
	int			 pinlocked;
	int			 nsessions;
	CK_FUNCTION_LIST	*fl;		/* NULL when not connected */
	CK_SLOT_ID		 slot;
	CK_SESSION_HANDLE	*sess;
	int			 nopen;
	CK_OBJECT_HANDLE	 key;
	CK_KEY_TYPE		 ktype;
	size_t			 siglen;	/* expected signature size */
	EVP_PKEY		*pub;		/* from the first open */
	char			 tokdesc[80];
	char			 objdesc[80];
};

static const struct {
	CK_RV		 rv;
	const char	*name;
} ckr_names[] = {
#define R(x)	{ x, #x }
	R(CKR_OK), R(CKR_HOST_MEMORY), R(CKR_SLOT_ID_INVALID),
	R(CKR_GENERAL_ERROR), R(CKR_FUNCTION_FAILED), R(CKR_ARGUMENTS_BAD),
	R(CKR_ATTRIBUTE_SENSITIVE), R(CKR_ATTRIBUTE_TYPE_INVALID),
	R(CKR_ATTRIBUTE_VALUE_INVALID), R(CKR_DATA_INVALID),
	R(CKR_DATA_LEN_RANGE), R(CKR_DEVICE_ERROR), R(CKR_DEVICE_MEMORY),
	R(CKR_DEVICE_REMOVED), R(CKR_FUNCTION_CANCELED),
	R(CKR_FUNCTION_NOT_SUPPORTED), R(CKR_KEY_HANDLE_INVALID),
	R(CKR_KEY_SIZE_RANGE), R(CKR_KEY_TYPE_INCONSISTENT),
	R(CKR_KEY_FUNCTION_NOT_PERMITTED), R(CKR_MECHANISM_INVALID),
	R(CKR_MECHANISM_PARAM_INVALID), R(CKR_OBJECT_HANDLE_INVALID),
	R(CKR_OPERATION_ACTIVE), R(CKR_OPERATION_NOT_INITIALIZED),
	R(CKR_PIN_INCORRECT), R(CKR_PIN_INVALID), R(CKR_PIN_LEN_RANGE),
	R(CKR_PIN_EXPIRED), R(CKR_PIN_LOCKED), R(CKR_SESSION_CLOSED),
	R(CKR_SESSION_COUNT), R(CKR_SESSION_HANDLE_INVALID),
	R(CKR_SESSION_READ_ONLY), R(CKR_TEMPLATE_INCOMPLETE),
	R(CKR_TEMPLATE_INCONSISTENT), R(CKR_TOKEN_NOT_PRESENT),
	R(CKR_TOKEN_NOT_RECOGNIZED), R(CKR_TOKEN_WRITE_PROTECTED),
	R(CKR_USER_ALREADY_LOGGED_IN), R(CKR_USER_NOT_LOGGED_IN),
	R(CKR_USER_PIN_NOT_INITIALIZED), R(CKR_USER_TYPE_INVALID),
	R(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), R(CKR_USER_TOO_MANY_TYPES),
	R(CKR_DOMAIN_PARAMS_INVALID), R(CKR_CURVE_NOT_SUPPORTED),
	R(CKR_BUFFER_TOO_SMALL), R(CKR_CRYPTOKI_NOT_INITIALIZED),
	R(CKR_CRYPTOKI_ALREADY_INITIALIZED), R(CKR_RANDOM_NO_RNG),
	R(CKR_SIGNATURE_INVALID),
#undef R
};

/* RFC 8017 section 9.2 note 1: DER DigestInfo up to the digest itself. */
static const struct {
	const char		*name, *alt;
	size_t			 dlen;
	unsigned char		 prefix[19];
} digestinfo[] = {
	{ "SHA256", "SHA2-256", 32, { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
	    0x04, 0x20 } },
	{ "SHA384", "SHA2-384", 48, { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
	    0x04, 0x30 } },
	{ "SHA512", "SHA2-512", 64, { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09,
	    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00,
	    0x04, 0x40 } },
};

CK_BBOOL	 p11_true = CK_TRUE, p11_false = CK_FALSE;

/* The name of a PKCS#11 return value, e.g. "CKR_PIN_INCORRECT". */
const char *
p11_ckr(CK_RV rv, char *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i < sizeof(ckr_names) / sizeof(ckr_names[0]); i++)
		if (ckr_names[i].rv == rv)
			return ckr_names[i].name;
	snprintf(buf, len, "CKR 0x%lx", (unsigned long)rv);
	return buf;
}

void
p11_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
is_gone(CK_RV rv)
{
	return rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED ||
	    rv == CKR_DEVICE_ERROR || rv == CKR_SESSION_HANDLE_INVALID ||
	    rv == CKR_SESSION_CLOSED || rv == CKR_USER_NOT_LOGGED_IN ||
	    rv == CKR_CRYPTOKI_NOT_INITIALIZED || rv == CKR_TOKEN_NOT_RECOGNIZED ||
	    rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID;
}

int
p11_is_uri(const char *s)
{
	return s != NULL && strncasecmp(s, "pkcs11:", 7) == 0;
}

CK_FUNCTION_LIST *
p11_mod_load(const char *module, char *err, size_t errlen)
{
	CK_FUNCTION_LIST	*fl;
	CK_RV			 rv;
	char			 b[32];
	const char		*m;

	if ((fl = p11_kit_module_load(module, 0)) == NULL) {
		m = p11_kit_message();
		p11_errf(err, errlen, "pkcs11 module %s: cannot be loaded%s%s",
		    module, m != NULL ? ": " : "", m != NULL ? m : "");
		return NULL;
	}
	if ((rv = p11_kit_module_initialize(fl)) != CKR_OK) {
		p11_errf(err, errlen, "pkcs11 module %s: C_Initialize: %s",
		    module, p11_ckr(rv, b, sizeof(b)));
		p11_kit_module_release(fl);
		return NULL;
	}
	return fl;
}

void
p11_mod_unload(CK_FUNCTION_LIST *fl)
{
	if (fl == NULL)
		return;
	p11_kit_module_finalize(fl);
	p11_kit_module_release(fl);
}

/* "token \"LABEL\"" (or serial, or "any token") from a parsed URI. */
void
p11_tok_describe(P11KitUri *u, char *out, size_t len)
{
	CK_TOKEN_INFO	*ti = p11_kit_uri_get_token_info(u);
	char		 s[40];
	size_t		 n;

	if (ti->label[0] != 0) {
		n = p11_kit_space_strlen(ti->label, sizeof(ti->label));
		snprintf(out, len, "token \"%s\"",
		    log_safe((const char *)ti->label, n, s, sizeof(s)));
	} else if (ti->serialNumber[0] != 0) {
		n = p11_kit_space_strlen(ti->serialNumber,
		    sizeof(ti->serialNumber));
		snprintf(out, len, "token serial %s", log_safe(
		    (const char *)ti->serialNumber, n, s, sizeof(s)));
	} else
		snprintf(out, len, "any token");
}

/* "key \"LABEL\"" (or id, or "the private key") from a parsed URI. */
static void
obj_describe(P11KitUri *u, char *out, size_t len)
{
	CK_ATTRIBUTE	*a;
	char		 s[48], hex[2 * 16 + 1];

	if ((a = p11_kit_uri_get_attribute(u, CKA_LABEL)) != NULL &&
	    a->ulValueLen != (CK_ULONG)-1)
		snprintf(out, len, "key \"%s\"", log_safe(a->pValue,
		    a->ulValueLen, s, sizeof(s)));
	else if ((a = p11_kit_uri_get_attribute(u, CKA_ID)) != NULL &&
	    a->ulValueLen != (CK_ULONG)-1) {
		hex_encode(a->pValue, a->ulValueLen > 16 ? 16 : a->ulValueLen,
		    hex);
		snprintf(out, len, "key id %s", hex);
	} else
		snprintf(out, len, "a URI without object= or id=");
}

/* The one initialized token in fl matching u; 0 or -1 with err. */
int
p11_find_slot(CK_FUNCTION_LIST *fl, P11KitUri *u, const char *module,
    const char *tokdesc, CK_SLOT_ID *slot, char *err, size_t errlen)
{
	CK_SLOT_ID	*slots = NULL, want;
	CK_TOKEN_INFO	 ti;
	CK_SLOT_INFO	 si;
	CK_ULONG	 n = 0, i;
	CK_RV		 rv;
	char		 b[32];
	int		 found = 0, rc = -1;

	if ((rv = fl->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK) {
		p11_errf(err, errlen, "pkcs11 module %s: C_GetSlotList: %s",
		    module, p11_ckr(rv, b, sizeof(b)));
		goto out;
	}
	slots = xcalloc(n, sizeof(*slots));
	if (n > 0 && (rv = fl->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
		p11_errf(err, errlen, "pkcs11 module %s: C_GetSlotList: %s",
		    module, p11_ckr(rv, b, sizeof(b)));
		goto out;
	}
	want = p11_kit_uri_get_slot_id(u);
	for (i = 0; i < n; i++) {
		if (want != (CK_SLOT_ID)-1 && slots[i] != want)
			continue;
		if (fl->C_GetSlotInfo(slots[i], &si) != CKR_OK ||
		    !p11_kit_uri_match_slot_info(u, &si))
			continue;
		if (fl->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    (ti.flags & CKF_TOKEN_INITIALIZED) == 0 ||
		    !p11_kit_uri_match_token_info(u, &ti))
			continue;
		if (found++ == 0)
			*slot = slots[i];
	}
	if (found == 0) {
		p11_errf(err, errlen, "pkcs11 module %s: no initialized %s "
		    "(%lu slots with a token)", module, tokdesc,
		    (unsigned long)n);
		goto out;
	}
	if (found > 1) {
		p11_errf(err, errlen, "pkcs11 module %s: %d tokens match %s; "
		    "name one by token=, serial= or slot-id=", module, found,
		    tokdesc);
		goto out;
	}
	rc = 0;
 out:
	free(slots);
	return rc;
}

int
p11_login(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE s, const char *pin,
    const char *tokdesc, char *err, size_t errlen)
{
	CK_RV	 rv;
	char	 b[32];

	if (pin == NULL) {
		p11_errf(err, errlen, "%s: no PIN", tokdesc);
		return -1;
	}
	rv = fl->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		p11_errf(err, errlen, "%s: C_Login: %s", tokdesc,
		    p11_ckr(rv, b, sizeof(b)));
		return -1;
	}
	return 0;
}

/* Up to max objects matching t; their count in *nfound; CKR_ value. */
CK_RV
p11_find_objects(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE s, CK_ATTRIBUTE *t,
    CK_ULONG nt, CK_OBJECT_HANDLE *found, CK_ULONG max, CK_ULONG *nfound)
{
	CK_RV	 rv;

	*nfound = 0;
	if ((rv = fl->C_FindObjectsInit(s, t, nt)) != CKR_OK)
		return rv;
	rv = fl->C_FindObjects(s, found, max, nfound);
	fl->C_FindObjectsFinal(s);
	return rv;
}

static void
disconnect(struct p11 *p)
{
	int	 i;

	if (p->fl == NULL)
		return;
	for (i = 0; i < p->nopen; i++)
		p->fl->C_CloseSession(p->sess[i]);
	p->nopen = 0;
	p11_mod_unload(p->fl);
	p->fl = NULL;
}

/*
 * Find the private signing key named by p->uri on session s; its handle,
 * type and public half.  0 or -1 with err.
 */
static int
find_key(struct p11 *p, CK_SESSION_HANDLE s, EVP_PKEY **pub, char *err,
    size_t errlen)
{
	CK_OBJECT_CLASS	 cpriv = CKO_PRIVATE_KEY, cpub = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE	 t[8], *ua, kta = { CKA_KEY_TYPE, NULL, 0 };
	CK_OBJECT_HANDLE found[2];
	CK_ULONG	 nua, nt = 0, nf, i, idlen = 0;
	CK_KEY_TYPE	 kt;
	CK_RV		 rv;
	unsigned char	*id = NULL;
	char		 msg[160], b[32];
	int		 rc = -1;

	ua = p11_kit_uri_get_attributes(p->uri, &nua);
	for (i = 0; i < nua && nt < 6; i++)
		if (ua[i].type == CKA_LABEL || ua[i].type == CKA_ID)
			t[nt++] = ua[i];
	t[nt++] = (CK_ATTRIBUTE){ CKA_CLASS, &cpriv, sizeof(cpriv) };
	t[nt++] = (CK_ATTRIBUTE){ CKA_SIGN, &p11_true, sizeof(p11_true) };
	if ((rv = p11_find_objects(p->fl, s, t, nt, found, 2, &nf)) != CKR_OK) {
		p11_errf(err, errlen, "%s: finding %s: C_FindObjects: %s",
		    p->tokdesc, p->objdesc, p11_ckr(rv, b, sizeof(b)));
		goto out;
	}
	if (nf != 1) {
		p11_errf(err, errlen, "%s: %s %s%s", p->tokdesc, nf == 0 ?
		    "no private signing key matches" :
		    "several private signing keys match", p->objdesc,
		    nf == 0 ? "" : "; name one by object= or id=");
		goto out;
	}
	p->key = found[0];
	kta.pValue = &kt;
	kta.ulValueLen = sizeof(kt);
	if ((rv = p->fl->C_GetAttributeValue(s, p->key, &kta, 1)) != CKR_OK) {
		p11_errf(err, errlen, "%s: %s: CKA_KEY_TYPE: %s", p->tokdesc,
		    p->objdesc, p11_ckr(rv, b, sizeof(b)));
		goto out;
	}
	if (kt != CKK_RSA && kt != CKK_EC) {
		p11_errf(err, errlen, "%s: %s: key type 0x%lx is neither RSA nor "
		    "EC", p->tokdesc, p->objdesc, (unsigned long)kt);
		goto out;
	}
	p->ktype = kt;
	/* The public half: the public key object with the same CKA_ID. */
	nf = 0;
	if (p11_get_attr(p->fl, s, p->key, CKA_ID, &id, &idlen) == CKR_OK &&
	    idlen > 0) {
		t[0] = (CK_ATTRIBUTE){ CKA_CLASS, &cpub, sizeof(cpub) };
		t[1] = (CK_ATTRIBUTE){ CKA_ID, id, idlen };
		t[2] = (CK_ATTRIBUTE){ CKA_KEY_TYPE, &kt, sizeof(kt) };
		if ((rv = p11_find_objects(p->fl, s, t, 3, found, 2, &nf)) !=
		    CKR_OK)
			nf = 0;
	}
	if (nf > 1) {
		p11_errf(err, errlen, "%s: %s: several public keys have its "
		    "CKA_ID", p->tokdesc, p->objdesc);
		goto out;
	}
	if ((*pub = p11_pub_read(p->fl, s, nf == 1 ? found[0] : p->key, kt,
	    msg, sizeof(msg))) == NULL) {
		p11_errf(err, errlen, "%s: %s: %s", p->tokdesc, p->objdesc, msg);
		goto out;
	}
	if (kt == CKK_RSA)
		p->siglen = (size_t)EVP_PKEY_get_size(*pub);
	else
		p->siglen = 2 * (((size_t)EVP_PKEY_get_bits(*pub) + 7) / 8);
	rc = 0;
 out:
	free(id);
	return rc;
}

/* Load, find the token, open the sessions, log in, find the key. */
static int
connect_token(struct p11 *p, EVP_PKEY **pub, char *err, size_t errlen)
{
	CK_RV	 rv;
	char	 b[32];

	if ((p->fl = p11_mod_load(p->module, err, errlen)) == NULL)
		return -1;
	if (p11_find_slot(p->fl, p->uri, p->module, p->tokdesc, &p->slot, err,
	    errlen) == -1)
		goto fail;
	for (p->nopen = 0; p->nopen < p->nsessions; p->nopen++) {
		rv = p->fl->C_OpenSession(p->slot, CKF_SERIAL_SESSION, NULL,
		    NULL, &p->sess[p->nopen]);
		if (rv != CKR_OK) {
			p11_errf(err, errlen, "%s: C_OpenSession (%d of %d): %s",
			    p->tokdesc, p->nopen + 1, p->nsessions,
			    p11_ckr(rv, b, sizeof(b)));
			goto fail;
		}
	}
	if (p11_login(p->fl, p->sess[0], p->pin, p->tokdesc, err, errlen) == -1 ||
	    find_key(p, p->sess[0], pub, err, errlen) == -1)
		goto fail;
	return 0;
 fail:
	disconnect(p);
	return -1;
}

struct p11 *
p11_open(const char *module, const char *uri, const char *pin,
    int nsessions, char *err, size_t errlen)
{
	struct p11	*p;
	CK_ATTRIBUTE	*a;
	int		 r;

	if (module == NULL || *module == '\0') {
		p11_errf(err, errlen, "pkcs11_module is not set");
		return NULL;
	}
	if (nsessions < 1 || nsessions > P11_MAX_SESSIONS) {
		p11_errf(err, errlen, "pkcs11: %d sessions (1 to %d)", nsessions,
		    P11_MAX_SESSIONS);
		return NULL;
	}
	if (pin == NULL || strlen(pin) >= P11_PIN_MAX) {
		p11_errf(err, errlen, "pkcs11: no PIN, or one longer than %d",
		    P11_PIN_MAX - 1);
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->module = xstrdup(module);
	p->nsessions = nsessions;
	p->sess = xcalloc((size_t)nsessions, sizeof(*p->sess));
	p->pincap = strlen(pin) + 1;
	p->pin = xcalloc(1, p->pincap);
	p->pinlocked = mlock(p->pin, p->pincap) == 0;
	memcpy(p->pin, pin, p->pincap);
	if ((p->uri = p11_kit_uri_new()) == NULL) {
		p11_errf(err, errlen, "out of memory");
		goto fail;
	}
	if (uri == NULL || (r = p11_kit_uri_parse(uri,
	    P11_KIT_URI_FOR_OBJECT_ON_TOKEN, p->uri)) != P11_KIT_URI_OK) {
		p11_errf(err, errlen, "ca_key: not a PKCS#11 URI (RFC 7512): %s",
		    uri == NULL ? "none" : p11_kit_uri_message(r));
		goto fail;
	}
	if (p11_kit_uri_any_unrecognized(p->uri)) {
		p11_errf(err, errlen, "ca_key: the PKCS#11 URI has attributes "
		    "other than a token's and an object's");
		goto fail;
	}
	if ((a = p11_kit_uri_get_attribute(p->uri, CKA_CLASS)) != NULL &&
	    (a->ulValueLen != sizeof(CK_OBJECT_CLASS) ||
	    *(CK_OBJECT_CLASS *)a->pValue != CKO_PRIVATE_KEY)) {
		p11_errf(err, errlen, "ca_key: the PKCS#11 URI names an object "
		    "of a type other than type=private");
		goto fail;
	}
	p11_tok_describe(p->uri, p->tokdesc, sizeof(p->tokdesc));
	obj_describe(p->uri, p->objdesc, sizeof(p->objdesc));
	if (connect_token(p, &p->pub, err, errlen) == -1)
		goto fail;
	return p;
 fail:
	p11_close(p);
	return NULL;
}

EVP_PKEY *
p11_public(const struct p11 *p)
{
	return p->pub;
}

int
p11_sign(struct p11 *p, int i, const char *md, const unsigned char *digest,
    size_t dlen, unsigned char **sig, size_t *siglen, char *err,
    size_t errlen)
{
	CK_MECHANISM	 mech = { CKM_ECDSA, NULL, 0 };
	CK_SESSION_HANDLE s;
	CK_ULONG	 rawlen, half;
	CK_RV		 rv;
	ECDSA_SIG	*es = NULL;
	BIGNUM		*r = NULL, *bs = NULL;
	unsigned char	 in[19 + 64], *raw = NULL, *der = NULL, *q;
	char		 b[32];
	size_t		 inlen, k;
	int		 derlen, rc = -1;

	*sig = NULL;
	*siglen = 0;
	if (p->fl == NULL) {
		p11_errf(err, errlen, "%s: not connected", p->tokdesc);
		return P11_GONE;
	}
	if (i < 0 || i >= p->nopen) {
		p11_errf(err, errlen, "%s: no session %d", p->tokdesc, i);
		return -1;
	}
	s = p->sess[i];
	for (k = 0; k < sizeof(digestinfo) / sizeof(digestinfo[0]); k++)
		if (md != NULL && (strcasecmp(md, digestinfo[k].name) == 0 ||
		    strcasecmp(md, digestinfo[k].alt) == 0))
			break;
	if (k == sizeof(digestinfo) / sizeof(digestinfo[0]) ||
	    dlen != digestinfo[k].dlen) {
		p11_errf(err, errlen, "%s: %s: cannot sign a %zu-byte %s digest",
		    p->tokdesc, p->objdesc, dlen, md ? md : "(none)");
		return -1;
	}
	if (p->ktype == CKK_RSA) {
		mech.mechanism = CKM_RSA_PKCS;
		memcpy(in, digestinfo[k].prefix, sizeof(digestinfo[k].prefix));
		memcpy(in + sizeof(digestinfo[k].prefix), digest, dlen);
		inlen = sizeof(digestinfo[k].prefix) + dlen;
	} else {
		memcpy(in, digest, dlen);
		inlen = dlen;
	}
	if ((rv = p->fl->C_SignInit(s, &mech, p->key)) != CKR_OK) {
		p11_errf(err, errlen, "%s: %s: C_SignInit: %s", p->tokdesc,
		    p->objdesc, p11_ckr(rv, b, sizeof(b)));
		return is_gone(rv) ? P11_GONE : -1;
	}
	rawlen = p->siglen;
	raw = xcalloc(1, rawlen);
	rv = p->fl->C_Sign(s, in, inlen, raw, &rawlen);
	if (rv == CKR_BUFFER_TOO_SMALL) {
		free(raw);
		raw = xcalloc(1, rawlen);
		rv = p->fl->C_Sign(s, in, inlen, raw, &rawlen);
	}
	if (rv != CKR_OK) {
		p11_errf(err, errlen, "%s: %s: C_Sign: %s", p->tokdesc,
		    p->objdesc, p11_ckr(rv, b, sizeof(b)));
		rc = is_gone(rv) ? P11_GONE : -1;
		goto out;
	}
	if (p->ktype == CKK_RSA) {
		*sig = raw;
		*siglen = rawlen;
		raw = NULL;
		rc = 0;
		goto out;
	}
	/* CKM_ECDSA gives r||s, each as wide as the order. */
	half = rawlen / 2;
	if (rawlen == 0 || rawlen % 2 != 0 ||
	    (r = BN_bin2bn(raw, (int)half, NULL)) == NULL ||
	    (bs = BN_bin2bn(raw + half, (int)half, NULL)) == NULL ||
	    (es = ECDSA_SIG_new()) == NULL) {
		p11_errf(err, errlen, "%s: %s: C_Sign gave %lu bytes, not r||s",
		    p->tokdesc, p->objdesc, (unsigned long)rawlen);
		goto out;
	}
	ECDSA_SIG_set0(es, r, bs);
	r = bs = NULL;
	if ((derlen = i2d_ECDSA_SIG(es, NULL)) <= 0) {
		p11_errf(err, errlen, "%s: i2d_ECDSA_SIG failed", p->tokdesc);
		goto out;
	}
	der = q = xcalloc(1, (size_t)derlen);
	if (i2d_ECDSA_SIG(es, &q) != derlen) {
		p11_errf(err, errlen, "%s: i2d_ECDSA_SIG failed", p->tokdesc);
		goto out;
	}
	*sig = der;
	*siglen = (size_t)derlen;
	der = NULL;
	rc = 0;
 out:
	OPENSSL_cleanse(in, sizeof(in));
	free(raw);
	free(der);
	BN_free(r);
	BN_free(bs);
	ECDSA_SIG_free(es);
	return rc;
}

int
p11_reopen(struct p11 *p, char *err, size_t errlen)
{
	EVP_PKEY	*pub = NULL;
	int		 rc = -1;

	disconnect(p);
	if (connect_token(p, &pub, err, errlen) == -1)
		goto out;
	if (EVP_PKEY_eq(pub, p->pub) != 1) {
		p11_errf(err, errlen, "%s: %s: its public key is not the one "
		    "opened before", p->tokdesc, p->objdesc);
		disconnect(p);
		goto out;
	}
	rc = 0;
 out:
	EVP_PKEY_free(pub);
	return rc;
}

void
p11_close(struct p11 *p)
{
	if (p == NULL)
		return;
	disconnect(p);
	if (p->pin != NULL) {
		OPENSSL_cleanse(p->pin, p->pincap);
		if (p->pinlocked)
			munlock(p->pin, p->pincap);
		free(p->pin);
	}
	if (p->uri != NULL)
		p11_kit_uri_free(p->uri);
	EVP_PKEY_free(p->pub);
	free(p->sess);
	free(p->module);
	free(p);
}
