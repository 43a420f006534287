/*
 * ca_ceremony.c: key ceremonies for an issuing CA key held in a PKCS#11
 * token (p11.h).  `certspool init --hsm` generates the key inside the
 * token (non-extractable, p11_generate) and has the demo root (a file key,
 * as for a file CA) sign the issuing CA certificate for the token's public
 * key; `certspool ca import CERT pkcs11:URI` adopts a key already in a
 * token once the certificate's public key is the token key's; `certspool
 * ca show` says where the key lives, its algorithm and the chain.  Both
 * ceremonies end by setting ca_key, pkcs11_module and pkcs11_pin_file in
 * the config file, which the signer process reads.
 *
 * Failure policy: a refusal or error is one sentence in err.  CA files are
 * created with O_EXCL and removed again if a later one fails (ca.c); the
 * config file is rewritten atomically, and only once the CA files are in
 * place.  A key generated in the token stays there if a later step fails
 * (the message names it): nothing here destroys a token object.  The PIN
 * is wiped from memory after use.
 */

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "extern.h"
#include "ca.h"
#include "ca_ceremony.h"
#include "p11.h"

#define CONF_MAX	(1024 * 1024)
#define PEM_MAX		(1024 * 1024)

static void
pin_free(char *pin)
{
	if (pin == NULL)
		return;
	OPENSSL_cleanse(pin, strlen(pin));
	free(pin);
}

/* The public half of the token key uri (a new reference), or NULL. */
static EVP_PKEY *
token_public(const char *module, const char *uri, const char *pin_file,
    char *err, size_t errlen)
{
	struct p11	*p = NULL;
	EVP_PKEY	*pub = NULL;
	char		*pin;

	if ((pin = p11_pin_read(pin_file != NULL ? pin_file : "", err,
	    errlen)) == NULL)
		return NULL;
	if ((p = p11_open(module, uri, pin, 1, err, errlen)) != NULL) {
		pub = p11_public(p);
		if (pub == NULL || !EVP_PKEY_up_ref(pub)) {
			snprintf(err, errlen, "%s: no public key for %s",
			    module, uri);
			pub = NULL;
		}
	}
	p11_close(p);
	pin_free(pin);
	return pub;
}

/* The first certificate of a PEM file, or NULL with err. */
static X509 *
read_cert(const char *path, char *err, size_t errlen)
{
	unsigned char	*buf = NULL;
	size_t		 len;
	BIO		*bio;
	X509		*x = NULL;

	if (fs_read_file(path, PEM_MAX, &buf, &len) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) != NULL)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(buf);
	if (x == NULL)
		snprintf(err, errlen, "%s: no PEM certificate", path);
	return x;
}

/* path in out, made absolute against the working directory when it is
 * relative (the file must exist; an absolute path is kept as given, so
 * a module's symbolic link keeps following package updates). */
