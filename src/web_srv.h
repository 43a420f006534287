/*
 * web_srv.h: what the portal's two halves share inside the server:
 * web.c (the listening socket, the connection clock and its watchdog,
 * the rate limit table, cmd_web) and web_serve.c (one request: limits,
 * anti-CSRF, routing, static files, pages, headers, the request log).
 */
#ifndef CERTSPOOL_WEB_SRV_H
#define CERTSPOOL_WEB_SRV_H

#include <pthread.h>
#include <stdatomic.h>

#include <microhttpd.h>

struct conf;
struct store;

struct web_srv {
	const struct conf	*conf;
	struct store		*st;		/* held under db_mu */
	pthread_mutex_t		 db_mu;
	atomic_int		 stopping;	/* SIGTERM: end long polls */
	int			 tls;		/* served over HTTPS itself */
	int			 secure;	/* web_base_url is https */
	char			 origin[256];	/* scheme://host[:port] */
};

/* MHD callbacks (web_serve.c). */
enum MHD_Result	 web_answer(void *cls, struct MHD_Connection *,
		    const char *url, const char *method, const char *version,
		    const char *upload, size_t *upload_size, void **con_cls);
void		 web_completed(void *cls, struct MHD_Connection *,
		    void **con_cls, enum MHD_RequestTerminationCode);

/* When the current request of the connection began (CLOCK_MONOTONIC
 * ms): the connection's accept or the end of its previous request.
 * The watchdog cuts the connection web_timeout_seconds after it. */
long long	 web_conn_start(struct MHD_Connection *);
/* The request is over: the connection's clock starts again. */
void		 web_conn_restart(struct MHD_Connection *);

/* Count a request of address key on a token page: 0 allowed, else the
 * seconds until it will be (the request is refused and counted for the
 * address's log line). */
int		 web_rate_take(struct web_srv *, const char *key);

/* certspool web (web.c): serve the portal until SIGTERM or SIGINT; the
 * process exit status (0, or 1 after an error on stderr). */
struct conf;
struct store;
int	 web_run(struct conf *, struct store *);

#endif
