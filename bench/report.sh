# Sourced by bench/run once every measurement is in bench_raw (database postgres):
# prints the table of medians, writes bench/results/latest.json and the
# markdown results file. Uses q/qv/info/log from bench/run.

q postgres <<'SQL'
CREATE TABLE bench_scenario (ord integer, key text PRIMARY KEY, label text, unit text, higher_is_better boolean);
INSERT INTO bench_scenario VALUES
 (1,  's1_value',    '1. check_tenant_limit, current_value given (users_count)', 'calls/s', true),
 (2,  's1_measured', '1. check_tenant_limit, measured (api_requests_per_month)',  'calls/s', true),
 (3,  's2_whole',    '2. aggregate_usage_metrics, 30 days, whole range',           'ms',      false),
 (4,  's2_daily',    '2. aggregate_usage_metrics, 30 days, daily buckets',         'ms',      false),
 (5,  's3_record',   '3. ingest: record_usage',                                    'calls/s', true),
 (6,  's3_logs',     '3. ingest: api_usage_logs insert, rollup included',          'rows/s',  true),
 (7,  's4_time',     '4. cleanup: time to remove the expired rows',                'ms',      false),
 (8,  's4_size',     '4. cleanup: table + index size after',                       'bytes',   false),
 (9,  's4_dead',     '4. cleanup: dead tuple bytes left behind',                   'bytes',   false),
 (10, 's5_during',   '5. ingest: api_usage_logs while the cleanup runs',           'rows/s',  true),
 (11, 's5_ratio',    '5. ingest while the cleanup runs / ingest alone',            'ratio',   true),
 (12, 's3_record_hot', '3. ingest: record_usage, 8 clients on one tenant',         'calls/s', true);

-- Medians over the runs, per measure and comparator (diagnostics included).
CREATE VIEW bench_median AS
SELECT key, comparator, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS value, count(*) AS runs
  FROM bench_raw WHERE value IS NOT NULL GROUP BY key, comparator;

CREATE FUNCTION m(k text, c text) RETURNS float8 LANGUAGE sql STABLE
AS $$ SELECT value FROM bench_median WHERE key = k AND comparator = c $$;
CREATE FUNCTION inf(k text) RETURNS text LANGUAGE sql STABLE
AS $$ SELECT value FROM bench_info WHERE key = k $$;

-- "native vs x": how many times better native is than x (> 1: native is better),
-- whichever way the unit goes.
CREATE FUNCTION vs(hib boolean, native float8, other float8) RETURNS float8 LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN native IS NULL OR other IS NULL THEN NULL
                  WHEN hib THEN native / nullif(other, 0)
                  ELSE other / nullif(native, 0) END $$;

CREATE FUNCTION fmt(unit text, v float8) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN v IS NULL THEN 'n/a'
                  WHEN unit = 'bytes' THEN pg_size_pretty(v::bigint)
                  WHEN unit = 'ms' AND v < 10 THEN to_char(v, 'FM990.000')
                  WHEN unit = 'ms' THEN to_char(v, 'FM999999990.0')
                  WHEN unit = 'ratio' THEN to_char(v, 'FM990.000')
                  ELSE to_char(v, 'FM999999999990') END $$;

CREATE FUNCTION fmtx(native float8, other float8, hib boolean) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN native IS NULL OR other IS NULL THEN 'n/a'
                  WHEN NOT hib AND native = 0 AND other = 0 THEN 'equal'
                  WHEN NOT hib AND native = 0 THEN 'inf'
                  WHEN hib AND other = 0 THEN 'inf'
                  WHEN vs(hib, native, other) >= 100 THEN to_char(vs(hib, native, other), 'FM999999990') || 'x'
                  ELSE to_char(vs(hib, native, other), 'FM999990.00') || 'x' END $$;

CREATE VIEW bench_table AS
SELECT s.ord, s.key, s.label, s.unit, s.higher_is_better,
       m(s.key, 'native') AS native, m(s.key, 'reference') AS reference, m(s.key, 'floor') AS floor
  FROM bench_scenario s ORDER BY s.ord;
SQL

