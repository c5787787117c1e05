//! Secrets at rest (0.11.0): sealing a secret under the server key when it is
//! written, and revealing it in memory for the functions that need it.
//!
//! The rooms that hold a secret (integration credentials, webhook signing
//! secrets) store an *envelope* instead of the plain value once a key is
//! configured:
//!
//! ```text
//! enc:v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>
//! ```
//!
//! - AES-256-GCM (RustCrypto `aes-gcm`), a random 96-bit nonce per envelope
//!   (from `pg_strong_random`), the 128-bit tag after the ciphertext;
//! - the key id is the first 8 bytes (16 hex digits) of SHA-256 over a domain
//!   label and the key: it names the key an envelope needs without revealing it,
//!   so a wrong key is an error naming both ids, never garbage;
//! - the associated data binds the envelope to its owner ([`Owner`]: a scope
//!   such as `webhook` or `integration`, the tenant and the row): an envelope
//!   copied to another tenant's or another row's column does not decrypt.
//!
//! Text secrets are stored as the envelope itself; JSON credentials as the
//! object `{"encrypted": "<envelope>"}` (the plaintext is the object's JSON text),
//! so columns keep their types and their CHECKs.
//!
//! The server key is a file of 64 hex digits (32 bytes) named by
//! `marimo_erp.secret_key_file`; `marimo_erp.previous_secret_key_file` names the
//! key being rotated out, read only to reveal. A key file must be a regular file
//! owned by the server's user, readable by it alone (mode 0600 or 0400), outside
//! the data directory (so base backups do not carry it), like pgsodium's server
//! key. Without a key configured, plain values are stored and read as before.
//!
//! This module knows no table: the scope, tenant and row come from the callers
//! (and from the trigger's arguments, [`encrypt_secret_column`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::CStr;
use std::fmt;
use std::os::unix::fs::MetadataExt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode, Uuid};
use sha2::{Digest, Sha256};

use super::errors::{raise, raise_with_hint};
use super::gucs::{PREVIOUS_SECRET_KEY_FILE, SECRET_KEY_FILE};

pgrx::extension_sql_file!(
    "secrets.sql",
    name = "secrets",
    requires = [encrypt_secret_column, secret_key_id]
);

/// The name of the setting that names the current key file.
pub const KEY_SETTING: &str = "marimo_erp.secret_key_file";
/// The name of the setting that names the previous key file (rotation).
pub const PREVIOUS_KEY_SETTING: &str = "marimo_erp.previous_secret_key_file";

/// The prefix of every envelope of this version.
const PREFIX: &str = "enc:v1:";
/// The member of a JSON object of credentials that holds its envelope.
const JSON_MEMBER: &str = "encrypted";
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// Whom a secret belongs to: the associated data of its envelope. `scope`
/// names the kind of owner (`webhook` for a webhook's current and rotated-out
/// secrets alike, so rotating copies an envelope unchanged; `integration` for
/// credentials), `tenant` and `row` the owner's key.
#[derive(Clone, Copy, Debug)]
pub struct Owner<'a> {
    pub scope: &'a str,
    pub tenant: Uuid,
    pub row: Uuid,
}

impl Owner<'_> {
    fn associated_data(&self) -> Vec<u8> {
        format!("marimo_erp:v1:{}:{}:{}", self.scope, self.tenant, self.row).into_bytes()
    }
}

impl fmt::Display for Owner<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} of tenant {}", self.scope, self.row, self.tenant)
    }
}

/// Why a secret cannot be sealed or revealed. The messages name settings,
/// files and key ids, never a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretError {
    /// A key file is unusable (missing, wrong mode or owner, in the data
    /// directory, not 64 hex digits).
    KeyFile {
        setting: &'static str,
        path: String,
        problem: String,
    },
    /// An envelope was found and no key is configured.
    NoKey { needed: String },
    /// An envelope needs a key that neither setting names.
    WrongKey {
        needed: String,
        current: String,
        previous: Option<String>,
    },
    /// The envelope does not authenticate under its key for this owner: it
    /// was altered, or copied from another row.
    NotAuthentic { key_id: String, owner: String },
    /// Not an envelope of a known version.
    Malformed { owner: String },
}

