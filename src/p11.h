/*
 * p11.h: the CA key in a PKCS#11 token (RFC 7512 URIs; p11-kit's pkcs11.h
 * and module loading).  Used only by the signer process (keyproc.c) and the
 * key ceremonies (init --hsm, ca import, ca show, ca rollover).  p11.c opens
 * and signs; p11_ceremony.c has p11_generate and p11_pin_read.
 */
#ifndef P11_H
#define P11_H

#include <stddef.h>
#include <openssl/evp.h>

struct p11;

/* 1 if s starts with "pkcs11:" (case-insensitive scheme). */
int	 p11_is_uri(const char *s);

/*
 * Load module (a path; p11_kit_module_load + p11_kit_module_initialize),
 * find the one token matching uri's token attributes (token=, manufacturer=,
 * serial=, model=, slot-id=), open nsessions read-only sessions, log in
 * once (CKU_USER) with pin, find the one private key matching object=/id=
 * (CKO_PRIVATE_KEY, CKA_SIGN) and read its public half (the CKO_PUBLIC_KEY
 * with the same CKA_ID, else CKA_MODULUS/CKA_PUBLIC_EXPONENT or
 * CKA_EC_PARAMS/CKA_EC_POINT of the private object).  NULL with err (one
 * sentence naming the module, the token or the object, and the PKCS#11
 * return value by name, e.g. "CKR_PIN_INCORRECT") on failure.  The pin is
 * kept (mlock'd, wiped in p11_close) for p11_reopen.
 */
struct p11	*p11_open(const char *module, const char *uri, const char *pin,
		    int nsessions, char *err, size_t errlen);
/* The key's public half (owned by p; do not free; the same pointer
 * across p11_reopen).  Its kind: EVP_PKEY_get_base_id(). */
EVP_PKEY	*p11_public(const struct p11 *p);
/*
 * Sign digest (dlen bytes of hash md: "SHA256", "SHA384", "SHA512", or
 * OpenSSL's names "SHA2-256", "SHA2-384", "SHA2-512") on
 * session i (0 <= i < nsessions; each thread uses its own i).  RSA:
 * CKM_RSA_PKCS over the DER DigestInfo of md; EC: CKM_ECDSA over the
 * digest, the raw r||s re-encoded as a DER ECDSA-Sig-Value.  *sig malloc'd.
 * Returns 0, -1 on a refusal or error (err set), or P11_GONE when the token
 * or session went away (CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_REMOVED,
 * CKR_DEVICE_ERROR, CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED,
 * CKR_USER_NOT_LOGGED_IN, CKR_CRYPTOKI_NOT_INITIALIZED,
 * CKR_TOKEN_NOT_RECOGNIZED, and CKR_KEY_HANDLE_INVALID /
 * CKR_OBJECT_HANDLE_INVALID: SoftHSM answers the latter when its token
 * directory has gone, and a handle from before a token came back is
 * stale), or when the last p11_reopen failed: the caller then calls
 * p11_reopen (from one thread, with no p11_sign running) and retries;
 * p11_reopen fails with a clear error while the token or key is missing.
 */
#define P11_GONE	(-2)
int	 p11_sign(struct p11 *p, int i, const char *md,
	    const unsigned char *digest, size_t dlen, unsigned char **sig,
	    size_t *siglen, char *err, size_t errlen);
/* Close the sessions, finalize and reload the module, log in again, find
 * the key again (its public half must be unchanged).  0 or -1 with err. */
int	 p11_reopen(struct p11 *p, char *err, size_t errlen);
void	 p11_close(struct p11 *p);

/*
 * Key ceremony: on the initialized token labelled token_label, log in with
 * pin and C_GenerateKeyPair a new signing key alg ("p384" or "rsa4096";
 * anything else refused) labelled label with a fresh random 16-byte CKA_ID:
 * private CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_EXTRACTABLE false,
 * CKA_SIGN; public CKA_TOKEN, CKA_VERIFY.  Refuses when an object with that
 * label exists.  Writes the RFC 7512 URI of the private key
 * ("pkcs11:token=...;object=...;id=%..;type=private", percent-encoded) to
 * uri.  0 or -1 with err.
 */
int	 p11_generate(const char *module, const char *token_label,
	    const char *pin, const char *label, const char *alg, char *uri,
	    size_t urilen, char *err, size_t errlen);

/*
 * The PIN for a token: the file pin_file (must be a regular file, not a
 * link, owned by us, mode 0600 or stricter -- refused otherwise, naming
 * the mode; one line, trailing newline dropped), or when pin_file is empty
 * the environment variable CERTSPOOL_PKCS11_PIN.  malloc'd, or NULL with
 * err.
 */
char	*p11_pin_read(const char *pin_file, char *err, size_t errlen);

#endif
