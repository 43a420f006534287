/*
 * profile_local.h: what profile.c (the TBSCertificate) and profile_ext.c
 * (its extensions) share.  Not for other files: they use extern.h.
 */
#ifndef PROFILE_LOCAL_H
#define PROFILE_LOCAL_H

#include <openssl/asn1.h>

/* ---- DER helpers (profile.c) ---- */

/* One TLV appended to b. */
void	 der_tlv(struct buf *b, unsigned char tag, const void *p, size_t len);
/* Wrap inner as one TLV appended to b; frees inner. */
void	 der_wrap(struct buf *b, unsigned char tag, struct buf *inner);
/* Dotted OID to DER; -1 if malformed. */
int	 der_oid(struct buf *b, const char *dotted);

/* ---- the subscriber certificate's extensions (profile_ext.c) ---- */

/* Each appends one Extension to exts. */
/* keyUsage for the key type and product, S/MIME BR 7.1.2.3 (e). */
void	 ext_key_usage(struct buf *exts, const struct cert_req *req,
	    int is_rsa);
/* extKeyUsage: emailProtection, and clientAuth where the product has it. */
void	 ext_eku(struct buf *exts, const struct cert_req *req);
/* certificatePolicies: the product's one policy OID; -1 with err if its
 * generation may no longer be issued or the OID is bad. */
int	 ext_policies(struct buf *exts, const struct cert_req *req,
	    char *err, size_t errlen);
/* subjectAltName: rfc822Name, or SmtpUTF8Mailbox for a UTF-8 local part. */
void	 ext_san(struct buf *exts, const char *email, int utf8, int critical);
/* authorityKeyIdentifier: keyIdentifier only, the CA's SKI. */
void	 ext_aki(struct buf *exts, const ASN1_OCTET_STRING *ski);
/* subjectKeyIdentifier: SHA-1 of the subjectPublicKey bits; -1 (logged). */
int	 ext_ski(struct buf *exts, const unsigned char *bits, size_t bitslen);
/* cRLDistributionPoints: the certificate's shard's URL. */
void	 ext_crldp(struct buf *exts, const char *url);
/* authorityInfoAccess: OCSP and caIssuers, each if not NULL or "". */
void	 ext_aia(struct buf *exts, const char *ocsp, const char *issuers);

#endif
