//! The API usage rollup (0.13.1): the statement trigger on `api_usage_logs`
//! that appends each statement's requests to `usage_deltas`, per tenant and UTC
//! hour, as `api_requests`, `api_response_time_ms` and `api_server_errors`.
//!
//! From 0.6.0 to 0.13.0 it was PL/pgSQL, `SECURITY DEFINER` with a `SET
//! search_path` clause: every insert then paid for a GUC nest level, a search
//! path recomputed twice, and a grouped INSERT ... SELECT over the transition
//! table, which together halved single-row ingest (bench/results, scenario 3).
//! Here the rows are read from the transition table's tuplestore directly,
//! summed in Rust, and written from one kept plan run once per tenant and hour
//! of the statement, as the extension's owner (applications may not write
//! usage, or they could rewrite their own bill). That plan names its table with
//! the schema, its one operator with pg_catalog, and no type or function, so no
//! search_path needs pinning: the caller's cannot reach it.

use std::collections::HashMap;

use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use pgrx::{PgSqlErrorCode, Uuid};

use super::rollup::count_deltas_and_roll_up_now_and_then;
use crate::infra::errors::raise;
use crate::infra::guard::as_owner;
use crate::infra::spi::write;

/// PostgreSQL's timestamps are microseconds since 2000-01-01 00:00 UTC, the
/// origin the rollups bin hours from (`date_bin('1 hour', t, '2000-01-01')`).
const MICROSECONDS_PER_HOUR: i64 = 3_600_000_000;

/// A tenant's hour of requests as its deltas, as the PL/pgSQL rollup wrote
/// them: `api_requests` and `api_response_time_ms`, and `api_server_errors`
/// when there were any (the row counting none is left out). One short plan
/// run once per tenant and hour of the statement: an insert of one request
/// runs it once, with no arrays to build or unnest.
const APPEND_HOUR: &str = "
    INSERT INTO @extschema@.usage_deltas
           (tenant_id, metric_type, period_start, value_sum, sample_count, value_min, value_max)
    SELECT $1, d.metric_type, $2, d.value_sum, d.sample_count, d.value_min, d.value_max
      FROM (VALUES ('api_requests', $3, $3, 1, 1),
                   ('api_response_time_ms', $4, $3, $5, $6),
                   ('api_server_errors', $7, $7, 1, 1))
           AS d(metric_type, value_sum, sample_count, value_min, value_max)
     WHERE d.sample_count OPERATOR(pg_catalog.>) 0";

/// A tenant's requests in one UTC hour of the statement.
struct HourOfRequests {
    requests: i64,
    response_time_sum: i64,
    response_time_min: i64,
    response_time_max: i64,
    server_errors: i64,
}

impl HourOfRequests {
    fn first(response_time: i64, server_error: bool) -> Self {
        HourOfRequests {
            requests: 1,
            response_time_sum: response_time,
            response_time_min: response_time,
            response_time_max: response_time,
            server_errors: i64::from(server_error),
        }
    }

    fn add(&mut self, response_time: i64, server_error: bool) {
        self.requests += 1;
        self.response_time_sum += response_time;
        self.response_time_min = self.response_time_min.min(response_time);
        self.response_time_max = self.response_time_max.max(response_time);
        self.server_errors += i64::from(server_error);
    }
}

/// The statement's requests, by tenant and hour (microseconds since 2000).
type Hours = HashMap<([u8; 16], i64), HourOfRequests>;

/// `AFTER INSERT ... REFERENCING NEW TABLE ... FOR EACH STATEMENT` trigger of
/// `api_usage_logs` (usage.sql): appends the statement's requests to
/// `usage_deltas`, and now and then rolls a batch of deltas up.
#[pg_trigger]
fn rollup_api_usage<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, AllocatedByPostgres>>, pgrx::heap_tuple::PgHeapTupleError> {
    let data = trigger.trigger_data();
    if !fired_after_insert_statement(trigger) || data.tg_newtable.is_null() {
        raise(
            PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
            "rollup_api_usage() must be an AFTER INSERT ... REFERENCING NEW TABLE ... FOR EACH STATEMENT trigger",
        );
    }
    let hours = unsafe { read_requests(data.tg_relation, data.tg_newtable) };
    if !hours.is_empty() {
        let appended = as_owner(|| append_deltas(&hours));
        count_deltas_and_roll_up_now_and_then(appended);
    }
    Ok(None)
}

fn fired_after_insert_statement(trigger: &pgrx::PgTrigger<'_>) -> bool {
    use pgrx::trigger_support::{PgTriggerLevel, PgTriggerOperation, PgTriggerWhen};
    matches!(trigger.when(), Ok(PgTriggerWhen::After))
        && matches!(trigger.level(), PgTriggerLevel::Statement)
        && matches!(trigger.op(), Ok(PgTriggerOperation::Insert))
}

