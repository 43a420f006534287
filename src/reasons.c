/*
 * reasons.c: the revocation reasons S/MIME BR 7.2.2 allows, by their
 * RFC 5280 CRLReason names and codes: the vocabulary of a revocation
 * document (batch_doc.c), of certspool revoke, of the revocation records
 * and of the CRLs.
 */
#include <stddef.h>
#include <string.h>

#include "extern.h"

/* RFC 5280 5.3.1 CRLReason values S/MIME BR 7.2.2 allows. */
static const struct {
	const char	*name;
	int		 code;
} reasons[] = {
	{ "unspecified", 0 },
	{ "keyCompromise", 1 },
	{ "affiliationChanged", 3 },
	{ "superseded", 4 },
	{ "cessationOfOperation", 5 },
	{ "privilegeWithdrawn", 9 },
};

int
revoke_reason_code(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].name, name) == 0)
			return reasons[i].code;
	return -1;
}

const char *
revoke_reason_name(int code)
{
	size_t	 i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == code)
			return reasons[i].name;
	return NULL;
}
