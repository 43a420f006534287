#!/usr/bin/env python3
"""check-layers.py: the module boundaries of src/, checked on the sources
and on the objects of a build (make certspool first).

1. The data layer is src/store.c, src/store_*.c, src/ledger.c and its
   drivers, src/db.c and src/db_*.c.  No other source file contains SQL
   text in a string literal, names a sqlite3_* or libpq (PQ*) function or
   type, or includes sqlite3.h, libpq-fe.h or a header that exposes
   statements (store.h, db.h, db_pg.h).
2. The #include graph of the modules has no cycle.  A module is a group
   of files sharing a name prefix: stage (stage.c/h, stage_*.c), ca
   (ca*.c, ca*.h), profile (profile*), pipeline, p11, ... (see group());
   each file of the data layer is a module of its own (one per entity).
3. The call graph from the objects (nm): no cycle among the modules
   stage, pipeline, ca and profile, and no stage calls a function of
   another stage file (stages run in order; an earlier one never calls a
   later one), and no stage calls back into the pipeline.
4. Every file of src/ is under 800 lines, and the README's Layout
   section names each.
Prints one line per check, then "N passed, M failed"; exit 1 on failure.
"""
import os
import re
import subprocess
import sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "src"
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + (": " + detail if detail else ""))


def layer(name):
    return name in ("store.c", "ledger.c", "db.c") or \
        re.match(r"(store|db)_\w+\.c$", name) is not None


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"),
                  text, flags=re.S)


SQL = re.compile(r'"(?:[^"\\\n]|\\.)*\b(SELECT\s+[a-z0-9*(]|SELECT"|INSERT\s+INTO|UPDATE\s+\w+'
                 r'(?:\s+INDEXED\s+BY\s+\w+)?\s+SET|DELETE\s+FROM|'
                 r'CREATE\s+(?:TABLE|INDEX|TRIGGER|UNIQUE)|PRAGMA|'
                 r'BEGIN(?:\s+IMMEDIATE)?"|COMMIT"|ROLLBACK")')
SQLITE = re.compile(r"\bsqlite3_\w+|<sqlite3\.h>|<libpq-fe\.h>|\bPQ[a-z]\w*\(|"
                    r"\bPG(?:conn|result)\b|\"store\.h\"|\"db(?:_\w+)?\.h\"")


def sql_outside_layer(files):
    bad = []
    for f in files:
        if layer(f) or f in ("store.h", "db.h") or \
                re.match(r"(?:store|db)_\w+\.h$", f):
            continue
        text = strip_comments(open(os.path.join(SRC, f)).read())
        for n, line in enumerate(text.split("\n"), 1):
            m = SQL.search(line) or SQLITE.search(line)
            if m:
                bad.append("%s:%d: %s" % (f, n, m.group(0)[:60]))
    return bad


GROUPS = ["stage", "pipeline", "profile", "ca", "p11", "csr",
          "lint", "batch", "portal", "report", "revoke", "crl",
          "cmd", "doctor", "dcv", "ledger", "billing", "spool",
          "signer", "daemon", "metrics", "purge", "mail"]


def group(name):
    base = re.sub(r"\.(c|h|o)$", "", name)
    if base == "portal_token":
        return base     # the links stages and messages hand out
    if base.startswith("store_") or base == "store":
        return base     # each file of the data layer is a module
    if base == "db" or base.startswith("db_"):
        return "db"     # the drivers under the data layer
    if base in ("revdoc", "revresult"):
        return "revoke"
    if base in ("card",):
        return "billing"
    if base in ("intake",):
        return "spool"
    for g in GROUPS:
        if base == g or base.startswith(g + "_"):
            return g
    if base.startswith("keyproc") or base == "keysandbox":
        return "key"    # the daemon's handle on the signer process
    # keysign (the signer process itself) is a module of its own: it
    # loads the CA (ca.h) that talks to it through keyproc.h.
    return base


