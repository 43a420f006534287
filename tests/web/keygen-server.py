#!/usr/bin/env python3
"""keygen-server.py: a stand-in for the portal's keygen page, to test the
browser asset web/assets/keygen.js on its own (tests/e2e/t81).

usage: keygen-server.py PORT ASSETS_DIR WORK_DIR

Serves, on 127.0.0.1:PORT, with the portal's Content-Security-Policy:
  GET  /keygen/TOKEN          the page of the page contract
  GET  /inline/TOKEN          the same page plus an inline script (the CSP
                              must block it)
  GET  /badcsrf/TOKEN         the page with a wrong data-csrf
  GET  /assets/keygen.js      from ASSETS_DIR
  POST /keygen/TOKEN          csrf + csr; the CSR is signed by the CA in
                              WORK_DIR (ca.pem, ca.key, leaf.ext) with
                              openssl x509 -req; issued ~1 s later
                              (6 s for a TOKEN starting with "slow")
  GET  /keygen/TOKEN/status   long poll (up to 5 s) for a state change
  GET  /confirm/TOKEN, /pickup/TOKEN, /cert/TOKEN and POST to the first
       two: minimal pages of the page contract, to test portal-flow.mjs;
       their files (cert.pem, chain.pem, cert.p7b, bundle.p12) come from
       WORK_DIR/pub/
Every request (method, path, body) is appended as a JSON line to
WORK_DIR/requests.log; every received CSR is kept as WORK_DIR/TOKEN.csr.
"""
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; "
       "img-src 'self'; connect-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
CSRF = "csrf-7f3a9c"
PORT, ASSETS, WORK = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Condition()
tokens = {}     # token -> {"state", "cert_pem"}
log_lock = threading.Lock()


def log(method, path, body):
    with log_lock, open(os.path.join(WORK, "requests.log"), "a") as f:
        f.write(json.dumps({"method": method, "path": path,
                            "body": body.decode("latin-1")}) + "\n")


def state_of(tok):
    return tokens.setdefault(tok, {"state": "waiting_csr"})


def issue_later(tok):
    time.sleep(6.0 if tok.startswith("slow") else 1.0)
    csr = os.path.join(WORK, tok + ".csr")
    crt = os.path.join(WORK, tok + ".crt")
    r = subprocess.run(
        ["openssl", "x509", "-req", "-in", csr, "-CA",
         os.path.join(WORK, "ca.pem"), "-CAkey", os.path.join(WORK, "ca.key"),
         "-CAcreateserial", "-days", "30", "-sha256",
         "-extfile", os.path.join(WORK, "leaf.ext"), "-extensions", "leaf",
         "-out", crt], capture_output=True)
    with lock:
        t = state_of(tok)
        if r.returncode == 0:
            t["state"] = "issued"
            with open(crt) as f:
                t["cert_pem"] = f.read()
        else:
            t["state"] = "refused"
            t["message"] = "test CA: " + r.stderr.decode()[-200:]
        lock.notify_all()


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body, ctype, extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def json(self, code, obj):
        self.send(code, json.dumps(obj).encode(), "application/json")

    def page(self, tok, csrf, inline):
        st = state_of(tok)["state"]
        extra = "<script>document.title = 'inline';</script>" if inline else ""
        html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Your certificate</title>