impl SecretError {
    /// The SQLSTATE: a key file that cannot be used is a configuration error
    /// (`F0000 config_file_error`); a missing or wrong key is a state the
    /// server is not in (`55000 object_not_in_prerequisite_state`: the operator
    /// must configure the right key, nothing is wrong with the call or the
    /// data); an envelope that does not authenticate is damaged data
    /// (`XX001 data_corrupted`).
    pub fn code(&self) -> PgSqlErrorCode {
        match self {
            SecretError::KeyFile { .. } => PgSqlErrorCode::ERRCODE_CONFIG_FILE_ERROR,
            SecretError::NoKey { .. } | SecretError::WrongKey { .. } => {
                PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE
            }
            SecretError::NotAuthentic { .. } | SecretError::Malformed { .. } => {
                PgSqlErrorCode::ERRCODE_DATA_CORRUPTED
            }
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            SecretError::KeyFile { setting, .. } => format!(
                "The key file holds 64 hex digits (e.g. openssl rand -hex 32), is owned by the server's user with mode 0600, and lives outside the data directory; fix it or {setting}, then SELECT pg_reload_conf()."
            ),
            SecretError::NoKey { needed } => format!(
                "Set {KEY_SETTING} to the file of key {needed} and SELECT pg_reload_conf()."
            ),
            SecretError::WrongKey { needed, .. } => format!(
                "Set {KEY_SETTING} (or, while rotating, {PREVIOUS_KEY_SETTING}) to the file of key {needed} and SELECT pg_reload_conf(); the stored secret is left as it is."
            ),
            SecretError::NotAuthentic { .. } | SecretError::Malformed { .. } => {
                "Store the secret again (as plain text: it is encrypted on write).".to_string()
            }
        }
    }
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::KeyFile {
                setting,
                path,
                problem,
            } => write!(f, "secret key file \"{path}\" ({setting}) {problem}"),
            SecretError::NoKey { needed } => write!(
                f,
                "a secret is encrypted under key {needed} and no key is configured ({KEY_SETTING} is empty)"
            ),
            SecretError::WrongKey {
                needed,
                current,
                previous,
            } => {
                write!(
                    f,
                    "a secret is encrypted under key {needed}, and {KEY_SETTING} holds key {current}"
                )?;
                match previous {
                    Some(previous) => write!(f, " and {PREVIOUS_KEY_SETTING} key {previous}"),
                    None => write!(f, " ({PREVIOUS_KEY_SETTING} is empty)"),
                }
            }
            SecretError::NotAuthentic { key_id, owner } => write!(
                f,
                "the encrypted secret of {owner} does not authenticate under key {key_id}: it was altered or copied from another row"
            ),
            SecretError::Malformed { owner } => {
                write!(f, "the stored secret of {owner} is not a valid envelope")
            }
        }
    }
}

/// Raises `error` as an ERROR with its SQLSTATE and hint.
pub fn raise_secret_error(error: &SecretError) -> ! {
    super::errors::raise_with_hint(error.code(), error.to_string(), error.hint())
}

/// A server key, ready to use.
#[derive(Clone)]
pub struct Key {
    id: String,
    cipher: Aes256Gcm,
}

impl Key {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Key {
        Key {
            id: key_id_of(bytes),
            cipher: Aes256Gcm::new(bytes.into()),
        }
    }

    /// The key's id (16 hex digits).
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The id of a key: 16 hex digits of SHA-256 over a label and the key.
fn key_id_of(bytes: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"marimo_erp secret key id v1\0")
        .chain_update(bytes)
        .finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses the text of a key file: 64 hex digits, surrounding whitespace allowed.
pub fn parse_key(text: &[u8]) -> Result<[u8; 32], String> {
    let text = std::str::from_utf8(text)
        .map_err(|_| "does not hold 64 hex digits".to_string())?
        .trim();
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "does not hold 64 hex digits (a 256-bit key): it holds {} characters",
            text.len()
        ));
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex digits");
    }
    Ok(key)
}

