/*
 * p11_ceremony.c: the key ceremony in a PKCS#11 token -- a new CA key made
 * by C_GenerateKeyPair inside the token, sensitive and non-extractable,
 * named by the RFC 7512 URI written for the configuration -- and the PIN
 * file, read only when it is a regular file of ours that no one else can
 * read.
 * Failure policy: nothing here aborts except on memory exhaustion; every
 * refusal or failure is returned with one sentence in err naming the
 * token, the key or the file, the rule, and the PKCS#11 return value by
 * name.  A key the module did not make non-extractable is destroyed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "extern.h"
#include "p11.h"
#include "p11_local.h"

/* DER OBJECT IDENTIFIER secp384r1 (1.3.132.0.34), CKA_EC_PARAMS. */
static const unsigned char oid_p384[] = {
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22
};

/* The URI of the new private key (label, id) on token tok into uri. */
static int
gen_uri(const char *tok, const char *label, const unsigned char *id,
    char *uri, size_t urilen, char *err, size_t errlen)
{
	P11KitUri	*u;
	CK_TOKEN_INFO	*ti;
	CK_OBJECT_CLASS	 cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE	 a[3] = {
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, (void *)id, P11_ID_LEN },
		{ CKA_CLASS, &cls, sizeof(cls) },
	};
	char		*s = NULL;
	int		 rc = -1;

	if ((u = p11_kit_uri_new()) == NULL) {
		p11_errf(err, errlen, "out of memory");
		return -1;
	}
	ti = p11_kit_uri_get_token_info(u);
	memset(ti->label, ' ', sizeof(ti->label));
	memcpy(ti->label, tok, strlen(tok));
	if (p11_kit_uri_set_attributes(u, a, 3) != P11_KIT_URI_OK ||
	    p11_kit_uri_format(u, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &s) !=
	    P11_KIT_URI_OK) {
		p11_errf(err, errlen, "cannot format the key's PKCS#11 URI");
		goto out;
	}
	if (strlen(s) >= urilen) {
		p11_errf(err, errlen, "the key's PKCS#11 URI is longer than %zu",
		    urilen - 1);
		goto out;
	}
	memcpy(uri, s, strlen(s) + 1);
	rc = 0;
 out:
	free(s);
	p11_kit_uri_free(u);
	return rc;
}

int
p11_generate(const char *module, const char *token_label, const char *pin,
    const char *label, const char *alg, char *uri, size_t urilen, char *err,
    size_t errlen)
{
	CK_FUNCTION_LIST *fl = NULL;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_SLOT_ID	 slot;
	CK_OBJECT_HANDLE pubh, privh, found[1];
	CK_MECHANISM	 mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ULONG	 bits = 4096, nf, npubt = 0, nprivt = 0;
	CK_BBOOL	 sens = CK_FALSE, extr = CK_TRUE;
	CK_ATTRIBUTE	 pubt[10], privt[12], chk[2], lt[1];
	CK_RV		 rv;
	P11KitUri	*u = NULL;
	CK_TOKEN_INFO	*ti;
	unsigned char	 id[P11_ID_LEN], e[3] = { 0x01, 0x00, 0x01 };
	char		 tokdesc[80], b[32];
	int		 rsa, rc = -1;

	if (alg != NULL && strcmp(alg, "rsa3072") == 0) {
		p11_errf(err, errlen, "rsa3072: S/MIME BR 6.1.5 (ballot SMC017v2): "
		    "a new RSA CA key must be at least 4096 bits; use p384 "
		    "or rsa4096");
		return -1;
	}
	if (alg == NULL || (strcmp(alg, "p384") != 0 &&
	    strcmp(alg, "rsa4096") != 0)) {
		p11_errf(err, errlen, "%s: unknown CA key algorithm (p384 or "
		    "rsa4096)", alg ? alg : "(none)");
		return -1;
	}
	rsa = strcmp(alg, "rsa4096") == 0;
	if (token_label == NULL || *token_label == '\0' ||
	    strlen(token_label) > 32 || label == NULL || *label == '\0' ||
	    strlen(label) > 128) {
		p11_errf(err, errlen, "pkcs11: a token label of 1 to 32 bytes "
		    "and a key label of 1 to 128 bytes are needed");
		return -1;
	}
	if (module == NULL || pin == NULL) {
		p11_errf(err, errlen, "pkcs11: no module or no PIN");
		return -1;
	}
	if ((u = p11_kit_uri_new()) == NULL) {
		p11_errf(err, errlen, "out of memory");
		return -1;
	}
	ti = p11_kit_uri_get_token_info(u);
	memset(ti->label, ' ', sizeof(ti->label));
	memcpy(ti->label, token_label, strlen(token_label));
	p11_tok_describe(u, tokdesc, sizeof(tokdesc));
	if ((fl = p11_mod_load(module, err, errlen)) == NULL ||
	    p11_find_slot(fl, u, module, tokdesc, &slot, err, errlen) == -1)
		goto out;
	if ((rv = fl->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &s)) != CKR_OK) {
		s = CK_INVALID_HANDLE;
		p11_errf(err, errlen, "%s: C_OpenSession: %s", tokdesc,
		    p11_ckr(rv, b, sizeof(b)));
		goto out;
	}
	if (p11_login(fl, s, pin, tokdesc, err, errlen) == -1)
		goto out;
	lt[0] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
	if ((rv = p11_find_objects(fl, s, lt, 1, found, 1, &nf)) != CKR_OK) {
		p11_errf(err, errlen, "%s: C_FindObjects: %s", tokdesc,
		    p11_ckr(rv, b, sizeof(b)));
		goto out;
	}
	if (nf > 0) {
		p11_errf(err, errlen, "%s: an object labelled \"%s\" exists "
		    "already", tokdesc, label);
		goto out;
	}
	rnd_bytes(id, sizeof(id));
