//! Standard Webhooks v1 signatures (<https://www.standardwebhooks.com>, spec
//! `spec/standard-webhooks.md` of github.com/standard-webhooks/standard-webhooks).
//!
//! The scheme, symmetric variant:
//!
//! - An endpoint's secret is `whsec_` followed by the base64 (standard alphabet)
//!   of a random key of 24 to 64 bytes. [`generate_secret`] makes 32-byte keys.
//! - The signed content is `{msg_id}.{timestamp}.{payload}`: the message id (the
//!   `webhook-id` header, the same on every retry), the attempt's time in Unix
//!   seconds (`webhook-timestamp`) and the body exactly as sent.
//! - The signature is `base64(HMAC-SHA256(key, content))`, sent prefixed with its
//!   version as `v1,<signature>` in the `webhook-signature` header.
//! - That header may hold several space-separated entries, for instance during a
//!   key rotation or beside an asymmetric `v1a,<...>` one. A receiver accepts the
//!   message when any `v1` entry matches (compared in constant time) and ignores
//!   the other versions. It also refuses a timestamp further than its tolerance
//!   from its own clock, in the past or in the future, so that a captured message
//!   cannot be replayed later.
//!
//! [`decode_secret`], [`sign`] and [`verify`] are plain Rust, without SPI, for the
//! delivery worker as much as for the SQL functions `webhook_sign` and
//! `webhook_verify`. [`generate_secret`] asks PostgreSQL for the random bytes.

use std::fmt;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use sha2::Sha256;

use crate::infra::errors::{invalid_argument, raise, raise_with_hint, required};

type HmacSha256 = Hmac<Sha256>;

/// The prefix that marks a Standard Webhooks symmetric secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// The fewest key bytes the spec allows (192 bits).
pub const MIN_KEY_BYTES: usize = 24;
/// The most key bytes the spec allows (512 bits).
pub const MAX_KEY_BYTES: usize = 64;
/// The size of the keys [`generate_secret`] makes (256 bits).
pub const GENERATED_KEY_BYTES: usize = 32;
/// The version identifier of HMAC-SHA256 signatures.
pub const SIGNATURE_VERSION: &str = "v1";

/// Standard base64 alphabet, `=` padding accepted but not required.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a secret is not a usable `whsec_` secret. The messages never repeat the
/// secret itself, so they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// It does not start with `whsec_`.
    MissingPrefix,
    /// What follows `whsec_` is not base64 of the standard alphabet.
    InvalidBase64(base64::DecodeError),
    /// The key decodes to fewer than 24 or more than 64 bytes (the count).
    KeyLength(usize),
}

impl SecretError {
    /// What is wrong, as the end of a sentence whose subject is the secret.
    fn problem(&self) -> String {
        match self {
            SecretError::MissingPrefix => format!("must start with \"{SECRET_PREFIX}\""),
            SecretError::InvalidBase64(_) => format!(
                "must be \"{SECRET_PREFIX}\" followed by base64 (A-Z, a-z, 0-9, +, /; padding optional)"
            ),
            SecretError::KeyLength(got) => format!(
                "must decode to a key of {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes, got {got} bytes"
            ),
        }
    }
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "webhook secret {}", self.problem())
    }
}

impl std::error::Error for SecretError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SecretError::InvalidBase64(error) => Some(error),
            _ => None,
        }
    }
}

/// Decodes a `whsec_<base64>` secret into its HMAC key. The base64 uses the
/// standard alphabet, with or without `=` padding (non-canonical trailing bits
/// are refused), and the key must be 24 to 64 bytes long. The prefix is
/// required: a bare base64 string is refused rather than guessed at.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, SecretError> {
    let encoded = secret
        .strip_prefix(SECRET_PREFIX)
        .ok_or(SecretError::MissingPrefix)?;
    let key = LENIENT_BASE64
        .decode(encoded)
        .map_err(SecretError::InvalidBase64)?;
    if !(MIN_KEY_BYTES..=MAX_KEY_BYTES).contains(&key.len()) {
        return Err(SecretError::KeyLength(key.len()));
    }
    Ok(key)
}

