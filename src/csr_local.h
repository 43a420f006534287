/*
 * csr_local.h: what csr.c (decoding, proof of possession) and csr_key.c
 * (the key's checks) share.
 */
#ifndef CERTSPOOL_CSR_LOCAL_H
#define CERTSPOOL_CSR_LOCAL_H

#define ALLOWED		"allowed: RSA 2048, 3072, 4096, ECC P-256, P-384"

/* Set the reason code and the sentence; always -1. */
int	 csr_refuse(char *reason, size_t rlen, char *msg, size_t mlen,
	    const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));

#endif
