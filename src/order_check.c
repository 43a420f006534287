/*
 * order_check.c: what an order must be to be issued and delivered, checked
 * when its document is parsed (spool.c order_store, so the spool and
 * "certspool check" alike), before any stage runs or anything is
 * charged.
 *  - A mailbox (<email>) and each of <additionalEmails> (comma
 *    separated) is a plain addr-spec: a dot-atom local part of atext or
 *    UTF-8 (RFC 5321 4.1.2, RFC 6531 3.3), at most 64 octets, "@", a
 *    domain of ASCII LDH labels (at least two, the last beginning with
 *    a letter, as the XML Schema says); an IDN is given in A-labels,
 *    each of which must decode to a U-label that IDNA2008 (libidn2,
 *    no TR46 mapping) encodes back to the same A-label.  A non-ASCII
 *    local part must be in NFC.
 *  - No mailbox holds a non-ASCII code point of general category C
 *    (Cc, Cf, Cs, Co, Cn: controls, format characters such as bidi
 *    overrides and zero-width characters, surrogates, private use,
 *    unassigned and noncharacters) or Z (separators); no subject name
 *    (commonName, givenName, surname, pseudonym, organization) holds a
 *    code point of category C, Zl or Zp.  libunistring's tables decide.
 *  - One mailbox is not given twice in an order: mailboxes compare with
 *    the domain in ASCII lower case and the local part case-folded
 *    (Unicode full case folding, then NFC).
 * Names are stored in NFC (name_nfc), so certificates carry NFC.
 * Failure policy: bad input only; a refusal is data (reason code and a
 * sentence with the line) and the caller stores the order rejected.
 * Out of memory aborts.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>
#include <unicase.h>
#include <unictype.h>
#include <uniname.h>
#include <uninorm.h>
#include <unistr.h>

#include "extern.h"
#include "batch.h"
#include "order_check.h"

#define LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1, octets */
#define DOMAIN_MAX	253
#define ADDR_MAX	254	/* RFC 5321 4.5.3.1.3 less the brackets */
#define LABEL_MAX	63
#define SHOWN_MAX	160	/* bytes of a value quoted in a message */

enum what { W_MAILBOX, W_NAME };

static void *
must(void *p)
{
	if (p == NULL) {
		log_err("out of memory");
		abort();
	}
	return p;
}

/* 1 if code point c may not appear in a mailbox (w) or a name. */
static int
is_forbidden(ucs4_t c, enum what w)
{
	if (uc_is_general_category(c, UC_CATEGORY_C))
		return 1;
	if (w == W_MAILBOX)
		return uc_is_general_category(c, UC_CATEGORY_Z);
	return uc_is_general_category(c, UC_CATEGORY_Zl) ||
	    uc_is_general_category(c, UC_CATEGORY_Zp);
}

/* "U+202E RIGHT-TO-LEFT OVERRIDE (Cf)" into buf. */
static void
describe(ucs4_t c, char *buf, size_t len)
{
	char		 name[UNINAME_MAX];
	const char	*cat;

	cat = uc_general_category_name(uc_general_category(c));
	if (unicode_character_name(c, name) == NULL)
		strlcpy_(name, uc_is_general_category(c, UC_CATEGORY_Cc) ?
		    "control" : uc_is_general_category(c, UC_CATEGORY_Co) ?
		    "private use" : uc_is_general_category(c, UC_CATEGORY_Cs) ?
		    "surrogate" : "unassigned", sizeof(name));
	snprintf(buf, len, "U+%04X %s (%s)", (unsigned)c, name,
	    cat != NULL ? cat : "?");
}

/*
 * A copy of s fit to quote in a message: every code point a name may
 * not hold is written <U+XXXX>, a byte that is not UTF-8 <0xXX>; cut at
 * SHOWN_MAX bytes.
 */
static void
shown(const char *s, size_t n, char *out, size_t outlen)
{
	const uint8_t	*p = (const uint8_t *)s;
	size_t		 o = 0;
	ucs4_t		 c;
	int		 k;
	char		 tmp[16];

	if (outlen > SHOWN_MAX)
		outlen = SHOWN_MAX;
	out[0] = '\0';
	while (n > 0) {
		if ((k = u8_mbtoucr(&c, p, n)) < 0) {
			snprintf(tmp, sizeof(tmp), "<0x%02X>", *p);
			k = 1;
		} else if (is_forbidden(c, W_NAME))
			snprintf(tmp, sizeof(tmp), "<U+%04X>", (unsigned)c);
		else {
			memcpy(tmp, p, (size_t)k);
			tmp[k] = '\0';
		}
		if (o + strlen(tmp) + 4 >= outlen) {
			strlcpy_(out + o, "...", outlen - o);
			return;
		}
		memcpy(out + o, tmp, strlen(tmp) + 1);
		o += strlen(tmp);
		p += k;
		n -= (size_t)k;
	}
}

