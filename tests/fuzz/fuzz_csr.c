/*
 * fuzz_csr.c: libFuzzer target for the CSR key stage, csr_check_spki()
 * (csr.c), its fast path for canonical ECDSA CSRs and its full path:
 * PEM or base64 text, DER decoding, the self-signature and the key checks.
 *
 * The input is passed as it comes, exactly size bytes and not
 * NUL-terminated, so a read past the length the caller gives is caught.
 * Besides the sanitizers, the target checks the contract (extern.h): 0
 * with a key whose hash is that of its DER SubjectPublicKeyInfo, -1 with
 * no key and a snake_case reason code.
 *
 * Failure policy: a broken contract aborts (a crash for libFuzzer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "extern.h"

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
broken(const char *what)
{
	fprintf(stderr, "fuzz_csr: contract broken: %s\n", what);
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("stderr", 0);		/* logx drops every level above 0 */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	EVP_PKEY	*pub = NULL;
	char		 reason[64], msg[512], hash[65], want[65];
	unsigned char	*der;
	size_t		 len;
	int		 rc;

	reason[0] = msg[0] = '\0';
	rc = csr_check_spki((const char *)data, size, &pub, hash, reason,
	    sizeof(reason), msg, sizeof(msg));
	if (rc == 0) {
		if (pub == NULL)
			broken("0 without a public key");
		if (key_spki(pub, &der, &len) != 0)
			broken("accepted key cannot be encoded");
		sha256_hex(der, len, want);
		free(der);
		if (strcmp(hash, want) != 0)
			broken("the key's hash is not that of its DER");
	} else if (rc == -1) {
		if (pub != NULL)
			broken("-1 with a public key");
		if (reason[0] == '\0' ||
		    strspn(reason, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
		    strlen(reason))
			broken("-1 without a snake_case reason code");
	} else
		broken("csr_check returned neither 0 nor -1");
	EVP_PKEY_free(pub);
	ERR_clear_error();
	return 0;
}
