# The sources each unit test links (scripts/unit-deps.py; make unit-deps
# rewrites this file from the objects).
t_batch_SRCS = batch.c batch_doc.c clock.c datadir.c log.c notify.c \
	revoke.c store.c store_schema.c util.c xmlguard.c
t_billing_SRCS = card.c clock.c conf.c crash.c fsutil.c ledger.c log.c \
	notify.c store.c store_schema.c util.c
t_bundle_SRCS = bundle.c clock.c fsutil.c log.c mail.c mailspool.c \
	notify.c util.c
t_core_SRCS = ca.c card.c clock.c conf.c crash.c fsutil.c issuer.c \
	keyproc.c keysandbox.c keysign.c ledger.c log.c notify.c p11.c \
	p11_ceremony.c product.c store.c store_schema.c util.c
t_crl_SRCS = ca.c ca_create.c clock.c crash.c crl.c crl_publish.c fsutil.c \
	issuer.c keyproc.c keysandbox.c keysign.c log.c notify.c p11.c \
	p11_ceremony.c product.c profile.c revoke.c store.c store_schema.c util.c
t_dns_SRCS = ca.c card.c clock.c crash.c csr.c csr_key.c dcv_net.c dns.c \
	fairq.c fsutil.c http.c keyproc.c keysandbox.c keysign.c ledger.c log.c \
	mail.c mailspool.c notify.c p11.c p11_ceremony.c pipeline.c \
	portal_token.c product.c stage_agreement.c stage_attest.c stage_caa.c \
	stage_csr.c stage_dcv.c stage_org.c stage_payment.c stage_terms.c store.c \
	store_schema.c util.c workpool.c
t_intake_SRCS = clock.c fsutil.c log.c notify.c openwriters.c util.c
t_journal_SRCS = clock.c log.c notify.c
t_keyproc_SRCS = ca.c ca_create.c clock.c crash.c crl.c fsutil.c issuer.c \
	keyproc.c keysandbox.c keysign.c log.c notify.c p11.c p11_ceremony.c \
	product.c profile.c revoke.c store.c store_schema.c util.c
t_order_check_SRCS = batch.c batch_doc.c clock.c datadir.c log.c notify.c \
	order_check.c revoke.c store.c store_schema.c util.c xmlguard.c
t_p11_SRCS = clock.c log.c notify.c p11.c p11_ceremony.c util.c
t_p12keep_SRCS = clock.c log.c notify.c p12keep.c store.c store_schema.c \
	util.c
t_pki_SRCS = ca.c ca_create.c clock.c crash.c crl.c csr.c csr_key.c \
	fsutil.c issuer.c keyproc.c keysandbox.c keysign.c lint.c lint_ext.c \
	log.c notify.c p11.c p11_ceremony.c p12.c product.c profile.c revoke.c \
	store.c store_schema.c util.c
t_state_SRCS = clock.c log.c notify.c store.c store_schema.c store_state.c \
	util.c
t_web_SRCS = clock.c log.c notify.c util.c web_page.c
