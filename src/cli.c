/*
 * cli.c: how commands report failure: one line on stderr.
 */
#include <stdarg.h>
#include <stdio.h>

#include "cmd.h"

int
cli_err(const char *fmt, ...)
{
	va_list	 ap;

	fputs("certspool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}