# ---- the console table ------------------------------------------------------
echo
echo "marimo_erp $(qv postgres "SELECT inf('ext_version')") benchmark, scale ${BENCH_SCALE}: medians of ${BENCH_RUNS} runs"
echo "(native vs x: how many times better native is; > 1 means native is better, in either direction of the unit)"
q postgres -P border=2 -P footer=off <<'SQL'
SELECT label AS scenario, unit,
       fmt(unit, native) AS native, fmt(unit, reference) AS reference, fmt(unit, floor) AS floor,
       fmtx(native, reference, higher_is_better) AS "native vs reference",
       fmtx(native, floor, higher_is_better) AS "native vs floor"
  FROM bench_table;
SQL

# ---- latest.json -------------------------------------------------------------
JSON_FILE="${BENCH_RESULTS_DIR}/latest.json"
qv postgres "SELECT jsonb_pretty(jsonb_agg(jsonb_build_object(
                 'scenario', label, 'unit', unit,
                 'native', round(native::numeric, 3), 'reference', round(reference::numeric, 3),
                 'floor', round(floor::numeric, 3), 'higher_is_better', higher_is_better) ORDER BY ord))
               FROM bench_table" >"$JSON_FILE"
# jsonb_build_object sorts keys by length; restore the order the issue lists them in.
if command -v jq >/dev/null; then
    jq '[.[] | {scenario, unit, native, reference, floor, higher_is_better}]' "$JSON_FILE" >"$JSON_FILE.tmp" \
        && mv "$JSON_FILE.tmp" "$JSON_FILE"
fi

# The medians of this scale, kept beside latest.json so that a run at another
# scale can show how the per-call costs grow with the data ("Cost growth").
SCALE_JSON=""
if [ "$BENCH_QUICK" != 1 ]; then
    SCALE_JSON="${BENCH_RESULTS_DIR}/scale${BENCH_SCALE}.json"
    cp "$JSON_FILE" "$SCALE_JSON"
fi
# Per-call costs at every scale measured so far, as one markdown table: for each
# hot call, the native time of one call (1000 / calls/s for throughputs, ms as
# measured otherwise) at each scale, and the largest over the smallest.
cost_growth_table() {
    local files=() f
    for f in "${BENCH_RESULTS_DIR}"/scale*.json; do [ -e "$f" ] && files+=("$f"); done
    [ "${#files[@]}" -ge 2 ] || return 0
    python3 - "${files[@]}" <<'PY'
import json, re, sys
scales = []
for path in sys.argv[1:]:
    scale = re.search(r"scale([0-9.]+)\.json$", path).group(1)
    scales.append((float(scale), scale, {r["scenario"]: r for r in json.load(open(path))}))
scales.sort()
calls = [s for s in scales[0][2] if s[:2] in ("1.", "2.", "3.")]
print("| call | " + " | ".join(f"scale {label}" for _, label, _ in scales) + " | largest / smallest scale |")
print("|---|" + "---:|" * (len(scales) + 1))
for name in calls:
    costs = []
    for _, _, rows in scales:
        row = rows.get(name)
        if row is None or row["native"] is None:
            costs.append(None)
        elif row["unit"] == "ms":
            costs.append(float(row["native"]))
        else:
            costs.append(1000.0 / float(row["native"]))
    cells = ["n/a" if c is None else f"{c:.4f} ms" for c in costs]
    growth = "n/a" if None in (costs[0], costs[-1]) else f"{costs[-1] / costs[0]:.2f}"
    print(f"| {name} | " + " | ".join(cells) + f" | {growth} |")
PY
}

