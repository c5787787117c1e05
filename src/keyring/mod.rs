//! Secrets at rest over the rooms that hold them (0.11.0): the triggers that
//! encrypt webhook secrets and integration credentials on write, the
//! operators' key rotation, and the state of every stored secret.
//!
//! A room above the domains: it touches the tables of `webhooks` and
//! `integrations` (through SQL only, naming their columns), with the envelope
//! of `infra::secrets`. Each stored secret has an owner, the associated data of
//! its envelope: `webhook` (tenant_id, webhook id) for webhooks.secret and
//! webhook_secrets.secret alike, `integration` (tenant_id, id) for
//! integrations.credentials.

use pgrx::prelude::*;
use pgrx::Uuid;

use crate::infra::errors::spi;
use crate::infra::secrets::{self, Key, Owner, SecretError};
use crate::infra::spi::with_schema;
use crate::integrations::{CREDENTIALS_SCOPE, PLATFORM_STRIPE_SCOPE};
use crate::webhooks::WEBHOOK_SECRET_SCOPE;

pgrx::extension_sql_file!(
    "keyring.sql",
    name = "keyring",
    requires = [
        "webhooks",
        "integrations",
        "stripe",
        encrypt_secret_column,
        secret_key_id,
        rotate_secret_key
    ]
);

/// One column holding secrets: its table, the owner's scope and columns, and
/// how its rows are keyed for the UPDATE.
struct Column {
    table: &'static str,
    column: &'static str,
    scope: &'static str,
    tenant: &'static str,
    row: &'static str,
    /// The primary key's columns after tenant_id (for the UPDATE).
    key: &'static [&'static str],
    json: bool,
}

const COLUMNS: &[Column] = &[
    Column {
        table: "webhooks",
        column: "secret",
        scope: WEBHOOK_SECRET_SCOPE,
        tenant: "tenant_id",
        row: "id",
        key: &["id"],
        json: false,
    },
    Column {
        table: "webhook_secrets",
        column: "secret",
        scope: WEBHOOK_SECRET_SCOPE,
        tenant: "tenant_id",
        row: "webhook_id",
        key: &["webhook_id", "id"],
        json: false,
    },
    Column {
        table: "integrations",
        column: "credentials",
        scope: CREDENTIALS_SCOPE,
        tenant: "tenant_id",
        row: "id",
        key: &["id"],
        json: true,
    },
    // The platform's own Stripe account has no tenant: its row id stands in.
    Column {
        table: "platform_stripe_account",
        column: "credentials",
        scope: PLATFORM_STRIPE_SCOPE,
        tenant: "id",
        row: "id",
        key: &["id"],
        json: true,
    },
];

/// What to do with one stored value (text, or the JSON text of credentials when
/// the flag is set): its new stored form, or None to leave it.
type Rewrite<'a> = dyn FnMut(&str, &Owner, bool) -> Result<Option<String>, SecretError> + 'a;

