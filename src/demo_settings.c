/*
 * demo_settings.c: the settings that only fit the offline demo that
 * certspool init sets up: CAA not checked, the demo root's key beside
 * the issuing CA, no mail delivery, no card processor, CRL and AIA URLs
 * on .invalid hosts (RFC 2606).  Each comes with what it means and the
 * key that fixes it, for the warnings the daemon and the portal log when
 * they start and for certspool doctor.
 * Failure policy: none; these are warnings, never a refusal to start.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "extern.h"
#include "ca.h"
#include "demo_settings.h"

/* The host of an http:// URL ends in ".invalid" (or is "invalid"). */
static int
is_invalid_host(const char *url)
{
	const char	*h, *e;
	size_t		 n;

	if (url == NULL || strncasecmp(url, "http://", 7) != 0)
		return 0;
	h = url + 7;
	if ((e = strpbrk(h, "/:?#")) == NULL)
		e = h + strlen(h);
	n = (size_t)(e - h);
	if (n > 0 && h[n - 1] == '.')
		n--;
	if (n == 7)
		return strncasecmp(h, "invalid", 7) == 0;
	return n > 8 && strncasecmp(h + n - 8, ".invalid", 8) == 0;
}

static void
url_setting(struct demo_setting *d, const char *name, const char *key,
    const char *url, const char *use)
{
	d->name = name;
	d->web = 1;
	d->in_force = is_invalid_host(url);
	if (d->in_force)
		snprintf(d->text, sizeof(d->text), "%s %s names a .invalid "
		    "host (RFC 2606): %s of the certificates issued cannot be "
		    "reached; set %s to a URL of your own", key, url, use, key);
	else if (*url == '\0')
		snprintf(d->text, sizeof(d->text), "%s is empty", key);
	else
		snprintf(d->text, sizeof(d->text), "%s = %s", key, url);
}

size_t
demo_settings(const struct conf *c, struct demo_setting v[DEMO_SETTINGS_MAX])
{
	struct demo_setting	*d;
	struct stat		 sb;
	char			 root[1024];
	size_t			 n = 0;

	memset(v, 0, sizeof(*v) * DEMO_SETTINGS_MAX);
	d = &v[n++];
	d->name = "caa";
	d->in_force = !c->caa_check;
	snprintf(d->text, sizeof(d->text), d->in_force ? "caa_check = off: "
	    "CAA issuemail records (RFC 9495) are not looked up before "
	    "issuance as S/MIME BR 4.2.2.1 requires; set caa_check = on and "
	    "caa_identities to this CA's issuer domain names" :
	    "caa_check = on, caa_identities = %s", c->caa_identities);

	d = &v[n++];
	d->name = "root_key";
	snprintf(root, sizeof(root), "%s/root.key", c->ca_dir);
	d->in_force = lstat(root, &sb) == 0;
	if (d->in_force)
		snprintf(d->text, sizeof(d->text), "%.700s: the demo root's private "
		    "key lies beside the issuing CA, so whoever reads ca_dir "
		    "can make a CA; keep a root key offline: remove it from "
		    "ca_dir, or set ca_dir to an issuing CA of your own root "
		    "(certspool ca import)", root);
	else
		snprintf(d->text, sizeof(d->text), "no root key in %s",
		    c->ca_dir);

	d = &v[n++];
	d->name = "mta";
	d->in_force = *c->sendmail_command == '\0';
	snprintf(d->text, sizeof(d->text), d->in_force ? "sendmail_command "
	    "is empty: messages are written to spool/mail and never "
	    "delivered; set sendmail_command, e.g. \"/usr/sbin/sendmail -t "
	    "-i\"" : "sendmail_command = %s", c->sendmail_command);

	d = &v[n++];
	d->name = "card";
	d->in_force = *c->card_processor_command == '\0';
	snprintf(d->text, sizeof(d->text), d->in_force ?
	    "card_processor_command is empty: orders paid by card wait in "
	    "waiting_funds and are never charged; set card_processor_command "
	    "to the command of your card processor" :
	    "card_processor_command = %s", c->card_processor_command);

	url_setting(&v[n++], "crl_url", "crl_url", c->crl_url,
	    "the CRL distribution point");
	url_setting(&v[n++], "aia_url", "aia_ca_issuers_url",
	    c->aia_ca_issuers_url, "the issuing CA certificate (AIA)");
	url_setting(&v[n++], "ocsp_url", "ocsp_url", c->ocsp_url,
	    "the OCSP responder (AIA)");
	return n;
}

int
demo_settings_log(const struct conf *c, int web)
{
	struct demo_setting	 v[DEMO_SETTINGS_MAX];
	size_t			 i, n;
	int			 logged = 0;

	n = demo_settings(c, v);
	for (i = 0; i < n; i++) {
		if (!v[i].in_force || (web && !v[i].web))
			continue;
		log_warn("demo setting in force: %s", v[i].text);
		logged++;
	}
	return logged;
}