# ---- targets ---------------------------------------------------------------
# Each target: id, description, the measured value as text, met (t/f), by how much, why.
v() { qv postgres "SELECT $1"; }
num() { qv postgres "SELECT to_char(($1)::numeric, 'FM999999999990.00')"; }
EXPIRED_ROWS=$(v "inf('expired_rows')")
TARGETS=()
target() {   # description | value text | met (t/f) | shortfall text | why
    TARGETS+=("$1"$'\x1f'"$2"$'\x1f'"$3"$'\x1f'"$4"$'\x1f'"$5")
}
ratio_target() {   # key label minimum kind(reference|floor) why
    local key="$1" label="$2" min="$3" kind="$4" why="$5" r met
    r=$(v "vs((SELECT higher_is_better FROM bench_scenario WHERE key = '$key'), m('$key', 'native'), m('$key', '$kind'))")
    if [ -z "$r" ]; then target "$label" "n/a" f "not measured" "$why"; return; fi
    met=$(v "$r >= $min")
    target "$label" "$(num "$r")x the $kind" "$met" \
        "$(num "$r")x where at least ${min}x is the target: $(num "(1 - $r / $min) * 100")% short" "$why"
}
max_target() {   # key label max_ms why
    local key="$1" label="$2" max="$3" why="$4" val met
    val=$(v "m('$key', 'native')")
    met=$(v "$val < $max")
    target "$label" "$(num "$val") ms" "$met" "$(num "$val") ms where under ${max} ms is the target: $(num "$val - $max") ms over" "$why"
}

COUNT_MS=$(num "coalesce(m('diag_count_expired_ms', 'native'), 0)")
COUNT_WARM_MS=$(num "coalesce(m('diag_count_expired_warm_ms', 'native'), 0)")
S2_PLAN=$(v "inf('s2_floor_plan')")
if [ "$S2_PLAN" = usage_metrics_pkey ]; then
    RPC_NOTE="the rollup rows are read through usage_metrics_pkey (tenant_id, metric_type, period_start): since 0.13.0 no index on period_start alone tempts the planner to read a tenant's hours through it and filter the other tenants out. With random_page_cost = 1.1 instead of the default 4, aggregate_usage_metrics takes $(num "coalesce(m('diag_s2_rpc', 'native'), 0)") ms and check_tenant_limit per month $(num "coalesce(m('diag_month_rpc', 'native'), 0)") ms (default: $(num "coalesce(m('diag_month_default', 'native'), 0)") ms)."
else
RPC_NOTE="with PostgreSQL's default random_page_cost = 4 the planner reads a tenant's rollup rows through ${S2_PLAN:-another index} rather than usage_metrics_pkey (tenant_id, metric_type, period_start), and filters out the rows of the other metrics$([ "$S2_PLAN" = usage_metrics_period_start_idx ] && echo " and tenants (period_start follows the heap order almost exactly, which makes that index look cheap)"); the same query with random_page_cost = 1.1 (the usual setting for SSDs and data in memory) takes $(num "coalesce(m('diag_s2_rpc', 'native'), 0)") ms through aggregate_usage_metrics (floor $(num "coalesce(m('diag_s2_rpc', 'floor'), 0)") ms), and check_tenant_limit per month $(num "coalesce(m('diag_month_rpc', 'native'), 0)") ms instead of $(num "coalesce(m('diag_month_default', 'native'), 0)") ms. The over-read grows with the number of tenants and metrics in the range until the planner switches to the primary key."
fi
EXPIRED_PARTS=$(v "inf('expired_partitions')")
PER_PART=$(num "m('s4_time', 'floor') / nullif(${EXPIRED_PARTS:-0}, 0)")
FLOOR_VS_REF=$(num "m('s4_time', 'reference') / nullif(m('s4_time', 'floor'), 0)")
VACUUM_MS=$(num "coalesce(m('diag_ref_vacuum_ms', 'reference'), 0)")
S1_UNPREPARED=$(num "coalesce(m('diag_s1_floor_unprepared', 'floor'), 0)")
WHY_S1="The floor is one prepared primary-key lookup of the tenant; check_tenant_limit adds a function call through the fmgr, its argument checks, the caller's role check and the limit rules. The same lookup parsed and planned on every call (pgbench -M simple) runs at ${S1_UNPREPARED} calls/s."
ratio_target s1_value "check_tenant_limit at least 2x the PL/pgSQL reference (current_value given)" 2 reference "$WHY_S1"
ratio_target s1_value "check_tenant_limit at least 0.9 of the floor's throughput (current_value given)" 0.9 floor "$WHY_S1"
WHY_S1M="The floor looks the tenant up and sums the month's rollup rows in one prepared statement. ${RPC_NOTE}"
ratio_target s1_measured "check_tenant_limit at least 0.9 of the floor's throughput (measured per month)" 0.9 floor "$WHY_S1M"
max_target diag_month_default "check_tenant_limit measured per month under 0.3 ms a call (one call alone, default planner settings)" 0.3 "$WHY_S1M"
WHY_S2="aggregate_usage_metrics reads $(v "inf('s2_rollup_rows')") hourly rollup rows where the reference aggregates $(v "inf('s2_events')") raw events; any time above the floor's is the function's own overhead. ${RPC_NOTE}"
max_target s2_whole "aggregate_usage_metrics over 30 days under 10 ms (whole range)" 10 "$WHY_S2"
max_target s2_daily "aggregate_usage_metrics over 30 days under 10 ms (daily buckets)" 10 "$WHY_S2"
ratio_target s2_whole "aggregate_usage_metrics at least 20 times faster than the reference (whole range)" 20 reference "$WHY_S2"
ratio_target s2_daily "aggregate_usage_metrics at least 20 times faster than the reference (daily buckets)" 20 reference "$WHY_S2"
WHY_S3_RECORD="The floor appends one row to an unindexed table with a prepared INSERT; record_usage also checks its arguments and the caller, keeps exact totals and idempotency keys, and makes every call visible at once to check_tenant_limit and aggregate_usage_metrics. The PL/pgSQL reference inserts one event row into an indexed table with cached plans: $(num "m('s3_record', 'reference')") calls/s."
ratio_target s3_record "record_usage at least 1.0x the PL/pgSQL reference" 1.0 reference "$WHY_S3_RECORD"
ratio_target s3_record "record_usage at least 0.7 of the floor" 0.7 floor "$WHY_S3_RECORD"
if [ -n "$(v "m('s3_record_hot', 'native')")" ]; then
    ratio_target s3_record_hot "record_usage, 8 clients on one tenant, at least 1.0x the PL/pgSQL reference" 1.0 reference "$WHY_S3_RECORD"
    ratio_target s3_record_hot "record_usage, 8 clients on one tenant, at least 0.7 of the floor" 0.7 floor "$WHY_S3_RECORD"