/// The attribute numbers of the columns the rollup reads, found by name and
/// type in the table's row type: an adopted or updated table may order its
/// columns otherwise than a fresh install.
struct RequestColumns {
    tenant_id: i32,
    status_code: i32,
    response_time_ms: i32,
    created_at: i32,
}

unsafe fn request_columns(descriptor: pg_sys::TupleDesc) -> RequestColumns {
    let wanted = [
        ("tenant_id", pg_sys::UUIDOID),
        ("status_code", pg_sys::INT4OID),
        ("response_time_ms", pg_sys::INT4OID),
        ("created_at", pg_sys::TIMESTAMPTZOID),
    ];
    // PgTupleDesc reads the attributes on every major (18 moved them behind TupleDescAttr).
    let attributes = pgrx::PgTupleDesc::from_pg_unchecked(descriptor);
    let found = wanted.map(|(name, type_oid)| {
        attributes
            .iter()
            .position(|attribute| {
                !attribute.attisdropped
                    && attribute.atttypid == type_oid
                    && pgrx::name_data_to_str(&attribute.attname) == name
            })
            .map(|index| index as i32 + 1)
            .unwrap_or_else(|| {
                raise(
                    PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    format!("rollup_api_usage(): the table has no column \"{name}\" of the expected type"),
                )
            })
    });
    RequestColumns {
        tenant_id: found[0],
        status_code: found[1],
        response_time_ms: found[2],
        created_at: found[3],
    }
}

/// Reads every row of the transition table through a read pointer of its own
/// (another trigger of the statement may read the same tuplestore), summing
/// each tenant's requests per UTC hour.
unsafe fn read_requests(relation: pg_sys::Relation, rows: *mut pg_sys::Tuplestorestate) -> Hours {
    let descriptor = (*relation).rd_att;
    let columns = request_columns(descriptor);
    let slot = pg_sys::MakeSingleTupleTableSlot(descriptor, &pg_sys::TTSOpsMinimalTuple);
    let reader = pg_sys::tuplestore_alloc_read_pointer(rows, pg_sys::EXEC_FLAG_REWIND as i32);
    pg_sys::tuplestore_select_read_pointer(rows, reader);
    pg_sys::tuplestore_rescan(rows);
    let mut hours = Hours::new();
    while pg_sys::tuplestore_gettupleslot(rows, true, false, slot) {
        let tenant = *(column(slot, columns.tenant_id).cast_mut_ptr::<[u8; 16]>());
        let status_code = column(slot, columns.status_code).value() as i32;
        let response_time = i64::from(column(slot, columns.response_time_ms).value() as i32);
        let created_at = column(slot, columns.created_at).value() as i64;
        hours
            .entry((tenant, hour_of(created_at)))
            .and_modify(|hour| hour.add(response_time, status_code >= 500))
            .or_insert_with(|| HourOfRequests::first(response_time, status_code >= 500));
    }
    pg_sys::tuplestore_select_read_pointer(rows, 0);
    pg_sys::ExecDropSingleTupleTableSlot(slot);
    hours
}

/// A column of the current row; the four the rollup reads are NOT NULL.
unsafe fn column(slot: *mut pg_sys::TupleTableSlot, attribute: i32) -> pg_sys::Datum {
    let mut is_null = false;
    let value = pg_sys::slot_getattr(slot, attribute, &mut is_null);
    if is_null {
        raise(
            PgSqlErrorCode::ERRCODE_NOT_NULL_VIOLATION,
            format!("rollup_api_usage(): column {attribute} of a new api_usage_logs row is NULL"),
        );
    }
    value
}

/// The start of the UTC hour of a timestamp, as `date_bin('1 hour', t,
/// '2000-01-01 00:00:00+00')` computes it: rounded down, before 2000 too; an
/// infinite timestamp is its own hour, as date_bin returns it unchanged.
fn hour_of(timestamp: i64) -> i64 {
    if timestamp == i64::MIN || timestamp == i64::MAX {
        return timestamp;
    }
    timestamp - timestamp.rem_euclid(MICROSECONDS_PER_HOUR)
}

