/*
 * p11_local.h: what p11.c shares with p11_ceremony.c and p11_pub.c only
 * (module loading, token lookup, login, object search, attributes and
 * public keys, error texts).  Not for other files: they use p11.h.
 */
#ifndef P11_LOCAL_H
#define P11_LOCAL_H

#include <openssl/evp.h>

#include <p11-kit/pkcs11.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/uri.h>

#define P11_PIN_MAX	256	/* bytes of a PIN, with its NUL */
#define P11_ID_LEN	16	/* CKA_ID of a generated key */

extern CK_BBOOL	 p11_true, p11_false;

/* The name of a PKCS#11 return value ("CKR_PIN_INCORRECT"), or
 * "CKR 0x..." written into buf. */
const char	*p11_ckr(CK_RV rv, char *buf, size_t len);
void		 p11_errf(char *err, size_t errlen, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* Load and initialize module (managed by p11-kit); NULL with err. */
CK_FUNCTION_LIST *p11_mod_load(const char *module, char *err,
		    size_t errlen);
void		 p11_mod_unload(CK_FUNCTION_LIST *fl);	/* NULL is fine */
/* "token \"LABEL\"" (or its serial, or "any token") from a parsed URI. */
void		 p11_tok_describe(P11KitUri *u, char *out, size_t len);
/* The one initialized token in fl matching u; 0 or -1 with err. */
int		 p11_find_slot(CK_FUNCTION_LIST *fl, P11KitUri *u,
		    const char *module, const char *tokdesc, CK_SLOT_ID *slot,
		    char *err, size_t errlen);
/* C_Login as CKU_USER (already logged in is fine); 0 or -1 with err. */
int		 p11_login(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE s,
		    const char *pin, const char *tokdesc, char *err,
		    size_t errlen);
/* Up to max objects matching t; their count in *nfound; a CKR_ value. */
CK_RV		 p11_find_objects(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE s,
		    CK_ATTRIBUTE *t, CK_ULONG nt, CK_OBJECT_HANDLE *found,
		    CK_ULONG max, CK_ULONG *nfound);

/* ---- p11_pub.c ---- */

/* Attribute type of obj into a malloc'd *val; a CKR_ value. */
CK_RV		 p11_get_attr(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE s,
		    CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type,
		    unsigned char **val, CK_ULONG *len);
/* The public half of a key of type kt (CKK_RSA or CKK_EC) read from the
 * attributes of object src (the public key object, or the private key
 * itself); NULL with err. */
EVP_PKEY	*p11_pub_read(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE s,
		    CK_OBJECT_HANDLE src, CK_KEY_TYPE kt, char *err,
		    size_t errlen);

#endif
