/*
 * issuer.h: issuer.c's helpers for the rollover (cmd_rollover.c), the
 * signer's start (main.c) and ca show; issuer_load and the URL rules are
 * in extern.h.
 */
#ifndef CERTSPOOL_ISSUER_H
#define CERTSPOOL_ISSUER_H

#include <stdio.h>

#include "keyproc.h"

/* ca_dir/issuer-N: a retired issuer's own files. */
int	 issuer_dir(const struct conf *, int id, char *buf, size_t len);
/* The file key of the config: ca_key, or ca_dir/ca.key when empty. */
int	 issuer_keyfile(const struct conf *, char *buf, size_t len);
/* Hard-link issuer-N's ca.key (or remove ca_dir's when it has none),
 * chain.pem, then ca.pem over ca_dir's, each with one rename; fsync. */
int	 issuer_install(const struct conf *, int id, char *err,
	    size_t errlen);
/* The retired issuers the signer must hold (not expired, CRLs not
 * ended): *out (issuer_signers_free) and *n.  0 or -1 with err. */
int	 issuer_signers(struct store *, const struct conf *,
	    struct kp_issuer **out, int *n, char *err, size_t errlen);
void	 issuer_signers_free(struct kp_issuer *, int n);
/* Complete ca_dir (issuer_load), then start the signer with the current
 * CA and the issuer_signers.  NULL with err. */
struct keyproc *issuer_keyproc_start(struct store *, const struct conf *,
	    char *err, size_t errlen);
/* ca show: each issuer (id, state, subject, key, notAfter, crl_url) on
 * out (cmd_rollover.c).  0 or -1. */
int	 issuer_show(struct store *, FILE *out);

#endif
