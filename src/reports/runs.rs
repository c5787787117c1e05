//! Report runs (0.12.0): claiming due reports, executing a run, and the SQL
//! surface (`run_due_reports`, `run_report_now`, `report_run_content`,
//! `cleanup_report_runs`).
//!
//! A slot runs at most once: the run's row is inserted (unique per report and
//! scheduled time, `ON CONFLICT DO NOTHING`) in the same transaction that moves
//! the report's `next_run_at` past now, under `FOR UPDATE SKIP LOCKED`. The
//! worker commits that claim before it executes the run in a transaction of its
//! own, which holds the run's row locked; a run a crash left `pending` (claimed,
//! never finished, no longer locked) is failed by a later round, never executed
//! again. After downtime the slot still in `next_run_at` is the one catch-up
//! run, and `next_run(schedule, timezone, now())` skips the missed ones.

use pgrx::datum::{Interval, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::{PgSqlErrorCode, Uuid};
use serde_json::json;

use super::delivery::{self, File};
use super::document::ReportDocument;
use super::render::{self, Format};
use crate::analytics::sandbox::{render_saved_dashboard, run_saved_query};
use crate::analytics::schedule::next_run;
use crate::infra::errors::{describe_caught, invalid_argument, raise, required, spi};
use crate::infra::guard::{in_subtransaction, with_owner_privileges, PinnedSearchPath};
use crate::infra::gucs::REPORT_RUN_RETENTION_MIN;
use crate::infra::installation;
use crate::infra::spi::with_schema;
use crate::logs::registry::REPORT_RUNS;
use crate::logs::retention;
use crate::tenancy::access::{as_owner_for_applications, authorize_tenant, caller, Caller};

/// The most rows a report holds per query (the sandbox caps it further with
/// `marimo_erp.analytics_max_rows`).
const REPORT_MAX_ROWS: i32 = 100_000;
/// How old an unlocked pending run must be before a round fails it: the claim
/// commits a moment before its execution locks the row.
const INTERRUPTED_AFTER: &str = "1 minute";

/// A run claimed and not yet executed.
#[derive(Clone, Copy, Debug)]
pub struct Claimed {
    pub tenant: Uuid,
    pub run: Uuid,
}

/// A time-ordered run id.
fn new_run_id() -> Uuid {
    Uuid::from_bytes(*uuid::Uuid::now_v7().as_bytes())
}

/// Whether this database has report_runs (the library may be newer than the SQL).
pub fn ready() -> bool {
    installation::installed_at_least("0.12.0")
}

/// Fails the runs that a crash left pending (claimed, never finished, not
/// locked by a run in progress); returns how many.
pub fn fail_interrupted() -> i64 {
    let statement = with_schema(&format!(
        "WITH lost AS (
             SELECT r.tenant_id, r.id FROM @extschema@.report_runs r
              WHERE r.status = 'pending' AND r.created_at < pg_catalog.now() - '{INTERRUPTED_AFTER}'::interval
              FOR UPDATE SKIP LOCKED
         ), failed AS (
             UPDATE @extschema@.report_runs r
                SET status = 'failed', finished_at = pg_catalog.clock_timestamp(),
                    error = 'interrupted: the run was claimed but never finished (the worker or session ended); the slot is not run again',
                    email_status = 'skipped', email_error = 'the run failed'
               FROM lost WHERE r.tenant_id = lost.tenant_id AND r.id = lost.id
             RETURNING r.tenant_id, r.report_id, r.error
         ), reports AS (
             UPDATE @extschema@.scheduled_reports s
                SET last_status = 'failed', last_error = f.error
               FROM failed f WHERE s.tenant_id = f.tenant_id AND s.id = f.report_id
             RETURNING 1
         )
         SELECT pg_catalog.count(*) FROM failed WHERE (SELECT pg_catalog.count(*) FROM reports) >= 0",
    ));
    spi(Spi::get_one::<i64>(&statement)).unwrap_or(0)
}

