#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# broken-server.py: a server that breaks exactly one APIv3 rule, for grading the grader.
#
# It is a reverse proxy in front of a correct server (a running wxpay-mock with the TEST
# fixtures): every request goes through unchanged and every answer comes back unchanged, except
# for the one rule --break names. Where the break needs the upstream to accept a request it would
# refuse, the proxy signs it again with the TEST merchant key (merchant 1900000109), after
# checking what the broken server checks; where it changes an answer, it signs the answer again
# with the TEST platform key. Signing and verifying use the openssl command.
#
#   broken-server.py --break RULE --upstream URL --fixtures DIR --ready-file FILE
#
# RULE: none (a transparent proxy, which must pass every MUST), no-verify, status-200,
# no-window, past-only, decoded-path, unsigned-2xx, and terminate-twice-ok, which breaks a SHOULD
# rule only (conformance/examples/README.md).
# TEST ONLY: it listens on 127.0.0.1 and holds only the public TEST keys.
import argparse
import base64
import http.client
import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

BREAKS = ("none", "no-verify", "status-200", "no-window", "past-only", "decoded-path",
          "unsigned-2xx", "terminate-twice-ok")
MCHID = "1900000109"
PLATFORM_SERIAL = "6D5C4B3A29180F1E2D3C4B5A69788796A5B4C3D2"
SIGNING = ("wechatpay-timestamp", "wechatpay-nonce", "wechatpay-signature", "wechatpay-serial",
           "wechatpay-signature-type")
SCHEME = "WECHATPAY2-SHA256-RSA2048"
BODY_MAX = 1024 * 1024
PARAM = re.compile(r'(\w+)="([^"]*)"')


def openssl_sign(key, msg):
    out = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=msg,
                         capture_output=True, check=True).stdout
    return base64.b64encode(out).decode()


def openssl_verify(pub, msg, sig_b64, tmp):
    try:
        sig = base64.b64decode(sig_b64, validate=True)
    except ValueError:
        return False
    path = os.path.join(tmp, "sig.%d" % threading.get_ident())
    with open(path, "wb") as f:
        f.write(sig)
    r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", pub, "-signature", path],
                       input=msg, capture_output=True)
    return r.returncode == 0


