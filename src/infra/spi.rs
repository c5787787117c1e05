//! Running statements through SPI, and the SQL files the Rust code runs.
//!
//! Long statements live in `.sql` files beside the code that runs them, pulled
//! in with `include_str!`, and name the extension's objects `@extschema@.name`
//! as the extension scripts do; `with_schema` puts the installation's schema in.

use pgrx::prelude::*;

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
