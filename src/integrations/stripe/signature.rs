//! Stripe's webhook signature scheme (pure, no PostgreSQL).
//!
//! Header `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`; other
//! schemes (`v0`, ...) are skipped. The signed content is `"<t>.<raw body>"`,
//! the MAC HMAC-SHA256 keyed with the whole `whsec_...` secret as its UTF-8
//! bytes (not base64-decoded, unlike Standard Webhooks). Any matching `v1`
//! signature is enough (Stripe sends several while a secret is rolled); each is
//! compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a header does not verify.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The header is not `t=...,v1=...`: no timestamp, a timestamp that is not
    /// an integer, or no `v1` entry at all (22023).
    Malformed(&'static str),
    /// Well formed, but no `v1` signature matches the body under the secret (28000).
    NoMatch,
    /// The timestamp is more than the tolerance before now (28000).
    Expired { age: i64 },
    /// The timestamp is more than the tolerance after now (28000).
    Future { ahead: i64 },
}

/// A parsed header: its timestamp and every `v1` signature (decoded from hex;
/// entries that are not valid hex are kept as `None` and never match).
pub struct Header {
    pub timestamp: i64,
    pub signatures: Vec<Option<Vec<u8>>>,
}

/// Most entries a header may have (Stripe sends one or two).
const MOST_ENTRIES: usize = 64;

pub fn parse_header(header: &str) -> Result<Header, Refusal> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for (count, entry) in header.split(',').enumerate() {
        if count >= MOST_ENTRIES {
            return Err(Refusal::Malformed("has too many entries"));
        }
        let Some((scheme, value)) = entry.trim().split_once('=') else {
            continue;
        };
        match scheme {
            "t" => {
                if timestamp.is_some() {
                    return Err(Refusal::Malformed("has more than one timestamp t="));
                }
                timestamp = Some(value.parse::<i64>().map_err(|_| {
                    Refusal::Malformed("has a timestamp t= that is not an integer")
                })?);
            }
            "v1" => signatures.push(decode_hex(value)),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(Refusal::Malformed("has no timestamp t="))?;
    if signatures.is_empty() {
        return Err(Refusal::Malformed("has no v1= signature"));
    }
    Ok(Header {
        timestamp,
        signatures,
    })
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    bytes
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// The hex HMAC-SHA256 of `"<timestamp>.<payload>"` under `secret` as bytes.
#[allow(dead_code)]
pub fn sign(secret: &str, timestamp: i64, payload: &str) -> String {
    let tag = mac(secret, timestamp, payload).finalize().into_bytes();
    tag.iter().map(|b| format!("{b:02x}")).collect()
}

fn mac(secret: &str, timestamp: i64, payload: &str) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    mac
}

/// Verifies `header` for `payload` under `secret` at `now` (Unix seconds):
/// the timestamp within `tolerance` seconds of now in either direction (bounds
/// included), and a `v1` signature equal to the expected MAC. The signature is
/// checked before the time, so a wrong secret is reported as such even when
/// the header is also old.
pub fn verify(
    secret: &str,
    payload: &str,
    header: &str,
    now: i64,
    tolerance: i64,
) -> Result<i64, Refusal> {
    let parsed = parse_header(header)?;
    let expected = mac(secret, parsed.timestamp, payload);
    let matches = parsed
        .signatures
        .iter()
        .flatten()
        // verify_slice refuses a tag of the wrong length and compares in constant time.
        .any(|candidate| expected.clone().verify_slice(candidate).is_ok());
    if !matches {
        return Err(Refusal::NoMatch);
    }
    let age = now.saturating_sub(parsed.timestamp);
    if age > tolerance {
        return Err(Refusal::Expired { age });
    }
    if -age > tolerance {
        return Err(Refusal::Future { ahead: -age });
    }
    Ok(parsed.timestamp)
}
