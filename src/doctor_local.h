/*
 * doctor_local.h: what the files of certspool doctor share: the report
 * (one line per check) and the CA checks of doctor_ca.c.
 */
#ifndef CERTSPOOL_DOCTOR_LOCAL_H
#define CERTSPOOL_DOCTOR_LOCAL_H

#include <stddef.h>

#include <openssl/x509.h>

struct conf;

enum status { ST_OK, ST_WARNING, ST_PROBLEM };

struct check {
	char		 name[32];
	enum status	 status;
	char		 detail[1024];
};

struct report {
	struct check	*v;
	size_t		 n;
};

/* Append one check's line to the report. */
void	 doctor_add(struct report *, const char *name, enum status,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* ca_chain: ca.pem to the root of chain.pem, now; *cert gets ca.pem
 * (NULL if unreadable) for doctor_check_key. */
void	 doctor_check_chain(struct report *, const struct conf *, X509 **);
/* ca_key: the signer starts with the CA key; its signature verifies. */
void	 doctor_check_key(struct report *, const struct conf *, X509 *);

#endif
