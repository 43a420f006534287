#!/usr/bin/env python3
"""unit-deps.py: the sources each unit test needs, for tests/unit/unit.mk.

For tests/unit/t_X.c, start from the symbols its object leaves undefined
and add the src/ object that defines each, then that object's own
undefined symbols, until nothing is left (the linker's own closure).
Prints tests/unit/unit.mk: one make variable per test,
t_x_SRCS = a.c b.c ...  (make unit-deps compiles the tests' objects and
rewrites the file; the lists are committed, so that a new dependency of
a tested module shows in the diff of unit.mk).
"""
import os
import subprocess
import sys


def nm(obj, *flags):
    out = subprocess.run(["nm", *flags, obj], capture_output=True,
                         text=True, check=True).stdout
    return {l.split()[-1] for l in out.splitlines() if l.strip()}


def main():
    src = "src"
    objs = sorted(f for f in os.listdir(src)
                  if f.endswith(".o") and f != "main.o")
    owner = {}
    undef = {}
    for o in objs:
        p = os.path.join(src, o)
        for s in nm(p, "--defined-only", "-g"):
            owner[s] = o
        undef[o] = nm(p, "-u")
    print("# The sources each unit test links (scripts/unit-deps.py; make"
          " unit-deps\n# rewrites this file from the objects).")
    for t in sys.argv[1:]:
        need = set()
        pending = list(nm(t, "-u"))
        while pending:
            s = pending.pop()
            o = owner.get(s)
            if o is None or o in need:
                continue
            need.add(o)
            pending.extend(undef[o])
        name = os.path.basename(t)[:-2]
        srcs = sorted(o[:-2] + ".c" for o in need)
        line = name + "_SRCS ="
        out = []
        for f in srcs:
            if len(line) + len(f) + 3 > 76:
                out.append(line + " \\")
                line = "\t"
            line += ("" if line == "\t" else " ") + f
        out.append(line)
        print("\n".join(out))


if __name__ == "__main__":
    main()