fi
NO_TRIGGER=$(num "coalesce(m('diag_ingest_no_trigger', 'native'), 0)")
ratio_target s3_logs "api_usage_logs ingest, rollup included, at least 0.8 of the seed's table with the same indexes (the reference)" 0.8 reference \
    "The reference is the seed's plain table with its primary key and four indexes, without any rollup; native rows also go through partition routing and the rollup. Native ingest with the rollup switched off: ${NO_TRIGGER} rows/s (measured once)."
WHY_S4="Dropping the ${EXPIRED_PARTS} expired daily partitions costs about ${PER_PART} ms each here (the catalog rows of the table, its TOAST table and its indexes; unlinking their files and dropping their pages from the 4 GB of shared buffers at commit): the floor, which drops the same partitions and does nothing else, is itself only ${FLOOR_VS_REF}x faster than the reference's DELETE (which leaves reclaiming the space to a VACUUM that took another ${VACUUM_MS} ms), so no cleanup that drops daily partitions reaches 50x at this scale on this machine; the ratio grows with the rows per day and with data that is not in memory. Native above the floor ($(num "m('s4_time', 'native')") ms against $(num "m('s4_time', 'floor')") ms) is the function's own bookkeeping."
max_target s4_time "cleanup of ${EXPIRED_ROWS} expired rows under 1 s" 1000 "$WHY_S4"
ratio_target s4_time "cleanup time at most 1.2x the floor's" 0.8333 floor "$WHY_S4"
ratio_target s4_time "cleanup at least 50 times faster than the DELETE-based reference" 50 reference "$WHY_S4"
DEAD=$(v "m('s4_dead', 'native')")
DEAD_TUPLES=$(v "round(m('s4_dead_tuples', 'native'))")
target "cleanup leaves no dead space behind" "$(qv postgres "SELECT fmt('bytes', m('s4_dead', 'native'))") in ${DEAD_TUPLES} dead tuples" \
    "$(v "coalesce(m('s4_dead', 'native'), 1) = 0")" "$(qv postgres "SELECT fmt('bytes', m('s4_dead', 'native'))") of dead tuples are left where none is the target" \
    "The whole expired days are dropped and leave nothing, but the day that holds the cutoff is only partly expired: its expired rows are deleted and stay behind as ${DEAD_TUPLES} dead tuples until a VACUUM, which no function can run inside its transaction. The floor leaves the same ($(qv postgres "SELECT fmt('bytes', m('s4_dead', 'floor'))")); the DELETE-based reference leaves $(qv postgres "SELECT fmt('bytes', m('s4_dead', 'reference'))")."
