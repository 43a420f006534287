/*
 * web_page.c: what the portal's pages build their answers with (web.h):
 * the HTML layout (no inline script or style: the CSP forbids both),
 * HTML escaping, the fields of an urlencoded POST body, and plain data
 * answers.  The layout wraps the body in <main> unless the body is its
 * own <main ...> element (the keygen page carries data attributes on it).
 * Failure policy: memory exhaustion aborts (xcalloc); a malformed field
 * is treated as absent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "web_page.h"

char *
web_esc(const char *s)
{
	struct buf	 b = { 0 };

	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&':
			buf_add(&b, "&amp;", 5);
			break;
		case '<':
			buf_add(&b, "&lt;", 4);
			break;
		case '>':
			buf_add(&b, "&gt;", 4);
			break;
		case '"':
			buf_add(&b, "&quot;", 6);
			break;
		case '\'':
			buf_add(&b, "&#39;", 5);
			break;
		default:
			buf_add(&b, s, 1);
		}
	}
	buf_add(&b, "", 0);	/* allocated and NUL-terminated */
	return (char *)b.p;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode n bytes of urlencoded s ('+' is a space) into a malloc'd
 * string; NULL for a malformed %-escape or an encoded NUL. */
static char *
urldecode(const char *s, size_t n)
{
	char	*out = xcalloc(1, n + 1);
	size_t	 i, j = 0;
	int	 hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			out[j++] = ' ';
		else if (s[i] != '%')
			out[j++] = s[i];
		else {
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			out[j++] = (char)(hi << 4 | lo);
			i += 2;
		}
	}
	out[j] = '\0';
	return out;
}

char *
web_field(const struct web_req *req, const char *name)
{
	const char	*p, *end, *amp, *eq;
	char		*key;
	int		 match;

	if (req->body == NULL)
		return NULL;
	p = req->body;
	end = req->body + req->bodylen;
	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq != NULL && (key = urldecode(p, (size_t)(eq - p))) !=
		    NULL) {
			match = strcmp(key, name) == 0;
			free(key);
			if (match)
				return urldecode(eq + 1,
				    (size_t)(amp - eq - 1));
		}
		p = amp + 1;
	}
	return NULL;
}

void
web_data(struct web_resp *resp, int status, const char *ctype,
    const void *data, size_t len)
{
	free(resp->body);
	resp->body = xcalloc(1, len + 1);
	if (len > 0)
		memcpy(resp->body, data, len);
	resp->len = len;
	resp->status = status;
	resp->ctype = ctype;
}

void
web_page(struct web_resp *resp, int status, const char *title,
    const char *body_html)
{
	struct buf	 b = { 0 };
	char		*t = web_esc(title);
	int		 own_main = strncmp(body_html, "<main", 5) == 0 &&
			    (body_html[5] == '>' || body_html[5] == ' ');

	buf_addf(&b, "<!doctype html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<title>%s — certspool</title>\n"
	    "<link rel=\"stylesheet\" href=\"/assets/portal.css\">\n"
	    "</head>\n<body>\n"
	    "<header><p class=\"brand\">certspool — certificate portal</p>"
	    "</header>\n%s%s%s\n</body>\n</html>\n", t,
	    own_main ? "" : "<main>\n", body_html, own_main ? "" : "</main>");
	free(t);
	free(resp->body);
	resp->body = (char *)b.p;
	resp->len = b.len;
	resp->status = status;
	resp->ctype = "text/html; charset=utf-8";
}

void
web_error(struct web_resp *resp, int status, const char *title,
    const char *sentence)
{
	struct buf	 b = { 0 };
	char		*t = web_esc(title), *s = web_esc(sentence);

	buf_addf(&b, "<h1>%s</h1>\n<p id=\"error\">%s</p>\n", t, s);
	web_page(resp, status, title, (char *)b.p);
	buf_free(&b);
	free(t);
	free(s);
}
