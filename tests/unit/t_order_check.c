/*
 * t_order_check: the intake checks (order_check.c) on orders built here, one
 * class of refusal at a time, and the line numbers the real parser
 * (batch.c) gives them over a document of tests/data/xml/.
 * Runs from the repository root.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "batch.h"
#include "order_check.h"
#include "t.h"

#define NR	3

static struct order_in		 o;
static struct recipient_in	 r[NR];

/* A valid order of two recipients with non-ASCII names and mailbox. */
static void
reset(void)
{
	memset(&o, 0, sizeof(o));
	memset(r, 0, sizeof(r));
	o.line = 3;
	o.id = "EMP-1";
	o.organization = "Acme Corp";
	o.org_line = 5;
	o.additional_emails = "hr@acme.example, it@acme.example";
	o.add_line = 30;
	r[0].line = 10;
	r[0].cn_type = CN_NAME;
	r[0].cn = "J\xc3\xb6rg M\xc3\xbcller";		/* Jörg Müller */
	r[0].cn_line = 11;
	r[0].given_name = "J\xc3\xb6rg";
	r[0].given_line = 12;
	r[0].surname = "M\xc3\xbcller";
	r[0].surname_line = 13;
	r[0].email = "j\xc3\xb6rg@acme.example";	/* jörg@ */
	r[0].email_line = 14;
	r[1].line = 20;
	r[1].cn_type = CN_NAME;
	r[1].cn = "\xe7\x8e\x8b\xe8\x8a\xb3";		/* 王芳 */
	r[1].cn_line = 21;
	r[1].pseudonym = "Zo\xc3\xab \xd0\x98.";		/* Zoë И. */
	r[1].pseudonym_line = 22;
	r[1].email = "wang.fang@ACME.example";
	r[1].email_line = 24;
	o.rcpt = r;
	o.nrcpt = 2;
}

/* Refused with this reason, at this line, the message starting so. */
static void
expect(const char *label, const char *reason, int line)
{
	struct order_refusal	 ref;
	char			 head[32];
	int			 rc;

	rc = order_check(&o, &ref);
	T_CHECK(rc == 1, "%s: accepted", label);
	if (rc != 1)
		return;
	T_CHECK(strcmp(ref.reason, reason) == 0, "%s: reason %s, not %s "
	    "(%s)", label, ref.reason, reason, ref.message);
	T_CHECK(ref.line == line, "%s: line %d, not %d", label, ref.line,
	    line);
	snprintf(head, sizeof(head), "line %d: ", line);
	T_CHECK(strncmp(ref.message, head, strlen(head)) == 0, "%s: message "
	    "\"%s\"", label, ref.message);
	if (getenv("T_VERBOSE") != NULL)
		printf("%s: %s %s\n", label, ref.reason, ref.message);
}

static void
expect_ok(const char *label)
{
	struct order_refusal	 ref;
	int			 rc;

	rc = order_check(&o, &ref);
	T_CHECK(rc == 0, "%s: refused %s %s", label, ref.reason, ref.message);
}

/* No refusal message echoes the refused code point itself. */
static void
expect_quoted_safely(const char *label, const char *bad)
{
	struct order_refusal	 ref;

	if (order_check(&o, &ref) != 1)
		return;
	T_CHECK(strstr(ref.message, bad) == NULL, "%s: message carries the "
	    "code point: %s", label, ref.message);
}

static const struct {
	const char	*name;
	const char	*utf8;
} bad_cp[] = {
	{ "U+202E RLO", "\xe2\x80\xae" },
	{ "U+200E LRM", "\xe2\x80\x8e" },
	{ "U+200B ZWSP", "\xe2\x80\x8b" },
	{ "U+FEFF BOM", "\xef\xbb\xbf" },
	{ "U+00AD SHY", "\xc2\xad" },
	{ "U+E000 private use", "\xee\x80\x80" },
	{ "U+0378 unassigned", "\xcd\xb8" },
	{ "U+FDD0 noncharacter", "\xef\xb7\x90" },
	{ "U+0007 BEL", "\x07" },
	{ "U+0085 NEL", "\xc2\x85" },
	{ "U+2028 line separator", "\xe2\x80\xa8" },
};

static void
test_valid(void)
{
	reset();
	expect_ok("non-ASCII names and local part");
	o.additional_emails = NULL;
	expect_ok("no additional emails");
	o.additional_emails = "  ";
	expect_ok("blank additional emails");
	reset();
	r[1].email = "ops@xn--mnchen-3ya.example";
	expect_ok("IDN domain as an A-label");
	r[1].email = "first.last+tag!x@sub.acme.example";
	expect_ok("atext specials in the local part");
	o.organization = NULL;
	expect_ok("no organization");
	o.additional_emails = "hr@acme.example";
	expect_ok("one additional email");
}