</head><body>
<main id="keygen" data-csrf="{csrf}" data-submit="/keygen/{tok}"
 data-status="/keygen/{tok}/status" data-email="pat@acme.example"
 data-state="{st}"><h1>Your certificate</h1></main>
{extra}<script src="/assets/keygen.js"></script>
</body></html>
"""
        self.send(200, html.encode(), "text/html; charset=utf-8")

    def html(self, body):
        self.send(200, ("<!DOCTYPE html>\n<html lang=\"en\"><head>"
                        "<meta charset=\"utf-8\"><title>Portal</title></head>"
                        "<body><main>" + body + "</main></body></html>\n")
                  .encode(), "text/html; charset=utf-8")

    def form(self, button):
        return (f'<form method="post"><input type="hidden" name="csrf" '
                f'value="{CSRF}">{button}</form>')

    def simple_get(self, parts):
        kind, tok = parts[0], parts[1]
        if len(parts) == 2 and kind == "confirm":
            return self.html("<h1>Confirm pat@acme.example</h1>" + self.form(
                '<button id="confirm" type="submit">Confirm</button>'))
        if len(parts) == 2 and kind == "pickup":
            return self.html(
                f'<h1>Your key</h1><p><a id="download" '
                f'href="/pickup/{tok}/bundle.p12">bundle.p12</a></p>' +
                self.form('<button id="confirm-import" type="submit">'
                          'I imported it</button>'))
        if len(parts) == 2 and kind == "cert":
            return self.html("<h1>Your certificate</h1>" + "".join(
                f'<p><a id="{i}" href="/cert/{tok}/{n}">{n}</a></p>'
                for i, n in (("dl-cert", "cert.pem"), ("dl-chain", "chain.pem"),
                             ("dl-p7b", "cert.p7b"))))
        name = parts[2] if len(parts) == 3 else ""
        if (kind, name) in (("pickup", "bundle.p12"), ("cert", "cert.pem"),
                            ("cert", "chain.pem"), ("cert", "cert.p7b")):
            with open(os.path.join(WORK, "pub", name), "rb") as f:
                return self.send(200, f.read(), "application/octet-stream", {
                    "Content-Disposition": f'attachment; filename="{name}"'})
        return self.json(404, {"error": "no such page"})

    def do_GET(self):
        log("GET", self.path, b"")
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if len(parts) in (2, 3) and parts[0] in ("confirm", "pickup", "cert"):
            return self.simple_get(parts)
        if parts == ["assets", "keygen.js"]:
            with open(os.path.join(ASSETS, "keygen.js"), "rb") as f:
                return self.send(200, f.read(),
                                 "text/javascript; charset=utf-8")
        if len(parts) == 2 and parts[0] in ("keygen", "inline", "badcsrf"):
            with lock:
                return self.page(parts[1],
                                 "wrong" if parts[0] == "badcsrf" else CSRF,
                                 parts[0] == "inline")
        if len(parts) == 3 and parts[0] == "keygen" and parts[2] == "status":
            tok = parts[1]
            with lock:
                t = state_of(tok)
                first = t["state"]
                end = time.time() + 5
                while t["state"] == first and t["state"] == "submitted" \
                        and time.time() < end:
                    lock.wait(end - time.time())
                ans = {"state": t["state"], "message": t.get("message", "")}
                if t["state"] == "issued":
                    ans["cert_pem"] = t["cert_pem"]
                    with open(os.path.join(WORK, "ca.pem")) as f:
                        ans["chain_pem"] = f.read()
            return self.json(200, ans)
        self.json(404, {"error": "no such page"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n > 0 else b""
        log("POST", self.path, body)
        parts = [p for p in self.path.split("/") if p]
        if len(parts) == 2 and parts[0] in ("confirm", "pickup"):
            form = urllib.parse.parse_qs(body.decode())
            ok = form.get("csrf") == [CSRF]
            state = ("confirmed" if parts[0] == "confirm" else "picked_up") \
                if ok else "refused"
            return self.html(f'<p id="result" data-state="{state}">'
                             f'{state}</p>')
        if len(parts) != 2 or parts[0] != "keygen":
            return self.json(404, {"error": "no such page"})
        tok = parts[1]
        if self.headers.get("Content-Type", "").split(";")[0] != \
                "application/x-www-form-urlencoded":
            return self.json(415, {"error": "form encoding expected"})
        form = urllib.parse.parse_qs(body.decode(), strict_parsing=True)
        if form.get("csrf") != [CSRF]:
            return self.json(403, {"error": "The form has expired; reload the page."})
        csr = form.get("csr", [""])[0]
        if "BEGIN CERTIFICATE REQUEST" not in csr or set(form) != {"csrf", "csr"}:
            return self.json(400, {"error": "a certificate request is expected"})
        with lock:
            t = state_of(tok)
            if t["state"] != "waiting_csr":
                return self.json(409, {"error": "a request was already sent"})
            with open(os.path.join(WORK, tok + ".csr"), "w") as f:
                f.write(csr)
            t["state"] = "submitted"
        threading.Thread(target=issue_later, args=(tok,), daemon=True).start()
        self.json(200, {"state": "submitted"})


ThreadingHTTPServer.daemon_threads = True
srv = ThreadingHTTPServer(("127.0.0.1", PORT), H)
open(os.path.join(WORK, "server.ready"), "w").close()
srv.serve_forever()
