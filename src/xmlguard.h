/*
 * xmlguard.h: the byte guard in front of the XML parser (xmlguard.c).
 * Internal to the batch parser; not part of extern.h.
 */
#ifndef CERTSPOOL_XMLGUARD_H
#define CERTSPOOL_XMLGUARD_H

#include <sys/types.h>
#include <stddef.h>

/*
 * Most bytes between two "<" or ">": far above anything schema-valid (a
 * CSR is at most 65536 characters), far below libxml2's own 10 MB limit,
 * so no single node costs much memory or time.
 */
#define XMLGUARD_RUN_MAX	(1024 * 1024)

/* Where the guard is in the markup. */
enum xmlguard_state {
	XG_TEXT,	/* content, tags, attributes */
	XG_LT,		/* after "<" */
	XG_BANG,	/* after "<!" */
	XG_DASH,	/* after "<!-" */
	XG_CDOPEN,	/* inside "<![CDATA[" */
	XG_COMMENT,
	XG_CDATA,
	XG_PI
};

struct xmlguard {
	int			 fd;
	enum xmlguard_state	 st;
	int			 n;		/* match progress */
	size_t			 run;		/* bytes since "<" or ">" */
	int			 line;		/* 1-based, of the last byte */
	unsigned long long	 total;		/* bytes read */
	int			 refused;	/* input cut off */
	const char		*why;		/* refusal, a constant sentence */
	int			 err;		/* errno of a failed read, or 0 */
};

/* Start guarding fd (borrowed, not closed) at line 1. */
void	 xmlguard_init(struct xmlguard *, int fd);
/*
 * Check len bytes on their way to the parser.  0 if they may pass; -1 on
 * the first refused byte, with g->refused set, g->why the reason and
 * g->line the line it is on.
 */
int	 xmlguard_scan(struct xmlguard *, const unsigned char *, size_t);
/*
 * read(2) on g->fd (retried on EINTR), then xmlguard_scan().  Returns the
 * bytes read (0 at end of input), or -1 when the input is cut off: a read
 * error (g->err set), an empty document or a refused byte (g->why set).
 * Once it has returned -1 it always does.
 */
ssize_t	 xmlguard_read(struct xmlguard *, void *buf, size_t len);

#endif /* CERTSPOOL_XMLGUARD_H */