def request_message(method, target, ts, nonce, body):
    return b"%s\n%s\n%s\n%s\n%s\n" % (method.encode(), target.encode("latin-1"), ts.encode(),
                                       nonce.encode(), body)


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    cfg = None

    def log_message(self, fmt, *args):
        pass

    # ---- the request side ------------------------------------------------------------------

    def authz(self):
        """(header value, params) of a well-formed Authorization of the TEST merchant, or None."""
        v = self.headers.get("Authorization")
        if v is None or not v.startswith(SCHEME + " "):
            return None
        params = dict(PARAM.findall(v))
        need = ("mchid", "nonce_str", "timestamp", "serial_no", "signature")
        if any(k not in params for k in need) or params["mchid"] != MCHID:
            return None
        return v, params

    def signed_by_merchant(self, target, params, body):
        msg = request_message(self.command, target, params["timestamp"], params["nonce_str"], body)
        return openssl_verify(self.cfg.mch_pub, msg, params["signature"], self.cfg.tmp)

    def resign(self, value, params, target, body, ts=None):
        """The Authorization value with its signature (and timestamp) replaced."""
        ts = ts if ts is not None else params["timestamp"]
        sig = openssl_sign(self.cfg.mch_key,
                           request_message(self.command, target, ts, params["nonce_str"], body))
        value = value.replace('timestamp="%s"' % params["timestamp"], 'timestamp="%s"' % ts, 1)
        return value.replace('signature="%s"' % params["signature"], 'signature="%s"' % sig, 1)

    def broken_authz(self, body):
        """What the broken server makes of the Authorization header (None: unchanged)."""
        rule = self.cfg.rule
        got = self.authz()
        if got is None or rule in ("none", "status-200", "unsigned-2xx"):
            return None
        value, params = got
        target = self.path
        if rule == "no-verify":
            # rule broken: the signature is never checked.
            return self.resign(value, params, target, body)
        if rule in ("no-window", "past-only"):
            if not re.fullmatch(r"[0-9]{1,18}", params["timestamp"]):
                return None
            now = int(time.time())
            late = int(params["timestamp"]) > now
            if rule == "past-only" and not late:
                return None
            # rule broken: any timestamp (past-only: any future one) is taken as now, once the
            # signature over it verifies.
            if not self.signed_by_merchant(target, params, body):
                return None
            return self.resign(value, params, target, body, ts=str(now))
        if rule == "decoded-path":
            path, sep, query = target.partition("?")
            decoded = urllib.parse.unquote(path, encoding="latin-1") + sep + query
            if decoded == target:
                return None
            # rule broken: the signature is checked over the percent-decoded path.
            if self.signed_by_merchant(decoded, params, body):
                return self.resign(value, params, target, body)
            return value.replace('signature="%s"' % params["signature"],
                                 'signature="%s"' % openssl_sign(self.cfg.mch_key, b"refused"), 1)
        return None

    # ---- the answer side -------------------------------------------------------------------

    def signed(self, status, headers, body, content_type):
        """An answer signed again by the TEST platform key, as the upstream signs."""
        ts = str(int(time.time()))
        nonce = "BROKENSERVER00000000000000000000"
        sig = openssl_sign(self.cfg.platform_key, b"%s\n%s\n%s\n" % (ts.encode(), nonce.encode(),
                                                                      body))
        keep = [(k, v) for k, v in headers if k.lower() not in SIGNING + ("content-type",)]
        if content_type is not None:
            keep.append(("Content-Type", content_type))
        return status, keep + [("Wechatpay-Timestamp", ts), ("Wechatpay-Nonce", nonce),
                               ("Wechatpay-Signature", sig), ("Wechatpay-Serial", PLATFORM_SERIAL),
                               ("Wechatpay-Signature-Type", SCHEME)], body

    def broken_answer(self, status, headers, body):
        rule = self.cfg.rule
        if rule == "status-200" and status == 204:
            # rule broken: 200 with a body instead of 204 No Content.
            return self.signed(200, headers, b'{"result":"ok"}', "application/json")
        if (rule == "terminate-twice-ok" and self.command == "POST" and
                self.path.split("?")[0].endswith("/terminate") and
                b'"INVALID_ORDER_STATE"' in body):
            # SHOULD broken (BIZ-001, TCODE-002): a terminate of what is already terminated
            # succeeds. No MUST case may fail for it.
            return self.signed(204, headers, b"", None)
        if rule == "unsigned-2xx" and 200 <= status < 300:
            # rule broken: success answers carry no signature.
            headers = [(k, v) for k, v in headers if not k.lower().startswith("wechatpay-")]
        return status, headers, body

    # ---- plumbing --------------------------------------------------------------------------

    def forward(self):
        n = int(self.headers.get("Content-Length", "0") or "0")
        if n < 0 or n > BODY_MAX:
            self.send_error(413)
            return
        body = self.rfile.read(n) if n > 0 else b""
        new_authz = self.broken_authz(body)
        conn = http.client.HTTPConnection(self.cfg.host, self.cfg.port, timeout=30)
        conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() == "authorization" and new_authz is not None:
                v = new_authz
            conn.putheader(k, v)
        conn.endheaders(body if n > 0 else None)
        resp = conn.getresponse()
        rbody = resp.read()
        headers = [(k, v) for k, v in resp.getheaders()
                   if k.lower() not in ("content-length", "connection", "transfer-encoding",
                                        "date", "server")]
        status, headers, rbody = self.broken_answer(resp.status, headers, rbody)
        conn.close()
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        if status != 204:
            self.send_header("Content-Length", str(len(rbody)))
        self.end_headers()
        if status != 204:
            self.wfile.write(rbody)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = forward


def main():
    ap = argparse.ArgumentParser(description="a proxy that breaks exactly one APIv3 rule")
    ap.add_argument("--break", dest="rule", required=True, choices=BREAKS)
    ap.add_argument("--upstream", required=True, help="the correct server, http://HOST:PORT")
    ap.add_argument("--fixtures", required=True, help="the TEST fixtures directory")
    ap.add_argument("--ready-file", required=True, help="the base URL is written here")
    cfg = ap.parse_args()
    up = urllib.parse.urlsplit(cfg.upstream)
    if up.scheme != "http" or up.hostname is None:
        ap.error("--upstream takes http://HOST:PORT")
    cfg.host, cfg.port = up.hostname, up.port or 80
    cfg.tmp = tempfile.mkdtemp(prefix="broken-server.")
    cfg.mch_key = os.path.join(cfg.fixtures, "keys", "test-merchant-a.key.pem")
    cfg.platform_key = os.path.join(cfg.fixtures, "keys", "test-platform.key.pem")
    cfg.mch_pub = os.path.join(cfg.tmp, "merchant.pub.pem")
    subprocess.run(["openssl", "x509", "-in",
                    os.path.join(cfg.fixtures, "certs", "test-merchant-a.cert.pem"), "-pubkey",
                    "-noout", "-out", cfg.mch_pub], check=True)
    Proxy.cfg = cfg
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    tmp_ready = cfg.ready_file + ".tmp"
    with open(tmp_ready, "w") as f:
        f.write("http://127.0.0.1:%d\n" % srv.server_address[1])
    os.replace(tmp_ready, cfg.ready_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        srv.serve_forever()
    finally:
        shutil.rmtree(cfg.tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