static int
abs_path(const char *path, char *out, size_t outlen, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		 r[PATH_MAX];

	if (path[0] == '/') {
		if (stat(path, &st) == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		snprintf(r, sizeof(r), "%s", path);
	} else if (realpath(path, r) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((size_t)snprintf(out, outlen, "%s", r) >= outlen) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	return 0;
}

/* Append "key = "value"" to b; a value with '"' or a line break is not
 * representable in the config and refused. */
static int
conf_line(struct buf *b, const char *key, const char *value, char *err,
    size_t errlen)
{
	if (strpbrk(value, "\"\n\r#") != NULL) {
		snprintf(err, errlen, "%s: \"%s\" cannot be written to the "
		    "config", key, value);
		return -1;
	}
	buf_addf(b, "%s = \"%s\"\n", key, value);
	return 0;
}

/*
 * Rewrite the config file path with ca_key = uri, pkcs11_module = module,
 * pkcs11_pin_file = pin_file (each replacing the key's line, or appended
 * when the file has none); comments and other lines are kept.
 */
static int
conf_set_token(const char *path, const char *uri, const char *module,
    const char *pin_file, char *err, size_t errlen)
{
	static const char *const keys[] = { "ca_key", "pkcs11_module",
	    "pkcs11_pin_file" };
	const char	*vals[3];
	unsigned char	*text = NULL;
	char		*line, *next, *dir = NULL, *slash;
	struct buf	 out = { 0 };
	struct stat	 st;
	size_t		 len, i, klen;
	int		 done[3] = { 0, 0, 0 }, rc = -1;
	const char	*p;

	vals[0] = uri;
	vals[1] = module;
	vals[2] = pin_file;
	if (stat(path, &st) == -1 || fs_read_file(path, CONF_MAX, &text,
	    &len) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (line = (char *)text; line != NULL && *line != '\0';
	    line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			continue;
		for (i = 0; i < 3; i++) {
			klen = strlen(keys[i]);
			if (strncmp(p, keys[i], klen) == 0 &&
			    p[klen + strspn(p + klen, " \t")] == '=')
				break;
		}
		if (i < 3) {
			if (done[i]++ == 0 && conf_line(&out, keys[i],
			    vals[i], err, errlen) == -1)
				goto out;
			continue;
		}
		buf_addf(&out, "%s\n", line);
	}
	for (i = 0; i < 3; i++)
		if (!done[i] && conf_line(&out, keys[i], vals[i], err,
		    errlen) == -1)
			goto out;
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if (fs_write_atomic_path(slash != NULL ? (*dir != '\0' ? dir : "/") :
	    ".", slash != NULL ? slash + 1 : path, out.p, out.len,
	    st.st_mode & 07777) == -1) {
		snprintf(err, errlen, "%s: cannot rewrite: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
 out:
	free(text);
	free(dir);
	buf_free(&out);
	return rc;
}

int
ceremony_generate(const char *module, const char *token,
    const char *pin_file, const char *alg, char *uri, size_t urilen,
    char *err, size_t errlen)
{
	char		 label[64], t[32], *pin;
	unsigned char	 r[3];
	struct tm	 tm;
	time_t		 now = clock_now();
	int		 rc;

	if (ca_keyalg(alg, err, errlen) == -1)
		return -1;
	if (alg == NULL || *alg == '\0')
		alg = "p384";
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(t, sizeof(t), "%Y%m%dT%H%M%SZ", &tm) == 0) {
		snprintf(err, errlen, "cannot format the time");
		return -1;
	}
	/* the time, and 24 random bits: two ceremonies in a second differ */
	rnd_bytes(r, sizeof(r));
	snprintf(label, sizeof(label), "certspool-issuing-%s-%02x%02x%02x", t,
	    r[0], r[1], r[2]);
	if ((pin = p11_pin_read(pin_file != NULL ? pin_file : "", err,
	    errlen)) == NULL)
		return -1;
	rc = p11_generate(module, token, pin, label, alg, uri, urilen, err,
	    errlen);
	pin_free(pin);
	return rc;
}

int
ceremony_demo_ca(const char *ca_dir, const char *confpath,
    const char *module, const char *uri, const char *pin_file, char *err,
    size_t errlen)
{
	EVP_PKEY	*pub = NULL;
	X509		*ca = NULL;
	char		 path[PATH_MAX], amod[PATH_MAX], apin[PATH_MAX], e[512];
	int		 rc = -1;

	apin[0] = '\0';
	if (abs_path(module, amod, sizeof(amod), err, errlen) == -1 ||
	    (pin_file != NULL && *pin_file != '\0' && abs_path(pin_file,
	    apin, sizeof(apin), err, errlen) == -1))
		return -1;
	if ((pub = token_public(amod, uri, pin_file, e, sizeof(e))) == NULL) {
		snprintf(err, errlen, "%s (the key %s stays in the token)", e,
		    uri);
		return -1;
	}
	if (ca_init_demo_pub(ca_dir, pub, e, sizeof(e)) == -1) {
		snprintf(err, errlen, "%s (the key %s stays in the token)", e,
		    uri);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/ca.pem", ca_dir);
	if ((ca = read_cert(path, err, errlen)) == NULL)
		goto out;
	if (EVP_PKEY_eq(X509_get0_pubkey(ca), pub) != 1) {
		snprintf(err, errlen, "%s: its public key is not the token "
		    "key's", path);
		goto out;
	}
	if (conf_set_token(confpath, uri, amod, apin, err, errlen) == -1)
		goto out;
	rc = 0;
 out:
	X509_free(ca);
	EVP_PKEY_free(pub);
	return rc;
}

int
ceremony_import(const struct conf *conf, const char *certfile,
    const char *uri, const char *chainfile, const char *module,
    const char *pin_file, char *warn, size_t warnlen, char *err,
    size_t errlen)
{
	EVP_PKEY	*pub = NULL;
	X509		*cert = NULL;
	char		 amod[PATH_MAX], apin[PATH_MAX];
	int		 rc = -1;

	if (module == NULL || *module == '\0')
		module = conf->pkcs11_module;
	if (pin_file == NULL)
		pin_file = conf->pkcs11_pin_file;
	if (module == NULL || *module == '\0') {
		snprintf(err, errlen, "%s: no PKCS#11 module: give --module "
		    "or set pkcs11_module", uri);
		return -1;
	}
	apin[0] = '\0';
	if (abs_path(module, amod, sizeof(amod), err, errlen) == -1 ||
	    (pin_file != NULL && *pin_file != '\0' && abs_path(pin_file,
	    apin, sizeof(apin), err, errlen) == -1))
		return -1;
	if ((cert = read_cert(certfile, err, errlen)) == NULL)
		return -1;
	if ((pub = token_public(amod, uri, pin_file, err, errlen)) == NULL)
		goto out;
	if (EVP_PKEY_eq(X509_get0_pubkey(cert), pub) != 1) {
		snprintf(err, errlen, "%s: the certificate's public key is not "
		    "the token key %s; refusing it", certfile, uri);
		goto out;
	}
	if (ca_import_pub(conf->ca_dir, certfile, pub, chainfile, warn,
	    warnlen, err, errlen) == -1)
		goto out;
	if (conf_set_token(conf->path, uri, amod, apin, err, errlen) == -1)
		goto out;
	rc = 0;
 out:
	X509_free(cert);
	EVP_PKEY_free(pub);
	return rc;
}

EVP_PKEY *
ceremony_token_public(const char *module, const char *uri,
    const char *pin_file, char *err, size_t errlen)
{
	return token_public(module, uri, pin_file, err, errlen);
}

int
ceremony_conf_key(const char *path, const char *ca_key, const char *module,
    const char *pin_file, char *err, size_t errlen)
{
	return conf_set_token(path, ca_key, module != NULL ? module : "",
	    pin_file != NULL ? pin_file : "", err, errlen);
}

/* ---- ca show ---- */

/* "ECDSA P-384" or "RSA 4096 bits" (or the key type's name). */
static void
key_desc(EVP_PKEY *k, char *out, size_t len)
{
	char	 g[64];

	if (EVP_PKEY_is_a(k, "EC") && EVP_PKEY_get_group_name(k, g,
	    sizeof(g), NULL))
		snprintf(out, len, "ECDSA %s (%d bits)", strcmp(g,
		    "secp384r1") == 0 ? "P-384" : strcmp(g, "prime256v1") ==
		    0 ? "P-256" : g, EVP_PKEY_get_bits(k));
	else if (EVP_PKEY_is_a(k, "RSA"))
		snprintf(out, len, "RSA %d bits", EVP_PKEY_get_bits(k));
	else
		snprintf(out, len, "%s %d bits", EVP_PKEY_get0_type_name(k),
		    EVP_PKEY_get_bits(k));
}

static void
show_time(FILE *out, const char *what, const ASN1_TIME *t)
{
	struct tm	 tm;
	char		 buf[32];

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(t, &tm) == 1) {
		time_fmt(timegm(&tm), buf, sizeof(buf));
		fprintf(out, "    %s: %s\n", what, buf);
	} else
		fprintf(out, "    %s: (unreadable)\n", what);
}

static void
show_name(FILE *out, const char *what, const X509_NAME *name)
{
	BIO	*bio;
	char	*p;
	long	 n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 &
	    ~ASN1_STRFLGS_ESC_MSB) >= 0 && (n = BIO_get_mem_data(bio,
	    &p)) >= 0)
		fprintf(out, "    %s: %.*s\n", what, (int)n, p);
	BIO_free(bio);
}

static void
show_cert(FILE *out, int i, X509 *x)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 n = 0, j;
	char		 kd[96];

	fprintf(out, "  [%d]\n", i);
	show_name(out, "subject", X509_get_subject_name(x));
	show_name(out, "issuer", X509_get_issuer_name(x));
	show_time(out, "notBefore", X509_get0_notBefore(x));
	show_time(out, "notAfter", X509_get0_notAfter(x));
	key_desc(X509_get0_pubkey(x), kd, sizeof(kd));
	fprintf(out, "    key: %s\n", kd);
	if (X509_digest(x, EVP_sha256(), md, &n) == 1) {
		fprintf(out, "    sha256: ");
		for (j = 0; j < n; j++)
			fprintf(out, "%02X%s", md[j], j + 1 < n ? ":" : "\n");
	}
}

/* Print the attributes of an RFC 7512 URI's path, percent-decoded but
 * for id (binary: kept as %XX). */
static void
show_uri_attrs(FILE *out, const char *uri)
{
	const char	*p, *end, *eq;
	char		 v[256];
	size_t		 n;
	unsigned int	 c;
	int		 raw;

	p = uri + strlen("pkcs11:");
	while (*p != '\0' && *p != '?') {
		end = p + strcspn(p, ";?");
		if ((eq = memchr(p, '=', (size_t)(end - p))) != NULL) {
			raw = eq - p == 2 && strncmp(p, "id", 2) == 0;
			for (n = 0, eq++; eq < end && n + 4 < sizeof(v); eq++) {
				if (!raw && *eq == '%' && end - eq >= 3 &&
				    sscanf(eq + 1, "%2x", &c) == 1) {
					if (c >= 0x20 && c < 0x7f)
						v[n++] = (char)c;
					else
						n += snprintf(v + n,
						    sizeof(v) - n, "%%%02X", c);
					eq += 2;
				} else
					v[n++] = *eq;
			}
			v[n] = '\0';
			fprintf(out, "  %.*s: %s\n", (int)(strchr(p, '=') - p),
			    p, v);
		}
		p = *end == ';' ? end + 1 : end;
	}
}

int
ceremony_show(const struct conf *conf, FILE *out, char *err, size_t errlen)
{
	unsigned char	*buf = NULL;
	size_t		 len;
	char		 path[PATH_MAX], kd[96], e[512];
	const char	*key = conf->ca_key;
	STACK_OF(X509_INFO) *infos = NULL;
	X509		*ca = NULL;
	EVP_PKEY	*pub = NULL;
	BIO		*bio = NULL;
	struct stat	 st;
	int		 i, n = 0, rc = -1;

	if (errlen > 0)
		*err = '\0';
	snprintf(path, sizeof(path), "%s/ca.pem", conf->ca_dir);
	if ((ca = read_cert(path, err, errlen)) == NULL)
		return -1;
	key_desc(X509_get0_pubkey(ca), kd, sizeof(kd));
	fprintf(out, "issuing CA: %s\n", path);
	if (key != NULL && p11_is_uri(key)) {
		fprintf(out, "key: in a PKCS#11 token\n  uri: %s\n", key);
		show_uri_attrs(out, key);
		fprintf(out, "  module: %s\n", conf->pkcs11_module);
		if (conf->pkcs11_pin_file != NULL &&
		    *conf->pkcs11_pin_file != '\0') {
			if (stat(conf->pkcs11_pin_file, &st) == 0)
				fprintf(out, "  pin file: %s (mode %04o)\n",
				    conf->pkcs11_pin_file,
				    (unsigned int)(st.st_mode & 07777));
			else
				fprintf(out, "  pin file: %s (%s)\n",
				    conf->pkcs11_pin_file, strerror(errno));
		} else
			fprintf(out, "  pin: environment "
			    "CERTSPOOL_PKCS11_PIN\n");
		pub = token_public(conf->pkcs11_module, key,
		    conf->pkcs11_pin_file, e, sizeof(e));
		if (pub == NULL) {
			fprintf(out, "  in the token: not found (%s)\n", e);
			snprintf(err, errlen, "%s", e);
		} else if (EVP_PKEY_eq(X509_get0_pubkey(ca), pub) != 1) {
			fprintf(out, "  in the token: found, but it is not "
			    "ca.pem's key\n");
			snprintf(err, errlen, "the token key %s is not the key "
			    "of %s", key, path);
		} else
			fprintf(out, "  in the token: found, the public key "
			    "of ca.pem\n");
	} else {
		if (key == NULL || *key == '\0') {
			snprintf(path, sizeof(path), "%s/ca.key",
			    conf->ca_dir);
			key = path;
		}
		if (lstat(key, &st) == 0)
			fprintf(out, "key: file %s (mode %04o)\n", key,
			    (unsigned int)(st.st_mode & 07777));
		else {
			fprintf(out, "key: file %s (%s)\n", key,
			    strerror(errno));
			snprintf(err, errlen, "%s: %s", key, strerror(errno));
		}
	}
	fprintf(out, "key algorithm: %s\n", kd);

	snprintf(path, sizeof(path), "%s/chain.pem", conf->ca_dir);
	fprintf(out, "chain: %s\n", path);
	if (fs_read_file(path, PEM_MAX, &buf, &len) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL ||
	    (infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "%s: not PEM", path);
		goto out;
	}
	for (i = 0; i < sk_X509_INFO_num(infos); i++)
		if (sk_X509_INFO_value(infos, i)->x509 != NULL)
			show_cert(out, n++, sk_X509_INFO_value(infos, i)->x509);
	if (n == 0) {
		snprintf(err, errlen, "%s: no certificate", path);
		goto out;
	}
	/* a key problem found above is the command's failure */
	rc = err[0] == '\0' ? 0 : -1;
 out:
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	free(buf);
	X509_free(ca);
	EVP_PKEY_free(pub);
	return rc;
}