/// Appends the deltas of `hours` and returns how many rows that was.
fn append_deltas(hours: &Hours) -> u32 {
    let mut appended = 0;
    for (&(tenant, hour), requests) in hours {
        let hour = unsafe { TimestampWithTimeZone::from_datum(pg_sys::Datum::from(hour), false) }
            .expect("a timestamp datum is never null");
        write(
            APPEND_HOUR,
            &[
                Uuid::from_bytes(tenant).into(),
                hour.into(),
                requests.requests.into(),
                requests.response_time_sum.into(),
                requests.response_time_min.into(),
                requests.response_time_max.into(),
                requests.server_errors.into(),
            ],
        );
        appended += 2 + u32::from(requests.server_errors > 0);
    }
    appended
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use pgrx::prelude::*;

    #[pg_test]
    fn hours_round_down_from_2000_before_it_too() {
        use super::{hour_of, MICROSECONDS_PER_HOUR as HOUR};
        assert_eq!(hour_of(0), 0);
        assert_eq!(hour_of(HOUR - 1), 0);
        assert_eq!(hour_of(HOUR), HOUR);
        assert_eq!(hour_of(-1), -HOUR);
        assert_eq!(hour_of(-HOUR), -HOUR);
        assert_eq!(hour_of(i64::MAX), i64::MAX);
        assert_eq!(hour_of(i64::MIN), i64::MIN);
        // The same hours as date_bin, which the PL/pgSQL rollup used.
        for microseconds in [
            -1_500_000,
            0,
            849_000_123_456_789,
            -946_683_000_000_000,
            3 * HOUR + 17,
        ] {
            let timestamp = unsafe {
                pgrx::datum::TimestampWithTimeZone::from_datum(
                    pg_sys::Datum::from(microseconds),
                    false,
                )
            }
            .unwrap();
            let binned = Spi::get_one_with_args::<pgrx::datum::TimestampWithTimeZone>(
                "SELECT pg_catalog.date_bin('1 hour', $1, '2000-01-01 00:00:00+00')",
                &[timestamp.into()],
            )
            .unwrap()
            .unwrap();
            assert_eq!(
                binned.into_datum().unwrap().value() as i64,
                hour_of(microseconds)
            );
        }
    }

    #[pg_test]
    fn a_statement_of_many_rows_appends_its_sums_per_tenant_and_hour() {
        Spi::run(
            "INSERT INTO tenants (id, slug, name) VALUES
                 ('aaaaaaaa-0000-4000-8000-0000000000e1', 'pgtest-api-rollup-1', 'Api rollup 1'),
                 ('aaaaaaaa-0000-4000-8000-0000000000e2', 'pgtest-api-rollup-2', 'Api rollup 2');
             INSERT INTO api_usage_logs (tenant_id, method, endpoint, status_code, response_time_ms, created_at)
             SELECT CASE WHEN i % 2 = 0 THEN 'aaaaaaaa-0000-4000-8000-0000000000e1'::uuid
                         ELSE 'aaaaaaaa-0000-4000-8000-0000000000e2'::uuid END,
                    'GET', '/v1/probe', CASE WHEN i % 5 = 0 THEN 503 ELSE 200 END, i,
                    '2025-04-01 10:00:00+00'::timestamptz + (i * 7) * interval '1 minute'
               FROM pg_catalog.generate_series(1, 40) AS i",
        )
        .unwrap();
        // What the PL/pgSQL rollup computed, from the logs themselves.
        let differences = Spi::get_one::<i64>(
            "WITH expected AS (
                 SELECT r.tenant_id, x.metric_type, pg_catalog.date_bin('1 hour', r.created_at, '2000-01-01 00:00:00+00') AS period_start,
                        pg_catalog.sum(x.value) AS s, pg_catalog.count(*) AS c, pg_catalog.min(x.value) AS lo, pg_catalog.max(x.value) AS hi
                   FROM api_usage_logs AS r
                  CROSS JOIN LATERAL (VALUES ('api_requests', 1::numeric),
                                             ('api_response_time_ms', r.response_time_ms::numeric),
                                             ('api_server_errors', CASE WHEN r.status_code >= 500 THEN 1::numeric END)) AS x(metric_type, value)
                  WHERE x.value IS NOT NULL AND r.endpoint = '/v1/probe'
                  GROUP BY 1, 2, 3),
             found AS (
                 SELECT tenant_id, metric_type, period_start, value_sum AS s, sample_count AS c, value_min AS lo, value_max AS hi
                   FROM usage_deltas
                  WHERE tenant_id IN ('aaaaaaaa-0000-4000-8000-0000000000e1', 'aaaaaaaa-0000-4000-8000-0000000000e2'))
             SELECT pg_catalog.count(*) FROM ((TABLE expected EXCEPT ALL TABLE found) UNION ALL (TABLE found EXCEPT ALL TABLE expected)) AS d",
        );
        assert_eq!(differences, Ok(Some(0)));
        let rows = Spi::get_one::<i64>(
            "SELECT pg_catalog.count(*) FROM usage_deltas
              WHERE tenant_id IN ('aaaaaaaa-0000-4000-8000-0000000000e1', 'aaaaaaaa-0000-4000-8000-0000000000e2')",
        );
        // 40 requests over 280 minutes: 5 or 6 hours per tenant, each with
        // api_requests and api_response_time_ms, and errors in some.
        assert!(matches!(rows, Ok(Some(n)) if n > 20));
    }
}