/// Whether `stored` is an envelope (of any version this code knows).
pub fn is_sealed_text(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

/// The envelope of a JSON object of credentials, if it is one.
fn json_envelope(stored: &serde_json::Value) -> Option<&str> {
    let object = stored.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object
        .get(JSON_MEMBER)?
        .as_str()
        .filter(|text| is_sealed_text(text))
}

/// Whether a JSON object of credentials is an envelope.
pub fn is_sealed_json(stored: &serde_json::Value) -> bool {
    json_envelope(stored).is_some()
}

/// The key id an envelope names, if it is one.
pub fn key_id_of_envelope(stored: &str) -> Option<&str> {
    stored.strip_prefix(PREFIX)?.split(':').next()
}

/// Seals `plain` for `owner` under `key` with `nonce` (pure: the caller draws it).
pub fn seal_with(key: &Key, nonce: [u8; NONCE_BYTES], plain: &[u8], owner: &Owner) -> String {
    let aad = owner.associated_data();
    let sealed = key
        .cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: &aad,
            },
        )
        .expect("AES-GCM encryption of a secret cannot fail");
    let mut bytes = nonce.to_vec();
    bytes.extend_from_slice(&sealed);
    format!(
        "{PREFIX}{}:{}",
        key.id,
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Opens an envelope for `owner` with whichever of `keys` it names.
pub fn open_with(stored: &str, owner: &Owner, keys: &[&Key]) -> Result<Vec<u8>, SecretError> {
    let malformed = || SecretError::Malformed {
        owner: owner.to_string(),
    };
    let rest = stored.strip_prefix(PREFIX).ok_or_else(malformed)?;
    let (id, data) = rest.split_once(':').ok_or_else(malformed)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| malformed())?;
    if bytes.len() < NONCE_BYTES + TAG_BYTES {
        return Err(malformed());
    }
    let Some(key) = keys.iter().find(|key| key.id == id) else {
        return Err(match keys.first() {
            None => SecretError::NoKey {
                needed: id.to_string(),
            },
            Some(current) => SecretError::WrongKey {
                needed: id.to_string(),
                current: current.id.clone(),
                previous: keys.get(1).map(|k| k.id.clone()),
            },
        });
    };
    let aad = owner.associated_data();
    key.cipher
        .decrypt(
            Nonce::from_slice(&bytes[..NONCE_BYTES]),
            Payload {
                msg: &bytes[NONCE_BYTES..],
                aad: &aad,
            },
        )
        .map_err(|_| SecretError::NotAuthentic {
            key_id: id.to_string(),
            owner: owner.to_string(),
        })
}

/// What the backend read of a key file, kept while the file does not change.
struct CachedKey {
    stamp: (u64, u64, i64, i64, u64),
    key: Key,
}

thread_local! {
    static KEYS: RefCell<HashMap<String, CachedKey>> = RefCell::new(HashMap::new());
}