S5_RATIO=$(v "m('s5_ratio', 'native')")
target "ingest during cleanup at least 0.9 of ingest alone" "$(num "$S5_RATIO")" "$(v "$S5_RATIO >= 0.9")" \
    "$(num "$S5_RATIO") of ingest alone where 0.9 is the target: $(num "(1 - $S5_RATIO / 0.9) * 100")% short" \
    "Dropping a partition needs an ACCESS EXCLUSIVE lock on api_usage_logs itself, which blocks every insert into the log until the dropping transaction ends. The cleanup ran $(num "m('s5_cleanup_ms', 'native')") ms under load (the floor's DROPs, all in one transaction, $(num "m('s5_cleanup_ms', 'floor')") ms, score $(num "coalesce(m('s5_ratio', 'floor'), 0)")). Over the whole pgbench run around it (1 s before, the cleanup, about 1 s after) native ingest ran at $(num "m('s5_window', 'native') / nullif(m('s3_logs', 'native'), 0)") of ingest alone."

# ---- the markdown file -----------------------------------------------------
DATE=$(date -u +%Y-%m-%d)
MD_FILE="${BENCH_RESULTS_DIR}/${DATE}-${BENCH_SCALE_LABEL}.md"
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
MEM=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
PG_VERSION=$(qv postgres "SELECT version()")
COMMIT=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$REPO_ROOT" status --porcelain -- src sql 2>/dev/null | head -1)
SETTINGS_MD=$(qv postgres "SELECT string_agg(format('| %s | %s |', name, setting || coalesce(' ' || unit, '')), E'\n' ORDER BY name)
                             FROM pg_settings WHERE name IN ('shared_buffers', 'max_wal_size', 'min_wal_size', 'checkpoint_timeout',
                               'synchronous_commit', 'fsync', 'full_page_writes', 'wal_level', 'maintenance_work_mem', 'work_mem',
                               'jit', 'autovacuum', 'max_parallel_workers_per_gather', 'effective_cache_size', 'random_page_cost',
                               'max_connections', 'huge_pages')")
RESULT_ROWS=$(qv postgres "SELECT string_agg(format('| %s | %s | %s | %s | %s | %s | %s |', label, unit, fmt(unit, native),
                                 fmt(unit, reference), fmt(unit, floor), fmtx(native, reference, higher_is_better),
                                 fmtx(native, floor, higher_is_better)), E'\n' ORDER BY ord) FROM bench_table")
RAW_ROWS=$(qv postgres "SELECT string_agg(format('| %s | %s | %s | %s |', r.key, r.comparator,
                                 (SELECT string_agg(coalesce(round(x.value::numeric, 3)::text, '-'), ', ' ORDER BY x.run)
                                    FROM bench_raw x WHERE x.key = r.key AND x.comparator = r.comparator),
                                 round(m(r.key, r.comparator)::numeric, 3)), E'\n' ORDER BY coalesce(s.ord, 100), r.key, r.comparator)
                          FROM (SELECT DISTINCT key, comparator FROM bench_raw) r LEFT JOIN bench_scenario s USING (key)")
SIZE_NB=$(qv postgres "SELECT pg_size_pretty(inf('size_native_before')::bigint)")
SIZE_RB=$(qv postgres "SELECT pg_size_pretty(inf('size_ref_before')::bigint)")

