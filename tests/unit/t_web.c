/*
 * t_web.c: unit tests of what the portal's pages build answers with
 * (web_page.c): HTML escaping, the fields of an urlencoded body
 * (decoding, malformed escapes refused), the page layout and the error
 * page, linked from the real sources.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "web_page.h"
#include "t.h"

static struct web_req
body(const char *s)
{
	struct web_req	 r;

	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.body = s;
	r.bodylen = strlen(s);
	return r;
}

/* The decoded field name of body s, "(null)" when absent. */
static void
field_is(const char *s, const char *name, const char *want)
{
	struct web_req	 r = body(s);
	char		*v = web_field(&r, name);

	T_CHECK((v == NULL && want == NULL) || (v != NULL && want != NULL &&
	    strcmp(v, want) == 0), "%s in \"%s\": got \"%s\", want \"%s\"",
	    name, s, v ? v : "(null)", want ? want : "(null)");
	free(v);
}

static void
test_esc(void)
{
	char	*e;

	e = web_esc("<a href=\"x\">Tom & Jerry's</a>");
	T_STREQ(e, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
	free(e);
	e = web_esc("");
	T_STREQ(e, "");
	free(e);
	e = web_esc("plain ü");
	T_STREQ(e, "plain ü");
	free(e);
}

static void
test_field(void)
{
	field_is("csrf=abc&csr=x", "csrf", "abc");
	field_is("csrf=abc&csr=x", "csr", "x");
	field_is("a=1&b=2", "c", NULL);
	field_is("", "a", NULL);
	field_is("a", "a", NULL);			/* no '=' */
	field_is("a=", "a", "");
	field_is("a=hello+world%21", "a", "hello world!");
	field_is("a=%2B%3d%26", "a", "+=&");
	field_is("na%6De=v", "name", "v");		/* encoded name */
	field_is("a=%zz", "a", NULL);			/* malformed */
	field_is("a=%4", "a", NULL);			/* truncated */
	field_is("a=x%", "a", NULL);
	field_is("a=%00b", "a", NULL);			/* encoded NUL */
	field_is("x=1&a=first&a=second", "a", "first");
	field_is("aa=1&a=2", "a", "2");
	field_is("csr=-----BEGIN+CERTIFICATE+REQUEST-----%0AMIIB%2F%3D%3D%0A",
	    "csr", "-----BEGIN CERTIFICATE REQUEST-----\nMIIB/==\n");
}

static void
test_page(void)
{
	struct web_resp	 r;

	memset(&r, 0, sizeof(r));
	web_page(&r, 200, "A <title>", "<p>body</p>");
	T_CHECK(r.status == 200, "status %d", r.status);
	T_STREQ(r.ctype, "text/html; charset=utf-8");
	T_CHECK(r.len == strlen(r.body), "len %zu", r.len);
	T_CHECK(strncmp(r.body, "<!doctype html>\n<html lang=\"en\">", 32) == 0,
	    "%s", r.body);
	T_CHECK(strstr(r.body, "<title>A &lt;title&gt; — certspool</title>") !=
	    NULL, "%s", r.body);
	T_CHECK(strstr(r.body, "<main>\n<p>body</p></main>") != NULL, "%s",
	    r.body);
	T_CHECK(strstr(r.body, "<meta charset=\"utf-8\">") != NULL &&
	    strstr(r.body, "name=\"viewport\"") != NULL &&
	    strstr(r.body, "href=\"/assets/portal.css\"") != NULL &&
	    strstr(r.body, "certspool — certificate portal") != NULL,
	    "%s", r.body);
	T_CHECK(strstr(r.body, "<script") == NULL &&
	    strstr(r.body, "style=") == NULL, "inline script or style");
	/* A body that is its own <main ...> is not wrapped again. */
	web_page(&r, 200, "Key", "<main id=\"keygen\" data-csrf=\"x\"></main>");
	T_CHECK(strstr(r.body, "<main>") == NULL &&
	    strstr(r.body, "<main id=\"keygen\"") != NULL, "%s", r.body);
	web_error(&r, 410, "Used <link>", "It was used & is gone.");
	T_CHECK(r.status == 410, "status %d", r.status);
	T_CHECK(strstr(r.body, "<h1>Used &lt;link&gt;</h1>") != NULL &&
	    strstr(r.body, "It was used &amp; is gone.") != NULL, "%s", r.body);
	web_data(&r, 201, "application/json", "{\"a\":1}", 7);
	T_CHECK(r.status == 201 && r.len == 7 && memcmp(r.body, "{\"a\":1}", 7)
	    == 0 && r.body[7] == '\0', "web_data");
	T_STREQ(r.ctype, "application/json");
	free(r.body);
}

int
main(void)
{
	test_esc();
	test_field();
	test_page();
	return t_done("t_web");
}
