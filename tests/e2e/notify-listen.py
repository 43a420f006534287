#!/usr/bin/env python3
"""notify-listen.py: a stand-in for systemd around one certspool run.

usage: notify-listen.py DIR [--drop SRC DST] [--wait FILE] [--hup] -- CMD...

Binds DIR/notify.sock (the NOTIFY_SOCKET) and DIR/journal.sock (the
journal's native socket, for log = journal), starts CMD with
NOTIFY_SOCKET, WATCHDOG_USEC (400 ms) and WATCHDOG_PID (its own pid:
fork, then exec), waits for READY=1, optionally sends SIGHUP and waits
for the READY=1 after RELOADING=1, drops SRC as DST (DST.part, then
rename), waits for FILE, waits 1.5 s more (watchdog pings, a STATUS
after the pass), sends SIGTERM and waits for the exit.  Writes
DIR/notify.out (one datagram a line, in order) and DIR/journal.out (one
datagram a line, its fields separated by tabs; a datagram that is not
the native protocol, or that has MESSAGE= twice, is written as BAD ...).
Exit status: the command's, or 99 when something did not come in time.
"""
import os
import re
import select
import signal
import socket
import struct
import sys
import time

KEY = re.compile(rb"^[A-Z0-9][A-Z0-9_]*$")


def journal_fields(data):
    """The fields of one native-protocol datagram, or None if malformed."""
    out, i = [], 0
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl == -1:
            return None
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:                       # KEY\n, 64-bit LE length, value, \n
            k = line
            if nl + 9 > len(data):
                return None
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            v = data[nl + 9:nl + 9 + n]
            if data[nl + 9 + n:nl + 10 + n] != b"\n":
                return None
            i = nl + 10 + n
        if not KEY.match(k):
            return None
        out.append((k.decode(), v.decode("utf-8", "replace")))
    return out


def main():
    args = sys.argv[1:]
    d = args.pop(0)
    drop = wait = None
    hup = False
    while args and args[0] != "--":
        a = args.pop(0)
        if a == "--drop":
            drop = (args.pop(0), args.pop(0))
        elif a == "--wait":
            wait = args.pop(0)
        elif a == "--hup":
            hup = True
    cmd = args[1:]
    socks = {}
    for name in ("notify", "journal"):
        p = os.path.join(d, name + ".sock")
        if os.path.exists(p):
            os.unlink(p)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(p)
        socks[name] = s
    nout = open(os.path.join(d, "notify.out"), "w")
    jout = open(os.path.join(d, "journal.out"), "w")
    log = open(os.path.join(d, "run.log"), "ab")
    pid = os.fork()
    if pid == 0:
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = os.path.join(d, "notify.sock")
        env["WATCHDOG_USEC"] = "400000"
        env["WATCHDOG_PID"] = str(os.getpid())
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        os.execve(cmd[0], cmd, env)
    seen = []

    def pump(timeout):
        r, _, _ = select.select(list(socks.values()), [], [], timeout)
        for s in r:
            data = s.recv(65536)
            if s is socks["notify"]:
                for m in data.decode().split("\n"):
                    if m:
                        seen.append(m)
                        nout.write(m + "\n")
                        nout.flush()
            else:
                f = journal_fields(data)
                if f is None or [k for k, _ in f].count("MESSAGE") != 1:
                    jout.write("BAD " + repr(data) + "\n")
                else:
                    jout.write("\t".join(k + "=" + v for k, v in f) + "\n")
                jout.flush()

    def until(pred, secs):
        end = time.time() + secs
        while time.time() < end:
            if pred():
                return True
            pump(0.1)
        return pred()

    ok = until(lambda: "READY=1" in seen, 20)
    if ok and hup:
        n = len(seen)
        os.kill(pid, signal.SIGHUP)
        ok = until(lambda: "READY=1" in seen[n:], 10)
    if ok and drop:
        src, dst = drop
        with open(src, "rb") as f, open(dst + ".part", "wb") as g:
            g.write(f.read())
        os.rename(dst + ".part", dst)
    if ok and wait:
        ok = until(lambda: os.path.exists(wait), 30)
    if ok:
        until(lambda: False, 1.5)
    os.kill(pid, signal.SIGTERM)
    end = time.time() + 30
    status = None
    while time.time() < end:
        pump(0.1)
        w, st = os.waitpid(pid, os.WNOHANG)
        if w == pid:
            status = os.waitstatus_to_exitcode(st)
            break
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return 99
    pump(0.2)
    return status if ok else 99


if __name__ == "__main__":
    sys.exit(main())