/// The setting's value, None when empty.
fn setting(value: Option<std::ffi::CString>) -> Option<String> {
    value
        .map(|v| v.to_string_lossy().trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The data directory, canonical, if known.
fn data_directory() -> Option<std::path::PathBuf> {
    // SAFETY: DataDir is set by the postmaster before any backend runs SQL and
    // never freed; it is a NUL-terminated string or NULL.
    let dir = unsafe { pg_sys::DataDir };
    if dir.is_null() {
        return None;
    }
    let dir = unsafe { CStr::from_ptr(dir) }.to_string_lossy().to_string();
    std::fs::canonicalize(dir).ok()
}

/// Reads and checks the key file `path` named by `setting`.
fn load_key(setting: &'static str, path: &str) -> Result<Key, SecretError> {
    let problem = |problem: String| SecretError::KeyFile {
        setting,
        path: path.to_string(),
        problem,
    };
    if !path.starts_with('/') {
        return Err(problem("is not an absolute path".into()));
    }
    let metadata = std::fs::metadata(path).map_err(|e| problem(format!("cannot be read: {e}")))?;
    if !metadata.is_file() {
        return Err(problem("is not a regular file".into()));
    }
    if metadata.mode() & 0o077 != 0 {
        return Err(problem(format!(
            "is accessible by group or others (mode {:04o}): it must be readable by the server only (chmod 600)",
            metadata.mode() & 0o7777
        )));
    }
    // SAFETY: geteuid has no preconditions.
    let server = unsafe { libc::geteuid() };
    if metadata.uid() != server {
        return Err(problem(format!(
            "is owned by uid {}, not by the server's user (uid {server})",
            metadata.uid()
        )));
    }
    let canonical =
        std::fs::canonicalize(path).map_err(|e| problem(format!("cannot be resolved: {e}")))?;
    if let Some(data) = data_directory() {
        if canonical.starts_with(&data) {
            return Err(problem(
                "is inside the data directory (base backups would copy it): keep it outside".into(),
            ));
        }
    }
    let stamp = (
        metadata.dev(),
        metadata.ino(),
        metadata.mtime(),
        metadata.mtime_nsec(),
        metadata.len(),
    );
    let cached = KEYS.with(|keys| {
        keys.borrow()
            .get(path)
            .filter(|c| c.stamp == stamp)
            .map(|c| c.key.clone())
    });
    if let Some(key) = cached {
        return Ok(key);
    }
    let text = std::fs::read(path).map_err(|e| problem(format!("cannot be read: {e}")))?;
    let key = Key::from_bytes(&parse_key(&text).map_err(problem)?);
    KEYS.with(|keys| {
        keys.borrow_mut().insert(
            path.to_string(),
            CachedKey {
                stamp,
                key: key.clone(),
            },
        )
    });
    Ok(key)
}

/// The current key, None when `marimo_erp.secret_key_file` is empty.
pub fn current_key() -> Result<Option<Key>, SecretError> {
    setting(SECRET_KEY_FILE.get())
        .map(|path| load_key(KEY_SETTING, &path))
        .transpose()
}

/// The previous key, None when `marimo_erp.previous_secret_key_file` is empty.
pub fn previous_key() -> Result<Option<Key>, SecretError> {
    setting(PREVIOUS_SECRET_KEY_FILE.get())
        .map(|path| load_key(PREVIOUS_KEY_SETTING, &path))
        .transpose()
}

/// The keys to reveal with: the current one first, then the previous one.
fn reading_keys() -> Result<Vec<Key>, SecretError> {
    let mut keys = Vec::new();
    let current = current_key()?;
    let previous = previous_key()?;
    match (current, previous) {
        (Some(current), previous) => {
            keys.push(current);
            keys.extend(previous);
        }
        // A previous key alone reveals, and is named as the one held.
        (None, Some(previous)) => keys.push(previous),
        (None, None) => {}
    }
    Ok(keys)
}

/// A fresh 96-bit nonce from PostgreSQL's strong random source.
fn random_nonce() -> [u8; NONCE_BYTES] {
    let mut nonce = [0u8; NONCE_BYTES];
    // SAFETY: pg_strong_random writes exactly `len` bytes into the buffer.
    if !unsafe { pg_sys::pg_strong_random(nonce.as_mut_ptr().cast(), nonce.len()) } {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "could not generate a random nonce for a secret",
        );
    }
    nonce
}

/// The plain text of a stored text secret (an envelope or a plain value), or why not.
pub fn try_reveal_text(stored: &str, owner: &Owner) -> Result<String, SecretError> {
    if !is_sealed_text(stored) {
        return Ok(stored.to_owned());
    }
    let keys = reading_keys()?;
    let plain = open_with(stored, owner, &keys.iter().collect::<Vec<_>>())?;
    String::from_utf8(plain).map_err(|_| SecretError::Malformed {
        owner: owner.to_string(),
    })
}

/// The plain JSON object of stored credentials (an envelope or a plain object), or why not.
pub fn try_reveal_json(
    stored: serde_json::Value,
    owner: &Owner,
) -> Result<serde_json::Value, SecretError> {
    let Some(envelope) = json_envelope(&stored) else {
        return Ok(stored);
    };
    let keys = reading_keys()?;
    let plain = open_with(envelope, owner, &keys.iter().collect::<Vec<_>>())?;
    serde_json::from_slice(&plain).map_err(|_| SecretError::Malformed {
        owner: owner.to_string(),
    })
}

/// The plain text of a text secret as stored in a table, for `owner`. A
/// missing or wrong key, or an envelope not made for `owner`, raises an ERROR
/// (see [`SecretError::code`]).
#[allow(dead_code)] // the Stripe and SendGrid ingestion (0.11.0) call it
pub fn reveal_text(stored: &str, owner: &Owner) -> String {
    try_reveal_text(stored, owner).unwrap_or_else(|error| raise_secret_error(&error))
}

/// The plain JSON object of credentials as stored in a table, for `owner`;
/// raises like [`reveal_text`].
#[allow(dead_code)] // the Stripe and SendGrid ingestion (0.11.0) call it
pub fn reveal_json(stored: serde_json::Value, owner: &Owner) -> serde_json::Value {
    try_reveal_json(stored, owner).unwrap_or_else(|error| raise_secret_error(&error))
}

/// The stored form of a plain text secret under `key`.
pub fn seal_text(plain: &str, owner: &Owner, key: &Key) -> String {
    seal_with(key, random_nonce(), plain.as_bytes(), owner)
}

/// The stored form of plain JSON credentials under `key`: `{"encrypted": "<envelope>"}`.
pub fn seal_json(plain: &serde_json::Value, owner: &Owner, key: &Key) -> serde_json::Value {
    let text = serde_json::to_string(plain).expect("a JSON value serializes");
    serde_json::json!({ JSON_MEMBER: seal_with(key, random_nonce(), text.as_bytes(), owner) })
}

/// A text secret as it should be stored after a rotation to `key`: None when
/// it already is (an envelope under `key`); plain values are sealed, others
/// revealed with the current or previous key and sealed again.
pub fn reseal_text(stored: &str, owner: &Owner, key: &Key) -> Result<Option<String>, SecretError> {
    if key_id_of_envelope(stored) == Some(key.id()) {
        return Ok(None);
    }
    let plain = try_reveal_text(stored, owner)?;
    Ok(Some(seal_text(&plain, owner, key)))
}

/// JSON credentials as they should be stored after a rotation to `key`, like [`reseal_text`].
pub fn reseal_json(
    stored: serde_json::Value,
    owner: &Owner,
    key: &Key,
) -> Result<Option<serde_json::Value>, SecretError> {
    if json_envelope(&stored).and_then(key_id_of_envelope) == Some(key.id()) {
        return Ok(None);
    }
    let plain = try_reveal_json(stored, owner)?;
    Ok(Some(seal_json(&plain, owner, key)))
}

/// The current key, or an ERROR saying how to configure one.
pub fn require_current_key() -> Key {
    match current_key() {
        Ok(Some(key)) => key,
        Ok(None) => super::errors::raise_with_hint(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("no secret key is configured ({KEY_SETTING} is empty)"),
            format!("Write a key (openssl rand -hex 32) to a file outside the data directory owned by the server's user, chmod 600, set {KEY_SETTING} to its path and SELECT pg_reload_conf()."),
        ),
        Err(error) => raise_secret_error(&error),
    }
}

/// The id of the key `marimo_erp.secret_key_file` names, NULL when none is
/// configured; a key file that cannot be used raises `F0000`.
#[pg_extern(stable, parallel_safe)]
fn secret_key_id() -> Option<String> {
    match current_key() {
        Ok(key) => key.map(|k| k.id),
        Err(error) => raise_secret_error(&error),
    }
}

/// `BEFORE INSERT OR UPDATE` row trigger that encrypts a secret column when a
/// key is configured. Arguments: the owner's scope (part of the associated
/// data), the secret column (text, or jsonb holding an object), the tenant
/// column and the row column (both uuid). A value that already is an envelope
/// is left alone (so an UPDATE never re-encrypts or overwrites ciphertext); a
/// plain value is sealed; without a key, the row is left as it is.
#[pg_trigger]
fn encrypt_secret_column<'a>(
    trigger: &'a pgrx::PgTrigger<'a>,
) -> Result<Option<PgHeapTuple<'a, impl WhoAllocated>>, pgrx::heap_tuple::PgHeapTupleError> {
    use pgrx::trigger_support::{PgTriggerLevel, PgTriggerWhen};
    let misuse = |why: String| -> ! {
        raise(
            PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
            format!("encrypt_secret_column(): {why}"),
        )
    };
    if !matches!(trigger.when(), Ok(PgTriggerWhen::Before))
        || !matches!(trigger.level(), PgTriggerLevel::Row)
    {
        misuse("must be a row-level BEFORE INSERT OR UPDATE trigger".into());
    }
    let args = trigger.extra_args().unwrap_or_default();
    let [scope, column, tenant_column, row_column] = args.as_slice() else {
        misuse("takes four arguments: scope, secret column, tenant column, row column".into());
    };
    let Some(new) = trigger.new() else {
        misuse("must be a row-level BEFORE INSERT OR UPDATE trigger".into());
    };
    let key = match current_key() {
        Ok(Some(key)) => key,
        Ok(None) => return Ok(Some(new.into_owned())),
        Err(error) => raise_secret_error(&error),
    };
    let uuid_of = |name: &str| -> Uuid {
        match new.get_by_name::<Uuid>(name) {
            Ok(Some(value)) => value,
            Ok(None) => raise(
                PgSqlErrorCode::ERRCODE_NOT_NULL_VIOLATION,
                format!("column \"{name}\" of the row holding a secret is NULL"),
            ),
            Err(error) => misuse(format!("needs a uuid column \"{name}\": {error}")),
        }
    };
    let owner = Owner {
        scope,
        tenant: uuid_of(tenant_column),
        row: uuid_of(row_column),
    };
    let sealed_json = match new.get_by_name::<JsonB>(column) {
        Ok(None) => return Ok(Some(new.into_owned())),
        Ok(Some(JsonB(value))) if is_sealed_json(&value) => {
            // An envelope stays, if it is this row's.
            if let Some(envelope) = value.get(JSON_MEMBER).and_then(|v| v.as_str()) {
                refuse_foreign_envelope(envelope, &owner, column);
            }
            return Ok(Some(new.into_owned()));
        }
        Ok(Some(JsonB(value))) if !value.is_object() => {
            // A non-object is left to the column's CHECK.
            return Ok(Some(new.into_owned()));
        }
        Ok(Some(JsonB(value)))
            if value
                .get(JSON_MEMBER)
                .and_then(|v| v.as_str())
                .is_some_and(is_sealed_text) =>
        {
            // `credentials || '{...}'` on stored credentials: sealing this
            // would wrap the old envelope in a new one.
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!(
                    "column \"{column}\" mixes encrypted credentials with plain members: write the whole object in clear"
                ),
            )
        }
        Ok(Some(JsonB(value))) => Some(seal_json(&value, &owner, &key)),
        Err(_) => None,
    };
    let mut owned = new.into_owned();
    match sealed_json {
        Some(sealed) => {
            if let Err(error) = owned.set_by_name(column, JsonB(sealed)) {
                misuse(format!("cannot set column \"{column}\": {error}"));
            }
        }
        None => {
            let text = match owned.get_by_name::<String>(column) {
                Ok(Some(text)) => text,
                Ok(None) => return Ok(Some(owned)),
                Err(error) => misuse(format!(
                    "needs a text or jsonb column \"{column}\": {error}"
                )),
            };
            if is_sealed_text(&text) {
                refuse_foreign_envelope(&text, &owner, column);
                return Ok(Some(owned));
            }
            if let Err(error) = owned.set_by_name(column, seal_text(&text, &owner, &key)) {
                misuse(format!("cannot set column \"{column}\": {error}"));
            }
        }
    }
    Ok(Some(owned))
}

