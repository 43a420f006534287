#!/bin/sh
# Crash torture, small: scripts/torture.sh with ~60 orders and ~25 SIGKILLs
# (named crash points, random moments, a live daemon), the invariants
# checked after every run and after the final drain: every order issued
# exactly once or rejected as planned, one cert.pem per recipient across
# all archives, no serial reused, archives and results whole, every input
# in archive/ or rejected/ exactly once, PRAGMA integrity_check ok;
# with revocation documents (leavers by mailbox, order and serial, a
# keyCompromise, future `at`, not_found) and CRLs in 2 or 4 shards: no
# revocation lost, results never contradicted, every CRL file whole and
# verifying, CRL numbers never going down or reused, each shard's CRL
# listing exactly its revoked certificates after a finished run.
# `make torture` is the large run.  Ends with "N passed, M failed".
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${CERTSPOOL_TEST_ENGINE:-sqlite}" != sqlite ]; then
	# Its checker reads the SQLite file (PRAGMA integrity_check,
	# foreign_key_check); several daemons on PostgreSQL have their own
	# torture run.
	echo "SKIP: t64-torture-smoke: scripts/torture.sh runs on SQLite only"
	echo "0 passed, 0 failed"
	exit 0
fi
TORTURE_ORDERS=${TORTURE_ORDERS:-60} TORTURE_KILLS=${TORTURE_KILLS:-25} \
    exec bash "$ROOT/scripts/torture.sh"
