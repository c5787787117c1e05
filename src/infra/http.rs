//! Outbound HTTP (0.11.0, moved here from `webhooks::delivery`): one request,
//! how it is sent (one shared agent, a timeout, no redirects, private addresses
//! refused unless `marimo_erp.webhook_allow_private_networks`), and what its
//! response means for the next attempt (backoff, `Retry-After`, jitter). Pure
//! logic with no PostgreSQL call, so the background worker's sending threads use
//! it; webhook deliveries and provider requests (`integrations::outbound`) go
//! through the same code, and the worker serves both through `queues`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

/// At most this much of a response body, and of the request body, is logged.
pub const LOG_BODY_LIMIT: usize = 20 * 1024;

/// A 429 or a timeout waits at least this long before the next attempt.
pub const BACKOFF_FLOOR: Duration = Duration::from_secs(60);

/// `Retry-After` is honoured up to this long.
pub const RETRY_AFTER_CEILING: Duration = Duration::from_secs(24 * 3600);

/// One HTTP request to send, prepared by the main thread.
#[derive(Clone, Debug)]
pub struct Request {
    /// GET, POST, PUT, PATCH or DELETE (webhooks: POST).
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub timeout: Duration,
    pub allow_private_networks: bool,
}

/// What came back, as the worker thread saw it.
#[derive(Debug, Default)]
pub struct Response {
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub error: Option<String>,
    pub timed_out: bool,
    /// The connection broke before any response came.
    pub connection_lost: bool,
    pub duration: Duration,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the attempt means for the delivery and its endpoint.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// 2xx: delivered.
    Delivered,
    /// 410 Gone: the endpoint asked never to be called again.
    Gone,
    /// Anything else: try again after `delay`, if attempts remain.
    Retry { delay: Duration },
}

/// Classifies a response. `base_delay` is the schedule's delay for this retry,
/// `jitter` a number in [-1, 1] (±20 % of the delay).
pub fn classify(response: &Response, base_delay: Duration, jitter: f64) -> Outcome {
    match response.status {
        Some(200..=299) => return Outcome::Delivered,
        Some(410) => return Outcome::Gone,
        _ => {}
    }
    let jittered = base_delay.mul_f64(1.0 + 0.2 * jitter.clamp(-1.0, 1.0));
    let mut delay = jittered;
    if let Some(retry_after) = response.header("retry-after").and_then(parse_retry_after) {
        delay = delay.max(retry_after.min(RETRY_AFTER_CEILING));
    }
    if response.status == Some(429) || response.timed_out {
        delay = delay.max(BACKOFF_FLOOR);
    }
    Outcome::Retry { delay }
}

/// What a provider's answer means for a provider request (0.11.0): 2xx
/// succeeded; a network error, a timeout, 429 or 5xx is tried again after the
/// same delay a webhook delivery would wait (`classify`); any other status
/// (4xx, a redirect, which is never followed) fails at once, since sending the
/// same request again would get the same answer.
#[derive(Debug, PartialEq)]
pub enum ProviderOutcome {
    Succeeded,
    Failed,
    Retry { delay: Duration },
}

pub fn classify_provider(
    response: &Response,
    base_delay: Duration,
    jitter: f64,
) -> ProviderOutcome {
    match response.status {
        Some(200..=299) => ProviderOutcome::Succeeded,
        None | Some(429) | Some(500..=599) => match classify(response, base_delay, jitter) {
            Outcome::Retry { delay } => ProviderOutcome::Retry { delay },
            _ => ProviderOutcome::Retry { delay: base_delay },
        },
        Some(_) => ProviderOutcome::Failed,
    }
}

/// The longest retry delay the worker uses, whatever a schedule says (the
/// tables' CHECKs allow 7 days).
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(7 * 24 * 3600);

/// A retry schedule read from SQL (seconds, NULLs skipped), each delay within
/// 1 s and `MAX_RETRY_DELAY`.
pub fn schedule_from_seconds(seconds: Vec<Option<f64>>) -> Vec<Duration> {
    seconds
        .into_iter()
        .flatten()
        .map(|s| {
            Duration::try_from_secs_f64(s.clamp(1.0, MAX_RETRY_DELAY.as_secs_f64()))
                .unwrap_or(MAX_RETRY_DELAY)
        })
        .collect()
}

/// A number in [-1, 1] for the ±20 % jitter of a retry delay (the worker's
/// main thread: it asks PostgreSQL's strong random source).
pub fn jitter() -> f64 {
    let mut byte = [0u8; 2];
    let ok = unsafe { pgrx::pg_sys::pg_strong_random(byte.as_mut_ptr().cast(), byte.len()) };
    if !ok {
        return 0.0;
    }
    f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX) * 2.0 - 1.0
}