/// Refuses (22023) an envelope written to a row it was not sealed for: one
/// copied from another row, or left behind when an upsert's INSERT sealed the
/// value for the proposed row (a new id) and its UPDATE kept that envelope on
/// the existing row, or a row whose tenant or id changed. Stored, it could
/// never be opened again. An envelope that cannot be checked here (no key, or
/// another key: a restore onto a server without it) is let through as before.
fn refuse_foreign_envelope(envelope: &str, owner: &Owner, column: &str) {
    if let Err(SecretError::NotAuthentic { .. } | SecretError::Malformed { .. }) =
        try_reveal_text(envelope, owner)
    {
        raise_with_hint(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("column \"{column}\" holds an encrypted secret that does not belong to this row ({owner})"),
            "Write the secret in clear: it is encrypted for its row on write. An upsert should not copy \
             EXCLUDED's secret column, and a row holding a secret keeps its tenant_id and id.",
        )
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    fn owner(row: u8) -> Owner<'static> {
        Owner {
            scope: "webhook",
            tenant: Uuid::from_bytes([1; 16]),
            row: Uuid::from_bytes([row; 16]),
        }
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_owner_and_key() {
        let key = Key::from_bytes(&[7; 32]);
        let other = Key::from_bytes(&[8; 32]);
        let sealed = seal_with(&key, [3; 12], b"whsec_abc", &owner(2));
        assert!(is_sealed_text(&sealed));
        assert_eq!(key_id_of_envelope(&sealed), Some(key.id()));
        assert_eq!(
            open_with(&sealed, &owner(2), &[&key]).unwrap(),
            b"whsec_abc"
        );
        assert!(matches!(
            open_with(&sealed, &owner(3), &[&key]),
            Err(SecretError::NotAuthentic { .. })
        ));
        assert!(matches!(
            open_with(&sealed, &owner(2), &[&other]),
            Err(SecretError::WrongKey { .. })
        ));
        assert!(matches!(
            open_with(&sealed, &owner(2), &[]),
            Err(SecretError::NoKey { .. })
        ));
        assert_eq!(
            open_with(&sealed, &owner(2), &[&other, &key]).unwrap(),
            b"whsec_abc"
        );
    }

    #[test]
    fn key_files_hold_64_hex_digits() {
        assert_eq!(
            parse_key(format!("{}\n", "ab".repeat(32)).as_bytes()).unwrap(),
            [0xab; 32]
        );
        assert!(parse_key(b"abcd").is_err());
        assert!(parse_key("zz".repeat(32).as_bytes()).is_err());
    }
}
