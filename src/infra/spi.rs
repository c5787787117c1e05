//! Running statements through SPI, and the SQL files the Rust code runs.
//!
//! Long statements live in `.sql` files beside the code that runs them, pulled
//! in with `include_str!`, and name the extension's objects `@extschema@.name`
//! as the extension scripts do; `with_schema` puts the installation's schema in.
//!
//! Statements on a hot path run from kept plans (`read_value`, `write_value`,
//! `write`, `write_rows`, `stable_rows`): parsed and planned once per backend, then only executed.
//! PostgreSQL re-plans a kept plan by itself when a table or function it uses
//! changes (ALTER EXTENSION UPDATE included); a plan is made again here when the
//! extension was dropped and created, since its schema may differ then.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pgrx::datum::{DatumWithOid, FromDatum, IntoDatum};
use pgrx::prelude::*;
use pgrx::spi::{OwnedPreparedStatement, SpiClient, SpiHeapTupleData, SpiResult, SpiTupleTable};
use pgrx::PgOid;

use super::errors::spi;
use super::installation;

/// Runs one statement built from constants and quoted names only.
pub fn run(statement: &str) {
    spi(Spi::run(statement));
}

/// A statement of a `.sql` file with `@extschema@` replaced by the schema of
/// this installation (a quoted identifier).
pub fn with_schema(template: &str) -> String {
    template.replace("@extschema@", &installation::schema())
}

/// Which kept plan: the statement (by the address of its `'static` text) and
/// the types of its arguments.
type PlanKey = (usize, Vec<pg_sys::Oid>);

thread_local! {
    /// The kept plans of this backend, each with the installation it was made for.
    static KEPT: RefCell<HashMap<PlanKey, (pg_sys::Oid, Rc<OwnedPreparedStatement>)>> =
        RefCell::new(HashMap::new());
}

/// The kept plan of `template` for the types of `args`, made on first use.
fn kept_plan(
    client: &SpiClient<'_>,
    template: &'static str,
    args: &[DatumWithOid<'_>],
    mutating: bool,
) -> SpiResult<Rc<OwnedPreparedStatement>> {
    let types: Vec<pg_sys::Oid> = args.iter().map(|arg| arg.oid()).collect();
    let key = (template.as_ptr() as usize, types);
    let installation = installation::id();
    let cached = KEPT.with(|kept| {
        kept.borrow()
            .get(&key)
            .filter(|(made_for, _)| *made_for == installation)
            .map(|(_, plan)| Rc::clone(plan))
    });
    if let Some(plan) = cached {
        return Ok(plan);
    }
    let text = with_schema(template);
    let types: Vec<PgOid> = key.1.iter().map(|oid| PgOid::from(*oid)).collect();
    let prepared = if mutating {
        client.prepare_mut(text.as_str(), &types)?
    } else {
        client.prepare(text.as_str(), &types)?
    };
    let plan = Rc::new(prepared.keep());
    // An Rc, so that no borrow of the cache is held while the plan runs: the
    // statement may call functions of this library that run kept plans too.
    KEPT.with(|kept| {
        kept.borrow_mut()
            .insert(key, (installation, Rc::clone(&plan)))
    });
    Ok(plan)
}

/// The first column of the first row of a query, from its kept plan, run
/// read-only: it takes no transaction id, so it works on a hot standby. A
/// transaction that already wrote sees its own writes (SPI then reads with a
/// fresh snapshot, as PostgreSQL does for any read after a write).
pub fn read_value<T: FromDatum + IntoDatum>(
    template: &'static str,
    args: &[DatumWithOid<'_>],
) -> Option<T> {
    spi(Spi::connect(|client| {
        let plan = kept_plan(client, template, args, false)?;
        first_column(client.select(&*plan, Some(1), args)?)
    }))
}

/// The first column of the first row a data-changing statement returns, from its kept plan.
pub fn write_value<T: FromDatum + IntoDatum>(
    template: &'static str,
    args: &[DatumWithOid<'_>],
) -> Option<T> {
    spi(Spi::connect_mut(|client| {
        let plan = kept_plan(client, template, args, true)?;
        first_column(client.update(&*plan, None, args)?)
    }))
}

fn first_column<T: FromDatum + IntoDatum>(rows: SpiTupleTable<'_>) -> SpiResult<Option<T>> {
    if rows.is_empty() {
        return Ok(None);
    }
    rows.first().get_one::<T>()
}

/// A data-changing statement that returns nothing, from its kept plan.
pub fn write(template: &'static str, args: &[DatumWithOid<'_>]) {
    spi(Spi::connect_mut(|client| {
        let plan = kept_plan(client, template, args, true)?;
        client.update(&*plan, None, args).map(|_| ())
    }))
}

/// Every row a data-changing statement returns, from its kept plan, each read
/// by `read` (`None` skips a row): a statement a background worker runs every
/// round, parsed and planned once per process instead of once per round.
pub fn write_rows<R>(
    template: &'static str,
    args: &[DatumWithOid<'_>],
    mut read: impl FnMut(&SpiHeapTupleData<'_>) -> SpiResult<Option<R>>,
) -> Vec<R> {
    spi(Spi::connect_mut(|client| {
        let plan = kept_plan(client, template, args, true)?;
        let mut rows = Vec::new();
        for row in client.update(&*plan, None, args)? {
            rows.extend(read(&row)?);
        }
        Ok(rows)
    }))
}

/// Every row of a read-only statement, from its kept plan, each read by `read`:
/// under the calling statement's snapshot, as a STABLE function must read.
pub fn stable_rows<R>(
    template: &'static str,
    args: &[DatumWithOid<'_>],
    mut read: impl FnMut(&SpiHeapTupleData<'_>) -> SpiResult<R>,
) -> Vec<R> {
    spi(Spi::connect(|client| {
        let plan = kept_plan(client, template, args, false)?;
        let mut rows = Vec::new();
        for row in client.select(&*plan, None, args)? {
            rows.push(read(&row)?);
        }
        Ok(rows)
    }))
}