/// The HMAC-SHA256 of `{msg_id}.{timestamp}.{payload}` under `key`, not finalized.
fn mac(key: &[u8], msg_id: &str, timestamp: i64, payload: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac
}

/// Signs a message: `v1,` followed by the base64 (padded) of
/// HMAC-SHA256(`key`, `{msg_id}.{timestamp}.{payload}`). `key` is the decoded
/// secret (see [`decode_secret`]); `timestamp` is in Unix seconds.
pub fn sign(key: &[u8], msg_id: &str, timestamp: i64, payload: &str) -> String {
    let tag = mac(key, msg_id, timestamp, payload).finalize().into_bytes();
    format!("{SIGNATURE_VERSION},{}", STANDARD.encode(tag))
}

/// Verifies a `webhook-signature` header value against the message.
///
/// True when `timestamp` is at most `tolerance_seconds` away from `now` (both Unix
/// seconds, either direction, bounds included) and at least one of the header's
/// space-separated entries is `v1,<base64>` whose bytes equal the expected MAC,
/// compared in constant time. Entries of other versions (`v1a`, `v2`, …) and
/// malformed entries are skipped. A negative tolerance accepts nothing.
pub fn verify(
    key: &[u8],
    msg_id: &str,
    timestamp: i64,
    payload: &str,
    header: &str,
    now: i64,
    tolerance_seconds: i64,
) -> bool {
    // abs_diff cannot overflow, whatever the two values.
    if tolerance_seconds < 0 || now.abs_diff(timestamp) > tolerance_seconds.unsigned_abs() {
        return false;
    }
    let expected = mac(key, msg_id, timestamp, payload);
    header
        .split_ascii_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == SIGNATURE_VERSION)
        .filter_map(|(_, signature)| LENIENT_BASE64.decode(signature).ok())
        // verify_slice refuses a tag of the wrong length and compares in constant time.
        .any(|candidate| expected.clone().verify_slice(&candidate).is_ok())
}

/// A new secret: `whsec_` followed by the base64 of 32 bytes from PostgreSQL's
/// `pg_strong_random` (the source of `gen_random_uuid()`). Raises an `ERROR`
/// (`XX000`) if no strong random bytes are available, so it must run in a
/// PostgreSQL backend or background worker.
pub fn generate_secret() -> String {
    let mut key = [0u8; GENERATED_KEY_BYTES];
    // SAFETY: pg_strong_random writes exactly `len` bytes into `buf`, which is
    // a live, writable buffer of that many bytes; it does not keep the pointer.
    let filled = unsafe { pg_sys::pg_strong_random(key.as_mut_ptr().cast(), key.len()) };
    if !filled {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            "could not generate random values",
        );
    }
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// Decodes the `secret` argument of the SQL functions, raising `22023` on a bad one.
fn require_key(secret: &str) -> Vec<u8> {
    match decode_secret(secret) {
        Ok(key) => key,
        Err(error) => raise_with_hint(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("argument \"secret\" {}", error.problem()),
            "Create a secret with webhook_generate_secret().",
        ),
    }
}

/// The start of the current transaction, what `now()` returns, in Unix seconds
/// rounded down: `floor(extract(epoch FROM now()))`.
fn transaction_start_unix_seconds() -> i64 {
    const POSTGRES_EPOCH_UNIX_SECONDS: i64 = ((pg_sys::POSTGRES_EPOCH_JDATE
        - pg_sys::UNIX_EPOCH_JDATE) as i64)
        * (pg_sys::SECS_PER_DAY as i64);
    // SAFETY: reads a field of the current transaction's state; it is always set
    // while a function runs.
    let micros = unsafe { pg_sys::GetCurrentTransactionStartTimestamp() };
    micros.div_euclid(1_000_000) + POSTGRES_EPOCH_UNIX_SECONDS
}

/// A new endpoint secret: `whsec_` and the base64 of 32 strong random bytes.
#[pg_extern(volatile, parallel_safe)]
fn webhook_generate_secret() -> String {
    generate_secret()
}

