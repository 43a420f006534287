/*
 * xmlguard.c: the byte guard in front of libxml2 (SPEC 2).  Every byte of
 * an inbound document passes through here before the parser sees it.
 *
 * Refused: "<!" markup other than a comment or a CDATA section (so a
 * DOCTYPE and its entity declarations never reach the parser at all), NUL
 * bytes, the bytes 0xFE and 0xFF (never in UTF-8; a UTF-16 byte order
 * mark starts with one), and runs of more than XMLGUARD_RUN_MAX bytes
 * without "<" or ">".  The parser reads the input as UTF-8 whatever the
 * document declares, so the guard sees the bytes exactly as it does.
 *
 * Failure policy: the guard only decides, it reports nothing.  A refusal
 * is final: the input is cut off at the first refused byte, every later
 * read fails, and the caller turns g->why (with g->line) or g->err into a
 * problem and rejects the document.  Bytes are never altered or skipped.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "xmlguard.h"

void
xmlguard_init(struct xmlguard *g, int fd)
{
	memset(g, 0, sizeof(*g));
	g->fd = fd;
	g->st = XG_TEXT;
	g->line = 1;
}

static int
refuse(struct xmlguard *g, const char *why)
{
	g->why = why;
	g->refused = 1;
	return -1;
}

int
xmlguard_scan(struct xmlguard *g, const unsigned char *b, size_t len)
{
	static const char	 cdata[] = "CDATA[";
	size_t			 i;
	unsigned char		 c;

	if (g->refused)
		return -1;
	for (i = 0; i < len; i++) {
		c = b[i];
		if (c == '\0')
			return refuse(g, "NUL byte not allowed");
		if (c == 0xfe || c == 0xff)
			return refuse(g, "document is not UTF-8");
		if (c == '\n')
			g->line++;
		if (c == '<' || c == '>')
			g->run = 0;
		else if (++g->run > XMLGUARD_RUN_MAX)
			return refuse(g, "more than 1 MiB of text without "
			    "markup");
		switch (g->st) {
		case XG_TEXT:
			if (c == '<')
				g->st = XG_LT;
			break;
		case XG_LT:
			if (c == '!')
				g->st = XG_BANG;
			else if (c == '?') {
				g->st = XG_PI;
				g->n = 0;
			} else if (c != '<')
				g->st = XG_TEXT;
			break;
		case XG_BANG:
			if (c == '-')
				g->st = XG_DASH;
			else if (c == '[') {
				g->st = XG_CDOPEN;
				g->n = 0;
			} else if (c == 'D')
				return refuse(g, "DOCTYPE not allowed");
			else
				return refuse(g,
				    "markup declaration not allowed");
			break;
		case XG_DASH:
			if (c != '-')
				return refuse(g,
				    "markup declaration not allowed");
			g->st = XG_COMMENT;
			g->n = 0;
			break;
		case XG_CDOPEN:
			if (c != (unsigned char)cdata[g->n])
				return refuse(g,
				    "markup declaration not allowed");
			if (cdata[++g->n] == '\0') {
				g->st = XG_CDATA;
				g->n = 0;
			}
			break;
		case XG_COMMENT:
		case XG_CDATA:
			/* "-->" or "]]>" */
			if (c == (g->st == XG_COMMENT ? '-' : ']'))
				g->n++;
			else {
				if (c == '>' && g->n >= 2)
					g->st = XG_TEXT;
				g->n = 0;
			}
			break;
		case XG_PI:
			if (c == '?')
				g->n = 1;
			else {
				if (c == '>' && g->n)
					g->st = XG_TEXT;
				g->n = 0;
			}
			break;
		}
	}
	return 0;
}

ssize_t
xmlguard_read(struct xmlguard *g, void *buf, size_t len)
{
	ssize_t	 n;

	if (g->refused)
		return -1;
	do {
		n = read(g->fd, buf, len);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		g->err = errno != 0 ? errno : EIO;
		g->refused = 1;
		return -1;
	}
	if (n == 0 && g->total == 0)
		return refuse(g, "empty document");
	g->total += (unsigned long long)n;
	if (xmlguard_scan(g, buf, (size_t)n) == -1)
		return -1;
	return n;
}