static void
test_additional(void)
{
	static char *bad[] = {
		"hr@acme.example\r\nBcc: x@evil.example",
		"hr@acme.example\nBcc: x@evil.example",
		"hr@acme.example Bcc: x@evil.example",
		"Jane Doe <jane@acme.example>",
		"hr@acme.example,,it@acme.example",
		"hr@acme.example,",
		"\"h r\"@acme.example",
		"hr@acme.example (HR)",
		"hr@[192.0.2.1]",
		"hr@acme.example;it@acme.example",
		"hr",
		"hr@@acme.example",
	};
	size_t	 i;
	char	 buf[128], label[64];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reset();
		o.additional_emails = bad[i];
		snprintf(label, sizeof(label), "additional #%zu", i);
		expect(label, "additional_email_invalid", 30);
	}
	for (i = 0; i < sizeof(bad_cp) / sizeof(bad_cp[0]); i++) {
		if ((unsigned char)bad_cp[i].utf8[0] < 0x80)
			continue;	/* ASCII controls: syntax, above */
		reset();
		snprintf(buf, sizeof(buf), "hr@acme.example, i%st@acme.example",
		    bad_cp[i].utf8);
		o.additional_emails = buf;
		snprintf(label, sizeof(label), "additional %s", bad_cp[i].name);
		expect(label, "additional_email_forbidden_character", 30);
		expect_quoted_safely(label, bad_cp[i].utf8);
	}
	/* Without its own line, the order's. */
	reset();
	o.add_line = 0;
	o.additional_emails = "a b@acme.example";
	expect("additional, order line", "additional_email_invalid", 3);
}

static void
test_mailbox(void)
{
	static char *bad[] = {
		"jane@acme",				/* one label */
		"jane@acme.123",
		"jane@-acme.example",
		"jane@acme-.example",
		"jane@acme..example",
		".jane@acme.example",
		"jane.@acme.example",
		"ja..ne@acme.example",
		"jane@m\xc3\xbcnchen.example",		/* U-label domain */
		"jane@xn--ab-g4t.example",		/* A-label of a<RLO>b */
		"jane@xn--MNCHEN-psa.example",		/* not IDNA2008 */
		"jane@xn--zz--.example",
		"jo\xcc\x88rg@acme.example",		/* NFD local part */
		"jane\r\n@acme.example",
		"jane@acme.example\r\nBcc: x@evil.example",
		"@acme.example",
		"x@",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "@acme.example",			/* 65 octets */
	};
	size_t	 i;
	char	 buf[128], label[64];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reset();
		r[1].email = bad[i];
		snprintf(label, sizeof(label), "mailbox #%zu", i);
		expect(label, "email_invalid", 24);
	}
	for (i = 0; i < sizeof(bad_cp) / sizeof(bad_cp[0]); i++) {
		if ((unsigned char)bad_cp[i].utf8[0] < 0x80)
			continue;
		reset();
		snprintf(buf, sizeof(buf), "ja%sne@acme.example",
		    bad_cp[i].utf8);
		r[1].email = buf;
		snprintf(label, sizeof(label), "mailbox %s", bad_cp[i].name);
		expect(label, "email_forbidden_character", 24);
		expect_quoted_safely(label, bad_cp[i].utf8);
	}
	reset();
	r[0].email = "ja\xc2\xa0ne@acme.example";	/* NBSP */
	expect("mailbox NBSP", "email_forbidden_character", 14);
	reset();
	r[0].email_line = 0;
	r[0].email = "jane doe@acme.example";
	expect("mailbox, recipient line", "email_invalid", 10);
}

static void
test_names(void)
{
	size_t	 i;
	char	 buf[128], label[64];

	for (i = 0; i < sizeof(bad_cp) / sizeof(bad_cp[0]); i++) {
		snprintf(buf, sizeof(buf), "Jane%s Doe", bad_cp[i].utf8);
		reset();
		r[1].cn = buf;
		snprintf(label, sizeof(label), "commonName %s", bad_cp[i].name);
		expect(label, "name_forbidden_character", 21);
		expect_quoted_safely(label, bad_cp[i].utf8);
		reset();
		r[0].given_name = buf;
		snprintf(label, sizeof(label), "givenName %s", bad_cp[i].name);
		expect(label, "name_forbidden_character", 12);
		reset();
		r[0].surname = buf;
		snprintf(label, sizeof(label), "surname %s", bad_cp[i].name);
		expect(label, "name_forbidden_character", 13);
		reset();
		r[1].pseudonym = buf;
		snprintf(label, sizeof(label), "pseudonym %s", bad_cp[i].name);
		expect(label, "name_forbidden_character", 22);
		reset();
		o.organization = buf;
		snprintf(label, sizeof(label), "organization %s",
		    bad_cp[i].name);
		expect(label, "organization_forbidden_character", 5);
	}
	/* The first refusal in document order decides. */
	reset();
	r[1].email = "a b@acme.example";
	r[0].surname = "Doe\xe2\x80\xae";
	expect("document order", "name_forbidden_character", 13);
	/* Not UTF-8 (the parser never passes it; the check holds alone),
	 * and the message stays UTF-8. */
	reset();
	r[0].surname = "Do\xc3\x28" "e";
	expect("name not UTF-8", "name_forbidden_character", 13);
	{
		struct order_refusal ref;

		(void)order_check(&o, &ref);
		T_CHECK(strstr(ref.message, "<0xC3>") != NULL &&
		    strstr(ref.message, "\xc3\x28") == NULL,
		    "bad byte shown escaped: %s", ref.message);
	}
	reset();
	r[1].email = "ja\xffne@acme.example";
	expect("mailbox not UTF-8", "email_invalid", 24);
	/* A name in NFD is accepted, and stored in NFC. */
	reset();
	r[0].cn = "Jo\xcc\x88rg Mu\xcc\x88ller";
	expect_ok("NFD name");
}

