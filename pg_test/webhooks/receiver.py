#!/usr/bin/env python3
"""Loopback webhook receiver for the end-to-end delivery tests of marimo_erp.

Every request is verified independently with the reference implementation of
Standard Webhooks (the `standardwebhooks` PyPI package), against every secret
listed in the secrets file (one `whsec_...` per line, re-read on each request
so that tests can add secrets while the receiver runs), and recorded as one
JSON line in the log file *on arrival*, before the response is sent:

    {"seq", "method", "path", "route", "query", "headers", "body", "verified",
     "verified_with", "verify_error", "arrival", "arrival_iso", "status"}

Behaviour by path (the last path segment; the query string may carry anything
else, e.g. a tag that identifies the test's endpoint):

    /ok                200
    /fail500           500
    /gone              410
    /ratelimit         429 with Retry-After: 120 (or ?after=N)
    /redirect          302, Location /ok with the same query string
    /slow?ms=N         sleeps N ms, then 200
    /flaky?fail=N      500 for the first N requests with the same webhook-id, then 200
    /big?kb=N          200 with a body of N KiB (default 100)
    /nul               200 with a body that holds a NUL byte
    /provider/TAG/MODE/...   a provider API (SendGrid-like), for the outbound
                       provider calls (0.11.0); TAG is logged as the query's tag:
                       MODE ok: 202 {"job_id": ...}; fail500-N: 500 for the
                       first N requests of TAG, then as ok; bad: 400 with
                       SendGrid's {"errors": [...]}; echo: 202 with the
                       request's Authorization header in the body (a provider
                       that repeats the key: it must not be stored)
    anything else      404

Usage: receiver.py --port PORT --log FILE --secrets FILE
Binds 127.0.0.1 only (PORT 0: an ephemeral port), prints the bound port on
its first line of stdout, and stops cleanly on SIGTERM or SIGINT.
"""

import argparse
import datetime as dt
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from standardwebhooks import Webhook

LOG_LOCK = threading.Lock()
STATE_LOCK = threading.Lock()
FLAKY_SEEN = {}  # (route + query, webhook-id) -> requests seen
SEQ = [0]


def read_secrets(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return []


def verify(secrets, body, headers):
    """Returns (secrets that verify, last error) using the reference library."""
    verified_with, error = [], None
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers, json_parse=False)
            verified_with.append(secret)
        except Exception as exc:  # WebhookVerificationError, bad base64, ...
            error = f"{type(exc).__name__}: {exc}"
    if not secrets:
        error = "no secrets configured"
    return verified_with, (None if verified_with else error)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "marimo-webhook-test-receiver/1"

    def log_message(self, fmt, *args):  # keep stderr quiet
        pass

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self):
        arrival = time.time()
        raw = self._read_body()
        body = raw.decode("utf-8", errors="replace")
        parts = urlsplit(self.path)
        route = parts.path.rstrip("/").rsplit("/", 1)[-1]
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        headers = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        verified_with, verify_error = verify(read_secrets(self.server.secrets_path), body, headers)

        status, extra, delay = 404, {}, 0.0
        provider = None
        segments = parts.path.split("/")
        if len(segments) >= 4 and segments[1] == "provider":
            tag, mode = segments[2], segments[3]
            route, query = "provider-" + mode.split("-")[0], {**query, "tag": tag}
            with STATE_LOCK:
                FLAKY_SEEN[("provider", tag)] = FLAKY_SEEN.get(("provider", tag), 0) + 1
                seen = FLAKY_SEEN[("provider", tag)]
            job = {"job_id": f"job-{tag}-{seen}"}
            status, provider = 202, job
            if mode.startswith("fail500-") and seen <= int(mode.split("-", 1)[1]):
                status, provider = 500, {"errors": [{"message": "internal error"}]}
            elif mode == "bad":
                status, provider = 400, {"errors": [{"field": "contacts", "message": "invalid contacts"}]}
            elif mode == "echo":
                provider = {**job, "authorization": headers.get("authorization", "")}
        elif route == "ok":
            status = 200
        elif route == "fail500":
            status = 500
        elif route == "gone":
            status = 410
        elif route == "ratelimit":
            status, extra = 429, {"Retry-After": query.get("after", "120")}
        elif route == "redirect":
            status = 302
            extra = {"Location": "/ok" + (f"?{parts.query}" if parts.query else "")}
        elif route == "slow":
            status, delay = 200, int(query.get("ms", "1000")) / 1000.0
        elif route in ("big", "nul"):
            status = 200
        elif route == "status":
            # Any three digits, also ones HTTP does not define (600-999).
            status = int(query.get("code", "200"))
        elif route == "flaky":
            key = (parts.path + "?" + parts.query, headers.get("webhook-id", ""))
            with STATE_LOCK:
                FLAKY_SEEN[key] = FLAKY_SEEN.get(key, 0) + 1
                seen = FLAKY_SEEN[key]
            status = 500 if seen <= int(query.get("fail", "1")) else 200

        with LOG_LOCK:
            SEQ[0] += 1
            record = {
                "seq": SEQ[0],
                "method": self.command,
                "path": self.path,
                "route": route,
                "query": query,
                "headers": headers,
                "body": body,
                "verified": bool(verified_with),
                "verified_with": verified_with,
                "verify_error": verify_error,
                "arrival": arrival,
                "arrival_iso": dt.datetime.fromtimestamp(arrival, dt.timezone.utc).isoformat(),
                "status": status,
            }
            with open(self.server.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()

        if delay:
            time.sleep(delay)
        payload = json.dumps({"status": status, "route": route}).encode()
        if provider is not None:
            payload = json.dumps(provider).encode()
        elif route == "big":
            payload = b"x" * (int(query.get("kb", "100")) * 1024)
        elif route == "nul":
            payload = b"ok\x00after"
        try:
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout) while we were sleeping.
            self.close_connection = True

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle

    def do_HEAD(self):
        self._handle()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: ephemeral)")
    parser.add_argument("--log", required=True, help="JSON-lines file of the requests received")
    parser.add_argument("--secrets", required=True, help="file of whsec_ secrets, one a line")
    args = parser.parse_args()

    server = Server(("127.0.0.1", args.port), Handler)
    server.log_path = args.log
    server.secrets_path = args.secrets
    open(args.log, "a").close()

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