/// Claims up to `limit` due active reports: for each, inserts the run of its
/// slot (`next_run_at`) and moves `next_run_at` to the next slot after now. A
/// report whose schedule no longer gives a next time is deactivated with the
/// reason in `last_error`. Returns the runs inserted.
pub fn claim_due(limit: i64) -> Vec<Claimed> {
    let due = with_schema(
        "SELECT r.tenant_id, r.id, r.schedule, r.timezone, r.format, r.next_run_at, pg_catalog.now()
           FROM @extschema@.scheduled_reports r
          WHERE r.is_active AND r.next_run_at <= pg_catalog.now()
          ORDER BY r.next_run_at
          LIMIT $1
          FOR UPDATE SKIP LOCKED",
    );
    type Due = (
        Uuid,
        Uuid,
        String,
        String,
        String,
        TimestampWithTimeZone,
        TimestampWithTimeZone,
    );
    let rows: Vec<Due> = spi(Spi::connect_mut(|client| {
        let mut rows = Vec::new();
        for row in client.update(&due, None, &[limit.into()])? {
            if let (Some(t), Some(i), Some(s), Some(z), Some(f), Some(n), Some(now)) = (
                row.get::<Uuid>(1)?,
                row.get::<Uuid>(2)?,
                row.get::<String>(3)?,
                row.get::<String>(4)?,
                row.get::<String>(5)?,
                row.get::<TimestampWithTimeZone>(6)?,
                row.get::<TimestampWithTimeZone>(7)?,
            ) {
                rows.push((t, i, s, z, f, n, now));
            }
        }
        Ok::<_, pgrx::spi::SpiError>(rows)
    }));
    let insert = with_schema(
        "INSERT INTO @extschema@.report_runs (tenant_id, id, report_id, scheduled_for, triggered_by, format)
         VALUES ($1, $2, $3, $4, 'schedule', $5)
         ON CONFLICT (tenant_id, report_id, scheduled_for) DO NOTHING
         RETURNING id",
    );
    let advance = with_schema(
        "UPDATE @extschema@.scheduled_reports SET next_run_at = $3 WHERE tenant_id = $1 AND id = $2",
    );
    let deactivate = with_schema(
        "UPDATE @extschema@.scheduled_reports
            SET is_active = false, next_run_at = NULL, last_status = 'failed', last_error = $3
          WHERE tenant_id = $1 AND id = $2",
    );
    let mut claimed = Vec::new();
    for (tenant, report, schedule, timezone, format, slot, now) in rows {
        match next_run(&schedule, &timezone, now) {
            Ok(next) => {
                spi(Spi::run_with_args(
                    &advance,
                    &[tenant.into(), report.into(), next.into()],
                ));
            }
            Err(reason) => {
                let reason = format!("deactivated: the schedule gives no next run: {reason}");
                spi(Spi::run_with_args(
                    &deactivate,
                    &[tenant.into(), report.into(), reason.into()],
                ));
            }
        }
        let inserted = insert_returning_id(
            &insert,
            &[
                tenant.into(),
                new_run_id().into(),
                report.into(),
                slot.into(),
                format.into(),
            ],
        );
        if let Some(run) = inserted {
            claimed.push(Claimed { tenant, run });
        }
    }
    claimed
}

/// Runs an `INSERT ... RETURNING id` that may insert nothing.
fn insert_returning_id(statement: &str, arguments: &[pgrx::datum::DatumWithOid]) -> Option<Uuid> {
    spi(Spi::connect_mut(|client| {
        let rows = client.update(statement, None, arguments)?;
        match rows.into_iter().next() {
            Some(row) => row.get::<Uuid>(1),
            None => Ok(None),
        }
    }))
}

/// What a run needs of its report, read with the run's row locked.
struct Job {
    report: Uuid,
    name: String,
    format: String,
    query: Option<Uuid>,
    dashboard: Option<Uuid>,
    recipients: Vec<String>,
    scheduled_for: String,
}