def find_cycle(graph, nodes=None):
    """A cycle of the graph (restricted to nodes) as a list, or None."""
    nodes = set(graph) if nodes is None else set(nodes)
    color = {}
    stack = []

    def visit(n):
        color[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if m not in nodes or m == n:
                continue
            if color.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in color:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        color[n] = 2
        return None

    for n in sorted(nodes):
        if n not in color:
            c = visit(n)
            if c:
                return c
    return None


def include_graph(files):
    g = {}
    for f in files:
        for h in re.findall(r'^#include\s+"([\w.]+)"',
                            open(os.path.join(SRC, f)).read(), re.M):
            if os.path.exists(os.path.join(SRC, h)):
                g.setdefault(group(f), set()).add(group(h))
    return g


def symbols(obj):
    out = subprocess.run(["nm", "--defined-only", "-g", obj],
                         capture_output=True, text=True).stdout
    defined = {l.split()[-1] for l in out.splitlines() if l.strip()}
    out = subprocess.run(["nm", "-u", obj], capture_output=True,
                         text=True).stdout
    used = {l.split()[-1] for l in out.splitlines() if l.strip()}
    return defined, used


def call_graphs(files):
    objs = [f[:-2] + ".o" for f in files if f.endswith(".c")]
    missing = [o for o in objs if not os.path.exists(os.path.join(SRC, o))]
    if missing:
        return None, None, "no objects (run make certspool): " + \
            " ".join(missing[:3])
    owner = {}
    uses = {}
    for o in objs:
        d, u = symbols(os.path.join(SRC, o))
        for s in d:
            owner[s] = o
        uses[o] = u
    mod = {}
    fil = {}
    for o, u in uses.items():
        for s in u:
            if s in owner and owner[s] != o:
                mod.setdefault(group(o), set()).add(group(owner[s]))
                fil.setdefault(o, set()).add((owner[s], s))
    return mod, fil, None


def main():
    files = sorted(f for f in os.listdir(SRC) if re.search(r"\.[ch]$", f))
    lay = [f for f in files if layer(f)]
    print("data layer: " + " ".join(lay))
    bad = sql_outside_layer(files)
    check(not bad, "no SQL text or sqlite3 use outside the data layer",
          "; ".join(bad[:20]) + (" ..." if len(bad) > 20 else ""))
    cyc = find_cycle(include_graph(files))
    check(cyc is None, "#include graph of the modules has no cycle",
          " -> ".join(cyc or []))
    mod, fil, err = call_graphs(files)
    check(err is None, "objects of the build found", err or "")
    if err is None:
        core = ["stage", "pipeline", "ca", "profile"]
        cyc = find_cycle(mod, core)
        check(cyc is None, "no call cycle among stage, pipeline, ca and "
              "profile", " -> ".join(cyc or []))
        cross = sorted("%s calls %s (%s)" % (o, d, s)
                       for o, calls in fil.items()
                       if o.startswith("stage_")
                       for d, s in calls if d.startswith("stage_"))
        check(not cross, "no stage calls another stage file",
              "; ".join(cross))
        back = sorted("%s calls %s (%s)" % (o, d, s)
                      for o, calls in fil.items() if group(o) == "stage"
                      for d, s in calls if group(d) in ("pipeline",
                                                        "signer", "report",
                                                        "daemon", "spool"))
        check(not back, "no stage calls back into the pipeline",
              "; ".join(back))
    long = sorted("%s %d" % (f, n) for f in files
                  for n in [sum(1 for _ in open(os.path.join(SRC, f)))]
                  if n >= 800)
    check(not long, "every source file under 800 lines", ", ".join(long))
    readme = os.path.join(SRC, "..", "README.md")
    text = open(readme).read()
    m = re.search(r"^## Layout\n(.*?)^## ", text, re.S | re.M)
    sect = m.group(1) if m else ""
    # "name.c/.h" names both files
    sect += " " + " ".join(m + ".c " + m + ".h" for m in
                           re.findall(r"(\w+)\.c/\.h", sect))
    unnamed = [f for f in files
               if not re.search(r"(?<![\w.])" + re.escape(f) + r"\b", sect)]
    check(not unnamed, "README's Layout section names every source file",
          " ".join(unnamed))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