/// `Retry-After` as delta-seconds. (The HTTP-date form is ignored: the
/// schedule's own delay applies then.)
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The delay before retry number `retry` (1 = the first retry) from a webhook's
/// schedule; past its end the last delay repeats.
pub fn scheduled_delay(schedule: &[Duration], retry: usize) -> Duration {
    schedule
        .get(retry.saturating_sub(1))
        .or_else(|| schedule.last())
        .copied()
        .unwrap_or(Duration::from_secs(5))
}

pub fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // jsonb refuses \u0000: a receiver's header with a NUL must not fail the log.
            '\0' => out.push('\u{FFFD}'),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What a receiver sent, as a text column can keep it: cut to at most `limit`
/// bytes, and each NUL, which PostgreSQL text cannot hold (a dump's COPY would
/// cut the value there), replaced by U+FFFD.
pub fn storable(text: &str, limit: usize) -> String {
    truncate(text, limit).replace('\0', "\u{FFFD}")
}

/// Cuts `text` to at most `limit` bytes on a character boundary.
pub fn truncate(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Addresses a webhook must not reach unless private networks are allowed:
/// loopback, private, link-local (cloud metadata at 169.254.169.254 among them),
/// carrier-grade NAT, unspecified, multicast, broadcast and the other ranges no
/// public host has (RFC 6890); and an IPv6 address that carries such an IPv4
/// address inside it, which a translator or relay would deliver to it.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return is_private_v4(v4);
            }
            let segments = v6.segments();
            let first = segments[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated, still routed inside sites)
                || (first == 0x2001 && segments[1] == 0) // Teredo 2001::/32: its client address is hidden
                || (first == 0x2001 && segments[1] == 0x0db8) // documentation 2001:db8::/32
                || segments[..4] == [0x0100, 0, 0, 0] // discard-only 100::/64
                || segments[..3] == [0x0064, 0xff9b, 0x0001] // local-use NAT64 64:ff9b:1::/48
                || segments[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::/96 (:: and ::1 above)
                || v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) // AWS metadata over IPv6
        }
    }
}

/// The IPv4 address an IPv6 address stands for on the way: IPv4-mapped
/// (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), IPv4-translated (SIIT,
/// ::ffff:0:a.b.c.d), the well-known NAT64 prefix (64:ff9b::a.b.c.d) and 6to4
/// (2002:aabb:ccdd::/48).
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(low(hi, lo)),
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some(low(hi, lo)),
        [0x0064, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        // :: and ::1 are unspecified and loopback, not IPv4 addresses.
        [0, 0, 0, 0, 0, 0, hi, lo] if (hi, lo) > (0, 1) => Some(low(hi, lo)),
        _ => None,
    }
}

fn is_private_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || (a == 100 && (64..=127).contains(&b)) // carrier-grade NAT 100.64.0.0/10
        || a == 0 // "this network" 0.0.0.0/8
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0.0/24
        || (a == 192 && b == 0 && c == 2) // documentation TEST-NET-1
        || (a == 198 && b == 51 && c == 100) // documentation TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // documentation TEST-NET-3
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18.0.0/15
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
        || a >= 240 // reserved 240.0.0.0/4
}

/// Resolves the URL's host and refuses, before any connection, a private
/// address. Returns the addresses to connect to.
pub fn resolve_public(url: &str, allow_private_networks: bool) -> Result<Vec<SocketAddr>, String> {
    let (host, port) = host_and_port(url).ok_or_else(|| format!("malformed URL {url}"))?;
    let addresses: Vec<SocketAddr> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    if addresses.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    if !allow_private_networks {
        if let Some(private) = addresses.iter().find(|a| is_private(a.ip())) {
            return Err(format!(
                "refused: {host} resolves to the private, loopback or link-local address {}; \
                 set marimo_erp.webhook_allow_private_networks = on to allow it",
                private.ip()
            ));
        }
    }
    Ok(addresses)
}

/// Host and port of an http(s) URL, `None` when it is not one.
pub fn host_and_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => Some((host.to_string(), port.parse().ok()?)),
        Some(_) => None,
        None => Some((authority.to_string(), default_port)),
    }
}

