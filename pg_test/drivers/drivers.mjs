// node-postgres against marimo_erp: a JavaScript Date names an instant, and
// node-pg sends it as local time with its offset (untyped), so the window must
// come out the same whatever the process zone (TZ) and the session zone.
// Usage: node drivers.mjs   (PGHOST, PGPORT, PGUSER, PGDATABASE from run)
// Prints one "ok"/"not ok" line per check and "drivers-node: N passed, N failed".
import pg from "pg";

const TENANT = "33333333-3333-4333-8333-333333333333";
const SESSION_ZONE = "Asia/Tokyo";
let passed = 0;
let failed = 0;
function check(name, got, want) {
  const same = JSON.stringify(got) === JSON.stringify(want);
  if (same) passed++; else failed++;
  console.log(same ? `ok - ${name}` : `not ok - ${name}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

const client = new pg.Client({ options: `-c TimeZone=${SESSION_ZONE}` });
await client.connect();
try {
  console.log(`# process time zone ${Intl.DateTimeFormat().resolvedOptions().timeZone}, session ${SESSION_ZONE}`);
  const from = new Date(Date.UTC(2025, 2, 2));
  const to = new Date(Date.UTC(2025, 2, 3));
  const total = await client.query(
    "SELECT total FROM aggregate_usage_metrics($1, 'api_calls', $2, $3)", [TENANT, from, to]);
  check("node-pg: Date bounds give the UTC window", Number(total.rows[0].total), 110);
  const buckets = await client.query(
    "SELECT bucket_start, total FROM aggregate_usage_metrics($1, 'api_calls', $2, $3, 'day')", [TENANT, from, to]);
  check("node-pg: day buckets come back as the UTC midnight instant",
        buckets.rows.map((r) => [r.bucket_start.toISOString(), Number(r.total)]),
        [["2025-03-02T00:00:00.000Z", 110]]);
  const seed = await client.query(
    "SELECT total FROM aggregate_usage_metrics($1, 'api_calls', '2025-03-02'::TIMESTAMP, '2025-03-03'::TIMESTAMP)",
    [TENANT]);
  check("node-pg: the seed's ::TIMESTAMP call keeps its UTC meaning", Number(seed.rows[0].total), 110);
  const limit = await client.query(
    "SELECT allowed, current_value, limit_value, remaining FROM check_tenant_limit($1, 'api_calls_per_day', 40)",
    [TENANT]);
  check("node-pg: check_tenant_limit's columns", limit.rows[0],
        { allowed: true, current_value: "40", limit_value: "100", remaining: "60" });
} finally {
  await client.end();
}
console.log(`drivers-node: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
