/*
 * product.c: the product table of SPEC section 2.1.  Each product is a
 * validation type and a generation of the S/MIME BR (7.1.6.1); the Legacy
 * generation is never issued (S/MIME BR 7.1.6.1, since 2025-07-15).
 */
#include <stdio.h>
#include <string.h>

#include "extern.h"

static const struct product products[] = {
	{ "secure_email_individual", VT_MAILBOX, GEN_STRICT, 0, 0 },
	{ "secure_email_business", VT_SPONSOR, GEN_STRICT, 0, 0 },
	{ "secure_email_organization", VT_ORGANIZATION, GEN_STRICT, 0, 0 },
	{ "premium", VT_SPONSOR, GEN_MULTIPURPOSE, 0, 1 },
	{ "email_security_plus", VT_SPONSOR, GEN_MULTIPURPOSE, 0, 0 },
	{ "digital_signature_plus", VT_SPONSOR, GEN_MULTIPURPOSE, 1, 0 },
	{ "client1_smime", VT_MAILBOX, GEN_MULTIPURPOSE, 0, 0 },
};

const struct product *
product_find(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < sizeof(products) / sizeof(products[0]); i++)
		if (strcmp(products[i].name, name) == 0)
			return &products[i];
	return NULL;
}

void
product_policy_oid(const struct product *p, char *buf, size_t len)
{
	snprintf(buf, len, "2.23.140.1.5.%d.%d", (int)p->vtype, (int)p->gen);
}