#define A(t, type, v, l)	(t)[n##t++] = (CK_ATTRIBUTE){ type, v, l }
	A(pubt, CKA_TOKEN, &p11_true, sizeof(CK_BBOOL));
	A(pubt, CKA_VERIFY, &p11_true, sizeof(CK_BBOOL));
	A(pubt, CKA_LABEL, (void *)label, strlen(label));
	A(pubt, CKA_ID, id, sizeof(id));
	A(privt, CKA_TOKEN, &p11_true, sizeof(CK_BBOOL));
	A(privt, CKA_PRIVATE, &p11_true, sizeof(CK_BBOOL));
	A(privt, CKA_SENSITIVE, &p11_true, sizeof(CK_BBOOL));
	A(privt, CKA_EXTRACTABLE, &p11_false, sizeof(CK_BBOOL));
	A(privt, CKA_SIGN, &p11_true, sizeof(CK_BBOOL));
	A(privt, CKA_LABEL, (void *)label, strlen(label));
	A(privt, CKA_ID, id, sizeof(id));
	if (rsa) {
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		A(pubt, CKA_MODULUS_BITS, &bits, sizeof(bits));
		A(pubt, CKA_PUBLIC_EXPONENT, e, sizeof(e));
		A(pubt, CKA_ENCRYPT, &p11_false, sizeof(CK_BBOOL));
		A(privt, CKA_DECRYPT, &p11_false, sizeof(CK_BBOOL));
	} else {
		A(pubt, CKA_EC_PARAMS, (void *)oid_p384, sizeof(oid_p384));
		A(privt, CKA_DERIVE, &p11_false, sizeof(CK_BBOOL));
	}
#undef A
	if ((rv = fl->C_GenerateKeyPair(s, &mech, pubt, npubt, privt, nprivt,
	    &pubh, &privh)) != CKR_OK) {
		p11_errf(err, errlen, "%s: C_GenerateKeyPair %s \"%s\": %s",
		    tokdesc, alg, label, p11_ckr(rv, b, sizeof(b)));
		goto out;
	}
	/* A module may ignore a template; the key must not be exportable. */
	chk[0] = (CK_ATTRIBUTE){ CKA_SENSITIVE, &sens, sizeof(sens) };
	chk[1] = (CK_ATTRIBUTE){ CKA_EXTRACTABLE, &extr, sizeof(extr) };
	if ((rv = fl->C_GetAttributeValue(s, privh, chk, 2)) != CKR_OK ||
	    sens != CK_TRUE || extr != CK_FALSE) {
		p11_errf(err, errlen, "%s: the new key \"%s\" is not sensitive "
		    "and non-extractable (%s); destroyed", tokdesc, label,
		    p11_ckr(rv, b, sizeof(b)));
		fl->C_DestroyObject(s, privh);
		fl->C_DestroyObject(s, pubh);
		goto out;
	}
	if (gen_uri(token_label, label, id, uri, urilen, err, errlen) == -1) {
		/* No one could name the key: do not leave it behind. */
		fl->C_DestroyObject(s, privh);
		fl->C_DestroyObject(s, pubh);
		goto out;
	}
	rc = 0;
 out:
	if (s != CK_INVALID_HANDLE)
		fl->C_CloseSession(s);
	p11_mod_unload(fl);
	if (u != NULL)
		p11_kit_uri_free(u);
	return rc;
}

char *
p11_pin_read(const char *pin_file, char *err, size_t errlen)
{
	struct stat	 st;
	char		 buf[P11_PIN_MAX + 1], *pin = NULL, *nl;
	const char	*env;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd = -1;

	if (pin_file == NULL || *pin_file == '\0') {
		if ((env = getenv("CERTSPOOL_PKCS11_PIN")) == NULL ||
		    *env == '\0') {
			p11_errf(err, errlen, "no pkcs11_pin_file and "
			    "CERTSPOOL_PKCS11_PIN is not set");
			return NULL;
		}
		if (strlen(env) >= P11_PIN_MAX) {
			p11_errf(err, errlen, "CERTSPOOL_PKCS11_PIN: longer than "
			    "%d bytes", P11_PIN_MAX - 1);
			return NULL;
		}
		return xstrdup(env);
	}
	if ((fd = open(pin_file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		if (errno == ELOOP)
			p11_errf(err, errlen, "%s: a symbolic link; the PIN file "
			    "must be a regular file", pin_file);
		else
			p11_errf(err, errlen, "%s: %s", pin_file, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		p11_errf(err, errlen, "%s: %s", pin_file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		p11_errf(err, errlen, "%s: not a regular file", pin_file);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		p11_errf(err, errlen, "%s: owned by uid %lu, not by uid %lu",
		    pin_file, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		p11_errf(err, errlen, "%s: mode %04o; it must be 0600", pin_file,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (len < sizeof(buf) - 1) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			p11_errf(err, errlen, "%s: %s", pin_file, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if ((nl = memchr(buf, '\n', len)) != NULL) {
		if (nl[1] != '\0') {
			p11_errf(err, errlen, "%s: more than one line", pin_file);
			goto out;
		}
		*nl = '\0';
		len = (size_t)(nl - buf);
	}
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0 || len >= P11_PIN_MAX || strlen(buf) != len) {
		p11_errf(err, errlen, "%s: %s", pin_file, len == 0 ? "empty" :
		    "not a PIN of at most 255 bytes on one line");
		goto out;
	}
	pin = xstrdup(buf);
 out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (fd != -1)
		close(fd);
	return pin;
}