/// Executes a claimed run (pending, and not locked by another session): runs
/// the report's query or dashboard, renders the file, records the outcome on
/// the run and the report, and queues its delivery. Returns false when the run
/// is no longer pending or another session holds it. A failure of the query or
/// the rendering fails the run; it does not raise.
pub fn execute(claimed: Claimed) -> bool {
    let Some(job) = lock_job(claimed) else {
        return false;
    };
    let started = spi(Spi::get_one::<String>(
        "SELECT pg_catalog.to_char(pg_catalog.clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
    ))
    .unwrap_or_default();
    spi(Spi::run_with_args(
        &with_schema(
            "UPDATE @extschema@.report_runs SET started_at = pg_catalog.clock_timestamp()
              WHERE tenant_id = $1 AND id = $2",
        ),
        &[claimed.tenant.into(), claimed.run.into()],
    ));
    let outcome = in_subtransaction(|| produce(claimed.tenant, &job, &started))
        .map_err(|e| describe_caught(&e))
        .and_then(|r| r);
    let delivered = match &outcome {
        Ok(file) => {
            record(claimed, &job, Ok(file));
            delivery::deliver(
                claimed.tenant,
                claimed.run,
                &delivery_of(&job, Some(file), None),
            )
        }
        Err(error) => {
            record(claimed, &job, Err(error));
            delivery::deliver(
                claimed.tenant,
                claimed.run,
                &delivery_of(&job, None, Some(error)),
            )
        }
    };
    let _ = delivered;
    true
}

fn delivery_of<'a>(
    job: &'a Job,
    file: Option<&'a File>,
    error: Option<&'a str>,
) -> delivery::Delivery<'a> {
    delivery::Delivery {
        report: job.report,
        report_name: &job.name,
        format: &job.format,
        scheduled_for: &job.scheduled_for,
        recipients: &job.recipients,
        file,
        error,
    }
}