{
    echo "# marimo_erp benchmark: ${DATE}, scale ${BENCH_SCALE}"
    echo
    echo "\`bench/run$([ "$BENCH_QUICK" = 1 ] && echo " --quick" || echo " --scale ${BENCH_SCALE} --runs ${BENCH_RUNS} --duration ${BENCH_DURATION}")\`"
    echo "against marimo_erp $(v "inf('ext_version')"), ${LIBRARY_KIND} (repository at commit ${COMMIT}${DIRTY:+, with uncommitted changes in src/ or sql/}),"
    echo "ran $(( $(v "inf('runtime_seconds')") / 60 )) min $(( $(v "inf('runtime_seconds')") % 60 )) s, of which $(v "inf('build_seconds')") s building the data (plus $(v "inf('install_seconds')") s building and installing the extension first)."
    echo "Every figure is the median of ${BENCH_RUNS} runs; the runs alternate the comparators (native, reference, floor, native, ...)."
    echo
    echo "## Results"
    echo
    echo "\"native vs x\" is how many times better native is than x, whichever way the unit goes:"
    echo "above 1 native is better (faster, more throughput, smaller), below 1 it is worse."
    echo
    echo "| scenario | unit | native | reference | floor | native vs reference | native vs floor |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    echo "$RESULT_ROWS"
    echo
    echo "## Targets"
    echo
    echo "| target | measured | status |"
    echo "|---|---|---|"
    for t in "${TARGETS[@]}"; do
        IFS=$'\x1f' read -r desc value met short why <<<"$t"
        if [ "$met" = t ]; then status="met"; else status="**missed**: ${short}"; fi
        echo "| ${desc} | ${value} | ${status} |"
    done
    echo
    missed=0
    for t in "${TARGETS[@]}"; do
        IFS=$'\x1f' read -r desc value met short why <<<"$t"
        if [ "$met" != t ]; then
            [ "$missed" = 0 ] && { echo "### Why the missed targets are missed"; echo; }
            missed=1
            echo "- **${desc}** (${short}). ${why}"
        fi
    done
    [ "$missed" = 1 ] && echo
    cat <<EOF
## What was measured

**Data.** $(v "inf('total_rows')") API requests (\`api_usage_logs\` rows) spread evenly over the 180 days
before $(v "inf('anchor')"), over ${BENCH_NDATA} tenants, with ${BENCH_NTENANTS} tenants in \`tenants\`;
$(v "inf('expired_rows')") of the rows are past the 90-day retention. No row is dated in the 3 h 10 min
around the 90-day mark, so every cleanup of the run removes exactly the same rows.
The native database has them in marimo_erp's \`api_usage_logs\` ($(v "inf('partitions')") daily partitions,
${SIZE_NB} with indexes), rolled up (by its trigger into \`usage_deltas\`, then by \`roll_up_usage()\`) into $(v "inf('rollup_rows')") \`usage_metrics\` rows, which are then put in
period_start order (CLUSTER), the order hour-by-hour ingest gives them in production.
The reference database has the same rows in the seed's unpartitioned \`api_usage_logs\` with its primary key,
foreign key and four indexes (${SIZE_RB}), and no rollup. Both are vacuumed (FREEZE, ANALYZE) before measuring.

**Comparators.**
- *native*: marimo_erp's functions and tables.
- *reference*: \`bench/reference/\`, the same contract in PL/pgSQL over raw events, as the seed's
  migrations write it: what users run today. Raw events are the reference's \`api_usage_logs\` rows
  (\`api_requests\`: 1 per row, \`api_response_time_ms\`: \`response_time_ms\`, \`api_server_errors\`: 1 per row with
  status >= 500) and \`reference.usage_events\` rows for other metrics.
- *floor*: the least SQL that reads or writes the same rows, the engine's own limit
  (\`bench/floor/schema.sql\`, \`bench/pgbench/*_floor.sql\`).

**Correctness first.** Before anything is timed, \`check_tenant_limit\` ($(grep -c . "$WORK/check_tenant_limit.native" 2>/dev/null || echo "?") cases: every limit kind,
the refusal rules, the error SQLSTATEs) and \`aggregate_usage_metrics\` ($(grep -c . "$WORK/aggregate_usage_metrics.native" 2>/dev/null || echo "?") cases: three API metrics and one
without data, whole range and every bucket, aligned, unaligned, wider and empty ranges, bad arguments) return
identical rows from native and reference; the floor's sum equals both; every cleanup removes exactly the
expired rows and keeps the others; the rollup counts exactly the rows each ingest run inserted; every
\`record_usage\` call is counted once. The run stops at the first disagreement.

**Scenarios.**
1. \`check_tenant_limit\`: pgbench, ${BENCH_CLIENTS} clients, ${BENCH_JOBS} threads, prepared statements,
   ${BENCH_DURATION} s per run, a random tenant per call. "Current value given" is \`users_count\` with a value
   (floor: primary-key lookup of the tenant); "measured" is \`api_requests_per_month\` without a value, among the
   ${BENCH_NDATA} tenants with traffic (native sums hourly rollup rows, reference counts raw rows, floor: the
   lookup plus a plain sum over the rollup rows).
2. \`aggregate_usage_metrics\` for tenant 1 and \`api_response_time_ms\` over the 30 days
   [${BENCH_S2_FROM}, ${BENCH_S2_TO}) UTC ($(v "inf('s2_events')") raw events, $(v "inf('s2_rollup_rows')") rollup rows): mean time of
   one call, parsed, planned and run inside the server (\`bench.time_sql\`, clock_timestamp around EXECUTE,
   at least 3 calls and 250 ms per run). Floor: \`SELECT sum(), min(), max()\` over the same rollup rows.
3. Ingest, pgbench as in 1: \`record_usage\` (native: one delta row appended to \`usage_deltas\`, rolled up later; reference: one row in an indexed events
   table; floor: bare INSERT into an unindexed table) and one \`api_usage_logs\` row per transaction
   (native: partitioned table whose statement trigger appends the rollup's deltas; reference: the seed's table; floor: unindexed copy).
4. Cleanup of everything older than 90 days: native \`cleanup_api_usage_logs()\`; reference
   \`DELETE ... WHERE created_at < now() - interval '90 days'\`; floor: \`DROP TABLE\` of the wholly expired daily
   partitions plus one \`DELETE\` in the partition holding the cutoff, sent as one statement (the least SQL that
   removes those rows from that layout: it is the engine's cost of the native design, without the function's
   bookkeeping; a single unbatched DELETE would be the reference's plan, not a floor). Timed by psql
   (\`\\timing\`), commit included, right after a restart of the server: every comparator starts with cold shared
   buffers, as a nightly cleanup of 90-day-old rows would (the files are in the OS's cache). Native and floor get a fresh file copy of the native database for every
   run (made untimed); the reference's DELETE is rolled back in every run but the last, which commits and is
   the run its size and dead space are measured after. Size is \`pg_total_relation_size\` summed over the
   partitions: the table's size before the benchmark less what the cleanup freed (so the rows the benchmark's
   own ingest added are not counted); dead space is \`pgstattuple\`'s \`dead_tuple_len\` right after the cleanup.
5. In each run of 4, before the timed cleanup: ingest alone (the api_usage_logs figure of 3), then ingest
   again while, 1 s in, another session runs the comparator's cleanup (rolled back, so that 4 finds the same
   rows; dropped files are unlinked after the locks are released, so the blocking is the same as on commit)
   and then a no-op cleanup every 200 ms until pgbench ends (about 1 s after the cleanup, and at least
   ${BENCH_DURATION} s in all). The figure is the rate of ingest transactions completed while the cleanup ran
   (from pgbench's per-transaction log), divided by ingest alone: a cleanup that blocks ingest for its whole
   duration scores near 0 however short it is.

## Cost growth

The native cost of one call at each scale benchmarked so far (\`bench/results/scale*.json\`,
each from its own run; throughputs as 1000 / calls per second, with ${BENCH_CLIENTS} clients):
a call whose cost does not grow with the data keeps a ratio near 1.

$(cost_growth_table || echo "(the table could not be made)")
$([ -z "$(cost_growth_table 2>/dev/null)" ] && echo "Only one scale has been benchmarked: run \`bench/run --scale 3\` beside \`--scale 1\`.")

## Diagnostics

- The floor's primary-key lookup of scenario 1, parsed and planned per call (\`-M simple\`): ${S1_UNPREPARED} calls/s.
- Reading all expired partitions once (\`SELECT count(*)\` over them, what \`cleanup_api_usage_logs\` does before
  dropping them): ${COUNT_MS} ms from cold shared buffers, ${COUNT_WARM_MS} ms warm.
- Reading one tenant's rollup rows (scenarios 1 measured and 2): ${RPC_NOTE}
- Native \`api_usage_logs\` ingest with the rollup trigger disabled: ${NO_TRIGGER} rows/s (run 1).
- \`record_usage\` with a fresh idempotency key per call (one run): native $(num "coalesce(m('diag_record_key', 'native'), 0)"),
  reference $(num "coalesce(m('diag_record_key', 'reference'), 0)") calls/s.
- VACUUM of the reference table after its committed DELETE (the work the DELETE defers): ${VACUUM_MS} ms.
- Bytes the cleanup returned: native $(qv postgres "SELECT fmt('bytes', m('s4_freed', 'native'))"), floor $(qv postgres "SELECT fmt('bytes', m('s4_freed', 'floor'))"),
  reference $(qv postgres "SELECT fmt('bytes', m('s4_freed', 'reference'))"). The size after (scenario 4) is the table's size before the
  benchmark less these bytes, so that the rows the benchmark's own ingest added are not counted.
- Build: $(v "inf('build_detail')") (the two databases are built in parallel).
- Cleanup time under ingest load (scenario 5): native $(num "coalesce(m('s5_cleanup_ms', 'native'), 0)") ms,
  reference $(num "coalesce(m('s5_cleanup_ms', 'reference'), 0)") ms, floor $(num "coalesce(m('s5_cleanup_ms', 'floor'), 0)") ms;
  partitions the native cleanup could not lock within \`marimo_erp.partition_drop_lock_timeout\` and deleted in
  batches instead: $(v "coalesce(m('s5_fallbacks', 'native'), 0)::int") (median per run).
- Ingest over the whole scenario 5 pgbench run (1 s before the cleanup, the cleanup, about 1 s after): native
  $(num "coalesce(m('s5_window', 'native'), 0)"), reference $(num "coalesce(m('s5_window', 'reference'), 0)"), floor $(num "coalesce(m('s5_window', 'floor'), 0)") rows/s.
- Dead tuples left by the cleanup: native $(v "coalesce(m('s4_dead_tuples', 'native'), 0)::bigint"), reference $(v "coalesce(m('s4_dead_tuples', 'reference'), 0)::bigint"),
  floor $(v "coalesce(m('s4_dead_tuples', 'floor'), 0)::bigint"); free space in the remaining heap: native
  $(qv postgres "SELECT fmt('bytes', m('s4_free_bytes', 'native'))"), reference $(qv postgres "SELECT fmt('bytes', m('s4_free_bytes', 'reference'))").

Every run's values (medians last):

| measure | comparator | runs | median |
|---|---|---|---:|
${RAW_ROWS}

## Machine and settings

- CPU: ${CPU_MODEL}, $(nproc) cores (shared with other work on the machine while the benchmark ran)
- Memory: ${MEM}
- ${PG_VERSION}
- marimo_erp $(v "inf('ext_version')"): $(v "inf('library')"); the cluster runs from a private snapshot of the
  server's installation taken right after the install, so nothing installed into the server meanwhile is measured

| setting | value |
|---|---|
${SETTINGS_MD}

\`fsync = off\` (every throwaway cluster of this repository) and \`synchronous_commit = off\` apply
identically to all three comparators, which run in the same cluster: the figures measure CPU and memory
work, not the disk's flush latency. Everything else is PostgreSQL's default, JIT included.
EOF
} >"$MD_FILE"

echo
echo "targets:"
for t in "${TARGETS[@]}"; do
    IFS=$'\x1f' read -r desc value met short why <<<"$t"
    if [ "$met" = t ]; then echo "  met     ${desc}: ${value}"; else echo "  MISSED  ${desc}: ${short}"; fi
done
echo
log "wrote ${JSON_FILE} and ${MD_FILE}"
