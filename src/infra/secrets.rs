//! Secrets at rest (0.11.0): what the rooms that hold a secret (integration
//! credentials, webhook signing secrets) call to get it back in memory.
//!
//! Scaffolding: until encryption lands, a stored secret is its plain value and
//! these functions hand it back unchanged. Callers already go through them, so
//! the change to ciphertext at rest touches this module only. Errors (a missing
//! or wrong server key) are raised as ERRORs, like the rest of `infra::errors`.

/// The plain JSON object of credentials as stored in a table.
pub fn reveal_json(stored: serde_json::Value) -> serde_json::Value {
    stored
}

/// The plain text of a secret as stored in a table.
pub fn reveal_text(stored: &str) -> String {
    stored.to_owned()
}