/// The `webhook-signature` header value for a message: `v1,` and the base64 of
/// HMAC-SHA256 over `{msg_id}.{timestamp}.{payload}` with the key of `secret`
/// (`whsec_<base64>`, 24 to 64 bytes). `timestamp` is the attempt's time in Unix
/// seconds, as sent in `webhook-timestamp`.
#[pg_extern(immutable, parallel_safe)]
fn webhook_sign(
    secret: Option<&str>,
    msg_id: Option<&str>,
    timestamp: Option<i64>,
    payload: Option<&str>,
) -> String {
    let secret = required(secret, "secret");
    let msg_id = required(msg_id, "msg_id");
    let timestamp = required(timestamp, "timestamp");
    let payload = required(payload, "payload");
    sign(&require_key(secret), msg_id, timestamp, payload)
}

/// Whether `signature_header` (the `webhook-signature` header: space-separated
/// `version,signature` entries) holds a `v1` signature of the message by
/// `secret`, and `timestamp` is within `tolerance_seconds` of now, either way.
///
/// "Now" is the start of the current transaction (`now()`), not the wall clock,
/// so the answer is stable within a statement, as the function is declared.
/// A wrong, tampered, stale or future message is `false`, never an error; only
/// NULL arguments, a malformed secret and a negative tolerance raise.
#[pg_extern(stable, parallel_safe)]
fn webhook_verify(
    secret: Option<&str>,
    msg_id: Option<&str>,
    timestamp: Option<i64>,
    payload: Option<&str>,
    signature_header: Option<&str>,
    tolerance_seconds: default!(Option<i32>, 300),
) -> bool {
    let secret = required(secret, "secret");
    let msg_id = required(msg_id, "msg_id");
    let timestamp = required(timestamp, "timestamp");
    let payload = required(payload, "payload");
    let signature_header = required(signature_header, "signature_header");
    let tolerance_seconds = required(tolerance_seconds, "tolerance_seconds");
    let key = require_key(secret);
    if tolerance_seconds < 0 {
        invalid_argument(format!(
            "argument \"tolerance_seconds\" must not be negative, got {tolerance_seconds}"
        ));
    }
    verify(
        &key,
        msg_id,
        timestamp,
        payload,
        signature_header,
        transaction_start_unix_seconds(),
        i64::from(tolerance_seconds),
    )
}

