/*
 * gencsr.c: benchmark helper (scripts/bench.sh), not part of certspool.
 * Writes COUNT PKCS#10 requests, each for a fresh key, as concatenated
 * PEM to OUT, using JOBS processes.  Every request has the same fixed
 * subject: the daemon only uses the public key of a CSR.
 *
 *   cc -O2 -o gencsr scripts/gencsr.c -lcrypto
 *   gencsr p256|p384|rsa2048|rsa3072 COUNT OUT [JOBS]
 */
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static EVP_PKEY *
newkey(const char *type)
{
	if (strcmp(type, "p256") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (strcmp(type, "p384") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (strcmp(type, "rsa2048") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (strcmp(type, "rsa3072") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	return NULL;
}

static int
one(FILE *f, const char *type, long i)
{
	EVP_PKEY	*k;
	X509_REQ	*r;
	X509_NAME	*n;
	char		 cn[64];
	int		 ok;

	snprintf(cn, sizeof(cn), "bench-%ld@bench.example", i);
	if ((k = newkey(type)) == NULL || (r = X509_REQ_new()) == NULL)
		return -1;
	n = X509_REQ_get_subject_name(r);
	ok = X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) &&
	    X509_REQ_set_version(r, 0) && X509_REQ_set_pubkey(r, k) &&
	    X509_REQ_sign(r, k, EVP_sha256()) > 0 &&
	    PEM_write_X509_REQ(f, r);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

int
main(int argc, char *argv[])
{
	const char	*type, *out;
	long		 count, jobs, j, i, from, to;
	char		 part[4096], buf[65536];
	FILE		*f, *o;
	size_t		 n;
	int		 st, bad = 0;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: gencsr p256|p384|rsa2048|rsa3072 "
		    "COUNT OUT [JOBS]\n");
		return 2;
	}
	type = argv[1];
	count = strtol(argv[2], NULL, 10);
	out = argv[3];
	jobs = argc == 5 ? strtol(argv[4], NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
	if (jobs < 1)
		jobs = 1;
	if (count < 0 || newkey(type) == NULL) {
		fprintf(stderr, "gencsr: bad type or count\n");
		return 2;
	}
	for (j = 0; j < jobs; j++) {
		pid_t pid = fork();

		if (pid == -1) {
			perror("fork");
			return 1;
		}
		if (pid != 0)
			continue;
		snprintf(part, sizeof(part), "%s.part%ld", out, j);
		if ((f = fopen(part, "w")) == NULL)
			_exit(1);
		from = count * j / jobs;
		to = count * (j + 1) / jobs;
		for (i = from; i < to; i++)
			if (one(f, type, i) == -1)
				_exit(1);
		_exit(fclose(f) == 0 ? 0 : 1);
	}
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad = 1;
	if (bad) {
		fprintf(stderr, "gencsr: a worker failed\n");
		return 1;
	}
	if ((o = fopen(out, "w")) == NULL) {
		perror(out);
		return 1;
	}
	for (j = 0; j < jobs; j++) {
		snprintf(part, sizeof(part), "%s.part%ld", out, j);
		if ((f = fopen(part, "r")) == NULL) {
			perror(part);
			return 1;
		}
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, o);
		fclose(f);
		unlink(part);
	}
	return fclose(o) == 0 ? 0 : 1;
}