static void
test_nfc(void)
{
	char	*s;

	s = name_nfc("Jo\xcc\x88rg Mu\xcc\x88ller");
	T_STREQ(s, "J\xc3\xb6rg M\xc3\xbcller");
	free(s);
	s = name_nfc("\xe2\x84\xab");			/* U+212B ANGSTROM */
	T_STREQ(s, "\xc3\x85");				/* U+00C5 */
	free(s);
	s = name_nfc("ASCII only");
	T_STREQ(s, "ASCII only");
	free(s);
	s = name_nfc("");
	T_STREQ(s, "");
	free(s);
	T_CHECK(name_nfc(NULL) == NULL, "NULL in, NULL out");
}

static void
test_duplicates(void)
{
	reset();
	r[2] = r[1];
	r[2].line = 40;
	r[2].email_line = 44;
	o.nrcpt = 3;
	r[2].email = "Wang.Fang@acme.EXAMPLE";
	expect("duplicate, case", "duplicate_recipient", 44);
	r[2].email = "J\xc3\x96RG@Acme.Example";		/* JÖRG@ */
	expect("duplicate, non-ASCII case", "duplicate_recipient", 44);
	r[2].email = "wang.fang2@acme.example";
	expect_ok("three distinct mailboxes");
	/* The second occurrence is named, whatever the sort order. */
	r[0].email = "zed@acme.example";
	r[1].email = "zed@acme.example";
	r[2].email = "aaa@acme.example";
	expect("duplicate, first pair", "duplicate_recipient", 24);
	r[2].email = "ZED@acme.example";
	expect("duplicate, three times", "duplicate_recipient", 24);
}

/* The lines the parser records for the elements order_check.c names. */
struct seen {
	int	 n;
	struct order_refusal ref[4];
	int	 rc[4];
};

static int
on_order(void *arg, const struct order_in *oi)
{
	struct seen	*s = arg;

	if (s->n < 4) {
		s->rc[s->n] = order_check(oi, &s->ref[s->n]);
		s->n++;
	}
	return 0;
}

static void
test_parsed(void)
{
	static const char path[] = "tests/data/xml/intake/lines.xml";
	struct schema	*xsd;
	struct problems	 pr = { 0 };
	struct batch_cb	 cb;
	struct seen	 s;
	char		 err[256];
	int		 fd;

	memset(&s, 0, sizeof(s));
	if ((xsd = schema_load(schema_path(), err, sizeof(err))) == NULL) {
		T_CHECK(0, "schema: %s", err);
		return;
	}
	if ((fd = open(path, O_RDONLY)) == -1) {
		T_CHECK(0, "%s: cannot open", path);
		schema_free(xsd);
		return;
	}
	memset(&cb, 0, sizeof(cb));
	cb.arg = &s;
	cb.on_order = on_order;
	T_CHECK(batch_parse(xsd, fd, path, &cb, &pr) == 0 && pr.n == 0,
	    "%s: not parsed (%s)", path, pr.n ? pr.v[0].text : "");
	T_CHECK(s.n == 4, "%d orders", s.n);
	/* lines.xml: order 1 is valid; 2 has U+202E in the <email> that
	 * opens on line 26 (its text is on 27); 3 has "Bcc:" in <additionalEmails> on line 39; 4 has the
	 * surname with U+200B on line 47. */
	T_CHECK(s.rc[0] == 0, "order 1 refused: %s", s.ref[0].message);
	T_CHECK(s.rc[1] == 1 && strcmp(s.ref[1].reason,
	    "email_forbidden_character") == 0 && s.ref[1].line == 26,
	    "order 2: %d %s", s.ref[1].line, s.ref[1].message);
	T_CHECK(s.rc[2] == 1 && strcmp(s.ref[2].reason,
	    "additional_email_invalid") == 0 && s.ref[2].line == 39,
	    "order 3: %d %s", s.ref[2].line, s.ref[2].message);
	T_CHECK(s.rc[3] == 1 && strcmp(s.ref[3].reason,
	    "name_forbidden_character") == 0 && s.ref[3].line == 47,
	    "order 4: %d %s", s.ref[3].line, s.ref[3].message);
	close(fd);
	problems_free(&pr);
	schema_free(xsd);
}

int
main(void)
{
	log_init("stderr", 0);
	test_valid();
	test_additional();
	test_mailbox();
	test_names();
	test_nfc();
	test_duplicates();
	test_parsed();
	return t_done("t_order_check");
}
