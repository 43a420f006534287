#!/bin/sh
# The module boundaries (scripts/check-layers.py on src/ and the objects
# of the build): no SQL or sqlite3 outside the data layer (store.c,
# store_*.c, ledger.c: named in the output), no cycle in the #include
# graph of the modules, no call cycle among stage, pipeline, ca and
# profile, no stage calling another stage or back into the pipeline,
# every source file under 800 lines and named in the README's Layout.
cd "$(dirname "$0")/../.." || exit 1
[ -x certspool ] || { echo "build first (make certspool)"; \
    echo "0 passed, 1 failed"; exit 1; }
exec python3 scripts/check-layers.py src
