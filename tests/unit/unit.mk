# The sources each unit test links (scripts/unit-deps.py; make unit-deps
# rewrites this file from the objects).
t_batch_SRCS = batch.c batch_doc.c clock.c datadir.c log.c notify.c \
	reasons.c util.c xmlguard.c
t_billing_SRCS = card.c clock.c conf.c crash.c db.c db_pg.c db_pg_stmt.c \
	db_sqlite.c fsutil.c ledger.c log.c notify.c store.c store_node.c \
	store_schema.c store_schema_pg.c util.c
t_bundle_SRCS = bundle.c clock.c fsutil.c log.c mail.c mailspool.c \
	notify.c util.c
t_core_SRCS = ca.c card.c clock.c conf.c crash.c db.c db_pg.c db_pg_stmt.c \
	db_sqlite.c fsutil.c issuer.c keyproc.c keysandbox.c keysign.c ledger.c \
	log.c notify.c p11.c p11_ceremony.c p11_pub.c product.c store.c \
	store_issuer.c store_node.c store_schema.c store_schema_pg.c util.c
t_crl_SRCS = ca.c ca_create.c clock.c crash.c crl.c crl_publish.c db.c \
	db_pg.c db_pg_stmt.c db_sqlite.c fsutil.c issuer.c keyproc.c keysandbox.c \
	keysign.c log.c notify.c p11.c p11_ceremony.c p11_pub.c reasons.c store.c \
	store_crl.c store_issuer.c store_node.c store_schema.c store_schema_pg.c \
	util.c
t_dbpg_SRCS = clock.c db.c db_pg.c db_pg_stmt.c db_sqlite.c log.c notify.c \
	store_schema.c store_schema_pg.c util.c
t_dns_SRCS = card.c clock.c crash.c db.c db_pg.c db_pg_stmt.c db_sqlite.c \
	dns.c ledger.c log.c notify.c stage.c stage_caa.c store.c store_node.c \
	store_schema.c store_schema_pg.c store_stage.c util.c
t_intake_SRCS = clock.c fsutil.c log.c notify.c openwriters.c util.c
t_journal_SRCS = clock.c log.c notify.c
t_keyproc_SRCS = ca.c ca_create.c clock.c fsutil.c keyproc.c keysandbox.c \
	keysign.c log.c notify.c p11.c p11_ceremony.c p11_pub.c util.c
t_order_check_SRCS = batch.c batch_doc.c clock.c datadir.c log.c notify.c \
	order_check.c reasons.c util.c xmlguard.c
t_p11_SRCS = clock.c log.c notify.c p11.c p11_ceremony.c p11_pub.c util.c
t_p12keep_SRCS = clock.c db.c db_pg.c db_pg_stmt.c db_sqlite.c log.c \
	notify.c p12keep.c store.c store_issuer.c store_node.c store_schema.c \
	store_schema_pg.c util.c
t_pki_SRCS = ca.c ca_create.c clock.c crash.c crl.c csr.c csr_key.c db.c \
	db_pg.c db_pg_stmt.c db_sqlite.c fsutil.c issuer.c keyproc.c keysandbox.c \
	keysign.c lint.c lint_ext.c log.c notify.c p11.c p11_ceremony.c p11_pub.c \
	p12.c product.c profile.c profile_ext.c reasons.c store.c store_crl.c \
	store_issuer.c store_node.c store_schema.c store_schema_pg.c util.c
t_state_SRCS = clock.c db.c db_pg.c db_pg_stmt.c db_sqlite.c log.c \
	notify.c store.c store_node.c store_schema.c store_schema_pg.c \
	store_state.c util.c
t_web_SRCS = clock.c log.c notify.c util.c web_page.c