/// Rewrites every stored secret of every column with `rewrite`, in this
/// transaction, rows locked; returns how many it changed. An error raises and
/// leaves every row as it was (the transaction is rolled back).
fn rewrite_all(rewrite: &mut Rewrite) -> i64 {
    let mut changed = 0i64;
    for c in COLUMNS {
        // The rollback to 0.10.0 runs this after the sections above it dropped
        // their tables (platform_stripe_account, refused while it held a row).
        if !table_exists(c.table) {
            continue;
        }
        let keys = c.key.join(", ");
        let select = with_schema(&format!(
            "SELECT {tenant}, {row}, {column}::pg_catalog.text, ARRAY[{keys}]::pg_catalog.text[]
               FROM @extschema@.{table} ORDER BY {tenant}, {keys} FOR UPDATE",
            tenant = c.tenant,
            row = c.row,
            column = c.column,
            table = c.table,
        ));
        let condition: Vec<String> = c
            .key
            .iter()
            .enumerate()
            .map(|(i, k)| {
                format!(
                    "{k} OPERATOR(pg_catalog.=) ($3::pg_catalog.text[])[{}]::pg_catalog.uuid",
                    i + 1
                )
            })
            .collect();
        let update = with_schema(&format!(
            "UPDATE @extschema@.{table} SET {column} = $1::{cast}
              WHERE {tenant} OPERATOR(pg_catalog.=) $2 AND {condition}",
            table = c.table,
            column = c.column,
            cast = if c.json {
                "pg_catalog.jsonb"
            } else {
                "pg_catalog.text"
            },
            tenant = c.tenant,
            condition = condition.join(" AND "),
        ));
        let rows: Vec<(Uuid, Uuid, String, Vec<Option<String>>)> =
            spi(Spi::connect_mut(|client| {
                let mut rows = Vec::new();
                for row in client.update(&select, None, &[])? {
                    let (Some(tenant), Some(owner_row), Some(stored)) = (
                        row.get::<Uuid>(1)?,
                        row.get::<Uuid>(2)?,
                        row.get::<String>(3)?,
                    ) else {
                        continue;
                    };
                    rows.push((tenant, owner_row, stored, row.get(4)?.unwrap_or_default()));
                }
                Ok(rows)
            }));
        for (tenant, owner_row, stored, key) in rows {
            let owner = Owner {
                scope: c.scope,
                tenant,
                row: owner_row,
            };
            let Some(new) = rewrite(&stored, &owner, c.json)
                .unwrap_or_else(|error| secrets::raise_secret_error(&error))
            else {
                continue;
            };
            spi(Spi::connect_mut(|client| {
                client.update(&update, None, &[new.into(), tenant.into(), key.into()])?;
                Ok(())
            }));
            changed += 1;
        }
    }
    changed
}

/// Whether the extension's schema has the table (the rollback's sections drop some first).
fn table_exists(table: &str) -> bool {
    let statement = with_schema(&format!(
        "SELECT pg_catalog.to_regclass('@extschema@.{table}') IS NOT NULL"
    ));
    spi(Spi::get_one::<bool>(&statement)).unwrap_or(false)
}

/// A stored value re-encrypted under `key` (plain ones encrypted), None when it already is.
fn reseal(
    stored: &str,
    owner: &Owner,
    key: &Key,
    json: bool,
) -> Result<Option<String>, SecretError> {
    if json {
        let value: serde_json::Value =
            serde_json::from_str(stored).map_err(|_| SecretError::Malformed {
                owner: owner.to_string(),
            })?;
        Ok(secrets::reseal_json(value, owner, key)?.map(|v| v.to_string()))
    } else {
        secrets::reseal_text(stored, owner, key)
    }
}

/// Re-encrypts every stored secret (webhook secrets, rotated-out ones,
/// integration credentials) under the key of `marimo_erp.secret_key_file`,
/// revealing old ones with it or with `marimo_erp.previous_secret_key_file`,
/// and encrypts every plain one; in one transaction. Returns how many it
/// rewrote (those already under the current key are left alone). Without a
/// key, or with a secret neither key opens, it raises and changes nothing.
#[pg_extern(volatile, parallel_unsafe)]
fn rotate_secret_key() -> i64 {
    let key = secrets::require_current_key();
    rewrite_all(&mut |stored: &str, owner: &Owner, json: bool| reseal(stored, owner, &key, json))
}

/// The rollback to 0.10.0: writes every secret back in clear (0.10.0 stores
/// them so), revealing each with the current or previous key. Raises, changing
/// nothing, when a secret cannot be revealed. Not part of the catalog: the
/// rollback script declares it for its own use and drops it.
#[pg_extern(volatile, parallel_unsafe, sql = false)]
fn decrypt_secrets_for_rollback() -> i64 {
    rewrite_all(&mut |stored: &str, owner: &Owner, json: bool| {
        if json {
            let value: serde_json::Value =
                serde_json::from_str(stored).map_err(|_| SecretError::Malformed {
                    owner: owner.to_string(),
                })?;
            if !secrets::is_sealed_json(&value) {
                return Ok(None);
            }
            Ok(Some(secrets::try_reveal_json(value, owner)?.to_string()))
        } else {
            if !secrets::is_sealed_text(stored) {
                return Ok(None);
            }
            secrets::try_reveal_text(stored, owner).map(Some)
        }
    })
}
