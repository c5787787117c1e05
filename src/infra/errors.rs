//! One way to raise errors: every bad call gets an `ERROR` with a fitting SQLSTATE
//! and a message that names the argument, never a crash or a silently wrong answer.

use pgrx::pg_sys::elog::PgLogLevel;
use pgrx::pg_sys::panic::{CaughtError, ErrorReport};
use pgrx::PgSqlErrorCode;

/// Raises an `ERROR` with `code` and `message`. Never returns.
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>) -> ! {
    ErrorReport::new(code, message.into(), "marimo_erp").report(PgLogLevel::ERROR);
    unreachable!("ereport(ERROR) returned")
}

/// Raises an `ERROR` with a hint that tells the caller what to do instead.
pub fn raise_with_hint(
    code: PgSqlErrorCode,
    message: impl Into<String>,
    hint: impl Into<String>,
) -> ! {
    ErrorReport::new(code, message.into(), "marimo_erp")
        .set_hint(hint.into())
        .report(PgLogLevel::ERROR);
    unreachable!("ereport(ERROR) returned")
}

/// `22023 invalid_parameter_value`, the SQLSTATE for an argument whose value is wrong.
pub fn invalid_argument(message: impl Into<String>) -> ! {
    raise(PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, message)
}

/// Unwraps a nullable argument, raising `22004 null_value_not_allowed` naming it when NULL.
///
/// The extension's functions are declared without `STRICT` on purpose: a STRICT
/// function answers NULL for a NULL argument, which a caller easily mistakes for
/// "no limit" or "nothing to do".
pub fn required<T>(value: Option<T>, argument: &str) -> T {
    match value {
        Some(value) => value,
        None => raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("argument \"{argument}\" must not be NULL"),
        ),
    }
}

/// Turns an SPI failure (a bug or a concurrent DDL, not bad input) into an ERROR.
pub fn spi<T>(result: Result<T, pgrx::spi::SpiError>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("marimo_erp: SPI call failed: {error}"),
        ),
    }
}

/// Checks an optional idempotency key: 1 to 255 bytes, as the tables' CHECKs say.
pub fn check_idempotency_key(key: Option<&str>) {
    if let Some(key) = key {
        if key.is_empty() || key.len() > 255 {
            invalid_argument("argument \"idempotency_key\" must be 1 to 255 bytes long");
        }
    }
}

/// What a caught error says, for a log row or a `last_error` column: its message,
/// its SQLSTATE and its detail.
pub fn describe_caught(error: &CaughtError) -> String {
    let report = match error {
        CaughtError::PostgresError(report)
        | CaughtError::ErrorReport(report)
        | CaughtError::RustPanic {
            ereport: report, ..
        } => report,
    };
    let mut text = format!(
        "{} (SQLSTATE {})",
        report.message(),
        sqlstate(report.sql_error_code())
    );
    if let Some(detail) = report.detail() {
        text.push_str(&format!(": {detail}"));
    }
    text
}

/// The five-character SQLSTATE of an error code.
pub fn sqlstate(code: PgSqlErrorCode) -> String {
    let mut value = code as i32;
    let mut out = String::with_capacity(5);
    for _ in 0..5 {
        out.push(char::from(((value & 0x3f) as u8) + b'0'));
        value >>= 6;
    }
    out
}
