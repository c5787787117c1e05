"""psycopg 3 and asyncpg against marimo_erp: each driver's own time types name
the same UTC window whatever the process and session time zones, the seed's
::TIMESTAMP calls keep their meaning, and the named result types decode.

Usage: python drivers.py [BOUNCER_SOCKET_DIR BOUNCER_PORT]
(PGHOST, PGPORT, PGUSER, PGDATABASE and TZ from run; with a PgBouncer, the pooled checks too)
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


TENANTS = [TENANT, "44444444-4444-4444-8444-444444444444"]
# Each transaction sets its tenant first, as the README says for transaction pooling.
IN_TRANSACTION = "SELECT (SELECT pg_catalog.array_agg(id::text) FROM tenants), current_tenant()::text"


async def pooled_psycopg(bouncer, transactions):
    """psycopg 3 through PgBouncer in transaction mode, prepare_threshold=None."""
    seen = []

    async def client(n):
        async with await psycopg.AsyncConnection.connect(bouncer, prepare_threshold=None) as conn:
            for i in range(transactions):
                tenant = TENANTS[(n + i) % 2]
                async with conn.transaction():
                    await conn.execute("SELECT set_tenant(%s)", (tenant,))
                    rows, current = await (await conn.execute(IN_TRANSACTION)).fetchone()
                    seen.append((tenant, rows, current))

    await asyncio.gather(*(client(n) for n in range(8)))
    return seen


async def pooled_asyncpg(bouncer, transactions):
    """asyncpg through PgBouncer in transaction mode, statement_cache_size=0."""
    seen = []
    pool = await asyncpg.create_pool(bouncer, min_size=8, max_size=8, statement_cache_size=0)
    try:
        async def client(n):
            async with pool.acquire() as conn:
                for i in range(transactions):
                    tenant = TENANTS[(n + i) % 2]
                    async with conn.transaction():
                        await conn.execute("SELECT set_tenant($1::uuid)", tenant)
                        row = await conn.fetchrow(IN_TRANSACTION)
                        seen.append((tenant, row[0], row[1]))

        await asyncio.gather(*(client(n) for n in range(8)))
    finally:
        await pool.close()
    return seen


def check_pooled(name, seen, transactions):
    leaks = [s for s in seen if s[1] != [s[0]] or s[2] != s[0]]
    check(f"{name}: 8 clients x {transactions} transactions, each sees only its tenant", (len(seen), leaks),
          (8 * transactions, []))


def with_pgbouncer(socket_dir, port):
    psycopg_dsn = f"host={socket_dir} port={port} dbname=drivers user=marimo_driver_app"
    asyncpg_dsn = f"postgresql://marimo_driver_app@/drivers?host={socket_dir}&port={port}"
    check_pooled("psycopg via PgBouncer (transaction mode, prepare_threshold=None)",
                 asyncio.run(pooled_psycopg(psycopg_dsn, 25)), 25)
    check_pooled("asyncpg via PgBouncer (transaction mode, statement_cache_size=0)",
                 asyncio.run(pooled_asyncpg(asyncpg_dsn, 25)), 25)


def main():
    time.tzset()
    print(f"# process time zone {time.tzname}, session {SESSION_ZONE}")
    with_psycopg()
    asyncio.run(with_asyncpg())
    if len(sys.argv) == 3:
        with_pgbouncer(sys.argv[1], sys.argv[2])
    print(f"drivers-python: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