/*
 * The first code point of s[0..n) that w may not hold, described in
 * desc with its 1-based position in *pos: 1; 0 if none; -1 if s is not
 * UTF-8.  In a mailbox only non-ASCII code points count here (ASCII is
 * the syntax check's).
 */
static int
first_forbidden(const char *s, size_t n, enum what w, size_t *pos,
    char *desc, size_t desclen)
{
	const uint8_t	*p = (const uint8_t *)s;
	ucs4_t		 c;
	int		 k;

	if (u8_check(p, n) != NULL)
		return -1;
	for (*pos = 1; n > 0; (*pos)++) {
		k = u8_mbtouc(&c, p, n);
		if ((w == W_NAME || c >= 0x80) && is_forbidden(c, w)) {
			describe(c, desc, desclen);
			return 1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
is_nfc(const char *s, size_t n)
{
	uint8_t	*nf;
	size_t	 len = 0;
	int	 same;

	nf = must(u8_normalize(UNINORM_NFC, (const uint8_t *)s, n, NULL,
	    &len));
	same = len == n && memcmp(nf, s, n) == 0;
	free(nf);
	return same;
}

/* An A-label that IDNA2008 accepts and encodes back to itself. */
static int
valid_alabel(const char *label, size_t n)
{
	char	 a[LABEL_MAX + 1], *u = NULL, *back = NULL;
	int	 ok;

	memcpy(a, label, n);
	a[n] = '\0';
	if (idn2_to_unicode_8z8z(a, &u, 0) != IDN2_OK)
		return 0;
	ok = idn2_lookup_u8((const uint8_t *)u, (uint8_t **)&back,
	    IDN2_NO_TR46) == IDN2_OK && strcasecmp(back, a) == 0;
	idn2_free(u);
	idn2_free(back);
	return ok;
}

/* Syntax of the addr-spec s[0..n); 0, or -1 with the rule in why. */
static int
check_syntax(const char *s, size_t n, char *why, size_t whylen)
{
	const char	*at, *label, *e = s + n, *p;
	size_t		 llen, nlabels = 0;

	if (n > ADDR_MAX) {
		snprintf(why, whylen, "RFC 5321 4.5.3.1.3: longer than %d "
		    "octets", ADDR_MAX);
		return -1;
	}
	if ((at = memchr(s, '@', n)) == NULL ||
	    memchr(at + 1, '@', (size_t)(e - at - 1)) != NULL) {
		snprintf(why, whylen, "RFC 5321 4.1.2: not one local part, "
		    "\"@\" and a domain");
		return -1;
	}
	llen = (size_t)(at - s);
	if (llen == 0 || llen > LOCAL_MAX) {
		snprintf(why, whylen, "RFC 5321 4.5.3.1.1: local part of %zu "
		    "octets (1 to %d)", llen, LOCAL_MAX);
		return -1;
	}
	for (p = s; p < at; p++) {
		unsigned char c = (unsigned char)*p;

		if (c >= 0x80)
			continue;
		if (c == '.' && (p == s || p + 1 == at || p[1] == '.')) {
			snprintf(why, whylen, "RFC 5321 4.1.2: empty atom in "
			    "the dot-atom local part");
			return -1;
		}
		if (c != '.' && !is_atext(c)) {
			snprintf(why, whylen, "RFC 5321 4.1.2: character "
			    "0x%02X in the local part is not atext (no "
			    "spaces, quotes, comments, line breaks or header "
			    "syntax)", c);
			return -1;
		}
	}
	if (!is_nfc(s, llen)) {
		snprintf(why, whylen, "RFC 6532 3.1: the local part is not in "
		    "Unicode NFC");
		return -1;
	}
	if ((size_t)(e - at - 1) > DOMAIN_MAX) {
		snprintf(why, whylen, "RFC 1035 2.3.4: domain longer than %d "
		    "octets", DOMAIN_MAX);
		return -1;
	}
	for (label = p = at + 1;; p++) {
		if (p < e && (unsigned char)*p >= 0x80) {
			snprintf(why, whylen, "RFC 9598 3: the domain is not "
			    "ASCII; give it in A-label (xn--) form");
			return -1;
		}
		if (p < e && *p != '.') {
			if (!((*p >= 'a' && *p <= 'z') ||
			    (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '-'))
				goto baddomain;
			continue;
		}
		if (p == label || p - label > LABEL_MAX || *label == '-' ||
		    p[-1] == '-')
			goto baddomain;
		if (p - label >= 4 && strncasecmp(label, "xn--", 4) == 0 &&
		    !valid_alabel(label, (size_t)(p - label))) {
			snprintf(why, whylen, "RFC 5890 2.3.2.1: label \"%.*s\" "
			    "is not an IDNA2008 A-label", (int)(p - label),
			    label);
			return -1;
		}
		nlabels++;
		if (p == e)
			break;
		label = p + 1;
	}
	if (nlabels < 2 || !((*label >= 'a' && *label <= 'z') ||
	    (*label >= 'A' && *label <= 'Z')))
		goto baddomain;
	return 0;
baddomain:
	snprintf(why, whylen, "RFC 1035 2.3.1: the domain is not a host "
	    "name of two or more LDH labels");
	return -1;
}

static void
refuse(struct order_refusal *ref, const char *reason, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
refuse(struct order_refusal *ref, const char *reason, int line,
    const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	strlcpy_(ref->reason, reason, sizeof(ref->reason));
	ref->line = line;
	n = snprintf(ref->message, sizeof(ref->message), "line %d: ", line);
	if (n < 0 || (size_t)n >= sizeof(ref->message))
		return;
	va_start(ap, fmt);
	vsnprintf(ref->message + n, sizeof(ref->message) - (size_t)n, fmt,
	    ap);
	va_end(ap);
}

/*
 * One mailbox s[0..n): 0, or 1 with ref filled.  what names it in the
 * message; bad_char and bad_syntax are the reason codes.
 */
static int
check_mailbox(const char *s, size_t n, int line, const char *what,
    const char *bad_char, const char *bad_syntax,
    struct order_refusal *ref)
{
	char	 desc[UNINAME_MAX + 32], why[160], show[SHOWN_MAX];
	size_t	 pos;
	int	 rc;

	shown(s, n, show, sizeof(show));
	rc = first_forbidden(s, n, W_MAILBOX, &pos, desc, sizeof(desc));
	if (rc == -1) {
		refuse(ref, bad_syntax, line, "%s \"%s\" is not UTF-8", what,
		    show);
		return 1;
	}
	if (rc == 1) {
		refuse(ref, bad_char, line, "%s \"%s\": character %zu is %s; "
		    "a mailbox holds no control, format, private-use, "
		    "unassigned or separator code point", what, show, pos,
		    desc);
		return 1;
	}
	if (check_syntax(s, n, why, sizeof(why)) == -1) {
		refuse(ref, bad_syntax, line, "%s \"%s\" is not a plain "
		    "mailbox address: %s", what, show, why);
		return 1;
	}
	return 0;
}

/* A subject name (NULL: absent): 0, or 1 with ref filled. */
static int
check_name(const char *s, int line, const char *elem, const char *reason,
    struct order_refusal *ref)
{
	char	 desc[UNINAME_MAX + 32], show[SHOWN_MAX];
	size_t	 pos;
	int	 rc;

	if (s == NULL)
		return 0;
	shown(s, strlen(s), show, sizeof(show));
	rc = first_forbidden(s, strlen(s), W_NAME, &pos, desc, sizeof(desc));
	if (rc == -1) {
		refuse(ref, reason, line, "<%s> \"%s\" is not UTF-8", elem,
		    show);
		return 1;
	}
	if (rc == 1) {
		refuse(ref, reason, line, "<%s> \"%s\": character %zu is %s; "
		    "a name holds no control, format, private-use, "
		    "unassigned or line separator code point", elem, show,
		    pos, desc);
		return 1;
	}
	return 0;
}

/* <additionalEmails>: comma separated mailboxes, none empty. */
static int
check_additional(const char *list, int line, struct order_refusal *ref)
{
	const char	*p = list, *end;
	char		 what[48];
	size_t		 len;
	int		 i;

	if (list == NULL || list[strspn(list, " ")] == '\0')
		return 0;
	for (i = 1;; i++) {
		end = list_item(p, &p, &len);
		snprintf(what, sizeof(what), "<additionalEmails> address %d",
		    i);
		if (len == 0) {
			refuse(ref, "additional_email_invalid", line, "%s is "
			    "empty", what);
			return 1;
		}
		if (check_mailbox(p, len, line, what,
		    "additional_email_forbidden_character",
		    "additional_email_invalid", ref))
			return 1;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

/* An element's own line, else its parent's. */
static int
line_or(int line, int dflt)
{
	return line != 0 ? line : dflt;
}

struct key {
	char	*k;
	int	 line;
	size_t	 idx;
};

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int		 c;

	if ((c = strcmp(x->k, y->k)) != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* The comparison form of a checked mailbox: local part case-folded
 * and in NFC, "@", the domain in ASCII lower case. */
static char *
mailbox_key(const char *email)
{
	const char	*at = strrchr(email, '@');
	uint8_t		*f;
	size_t		 flen = 0, dlen, i;
	char		*k;

	f = must(u8_casefold((const uint8_t *)email, (size_t)(at - email),
	    NULL, UNINORM_NFC, NULL, &flen));
	dlen = strlen(at);
	k = xcalloc(1, flen + dlen + 1);
	memcpy(k, f, flen);
	for (i = 0; i < dlen; i++)
		k[flen + i] = (at[i] >= 'A' && at[i] <= 'Z') ?
		    at[i] - 'A' + 'a' : at[i];
	free(f);
	return k;
}

/* Two recipients with one mailbox: 1 with ref filled, else 0. */
static int
check_duplicates(const struct order_in *o, struct order_refusal *ref)
{
	struct key	*keys;
	char		 show[SHOWN_MAX];
	size_t		 i, dup = 0;
	int		 found = 0;

	if (o->nrcpt < 2)
		return 0;
	keys = xcalloc(o->nrcpt, sizeof(*keys));
	for (i = 0; i < o->nrcpt; i++) {
		keys[i].k = mailbox_key(o->rcpt[i].email);
		keys[i].line = line_or(o->rcpt[i].email_line,
		    o->rcpt[i].line);
		keys[i].idx = i;
	}
	qsort(keys, o->nrcpt, sizeof(*keys), key_cmp);
	/* The earliest second occurrence in the document. */
	for (i = 1; i < o->nrcpt; i++)
		if (strcmp(keys[i].k, keys[i - 1].k) == 0 &&
		    (!found || keys[i].idx < keys[dup].idx)) {
			found = 1;
			dup = i;
		}
	if (found) {
		const char *e = o->rcpt[keys[dup].idx].email;

		shown(e, strlen(e), show, sizeof(show));
		refuse(ref, "duplicate_recipient", keys[dup].line, "recipient "
		    "%zu: mailbox \"%s\" is also recipient %zu's (line %d); "
		    "one certificate per mailbox and order", keys[dup].idx + 1,
		    show, keys[dup - 1].idx + 1, keys[dup - 1].line);
	}
	for (i = 0; i < o->nrcpt; i++)
		free(keys[i].k);
	free(keys);
	return found;
}

int
order_check(const struct order_in *o, struct order_refusal *ref)
{
	size_t	 i;
	char	 what[48];

	memset(ref, 0, sizeof(*ref));
	if (check_name(o->organization, line_or(o->org_line, o->line),
	    "organization", "organization_forbidden_character", ref))
		return 1;
	for (i = 0; i < o->nrcpt; i++) {
		const struct recipient_in *r = &o->rcpt[i];

		if (check_name(r->cn, line_or(r->cn_line, r->line),
		    "commonName", "name_forbidden_character", ref) ||
		    check_name(r->given_name, line_or(r->given_line, r->line),
		    "givenName", "name_forbidden_character", ref) ||
		    check_name(r->surname, line_or(r->surname_line, r->line),
		    "surname", "name_forbidden_character", ref) ||
		    check_name(r->pseudonym, line_or(r->pseudonym_line,
		    r->line), "pseudonym", "name_forbidden_character", ref))
			return 1;
		snprintf(what, sizeof(what), "recipient %zu: <email>", i + 1);
		if (r->email == NULL) {
			refuse(ref, "email_invalid", r->line, "%s is missing",
			    what);
			return 1;
		}
		if (check_mailbox(r->email, strlen(r->email),
		    line_or(r->email_line, r->line), what,
		    "email_forbidden_character", "email_invalid", ref))
			return 1;
	}
	if (check_additional(o->additional_emails,
	    line_or(o->add_line, o->line), ref))
		return 1;
	return check_duplicates(o, ref);
}

char *
name_nfc(const char *s)
{
	uint8_t	*nf;
	size_t	 len = 0;
	char	*out;

	if (s == NULL)
		return NULL;
	if (*s == '\0' || u8_check((const uint8_t *)s, strlen(s)) != NULL)
		return xstrdup(s);
	nf = must(u8_normalize(UNINORM_NFC, (const uint8_t *)s, strlen(s),
	    NULL, &len));
	out = xcalloc(1, len + 1);
	memcpy(out, nf, len);
	free(nf);
	return out;
}
