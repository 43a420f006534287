#!/usr/bin/env python3
"""benchdrop.py: timed drops of one-order batches into a running daemon's
spool, for scripts/bench.sh (pickup latency) and scripts/bench-fair.sh
(fair share).  Each drop is written as NAME.part, synced, and renamed into
inbound/ACCOUNT/; its latency runs from the rename until the pass's
NAME.1.result.xml exists in outbound/ACCOUNT/.

  benchdrop.py latency SPOOL CACHE DROPS SKIP HASH
      DROPS batches LAT-nnn of account bench, one after the other;
      prints "samples N p50 X p99 X max X min X" (ms).
  benchdrop.py fair SPOOL CACHE DROPS SKIP HASH BIGDIR DB GAP
      renames the batch files of BIGDIR into inbound/bench/ (the big
      batch), waits until its first certificate is issued, then drops
      DROPS batches FAIR-nnn of account small, GAP seconds apart, and
      waits for the big batch's results; prints the "samples" line,
      "during K" (drops whose result came while the big batch had no
      result yet), "lat MS" for each drop and "big_secs S" (from its
      rename to its last result.xml).  With DROPS 0 only "big_secs".
CSRs: SKIP..SKIP+DROPS-1 of the PEM file CACHE (distinct keys)."""
import os, sqlite3, sys, time


def read_csrs(cache, skip, count):
    pems, cur = [], None
    with open(cache) as f:
        for line in f:
            if "BEGIN CERTIFICATE REQUEST" in line:
                cur = [line]
            elif cur is not None:
                cur.append(line)
                if "END CERTIFICATE REQUEST" in line:
                    pems.append("".join(cur).strip())
                    cur = None
                    if len(pems) >= skip + count:
                        break
    if len(pems) < skip + count:
        sys.exit("only %d CSRs in %s" % (len(pems), cache))
    return pems[skip:]


def batch_doc(bid, oid, account, org, mailbox, sighash, pem):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<batch xmlns="urn:certspool:batch:1" id="%s" account="%s">'
            '<order id="%s"><product>secure_email_organization</product>'
            '<organization>%s</organization><signatureHash>%s</signatureHash>'
            '<validity><years>1</years></validity><autoRenew>0</autoRenew>'
            '<recipient><commonName type="email">%s</commonName><email>%s</email>'
            '<csr>%s</csr></recipient><agreement accepted="true"/></order>'
            '</batch>\n' % (bid, account, oid, org, sighash, mailbox, mailbox,
                            pem))


def put(spool, account, name, doc):
    """Write inbound/ACCOUNT/NAME.part, sync, rename; the rename's time."""
    inb = os.path.join(spool, "inbound", account)
    if os.path.exists(os.path.join(spool, "archive", account, name)):
        sys.exit("%s was already used in this directory" % name)
    part = os.path.join(inb, name + ".part")
    with open(part, "w") as f:
        f.write(doc)
        f.flush()
        os.fsync(f.fileno())
    t0 = time.monotonic()
    os.rename(part, os.path.join(inb, name))
    return t0


def wait_for(path, t0, limit):
    while not os.path.exists(path):
        if time.monotonic() - t0 > limit:
            sys.exit("timeout waiting for %s" % path)
        time.sleep(0.001)
    return (time.monotonic() - t0) * 1000


def drop_one(spool, account, tag, org, domain, i, sighash, pem, limit):
    """Batch TAG-nnn of ACCOUNT, one order for mailbox tagnnn@DOMAIN;
    ms from its rename until its first result.xml."""
    name = "%s-%03d" % (tag, i)
    e = "%s%03d@%s" % (tag.lower(), i, domain)
    t0 = put(spool, account, name + ".xml",
             batch_doc(name, "%s%03d" % (tag[0], i), account, org, e,
                       sighash, pem))
    return wait_for(os.path.join(spool, "outbound", account,
                                 name + ".1.result.xml"), t0, limit)


def summary(lat):
    s = sorted(lat)

    def pct(p):
        k = max(0, -(-p * len(s) // 100) - 1)  # nearest rank
        return s[int(k)]
    return "samples %d p50 %.1f p99 %.1f max %.1f min %.1f" % (
        len(s), pct(50), pct(99), s[-1], s[0])


def latency(spool, cache, drops, skip, sighash):
    pems = read_csrs(cache, skip, drops)
    time.sleep(0.5)  # let the daemon finish its start-up pass
    lat = []
    for i in range(drops):
        lat.append(drop_one(spool, "bench", "LAT", "Bench Corp",
                            "bench.example", i, sighash, pems[i], 30))
        time.sleep(0.02)
    print(summary(lat))


def issued(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        return con.execute("SELECT count(*) FROM certificate"
                           " WHERE state = 'issued'").fetchone()[0]
    finally:
        con.close()


def fair(spool, cache, drops, skip, sighash, bigdir, db, gap):
    pems = read_csrs(cache, skip, drops)
    files = sorted(os.listdir(bigdir))
    want = [os.path.join(spool, "outbound", "bench",
                         f[:-len(".xml")] + ".1.result.xml") for f in files]
    time.sleep(0.5)
    inb = os.path.join(spool, "inbound", "bench")
    t0 = time.monotonic()
    for f in files:
        os.rename(os.path.join(bigdir, f), os.path.join(inb, f))
    lat, during = [], 0
    if drops > 0:
        while issued(db) == 0:
            if time.monotonic() - t0 > 600:
                sys.exit("timeout: nothing issued")
            time.sleep(0.05)
    for i in range(drops):
        lat.append(drop_one(spool, "small", "FAIR", "Small Corp",
                            "small.example", i, sighash, pems[i], 600))
        if not any(os.path.exists(w) for w in want):
            during += 1
        time.sleep(gap)
    for w in want:
        wait_for(w, t0, 7200)
    if lat:
        print(summary(lat))
        print("during %d" % during)
        for v in lat:
            print("lat %.1f" % v)
    print("big_secs %.3f" % (time.monotonic() - t0))


def main(a):
    if len(a) == 6 and a[0] == "latency":
        latency(a[1], a[2], int(a[3]), int(a[4]), a[5])
    elif len(a) == 9 and a[0] == "fair":
        fair(a[1], a[2], int(a[3]), int(a[4]), a[5], a[6], a[7], float(a[8]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