/// Sends one request with the worker's shared HTTP agent. Never follows
/// redirects; refuses private addresses unless allowed. A connection that fails
/// before any response (a pooled keep-alive connection the receiver had closed,
/// a full listen queue) is tried once more at once, on a new connection, rather
/// than waiting for the retry schedule: delivery is at least once anyway, and
/// receivers deduplicate on `webhook-id`.
pub fn send(agent: &ureq::Agent, request: &Request) -> Response {
    let first = send_once(agent, request);
    if first.status.is_none() && first.connection_lost {
        let mut second = send_once(agent, request);
        second.duration += first.duration;
        return second;
    }
    first
}

/// A status code HTTP defines (100-599), which the logs' CHECKs accept. A
/// receiver's 600-999 (the client parses any three digits) is a failed attempt
/// with an error, never a status the worker could not record: an outcome that
/// cannot be recorded would be sent again forever, outside max_attempts.
fn http_status(code: u16) -> Result<u16, String> {
    if (100..=599).contains(&code) {
        Ok(code)
    } else {
        Err(format!(
            "the receiver answered with status {code}, which HTTP does not define (100-599)"
        ))
    }
}

fn send_once(agent: &ureq::Agent, request: &Request) -> Response {
    let started = std::time::Instant::now();
    let mut response = Response::default();
    if let Err(error) = resolve_public(&request.url, request.allow_private_networks) {
        response.error = Some(error);
        response.duration = started.elapsed();
        return response;
    }
    // The same configuration and headers for a method with a body or without.
    macro_rules! prepared {
        ($builder:expr) => {{
            let mut call = $builder
                .config()
                .timeout_global(Some(request.timeout))
                .build();
            for (name, value) in &request.headers {
                call = call.header(name, value);
            }
            call
        }};
    }
    let url = request.url.as_str();
    let sent = match request.method.to_ascii_uppercase().as_str() {
        "GET" => prepared!(agent.get(url)).call(),
        "DELETE" => prepared!(agent.delete(url)).call(),
        "PUT" => prepared!(agent.put(url)).send(request.body.as_str()),
        "PATCH" => prepared!(agent.patch(url)).send(request.body.as_str()),
        _ => prepared!(agent.post(url)).send(request.body.as_str()),
    };
    match sent {
        Ok(mut answer) => {
            match http_status(answer.status().as_u16()) {
                Ok(status) => response.status = Some(status),
                Err(error) => response.error = Some(error),
            }
            response.headers = answer
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            // Only the first LOG_BODY_LIMIT bytes are kept: ureq's own limit would
            // fail a longer body as a whole.
            let mut body = Vec::new();
            let _ = std::io::Read::read_to_end(
                &mut std::io::Read::take(
                    answer.body_mut().with_config().limit(u64::MAX).reader(),
                    LOG_BODY_LIMIT as u64,
                ),
                &mut body,
            );
            response.body = String::from_utf8_lossy(&body).into_owned();
        }
        Err(error) => {
            response.timed_out = matches!(error, ureq::Error::Timeout(_));
            response.connection_lost = matches!(
                &error,
                ureq::Error::Io(io) if matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                        | std::io::ErrorKind::ConnectionAborted
                )
            );
            response.error = Some(error.to_string());
        }
    }
    response.duration = started.elapsed();
    response
}

/// A queue of outbound requests that the background worker serves beside the
/// webhook deliveries (0.11.0): the integrations room registers its provider
/// requests here at `_PG_init`, so the worker (webhooks room) sends them on the
/// same threads with the same agent, and neither room imports the other.
///
/// Both methods run on the worker's main thread inside a transaction of its
/// own; an ERROR in one rolls that transaction back and is logged, never ends
/// the worker. A request claimed but never recorded (the worker died, the
/// record failed) goes out again once its lease lapses: at least once.
pub trait Queue: Sync {
    /// Its name, for the worker's log.
    fn name(&self) -> &'static str;
    /// Claims up to `limit` due requests (each under a lease) and returns them.
    fn claim(&self, limit: usize) -> Vec<(pgrx::Uuid, Request)>;
    /// Records what came back for requests `claim` returned.
    fn record(&self, finished: Vec<(pgrx::Uuid, Response)>);
}

static QUEUES: std::sync::Mutex<Vec<&'static dyn Queue>> = std::sync::Mutex::new(Vec::new());

/// Adds a queue for the worker to serve (from `_PG_init`, before it starts).
pub fn register_queue(queue: &'static dyn Queue) {
    if let Ok(mut queues) = QUEUES.lock() {
        queues.push(queue);
    }
}

/// The queues registered, in order.
pub fn queues() -> Vec<&'static dyn Queue> {
    QUEUES.lock().map(|q| q.clone()).unwrap_or_default()
}
