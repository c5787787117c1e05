#!/usr/bin/env python3
"""Report of bench/webhooks/run: reads the raw measurements the script left in
WORK and writes the JSON list (bench/results/latest.json's format) and the
markdown report.

    report.py WORK JSON_OUT MD_OUT

WORK holds raw.tsv (key, comparator, run, value), info.tsv (key, value),
commits.tsv (event id, commit time), arrivals.tsv (nginx's log: $msec,
webhook-id, connection, request on the connection, status), floor_keepalive.tsv
and floor_fresh.tsv (webhook-id, send time, round trip in ms), request.txt,
server_log.txt.
"""
import datetime
import json
import math
import statistics
import sys
from collections import defaultdict

ENDPOINTS = (1, 8, 64)
TARGET_RATE = 2000.0      # deliveries/s, on 2 cores
TARGET_MEDIAN_MS = 20.0
# nginx's $msec has millisecond resolution and is truncated: the true arrival
# lies in [logged, logged + 1 ms). Half a millisecond is added to every
# arrival (the midpoint); the raw figures are in the diagnostics.
MSEC_MIDPOINT = 0.0005


def read_tsv(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def percentile(values, p):
    """Nearest rank: the smallest value with at least p of the values at or below it."""
    s = sorted(values)
    return s[max(0, math.ceil(p * len(s)) - 1)]


def fmt_num(unit, v):
    if v is None:
        return "n/a"
    if unit == "ms":
        return f"{v:.3f}" if v < 10 else f"{v:.1f}"
    return f"{v:.0f}"


def fmt_x(native, other, hib):
    """How many times better native is than other (> 1: native is better), as bench/report.sh."""
    if native is None or other is None:
        return "n/a"
    r = native / other if hib else other / native
    return f"{r:.0f}x" if r >= 100 else f"{r:.2f}x"


def main():
    work, json_out, md_out = sys.argv[1:4]
    raw = defaultdict(list)
    for key, comparator, run, value in read_tsv(f"{work}/raw.tsv"):
        raw[(key, comparator)].append((int(run), float(value)))
    info = dict(read_tsv(f"{work}/info.tsv"))

    def med(key, comparator="native"):
        values = [v for _, v in raw.get((key, comparator), [])]
        return statistics.median(values) if values else None

    def runs(key, comparator="native"):
        return [v for _, v in sorted(raw.get((key, comparator), []))]

    # ---- latency --------------------------------------------------------------
    commit_rows = read_tsv(f"{work}/commits.tsv")
    commits = {r[0]: float(r[1]) for r in commit_rows}
    before_commit = {r[0]: float(r[2]) for r in commit_rows}
    arrivals = defaultdict(list)
    connections = {}
    with open(f"{work}/arrivals.tsv") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 5:
                continue
            msec, hid, conn, conn_req, status = parts[:5]
            arrivals[hid].append(float(msec))
            connections[hid] = (conn, int(conn_req), status)
    missing = [i for i in commits if i not in arrivals]
    duplicated = [i for i in commits if len(arrivals.get(i, [])) > 1]
    native_raw = [(min(arrivals[i]) - t) * 1000 for i, t in commits.items() if i in arrivals]
    native_lat = [x + MSEC_MIDPOINT * 1000 for x in native_raw]
    # From right before the COMMIT instead: an upper bound (the commit itself included).
    native_before = [(min(arrivals[i]) + MSEC_MIDPOINT - t) * 1000 for i, t in before_commit.items() if i in arrivals]
    commit_ms = [(commits[i] - before_commit[i]) * 1000 for i in commits]
    early = sum(1 for x in native_raw if x < -1.0)
    reused = sum(1 for i in commits if i in connections and connections[i][1] > 1)
    floor = {}
    floor_oneway = {}
    for mode in ("keepalive", "fresh"):
        rows = read_tsv(f"{work}/floor_{mode}.tsv")
        floor[mode] = [float(r[2]) for r in rows]
        floor_oneway[mode] = [(min(arrivals[r[0]]) + MSEC_MIDPOINT - float(r[1])) * 1000
                              for r in rows if r[0] in arrivals]
    lat = {
        "median": (statistics.median(native_lat), statistics.median(floor["keepalive"])),
        "p99": (percentile(native_lat, 0.99), percentile(floor["keepalive"], 0.99)),
    }

    # ---- the JSON list ----------------------------------------------------------
    def obj(scenario, unit, native, floor_value, hib):
        return {"scenario": scenario, "unit": unit,
                "native": None if native is None else round(native, 3), "reference": None,
                "floor": None if floor_value is None else round(floor_value, 3), "higher_is_better": hib}

    results = [obj(f"webhook deliveries/s, {n} endpoint{'s' if n > 1 else ''}", "deliveries/s",
                   med(f"d{n}"), med(f"d{n}", "floor"), True) for n in ENDPOINTS]
    results.append(obj("webhook commit-to-delivery latency median", "ms", *lat["median"], False))
    results.append(obj("webhook commit-to-delivery latency p99", "ms", *lat["p99"], False))
    with open(json_out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")

    # ---- console table ------------------------------------------------------------
    print()
    print(f"marimo_erp {info['ext_version']} ({info.get('lib_profile')} build) webhook delivery: medians of {info['runs']} runs "
          f"(latency: {len(native_lat)} events); no PL/pgSQL reference delivers webhooks")
    width = max(len(r["scenario"]) for r in results)
    print(f"  {'scenario':<{width}}  {'unit':<12} {'native':>9} {'floor':>9}  native vs floor")
    for r in results:
        print(f"  {r['scenario']:<{width}}  {r['unit']:<12} {fmt_num(r['unit'], r['native']):>9} "
              f"{fmt_num(r['unit'], r['floor']):>9}  {fmt_x(r['native'], r['floor'], r['higher_is_better'])}")

    # ---- targets ------------------------------------------------------------------
    cores = int(info.get("cores", "0") or 0)
    targets = []
    for n in ENDPOINTS:
        rate = med(f"d{n}")
        met = rate >= TARGET_RATE
        short = f"{rate:.0f} deliveries/s where {TARGET_RATE:.0f} is the target: {(1 - rate / TARGET_RATE) * 100:.1f}% short"
        targets.append((f"at least {TARGET_RATE:.0f} deliveries/s with {n} endpoint{'s' if n > 1 else ''}",
                        f"{rate:.0f} deliveries/s", met, short))
    m = lat["median"][0]
    targets.append((f"commit-to-delivery median under {TARGET_MEDIAN_MS:.0f} ms", f"{m:.2f} ms",
                    m < TARGET_MEDIAN_MS, f"{m:.2f} ms where under {TARGET_MEDIAN_MS:.0f} ms is the target: {m - TARGET_MEDIAN_MS:.2f} ms over"))

    # ---- diagnostics ------------------------------------------------------------
    per_conn = {n: (med(f"requests_{n}") or 0) / max(med(f"connections_{n}") or 1, 1) for n in ENDPOINTS}
    cpu = {n: (med(f"cpu_main_{n}"), med(f"cpu_senders_{n}"), med(f"cpu_nginx_{n}")) for n in ENDPOINTS}
    exactly_once = all(runs(f"requests_{n}") == runs(f"expected_{n}") and runs(f"attempts_{n}") == runs(f"expected_{n}")
                       and runs(f"logs_{n}") == runs(f"expected_{n}") for n in ENDPOINTS)
    server_log = open(f"{work}/server_log.txt").read().splitlines()
    expected_lines = [l for l in server_log if 'database "bench_webhooks" does not exist' in l
                      or "exited with exit code 1" in l or "webhook worker serving database" in l
                      or "webhook worker stopping" in l]
    other_lines = [l for l in server_log if l not in expected_lines]

    observations = []
    busy = float(info.get("machine_busy", 0) or 0)
    main_busy = max(c[0] for c in cpu.values())
    observations.append(
        "CPU: the worker's main thread, which alone runs SQL (each round records the outcomes the sending threads "
        "reported, in one transaction, then claims and signs the next deliveries in another), used "
        + ", ".join(f"{cpu[n][0]:.2f}" for n in ENDPOINTS)
        + f" of a core while the batches drained (1, 8, 64 endpoints); its {info.get('senders', '32')} sending threads together "
        + ", ".join(f"{cpu[n][1]:.2f}" for n in ENDPOINTS)
        + "; nginx " + ", ".join(f"{cpu[n][2]:.2f}" for n in ENDPOINTS)
        + f". The machine's {cores} cores were {busy * 100:.0f}% busy over the throughput runs (wrk's runs and other work "
        "on the machine included). "
        + ("The main thread is close to a full core: it is the bottleneck, and more sending threads would not help. "
           if main_busy >= 0.75 else
           "No thread of the worker is saturated: with the cores shared by the worker's SQL, its sending threads, "
           "nginx and the rest of the machine, the rate follows the CPU the worker gets. ")
        + "Profiled once with perf while this benchmark was written (not part of the run), the main thread's time "
        "is mostly in SPI: executing the claiming and recording "
        "statements (index inserts into webhook_logs and webhook_deliveries, the claim's scan of every due delivery) "
        "and planning them anew every round (the statements are sent as text, never prepared).")
    req = {n: med(f"requests_{n}") or 0 for n in ENDPOINTS}
    conns = {n: med(f"connections_{n}") or 0 for n in ENDPOINTS}
    rate1 = med("d1") or 0
    new_per_s = rate1 * conns[1] / max(req[1], 1)
    observations.append(
        "Connections: nginx accepted one new TCP connection per "
        + ", ".join(f"{per_conn[n]:.1f}" for n in ENDPOINTS)
        + " deliveries (1, 8, 64 endpoints, all on one host, 127.0.0.1). ureq 3's agent keeps at most 3 idle "
        "connections per host (max_idle_connections_per_host) and 10 in all: with 32 sending threads, a connection "
        "beyond those is closed after its request and the next request opens a new one. The floor with a new "
        f"connection per request (wrk, Connection: close) runs at {med('floor_close', 'floor'):.0f} requests/s against "
        f"{med('d1', 'floor'):.0f} with keep-alive. At {rate1:.0f} deliveries/s to one endpoint this is about "
        f"{new_per_s:.0f} new connections/s, each leaving a TIME_WAIT socket on the worker's side for 60 s: to a "
        "single remote host, where Linux does not reuse TIME_WAIT ports for new connections (tcp_tw_reuse = 2 is "
        "loopback only), about 28,000 ephemeral ports last for roughly 470 new connections/s, beyond which connects "
        "fail. Raising max_idle_connections_per_host to the number of senders (and max_idle_connections with it) in "
        "start_senders would keep the connections open.")
    per_round = {n: (med(f"expected_{n}") or 0) / max(med(f"claim_rounds_{n}") or 1, 1) for n in ENDPOINTS}
    clones = {n: (med(f"clones_{n}") or 0) / max(med(f"expected_{n}") or 1, 1) for n in ENDPOINTS}
    observations.append(
        "Rounds: the worker claimed "
        + ", ".join(f"{per_round[n]:.0f}" for n in ENDPOINTS)
        + " deliveries per claiming transaction (1, 8, 64 endpoints; each recording transaction follows one). "
        "Threads: the machine created "
        + ", ".join(f"{clones[n]:.2f}" for n in ENDPOINTS)
        + " processes or threads per delivery during the runs (/proc/stat's counter, the rest of the machine "
        "included). That is one per request: delivery::send sets timeout_global on each request, and ureq's "
        "DefaultResolver then resolves every URL, IP literals included, in a newly spawned thread (resolve_async), "
        "before it even looks for a pooled connection. A resolver that needs no thread for an IP literal, or the "
        "addresses resolve_public has already checked handed to ureq, would avoid it.")
    observations.append(
        f"Emitting is not part of the figures: one transaction of {info.get('events_1')} emit_webhook_event calls took "
        f"{med('emit_s_1'):.2f} s (median), {info.get('events_64')} events to 64 endpoints {med('emit_s_64'):.2f} s. "
        "Each call registers its own commit callback (wake_at_commit), so a batch of N events sets the "
        "worker's latch N times at commit (harmless, but once per transaction is enough).")

    # ---- markdown ------------------------------------------------------------------
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    rt = int(info.get("runtime_seconds", "0"))
    lines = []
    w = lines.append
    w(f"# Webhook delivery benchmark: {date}")
    w("")
    w(f"`bench/webhooks/run{' --quick' if info.get('quick') == '1' else ' --runs ' + info['runs']}` against marimo_erp "
      f"{info['ext_version']} (commit {info['commit']}), finished in {rt // 60} min {rt % 60} s.")
    if info.get("lib_profile") != "release":
        w("")
        w(f"**Not a release build**: the server ran a {info.get('lib_profile')} build of marimo_erp "
          f"({info.get('lib_mb')} MB). Run with `--install` (or after `bench/run`'s install) for representative figures.")
        w("")
    w(f"Throughput figures are medians of {info['runs']} runs, native and floor alternating; latency is over "
      f"{len(native_lat)} single events.")
    w("")
    w("## Results")
    w("")
    w("There is no *reference* for delivery: the seed's PL/pgSQL only stores webhook rows and sends nothing, so")
    w("`reference` is `null` in the JSON (`n/a` below). \"native vs floor\" is how many times better native is than")
    w("the floor (above 1 native is better), as in `bench/results/`.")
    w("")
    w("| scenario | unit | native | reference | floor | native vs floor |")
    w("|---|---|---:|---:|---:|---:|")
    for r in results:
        w(f"| {r['scenario']} | {r['unit']} | {fmt_num(r['unit'], r['native'])} | n/a | "
          f"{fmt_num(r['unit'], r['floor'])} | {fmt_x(r['native'], r['floor'], r['higher_is_better'])} |")
    w("")
    w(f"## Targets (on {cores} cores)")
    w("")
    w("| target | measured | status |")
    w("|---|---|---|")
    for desc, value, met, short in targets:
        w(f"| {desc} | {value} | {'met' if met else '**missed**: ' + short} |")
    w("")
    w(f"The 99th percentile has no target: {lat['p99'][0]:.2f} ms (the floor's: {lat['p99'][1]:.3f} ms).")
    w("")
    w("## Observations")
    w("")
    for o in observations:
        w(f"- {o}")
    if not exactly_once:
        w("- **Not exactly one attempt per delivery**: see the per-run counts below (requests nginx served, "
          "attempts, webhook_logs rows, expected deliveries).")
    if missing or duplicated:
        w(f"- **Latency run**: {len(missing)} events never arrived, {len(duplicated)} arrived more than once.")
    w("")
    w("## What was measured")
    w("")
    w(f"**Setup.** A throwaway PostgreSQL cluster (Unix socket only) with `shared_preload_libraries = 'marimo_erp'`, the")
    w(f"worker serving database `bench_webhooks`, `marimo_erp.webhook_allow_private_networks = on`, `synchronous_commit = off`,")
    w(f"`fsync = off`, {info.get('senders')} sending threads (the default). The receiver is Debian's nginx ({info.get('nginx_version')}),")
    w("one worker process, run in the foreground with `bench/webhooks/nginx.conf.in`: every request is answered")
    w("`200 ok`; the throughput port logs nothing, the latency port logs each request's arrival (`$msec`) and")
    w("`webhook-id`. One tenant per endpoint count, with 1, 8 or 64 webhooks (`http://127.0.0.1:<port>/e<i>`,")
    w(f"every event type, `max_in_flight = 64`). Each request is the worker's own: a {info.get('body_bytes')}-byte")
    w("Standard Webhooks body (an order of about 200 bytes of JSON) with its signature headers.")
    w("")
    w(f"**Throughput.** Each run emits {info.get('events_1')} events to the 1-endpoint tenant, {info.get('events_8')} to the")
    w(f"8-endpoint one, {info.get('events_64')} to the 64-endpoint one ({int(info.get('events_1')) * 1}, "
      f"{int(info.get('events_8')) * 8} and {int(info.get('events_64')) * 64} deliveries), in one transaction")
    w("(`emit_webhook_event` from `generate_series`). The clock starts when the COMMIT has returned (the next")
    w("statement, in the same session) and stops when a poll every 20 ms, each in its own transaction, finds no")
    w("delivery pending or in progress; deliveries/s is deliveries over that time. Every delivery must then be")
    w("`succeeded` after one attempt, with one `webhook_logs` row, and nginx must have served exactly that many")
    w("requests. Events, deliveries and logs are truncated before each run; a 200-event warm-up comes first.")
    w(f"Floor: `wrk -t2 -c32` (32 connections, as many as the worker's sending threads) for {info.get('floor_seconds')} s")
    w("with the same request (headers and body taken from `webhook_logs`, plus ureq's user-agent), round-robin over")
    w("the same 1, 8 or 64 paths (`bench/webhooks/post.lua`), keep-alive.")
    w("")
    w(f"**Latency.** {info.get('lat_events')} events, each emitted and committed on its own, {info.get('lat_gap_ms')} ms apart")
    w("(`bench_wh.latency`, a procedure that takes `clock_timestamp()` right after each COMMIT), to one endpoint.")
    w("Latency is nginx's arrival time of the request with that `webhook-id` minus the commit time. `$msec` has")
    w("millisecond resolution and is truncated, so half a millisecond is added to each arrival (the middle of its")
    w("millisecond); the raw figures are below. p99 is the nearest rank. Floor: one Python `http.client`")
    w(f"connection sends the same request {info.get('lat_events')} times, {info.get('lat_gap_ms')} ms apart, and times each round trip")
    w("(send to full response, microsecond clock); a new connection per request is a diagnostic.")
    w("")
    w("## Diagnostics")
    w("")
    w(f"- Latency, raw (`$msec` as logged, minus commit): median {statistics.median(native_raw):.2f} ms, "
      f"p99 {percentile(native_raw, 0.99):.2f} ms, min {min(native_raw):.2f} ms, max {max(native_raw):.2f} ms; "
      f"with the half-millisecond: max {max(native_lat):.2f} ms. "
      f"{reused} of {len(commits)} deliveries came on a connection that had carried an earlier request "
      f"({info.get('latency_connections')} connections accepted during the latency run).")
    w(f"- Latency from right *before* each COMMIT (an upper bound: the commit is included): median "
      f"{statistics.median(native_before):.2f} ms, p99 {percentile(native_before, 0.99):.2f} ms. COMMIT itself took "
      f"{statistics.median(commit_ms):.3f} ms (median), {percentile(commit_ms, 0.99):.3f} ms (p99). {early} of "
      f"{len(native_raw)} deliveries reached nginx more than 1 ms before the committing session had read the clock "
      "after its COMMIT: the commit sets the worker's latch before COMMIT returns, and on a loaded machine the "
      "woken worker can run before the committing session does, so the after-COMMIT time is late by up to a "
      "scheduling slice (and the figure above early).")
    w(f"- Latency floor with a new TCP connection per request: median {statistics.median(floor['fresh']):.3f} ms, "
      f"p99 {percentile(floor['fresh'], 0.99):.3f} ms.")
    if floor_oneway["keepalive"]:
        w(f"- Check of the half-millisecond correction: the floor's keep-alive requests, measured the native way "
          f"(nginx's `$msec` + 0.5 ms minus the client's send time), give a median of "
          f"{statistics.median(floor_oneway['keepalive']):.3f} ms for a round trip of "
          f"{statistics.median(floor['keepalive']):.3f} ms.")
    w(f"- Throughput floor with a new TCP connection per request (wrk, `Connection: close`, 1 endpoint, one run): "
      f"{med('floor_close', 'floor'):.0f} requests/s.")
    w(f"- The machine: load average {info.get('loadavg_start')} at the start, {info.get('loadavg_end')} at the end; "
      f"its CPUs were {float(info.get('machine_busy', 0)) * 100:.0f}% busy over the throughput runs (this benchmark's "
      f"work, wrk's included, and everything else); {info.get('other_postgres')} PostgreSQL clusters were running, "
      "this one included. Other work ran on the machine beside the benchmark: the figures vary from run to run "
      "with it.")
    w("")
    w("Every run's values (medians last). d*N*: deliveries/s (native) or requests/s (floor); drain_s: seconds from")
    w("commit to done; last_delivered_s: from commit to the last delivery's `delivered_at` (the start of the")
    w("transaction that recorded it); emit_s: emitting and committing the batch; requests, connections: served and")
    w("accepted by nginx; cpu_*: cores used during the drain by the worker's main thread, its sending threads and nginx.")
    w("")
    w("| measure | comparator | runs | median |")
    w("|---|---|---|---:|")
    order = {f"d{n}": i for i, n in enumerate(ENDPOINTS)}
    for (key, comparator) in sorted(raw, key=lambda k: (order.get(k[0], 10), k[0].rsplit("_", 1)[-1].isdigit()
                                                          and int(k[0].rsplit("_", 1)[-1]) or 0, k[0], k[1])):
        values = runs(key, comparator)
        w(f"| {key} | {comparator} | {', '.join(f'{v:g}' for v in values)} | {statistics.median(values):g} |")
    w("")
    w("Server log (`ERROR`, `WARNING`, `FATAL`, `PANIC` or `marimo_erp`): "
      + (f"{len(expected_lines)} expected lines (the worker exiting until `bench_webhooks` exists, serving it, stopping), and "
         if expected_lines else "")
      + (f"{len(other_lines)} others:" if other_lines else "nothing else."))
    if other_lines:
        w("")
        w("```")
        lines.extend(other_lines[:40])
        w("```")
    w("")
    w("## Machine and settings")
    w("")
    w(f"- CPU: {info.get('cpu')}, {cores} cores; memory {info.get('memory')}; Linux {info.get('kernel')}")
    w(f"- {info.get('pg_version')}")
    w(f"- marimo_erp {info.get('ext_version')}, {info.get('lib_profile')} build (build id {info.get('lib_build')}, "
      f"{info.get('lib_mb')} MB); {info.get('senders')} sending threads")
    w(f"- nginx {info.get('nginx_version')}, {info.get('wrk_version')}, {info.get('python_version')}")
    w(f"- `synchronous_commit = {info.get('synchronous_commit')}`, `fsync = {info.get('fsync')}`, "
      f"`shared_buffers = {info.get('shared_buffers')}`; everything else PostgreSQL's defaults")
    with open(md_out, "w") as f:
        f.write("\n".join(lines) + "\n")

    print()
    print("targets:")
    for desc, value, met, short in targets:
        print(f"  {'met   ' if met else 'MISSED'}  {desc}: {value if met else short}")


if __name__ == "__main__":
    main()
