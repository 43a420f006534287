#!/usr/bin/env python3
# memscan.py KEYFILE PID...: search the readable memory of each process
# (/proc/PID/maps, /proc/PID/mem) for the private key's secret material:
# its PKCS#8 DER, and its private scalar (EC) or private exponent (RSA)
# as big-endian bytes and as the little-endian words a BIGNUM keeps.
# Prints "PID found N" or "PID unreadable" per process.  Mappings of
# more than 64 GiB (AddressSanitizer's shadow memory, never the heap)
# are skipped and named on stderr.
import re
import subprocess
import sys

CHUNK = 64 << 20        # read a mapping in pieces of this size,
OVERLAP = 4096          # overlapping by more than the longest needle
HUGE = 1 << 36          # mappings larger than 64 GiB are sanitizer shadow


def needles(keyfile):
    der = subprocess.run(["openssl", "pkey", "-in", keyfile, "-outform",
                          "DER"], check=True, capture_output=True).stdout
    text = subprocess.run(["openssl", "pkey", "-in", keyfile, "-noout",
                           "-text"], check=True, capture_output=True,
                          text=True).stdout
    m = re.search(r"^(privateExponent|priv):\s*\n((?:\s+[0-9a-f:]+\n)+)",
                  text, re.M)
    secret = bytes.fromhex(re.sub(r"[\s:]", "", m.group(2)))
    secret = secret.lstrip(b"\0")
    # 32-byte windows: enough to be unique, robust to limb padding.
    return {"pkcs8": der, "secret-be": secret[:32],
            "secret-le": secret[::-1][:32]}


def scan(pid, ns):
    found = 0
    try:
        maps = open("/proc/%d/maps" % pid).read().splitlines()
        mem = open("/proc/%d/mem" % pid, "rb", 0)
    except OSError:
        return None
    for line in maps:
        f = line.split()
        if not f[1].startswith("r"):
            continue
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        if hi - lo > HUGE:
            print("%d: skipped %s (%d GiB: a sanitizer's shadow)" %
                  (pid, f[0], (hi - lo) >> 30), file=sys.stderr)
            continue
        hits = set()
        at, tail = lo, b""
        while at < hi:
            try:
                mem.seek(at)
                data = tail + mem.read(min(CHUNK, hi - at))
            except (OSError, ValueError, OverflowError):
                break
            hits |= {name for name, n in ns.items() if n in data}
            tail = data[-OVERLAP:]
            at += CHUNK
        for name in sorted(hits):
            found += 1
            print("%d: %s in %s %s" % (pid, name, f[0],
                  f[5] if len(f) > 5 else ""), file=sys.stderr)
    mem.close()
    return found


def main():
    ns = needles(sys.argv[1])
    for p in sys.argv[2:]:
        r = scan(int(p), ns)
        print("%s %s" % (p, "unreadable" if r is None else "found %d" % r))


main()
