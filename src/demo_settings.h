/*
 * demo_settings.h: the demo-only settings a config may leave in force
 * (demo_settings.c), logged as warnings when the daemon and the portal
 * start and reported by certspool doctor.
 */
#ifndef CERTSPOOL_DEMO_SETTINGS_H
#define CERTSPOOL_DEMO_SETTINGS_H

#include <stddef.h>

struct conf;

#define DEMO_SETTINGS_MAX	8

/* One demo-only setting: in force or not, and a sentence. */
struct demo_setting {
	const char	*name;		/* its check name in certspool doctor */
	int		 web;		/* concerns certspool web too */
	int		 in_force;
	char		 text[1024];	/* in force: what it means and which
					 * key fixes it; else what is set */
};

/* Every demo-only setting of c, in a fixed order, into v; the count. */
size_t	 demo_settings(const struct conf *c,
	    struct demo_setting v[DEMO_SETTINGS_MAX]);
/* Log one warning per demo-only setting in force (web: only those
 * that concern certspool web); how many were logged. */
int	 demo_settings_log(const struct conf *c, int web);

#endif
