"""psycopg 3 and asyncpg against marimo_erp: each driver's own time types name
the same UTC window whatever the process and session time zones, the seed's
::TIMESTAMP calls keep their meaning, and the named result types decode.

Usage: python drivers.py   (PGHOST, PGPORT, PGUSER, PGDATABASE and TZ from run)
Prints one "ok"/"not ok" line per check and "drivers-python: N passed, N failed".
"""

import asyncio
import datetime as dt
import sys
import time
import zoneinfo

import asyncpg
import psycopg
from psycopg.types.composite import CompositeInfo, register_composite

TENANT = "33333333-3333-4333-8333-333333333333"
SESSION_ZONE = "Asia/Tokyo"
TOKYO = zoneinfo.ZoneInfo(SESSION_ZONE)
# The window, as aware values in a zone that is neither the process's nor UTC.
FROM = dt.datetime(2025, 3, 2, 9, 0, tzinfo=TOKYO)
TO = dt.datetime(2025, 3, 3, 9, 0, tzinfo=TOKYO)
UTC_MIDNIGHTS = [dt.datetime(2025, 3, 2, tzinfo=dt.timezone.utc)]

results = {"passed": 0, "failed": 0}


def check(name, got, want):
    if got == want:
        results["passed"] += 1
        print(f"ok - {name}")
    else:
        results["failed"] += 1
        print(f"not ok - {name}: got {got!r}, want {want!r}")


def with_psycopg():
    with psycopg.connect(options=f"-c TimeZone={SESSION_ZONE}", autocommit=True) as conn:
        zone = conn.execute("SHOW TimeZone").fetchone()[0]
        check("psycopg: the session's time zone is not UTC", zone, SESSION_ZONE)
        total = conn.execute(
            "SELECT total FROM aggregate_usage_metrics(%s, 'api_calls', %s, %s)", (TENANT, FROM, TO)
        ).fetchone()[0]
        check("psycopg: aware datetimes (timestamptz) give the UTC window", int(total), 110)
        # A naive datetime goes as timestamp: read as UTC, as the seed meant it.
        naive = conn.execute(
            "SELECT total FROM aggregate_usage_metrics(%s, 'api_calls', %s, %s)",
            (TENANT, dt.datetime(2025, 3, 2), dt.datetime(2025, 3, 3)),
        ).fetchone()[0]
        check("psycopg: naive datetimes (timestamp) are read as UTC", int(naive), 110)
        seed = conn.execute(
            "SELECT total FROM aggregate_usage_metrics(%s, 'api_calls', '2025-03-02'::TIMESTAMP, '2025-03-03'::TIMESTAMP)",
            (TENANT,),
        ).fetchone()[0]
        check("psycopg: the seed's ::TIMESTAMP call keeps its UTC meaning", int(seed), 110)
        buckets = conn.execute(
            "SELECT bucket_start, total FROM aggregate_usage_metrics(%s, 'api_calls', %s, %s, 'day')",
            (TENANT, FROM, TO),
        ).fetchall()
        check(
            "psycopg: day buckets start at UTC midnight, as aware datetimes",
            [(b.astimezone(dt.timezone.utc), int(t)) for b, t in buckets],
            [(UTC_MIDNIGHTS[0], 110)],
        )
        info = CompositeInfo.fetch(conn, "tenant_limit_check")
        check("psycopg: tenant_limit_check is a named type a driver can fetch", info is not None, True)
        register_composite(info, conn)
        row = conn.execute("SELECT check_tenant_limit(%s, 'api_calls_per_day', 40)", (TENANT,)).fetchone()[0]
        check(
            "psycopg: check_tenant_limit selected as one value decodes by name",
            (row.allowed, row.current_value, row.limit_value, row.remaining),
            (True, 40, 100, 60),
        )
        users = conn.execute("SELECT allowed, limit_value FROM check_tenant_limit(%s, 'users_count', 12)", (TENANT,)).fetchone()
        check("psycopg: users_count is checked against max_users", users, (True, 50))


async def with_asyncpg():
    conn = await asyncpg.connect(server_settings={"TimeZone": SESSION_ZONE})
    try:
        total = await conn.fetchval(
            "SELECT total FROM aggregate_usage_metrics($1::uuid, 'api_calls', $2, $3)", TENANT, FROM, TO
        )
        check("asyncpg: aware datetimes give the UTC window", int(total), 110)
        prepared = await conn.prepare("SELECT total FROM aggregate_usage_metrics($1::uuid, 'api_calls', $2, $3)")
        types = [t.name for t in prepared.get_parameters()]
        check("asyncpg: untyped bounds resolve to timestamptz", types[1:], ["timestamptz", "timestamptz"])
        again = await prepared.fetchval(TENANT, FROM.astimezone(dt.timezone.utc), TO.astimezone(dt.timezone.utc))
        check("asyncpg: the prepared statement with UTC datetimes agrees", int(again), 110)
        row = await conn.fetchval("SELECT check_tenant_limit($1::uuid, 'api_calls_per_day', 40)", TENANT)
        check(
            "asyncpg: check_tenant_limit selected as one value decodes by name",
            (row["allowed"], row["current_value"], row["limit_value"], row["remaining"]),
            (True, 40, 100, 60),
        )
        agg = await conn.fetchval(
            "SELECT aggregate_usage_metrics($1::uuid, 'api_calls', $2, $3)", TENANT, FROM, TO
        )
        check("asyncpg: usage_aggregate decodes by name", (int(agg["total"]), agg["samples"]), (110, 2))
    finally:
        await conn.close()


def main():
    time.tzset()
    print(f"# process time zone {time.tzname}, session {SESSION_ZONE}")
    with_psycopg()
    asyncio.run(with_asyncpg())
    print(f"drivers-python: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
