/*
 * ca_ceremony.h: key ceremonies for an issuing CA key in a PKCS#11 token
 * (ca_ceremony.c): init --hsm, ca import of a token key, ca show.
 */
#ifndef CA_CEREMONY_H
#define CA_CEREMONY_H

#include <stdio.h>

#include "extern.h"

/*
 * init --hsm, step 1, before anything is written: read the PIN (pin_file,
 * mode 0600 or stricter, or CERTSPOOL_PKCS11_PIN when pin_file is NULL
 * or empty) and generate a non-extractable signing key alg ("p384",
 * "rsa4096") labelled "certspool-issuing-<UTC time>-<6 hex digits>" in
 * the token
 * labelled token of module.  uri gets the key's RFC 7512 URI.  -1 with
 * err (the token's answer by name, e.g. CKR_PIN_INCORRECT) otherwise.
 */
int	 ceremony_generate(const char *module, const char *token,
	    const char *pin_file, const char *alg, char *uri, size_t urilen,
	    char *err, size_t errlen);
/*
 * init --hsm, step 2: in ca_dir the demo root (a file key) and the issuing
 * CA certificate it signs for the token key uri's public half: root.pem,
 * root.key, ca.pem, chain.pem, no ca.key.  Then the config file confpath
 * gets ca_key = uri, pkcs11_module and pkcs11_pin_file (absolute paths).
 */
int	 ceremony_demo_ca(const char *ca_dir, const char *confpath,
	    const char *module, const char *uri, const char *pin_file,
	    char *err, size_t errlen);
/*
 * ca import CERT pkcs11:URI [CHAIN]: adopt the token key uri as issuing CA
 * key after checking that certfile's public key is the token key's and
 * the ca_import checks (ca.c); writes ca.pem and chain.pem in conf's
 * ca_dir and the three key lines in its config file.  module and pin_file
 * NULL: the config's pkcs11_module and pkcs11_pin_file.  warn as ca_import.
 */
int	 ceremony_import(const struct conf *conf, const char *certfile,
	    const char *uri, const char *chainfile, const char *module,
	    const char *pin_file, char *warn, size_t warnlen, char *err,
	    size_t errlen);
/*
 * ca show: where the issuing CA key lives (a file and its mode, or the
 * token URI, module and token attributes, and whether the token key is
 * there and is ca.pem's), its algorithm and size, and each certificate of
 * the chain.  Returns 0, or -1 with err when the chain cannot be read or
 * the key is missing or not ca.pem's (what could be printed is printed).
 */
int	 ceremony_show(const struct conf *conf, FILE *out, char *err,
	    size_t errlen);
/* The public half of the token key uri (module, PIN from pin_file or
 * the environment), or NULL with err (ca rollover). */
EVP_PKEY *ceremony_token_public(const char *module, const char *uri,
	    const char *pin_file, char *err, size_t errlen);
/* Rewrite the config file path with these ca_key, pkcs11_module and
 * pkcs11_pin_file lines ("" for an empty value); other lines kept. */
int	 ceremony_conf_key(const char *path, const char *ca_key,
	    const char *module, const char *pin_file, char *err,
	    size_t errlen);

#endif