fn lock_job(claimed: Claimed) -> Option<Job> {
    let statement = with_schema(
        "SELECT r.report_id, s.name, r.format, s.analytics_query_id, s.dashboard_id, s.recipients,
                pg_catalog.to_char(r.scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
           FROM @extschema@.report_runs r
           JOIN @extschema@.scheduled_reports s ON s.tenant_id = r.tenant_id AND s.id = r.report_id
          WHERE r.tenant_id = $1 AND r.id = $2 AND r.status = 'pending'
          FOR UPDATE OF r SKIP LOCKED",
    );
    spi(Spi::connect_mut(|client| {
        let rows = client.update(
            &statement,
            None,
            &[claimed.tenant.into(), claimed.run.into()],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok::<_, pgrx::spi::SpiError>(Some(Job {
            report: row.get::<Uuid>(1)?.unwrap_or(claimed.run),
            name: row.get::<String>(2)?.unwrap_or_default(),
            format: row.get::<String>(3)?.unwrap_or_else(|| "json".into()),
            query: row.get::<Uuid>(4)?,
            dashboard: row.get::<Uuid>(5)?,
            recipients: row
                .get::<Vec<Option<String>>>(6)?
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect(),
            scheduled_for: row.get::<String>(7)?.unwrap_or_default(),
        }))
    }))
}

/// Runs the report's source through the sandbox and renders it.
fn produce(tenant: Uuid, job: &Job, started: &str) -> Result<File, String> {
    let format = Format::parse(&job.format)
        .ok_or_else(|| format!("the report's format \"{}\" is not supported", job.format))?;
    let document = match (job.query, job.dashboard) {
        (Some(query), _) => {
            let result = run_saved_query(tenant, query, &json!({}), REPORT_MAX_ROWS);
            ReportDocument::from_query_result(&job.name, started, &result)?
        }
        (None, Some(dashboard)) => {
            let result = render_saved_dashboard(tenant, dashboard, &json!({}));
            ReportDocument::from_dashboard(&job.name, started, &result)?
        }
        (None, None) => return Err("the report names neither a query nor a dashboard".into()),
    };
    let row_count = document.sections.iter().map(|s| s.rows.len() as i64).sum();
    let rendered = render::render(format, &document);
    Ok(File {
        content: rendered.content,
        content_type: rendered.content_type.to_string(),
        file_name: format!(
            "{}-{}.{}",
            slug(&job.name),
            job.scheduled_for
                .chars()
                .filter(char::is_ascii_digit)
                .take(12)
                .collect::<String>(),
            rendered.extension
        ),
        row_count,
    })
}

/// A file-name-safe form of a report's name.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out
        .trim_end_matches('-')
        .chars()
        .take(80)
        .collect::<String>();
    if out.is_empty() {
        "report".into()
    } else {
        out
    }
}

/// Records the outcome on the run and on its report.
fn record(claimed: Claimed, job: &Job, outcome: Result<&File, &String>) {
    let (status, last_status) = match outcome {
        Ok(_) => ("succeeded", "success"),
        Err(_) => ("failed", "failed"),
    };
    let (content, content_type, file_name, row_count, error) = match outcome {
        Ok(file) => (
            Some(file.content.clone()),
            Some(file.content_type.clone()),
            Some(file.file_name.clone()),
            Some(file.row_count.min(i32::MAX as i64) as i32),
            None,
        ),
        Err(error) => (None, None, None, None, Some(error.clone())),
    };
    spi(Spi::run_with_args(
        &with_schema(
            "UPDATE @extschema@.report_runs
                SET status = $3, finished_at = pg_catalog.clock_timestamp(), content = $4,
                    content_type = $5, file_name = $6, row_count = $7, error = $8
              WHERE tenant_id = $1 AND id = $2",
        ),
        &[
            claimed.tenant.into(),
            claimed.run.into(),
            status.into(),
            content.into(),
            content_type.into(),
            file_name.into(),
            row_count.into(),
            error.clone().into(),
        ],
    ));
    spi(Spi::run_with_args(
        &with_schema(
            "UPDATE @extschema@.scheduled_reports
                SET last_run_at = r.started_at, last_status = $4, last_error = $5
               FROM @extschema@.report_runs r
              WHERE scheduled_reports.tenant_id = $1 AND scheduled_reports.id = $3
                AND r.tenant_id = $1 AND r.id = $2",
        ),
        &[
            claimed.tenant.into(),
            claimed.run.into(),
            job.report.into(),
            last_status.into(),
            error.into(),
        ],
    ));
}

/// Records a run as failed after its execution's transaction was rolled back
/// (in a new transaction): the slot is not run again.
pub fn fail(claimed: Claimed, error: &str) {
    let statement = with_schema(
        "WITH failed AS (
             UPDATE @extschema@.report_runs
                SET status = 'failed', finished_at = pg_catalog.clock_timestamp(), error = $3,
                    email_status = 'skipped', email_error = 'the run failed'
              WHERE tenant_id = $1 AND id = $2 AND status = 'pending'
             RETURNING tenant_id, report_id
         )
         UPDATE @extschema@.scheduled_reports s
            SET last_status = 'failed', last_error = $3, last_run_at = pg_catalog.now()
           FROM failed f WHERE s.tenant_id = f.tenant_id AND s.id = f.report_id",
    );
    spi(Spi::run_with_args(
        &statement,
        &[claimed.tenant.into(), claimed.run.into(), error.into()],
    ));
}

/// One round of the scheduler in the current transaction, each claim and run
/// in a subtransaction: for `run_due_reports`, which cannot commit between them.
fn run_due_in_transaction() -> i32 {
    fail_interrupted();
    let mut count = 0;
    // Each claim moves its report's next_run_at past now(), which is fixed
    // within the transaction, so the loop ends; the bound is a second guard.
    for _ in 0..10_000 {
        let claimed = match in_subtransaction(|| claim_due(1)) {
            Ok(claimed) => claimed,
            Err(error) => {
                warning!(
                    "run_due_reports: claiming failed: {}",
                    describe_caught(&error)
                );
                break;
            }
        };
        if claimed.is_empty() {
            break;
        }
        for run in claimed {
            match in_subtransaction(|| execute(run)) {
                Ok(true) => count += 1,
                Ok(false) => {}
                Err(error) => {
                    let error = describe_caught(&error);
                    fail(run, &error);
                    count += 1;
                }
            }
        }
    }
    count
}

