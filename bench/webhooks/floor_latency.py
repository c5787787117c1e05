#!/usr/bin/env python3
"""The latency floor of bench/webhooks/run: one plain HTTP client sends the
worker's own request (the same headers and body, from a file of "name: value"
lines, an empty line and the body) to the same nginx, one request at a time,
GAP_MS apart, and times each round trip (send to full response).

    floor_latency.py HOST PORT REQUEST_FILE N GAP_MS {keepalive|fresh} OUT_TSV

keepalive: one persistent connection for every request; fresh: a new TCP
connection per request (closed after it). Each request carries its own
webhook-id (floor-<mode>-<i>) so that nginx's arrival log can be matched too.
Writes one line per request: webhook-id, wall-clock send time (epoch seconds),
round trip in ms.
"""
import http.client
import sys
import time


def main():
    host, port, request_file, n, gap_ms, mode, out = sys.argv[1:8]
    port, n, gap = int(port), int(n), int(gap_ms) / 1000.0
    with open(request_file, "rb") as f:
        head, body = f.read().split(b"\n\n", 1)
    headers = {}
    for line in head.decode().splitlines():
        name, value = line.split(":", 1)
        headers[name.strip()] = value.strip()
    headers["content-length"] = str(len(body))
    rows = []
    conn = None
    for i in range(n + 5):   # the first 5 are a warm-up, not reported
        if conn is None or mode == "fresh":
            conn = http.client.HTTPConnection(host, port, timeout=10)
        hid = f"floor-{mode}-{i}"
        headers["webhook-id"] = hid
        sent_wall = time.time()
        t0 = time.perf_counter()
        if mode == "fresh":
            conn.connect()
        conn.request("POST", "/e1", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        rtt = (time.perf_counter() - t0) * 1000.0
        if response.status != 200:
            sys.exit(f"floor request {i}: HTTP {response.status}")
        if mode == "fresh":
            conn.close()
        if i >= 5:
            rows.append(f"{hid}\t{sent_wall:.6f}\t{rtt:.4f}\n")
        time.sleep(gap)
    conn.close()
    with open(out, "w") as f:
        f.writelines(rows)


if __name__ == "__main__":
    main()
