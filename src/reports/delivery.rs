//! Delivery of a report run (0.12.0), through the durable, retried and logged
//! paths that exist: a `report.completed` / `report.failed` webhook event to the
//! tenant's endpoints (`emit_webhook_event`, delivered by the webhook worker),
//! and an e-mail with the file attached to the report's recipients through the
//! tenant's active SendGrid integration, queued in `integration_requests` like
//! `enqueue_integration_request` (the worker adds the API key from the
//! integration's credentials at send time, sends to the `base_url` of its
//! config, logs each attempt in `integration_logs` and retries on its schedule).
//! Both are queued in the transaction that records the run, so they exist
//! exactly when the run's outcome does.

use base64::Engine;
use pgrx::prelude::*;
use pgrx::{JsonB, Uuid};
use serde_json::json;

use crate::infra::errors::spi;
use crate::infra::installation;
use crate::infra::spi::with_schema;
use crate::infra::wake::wake_at_commit;

/// A rendered report file, as a run stores and delivers it.
pub struct File {
    pub content: Vec<u8>,
    pub content_type: String,
    pub file_name: String,
    pub row_count: i64,
}

/// What is delivered about a run.
pub struct Delivery<'a> {
    pub report: Uuid,
    pub report_name: &'a str,
    pub format: &'a str,
    pub scheduled_for: &'a str,
    pub recipients: &'a [String],
    pub file: Option<&'a File>,
    pub error: Option<&'a str>,
}

/// The SendGrid integration config key naming the sender address.
pub const FROM_EMAIL_KEY: &str = "from_email";

/// Emits the run's webhook event and queues its e-mail, and records both on the run.
pub fn deliver(tenant: Uuid, run: Uuid, d: &Delivery) -> bool {
    let status = if d.file.is_some() {
        "succeeded"
    } else {
        "failed"
    };
    let event_type = if d.file.is_some() {
        "report.completed"
    } else {
        "report.failed"
    };
    let schema = installation::schema();
    let payload = json!({
        "run_id": run.to_string(),
        "report_id": d.report.to_string(),
        "report_name": d.report_name,
        "status": status,
        "format": d.format,
        "scheduled_for": d.scheduled_for,
        "row_count": d.file.map(|f| f.row_count),
        "error": d.error,
        "content": d.file.map(|f| json!({
            "content_type": f.content_type,
            "file_name": f.file_name,
            "bytes": f.content.len(),
            "fetch": format!(
                "SELECT * FROM {schema}.report_run_content('{tenant}', '{run}')"
            ),
        })),
    });
    let event = spi(Spi::get_one_with_args::<Uuid>(
        &with_schema("SELECT @extschema@.emit_webhook_event($1, $2, $3, $4)"),
        &[
            tenant.into(),
            event_type.into(),
            JsonB(payload).into(),
            format!("report_run:{run}").into(),
        ],
    ));
    let (email_status, request, email_error) = match queue_email(tenant, run, d) {
        Ok(request) => ("queued", Some(request), None),
        Err(reason) => ("skipped", None, Some(reason)),
    };
    spi(Spi::run_with_args(
        &with_schema(
            "UPDATE @extschema@.report_runs
                SET webhook_event_id = $3, email_status = $4, email_request_id = $5, email_error = $6
              WHERE tenant_id = $1 AND id = $2",
        ),
        &[
            tenant.into(),
            run.into(),
            event.into(),
            email_status.into(),
            request.into(),
            email_error.into(),
        ],
    ));
    true
}

/// Queues the SendGrid v3 mail/send request, or says why not.
fn queue_email(tenant: Uuid, run: Uuid, d: &Delivery) -> Result<Uuid, String> {
    let Some(file) = d.file else {
        return Err("the run failed".into());
    };
    let integration = spi(Spi::connect(|client| {
        let rows = client.select(
            &with_schema(
                "SELECT i.id, i.config ->> 'from_email' FROM @extschema@.integrations i
                  WHERE i.tenant_id = $1 AND i.provider = 'sendgrid' AND i.status = 'active'
                  ORDER BY i.created_at, i.id LIMIT 1",
            ),
            None,
            &[tenant.into()],
        )?;
        let Some(row) = rows.into_iter().next() else {
            return Ok(None);
        };
        Ok::<_, pgrx::spi::SpiError>(Some((row.get::<Uuid>(1)?, row.get::<String>(2)?)))
    }));
    let Some((Some(integration), from)) = integration else {
        return Err("the tenant has no active SendGrid integration".into());
    };
    let Some(from) = from.filter(|f| !f.trim().is_empty()) else {
        return Err(format!(
            "the SendGrid integration {integration} has no config key \"{FROM_EMAIL_KEY}\" (the sender address)"
        ));
    };
    if d.recipients.is_empty() {
        return Err("the report has no recipients".into());
    }
    let subject = format!("Report: {} ({})", d.report_name, d.scheduled_for);
    let text = format!(
        "The report \"{}\" for {} is attached ({}, {} rows).",
        d.report_name, d.scheduled_for, file.file_name, file.row_count
    );
    let body = json!({
        "personalizations": [{
            "to": d.recipients.iter().map(|r| json!({"email": r})).collect::<Vec<_>>(),
        }],
        "from": {"email": from},
        "subject": subject,
        "content": [{"type": "text/plain", "value": text}],
        "attachments": [{
            "content": base64::engine::general_purpose::STANDARD.encode(&file.content),
            "type": file.content_type,
            "filename": file.file_name,
            "disposition": "attachment",
        }],
    });
    let context = json!({"report_run": run.to_string(), "report": d.report.to_string()});
    let request = spi(Spi::get_one_with_args::<Uuid>(
        &with_schema(
            "INSERT INTO @extschema@.integration_requests
                    (tenant_id, integration_id, operation, method, path, body, context)
             VALUES ($1, $2, 'mail.send', 'POST', '/v3/mail/send', $3, $4) RETURNING id",
        ),
        &[
            tenant.into(),
            integration.into(),
            JsonB(body).into(),
            JsonB(context).into(),
        ],
    ))
    .ok_or_else(|| "queueing the e-mail returned no id".to_string())?;
    wake_at_commit();
    Ok(request)
}