/// Runs every due active report and returns how many runs it executed.
#[pg_extern(volatile, parallel_unsafe)]
fn run_due_reports() -> i32 {
    let _search_path = PinnedSearchPath::new();
    if caller() != Caller::Operator {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            "run_due_reports() is for operators (marimo_admin)",
        );
    }
    // Only the runner writes report_runs: an operator who is not a superuser
    // (the pg_cron job the README recommends) has SELECT and DELETE on it.
    with_owner_privileges(run_due_in_transaction)
}

/// Runs a report of the tenant at once and returns the run's id.
#[pg_extern(volatile, parallel_unsafe)]
fn run_report_now(tenant: Option<Uuid>, report: Option<Uuid>) -> Uuid {
    let _search_path = PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let report = required(report, "report");
    authorize_tenant(tenant, true);
    // As the owner for every caller, operators included: only the runner writes
    // report_runs (operators and applications may read and delete its rows).
    with_owner_privileges(|| {
        let run = new_run_id();
        let inserted = insert_returning_id(
            &with_schema(
                "INSERT INTO @extschema@.report_runs (tenant_id, id, report_id, scheduled_for, triggered_by, format)
                 SELECT s.tenant_id, $3, s.id, pg_catalog.clock_timestamp(), 'manual', s.format
                   FROM @extschema@.scheduled_reports s WHERE s.tenant_id = $1 AND s.id = $2
                 RETURNING id",
            ),
            &[tenant.into(), report.into(), run.into()],
        );
        if inserted.is_none() {
            invalid_argument(format!(
                "argument \"report\": tenant {tenant} has no scheduled report {report}"
            ));
        }
        let claimed = Claimed { tenant, run };
        if let Err(error) = in_subtransaction(|| execute(claimed)) {
            fail(claimed, &describe_caught(&error));
        }
        run
    })
}

/// The file of a run.
#[pg_extern(volatile, parallel_unsafe)]
fn report_run_content(
    tenant: Option<Uuid>,
    run: Option<Uuid>,
) -> TableIterator<
    'static,
    (
        name!(content, Vec<u8>),
        name!(content_type, String),
        name!(file_name, String),
    ),
> {
    let _search_path = PinnedSearchPath::new();
    let tenant = required(tenant, "tenant");
    let run = required(run, "run");
    let caller = authorize_tenant(tenant, false);
    let row = as_owner_for_applications(caller, || {
        spi(Spi::connect(|client| {
            let rows = client.select(
                &with_schema(
                    "SELECT content, content_type, file_name FROM @extschema@.report_runs
                      WHERE tenant_id = $1 AND id = $2",
                ),
                None,
                &[tenant.into(), run.into()],
            )?;
            let Some(row) = rows.into_iter().next() else {
                return Ok(None);
            };
            Ok::<_, pgrx::spi::SpiError>(Some((
                row.get::<Vec<u8>>(1)?,
                row.get::<String>(2)?,
                row.get::<String>(3)?,
            )))
        }))
    });
    let Some((content, content_type, file_name)) = row else {
        invalid_argument(format!(
            "argument \"run\": tenant {tenant} has no report run {run}"
        ));
    };
    match (content, content_type, file_name) {
        (Some(c), Some(t), Some(f)) => TableIterator::new(vec![(c, t, f)]),
        _ => TableIterator::new(Vec::new()),
    }
}

/// Deletes runs older than `retention` (NULL: `marimo_erp.report_run_retention`).
#[pg_extern(volatile, parallel_unsafe, security_definer)]
#[search_path(pg_catalog, pg_temp)]
fn cleanup_report_runs(
    retention: default!(Option<Interval>, "NULL"),
    batch_size: default!(Option<i32>, "10000"),
) -> i64 {
    let retention = retention.or_else(|| {
        spi(Spi::get_one_with_args::<Interval>(
            "SELECT pg_catalog.make_interval(mins => $1)",
            &[REPORT_RUN_RETENTION_MIN.get().into()],
        ))
    });
    retention::purge(&REPORT_RUNS, retention, batch_size)
}