#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    use super::*;

    // Published vectors of the reference libraries in
    // github.com/standard-webhooks/standard-webhooks:
    //
    // A: the sign test shared by libraries/python/tests/test_webhooks.py
    //    (test_sign_function), libraries/javascript/src/webhook.test.ts,
    //    libraries/go/webhook_test.go (TestWebhookSign), libraries/php, ruby,
    //    java and csharp tests. Its failing signature (last character changed)
    //    is test_invalid_signature_raises_error of the Python tests.
    const A_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const A_MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const A_TIMESTAMP: i64 = 1614265330;
    const A_PAYLOAD: &str = r#"{"test": 2432232314}"#;
    const A_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const A_WRONG_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=";
    // The decoys of the multi-signature tests of the same libraries.
    const DECOY: &str = "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";

    // B: libraries/rust/src/lib.rs (test_sign); its wrong signatures are those of
    //    test_no_verify and test_no_verify_with_multiple_signatures.
    const B_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const B_MSG_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const B_TIMESTAMP: i64 = 1649367553;
    const B_PAYLOAD: &str = r#"{"email":"test@example.com","username":"test_user"}"#;
    const B_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";
    const B_WRONG_SIGNATURES: &str = "v1,R3PTzyfHASBKHH98a7yexTwaJ4yNIcGhFQc1yuN+BPU= \
        v1,tFtCZ5RDCPxzWQRWXWPgrCgE2frDBe9gjpbWQxnVfsQ= \
        v1,Mm7xgUVICxZfQ3bgf0h0Dof65L/IFx+PnZvnDWPCX6Q= \
        v1,9DfC1c3eeOrXB6w/5dIDydLNQaEyww5KalE5jLBZucE=";

    // C and D: not published; computed with the reference Python library
    // (standardwebhooks on PyPI, Webhook(secret).sign) to cover 32- and 64-byte
    // keys, an unpadded secret and a non-ASCII payload. The message id, time and
    // payload of C are the example of spec/standard-webhooks.md. Keys: bytes
    // 0, 1, 2, … (32 and 64 of them).
    const C_SECRET: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const C_SECRET_UNPADDED: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    const C_MSG_ID: &str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    const C_TIMESTAMP: i64 = 1674087231;
    const C_PAYLOAD: &str = r#"{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"1f81eb52-5198-4599-803e-771906343485"}}"#;
    const C_SIGNATURE: &str = "v1,4PMU5Dl90B4kgwxDpwuMZ/cnZ5ztf+Y+kviYQD66rJg=";
    const D_SECRET: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
    const D_PAYLOAD: &str = "{\"name\":\"Zo\u{eb} \u{2603}\"}";
    const D_SIGNATURE: &str = "v1,1bSmRmh9Q1PumliNN8INshjWdagu5Ep3KwaVLHs/3ac=";

    fn key(secret: &str) -> Vec<u8> {
        decode_secret(secret).expect("a valid test secret")
    }

    /// Verifies A's message at its own timestamp with the default tolerance.
    fn verify_a(header: &str) -> bool {
        verify(
            &key(A_SECRET),
            A_MSG_ID,
            A_TIMESTAMP,
            A_PAYLOAD,
            header,
            A_TIMESTAMP,
            300,
        )
    }

    #[pg_test]
    fn signs_the_published_vectors() {
        assert_eq!(
            sign(&key(A_SECRET), A_MSG_ID, A_TIMESTAMP, A_PAYLOAD),
            A_SIGNATURE
        );
        assert_eq!(
            sign(&key(B_SECRET), B_MSG_ID, B_TIMESTAMP, B_PAYLOAD),
            B_SIGNATURE
        );
        assert_eq!(
            sign(&key(C_SECRET), C_MSG_ID, C_TIMESTAMP, C_PAYLOAD),
            C_SIGNATURE
        );
        assert_eq!(
            sign(&key(C_SECRET_UNPADDED), C_MSG_ID, C_TIMESTAMP, C_PAYLOAD),
            C_SIGNATURE
        );
        assert_eq!(
            sign(&key(D_SECRET), C_MSG_ID, C_TIMESTAMP, D_PAYLOAD),
            D_SIGNATURE
        );
    }

    #[pg_test]
    fn verifies_the_published_vectors() {
        assert!(verify_a(A_SIGNATURE));
        assert!(verify(
            &key(B_SECRET),
            B_MSG_ID,
            B_TIMESTAMP,
            B_PAYLOAD,
            B_SIGNATURE,
            B_TIMESTAMP,
            300
        ));
        assert!(verify(
            &key(C_SECRET),
            C_MSG_ID,
            C_TIMESTAMP,
            C_PAYLOAD,
            C_SIGNATURE,
            C_TIMESTAMP,
            300
        ));
        assert!(verify(
            &key(D_SECRET),
            C_MSG_ID,
            C_TIMESTAMP,
            D_PAYLOAD,
            D_SIGNATURE,
            C_TIMESTAMP,
            300
        ));
    }

    #[pg_test]
    fn refuses_the_published_wrong_signatures() {
        assert!(!verify_a(A_WRONG_SIGNATURE));
        assert!(!verify_a(&format!("v1,{DECOY}")));
        assert!(!verify(
            &key(B_SECRET),
            B_MSG_ID,
            B_TIMESTAMP,
            B_PAYLOAD,
            B_WRONG_SIGNATURES,
            B_TIMESTAMP,
            300
        ));
        // A right signature for another message or under another key.
        assert!(!verify_a(B_SIGNATURE));
        assert!(!verify(
            &key(B_SECRET),
            A_MSG_ID,
            A_TIMESTAMP,
            A_PAYLOAD,
            A_SIGNATURE,
            A_TIMESTAMP,
            300
        ));
    }

    #[pg_test]
    fn refuses_tampered_messages() {
        let key = key(A_SECRET);
        let check = |msg_id: &str, timestamp: i64, payload: &str| {
            verify(
                &key,
                msg_id,
                timestamp,
                payload,
                A_SIGNATURE,
                A_TIMESTAMP,
                300,
            )
        };
        assert!(check(A_MSG_ID, A_TIMESTAMP, A_PAYLOAD));
        assert!(!check(A_MSG_ID, A_TIMESTAMP, r#"{"test": 2432232315}"#));
        assert!(!check(A_MSG_ID, A_TIMESTAMP, r#"{"test":2432232314}"#));
        assert!(!check(
            "msg_p5jXN8AQM9LWM0D4loKWxJeK",
            A_TIMESTAMP,
            A_PAYLOAD
        ));
        assert!(!check(A_MSG_ID, A_TIMESTAMP + 1, A_PAYLOAD));
    }

    #[pg_test]
    fn any_v1_entry_of_several_may_match() {
        let valid = A_SIGNATURE;
        // The multi-signature header of the reference libraries' tests.
        assert!(verify_a(&format!(
            "v1,{DECOY} v2,{DECOY} {valid} v1,{DECOY}"
        )));
        assert!(verify_a(&format!("v1,{DECOY} {valid}")));
        assert!(verify_a(&format!("{valid} v1,{DECOY}")));
        // Extra spaces between and around entries.
        assert!(verify_a(&format!("  v1,{DECOY}   {valid}  ")));
        // An asymmetric entry beside it.
        assert!(verify_a(&format!("v1a,{DECOY} {valid}")));
        // None of them right.
        assert!(!verify_a(&format!("v1,{DECOY} v2,{DECOY} v1,{DECOY}")));
    }

    #[pg_test]
    fn other_versions_and_malformed_entries_are_ignored() {
        let signature = &A_SIGNATURE[3..];
        assert!(!verify_a(&format!("v2,{signature}")));
        assert!(!verify_a(&format!("v1a,{signature}")));
        assert!(!verify_a(&format!("V1,{signature}")));
        assert!(!verify_a(&format!(" v0,{signature} v2,{signature}")));
        assert!(!verify_a(signature));
        assert!(!verify_a(""));
        assert!(!verify_a("   "));
        assert!(!verify_a("v1"));
        assert!(!verify_a("v1,"));
        assert!(!verify_a("v1,not base64!"));
        // A prefix of the right signature, and the right bytes with a byte more.
        assert!(!verify_a(&A_SIGNATURE[..8]));
        assert!(!verify_a(&A_SIGNATURE[..A_SIGNATURE.len() - 4]));
        let mut longer = STANDARD.decode(signature).unwrap();
        longer.push(0);
        assert!(!verify_a(&format!("v1,{}", STANDARD.encode(&longer))));
        // Unpadded base64 of the right bytes is still the right signature.
        assert!(verify_a(&format!("v1,{}", signature.trim_end_matches('='))));
    }

    #[pg_test]
    fn timestamps_outside_the_tolerance_fail_both_ways() {
        let key = key(A_SECRET);
        let at = |now: i64, tolerance: i64| {
            verify(
                &key,
                A_MSG_ID,
                A_TIMESTAMP,
                A_PAYLOAD,
                A_SIGNATURE,
                now,
                tolerance,
            )
        };
        // now - timestamp: the message is that old.
        assert!(at(A_TIMESTAMP + 300, 300));
        assert!(!at(A_TIMESTAMP + 301, 300));
        // timestamp - now: the message claims to come from the future.
        assert!(at(A_TIMESTAMP - 300, 300));
        assert!(!at(A_TIMESTAMP - 301, 300));
        // Zero tolerance: only the very second.
        assert!(at(A_TIMESTAMP, 0));
        assert!(!at(A_TIMESTAMP + 1, 0));
        assert!(!at(A_TIMESTAMP - 1, 0));
        // A negative tolerance accepts nothing.
        assert!(!at(A_TIMESTAMP, -1));
        // Extreme values neither overflow nor pass.
        assert!(!at(i64::MIN, 300));
        assert!(!at(i64::MAX, 300));
        let key_b = decode_secret(B_SECRET).unwrap();
        let extreme = sign(&key_b, B_MSG_ID, i64::MIN, B_PAYLOAD);
        assert!(!verify(
            &key_b,
            B_MSG_ID,
            i64::MIN,
            B_PAYLOAD,
            &extreme,
            i64::MAX,
            i64::MAX
        ));
        assert!(verify(
            &key_b,
            B_MSG_ID,
            i64::MIN,
            B_PAYLOAD,
            &extreme,
            -1,
            i64::MAX
        ));
    }

    #[pg_test]
    fn malformed_secrets_are_refused() {
        assert_eq!(
            decode_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::MissingPrefix)
        );
        assert_eq!(
            decode_secret("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::MissingPrefix)
        );
        assert_eq!(decode_secret(""), Err(SecretError::MissingPrefix));
        assert_eq!(
            decode_secret(" whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            Err(SecretError::MissingPrefix)
        );
        for bad in [
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS*",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ",
            "whsec_MfKQ9r8G KYqrTwjUPD8ILPZIo2LaLaSw",
            // URL-safe alphabet.
            "whsec_C2FVsBQIhrscChlQIMV-b5sSYspob7oD",
            // Length 1 modulo 4 cannot be base64.
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwA",
            // Padding in the middle.
            "whsec_MfKQ9r8GKYqrTwjU=D8ILPZIo2LaLaSw",
            // Non-canonical last character (trailing bits set).
            "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",
        ] {
            assert!(
                matches!(decode_secret(bad), Err(SecretError::InvalidBase64(_))),
                "{bad} should be invalid base64"
            );
        }
        let sized = |n: usize| format!("{SECRET_PREFIX}{}", STANDARD.encode(vec![7u8; n]));
        assert_eq!(decode_secret(SECRET_PREFIX), Err(SecretError::KeyLength(0)));
        assert_eq!(decode_secret(&sized(23)), Err(SecretError::KeyLength(23)));
        assert_eq!(decode_secret(&sized(24)), Ok(vec![7u8; 24]));
        assert_eq!(decode_secret(&sized(64)), Ok(vec![7u8; 64]));
        assert_eq!(decode_secret(&sized(65)), Err(SecretError::KeyLength(65)));
        // Padding is optional.
        assert_eq!(decode_secret(C_SECRET), decode_secret(C_SECRET_UNPADDED));
        assert_eq!(key(C_SECRET), (0u8..32).collect::<Vec<_>>());
        // The messages never contain the secret.
        let error = decode_secret("whsec_TopSecret*").unwrap_err();
        assert!(!error.to_string().contains("TopSecret"));
        assert_eq!(
            SecretError::KeyLength(23).to_string(),
            "webhook secret must decode to a key of 24 to 64 bytes, got 23 bytes"
        );
    }

    #[pg_test]
    fn generated_secrets_are_random_32_byte_keys() {
        let first = generate_secret();
        let second = generate_secret();
        assert_ne!(first, second);
        for secret in [&first, &second] {
            assert!(secret.starts_with(SECRET_PREFIX));
            assert_eq!(secret.len(), SECRET_PREFIX.len() + 44);
            assert_eq!(key(secret).len(), GENERATED_KEY_BYTES);
        }
        let key = key(&first);
        let header = sign(&key, "msg_1", 1_700_000_000, "{}");
        assert!(verify(
            &key,
            "msg_1",
            1_700_000_000,
            "{}",
            &header,
            1_700_000_000,
            300
        ));
    }

    #[pg_test]
    fn sql_functions_sign_and_verify() {
        assert_eq!(
            Spi::get_one::<String>(&format!(
                "SELECT webhook_sign('{A_SECRET}', '{A_MSG_ID}', {A_TIMESTAMP}, '{A_PAYLOAD}')"
            ))
            .unwrap()
            .as_deref(),
            Some(A_SIGNATURE)
        );
        let round_trip = Spi::get_one::<bool>(
            "WITH s AS (SELECT webhook_generate_secret() AS secret,
                               floor(extract(epoch FROM now()))::bigint AS ts)
             SELECT webhook_verify(secret, 'msg_1', ts, '{}', webhook_sign(secret, 'msg_1', ts, '{}'))
               FROM s",
        );
        assert_eq!(round_trip, Ok(Some(true)));
        let now = transaction_start_unix_seconds();
        let sql_now = Spi::get_one::<i64>("SELECT floor(extract(epoch FROM now()))::bigint");
        assert_eq!(sql_now, Ok(Some(now)));
    }
}
