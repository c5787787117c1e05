//! What one delivery attempt is and what happens after it: pure logic shared by
//! the worker's threads, with no PostgreSQL call, so it is safe off the main
//! thread. The transport, backoff and address rules are `infra::http` (0.11.0),
//! which provider requests share; the Standard Webhooks envelope is here.

pub use crate::infra::http::*;

/// The Standard Webhooks envelope: `{"type", "timestamp", "data"}`. `payload` is
/// already JSON text and `timestamp` an RFC 3339 string, both from PostgreSQL.
pub fn envelope(event_type: &str, timestamp: &str, payload: &str) -> String {
    format!(
        "{{\"type\":{},\"timestamp\":{},\"data\":{}}}",
        json_string(event_type),
        json_string(timestamp),
        payload
    )
}

#[cfg(any(test, feature = "pg_test"))]
#[pgrx::pg_schema]
mod tests {
    use super::*;
    use pgrx::prelude::*;
    use std::time::Duration;

    fn with_status(status: u16, headers: &[(&str, &str)]) -> Response {
        Response {
            status: Some(status),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }
    }

    #[pg_test]
    fn outcomes_follow_status_codes() {
        let five = Duration::from_secs(5);
        assert_eq!(
            classify(&with_status(200, &[]), five, 0.0),
            Outcome::Delivered
        );
        assert_eq!(
            classify(&with_status(204, &[]), five, 0.0),
            Outcome::Delivered
        );
        assert_eq!(classify(&with_status(410, &[]), five, 0.0), Outcome::Gone);
        assert_eq!(
            classify(&with_status(302, &[]), five, 0.0),
            Outcome::Retry { delay: five }
        );
        assert_eq!(
            classify(&with_status(500, &[]), five, 1.0),
            Outcome::Retry {
                delay: Duration::from_secs(6)
            }
        );
        assert_eq!(
            classify(&with_status(500, &[]), five, -1.0),
            Outcome::Retry {
                delay: Duration::from_secs(4)
            }
        );
        // 429 and timeouts wait at least a minute; Retry-After is honoured within bounds.
        assert_eq!(
            classify(&with_status(429, &[]), five, 0.0),
            Outcome::Retry {
                delay: BACKOFF_FLOOR
            }
        );
        assert_eq!(
            classify(&with_status(429, &[("Retry-After", "120")]), five, 0.0),
            Outcome::Retry {
                delay: Duration::from_secs(120)
            }
        );
        assert_eq!(
            classify(&with_status(503, &[("retry-after", "999999")]), five, 0.0),
            Outcome::Retry {
                delay: RETRY_AFTER_CEILING
            }
        );
        let timeout = Response {
            timed_out: true,
            ..Default::default()
        };
        assert_eq!(
            classify(&timeout, five, 0.0),
            Outcome::Retry {
                delay: BACKOFF_FLOOR
            }
        );
    }

    #[pg_test]
    fn provider_outcomes_follow_status_codes() {
        let five = Duration::from_secs(5);
        assert_eq!(
            classify_provider(&with_status(202, &[]), five, 0.0),
            ProviderOutcome::Succeeded
        );
        for failed in [400, 401, 403, 404, 302, 410] {
            assert_eq!(
                classify_provider(&with_status(failed, &[]), five, 0.0),
                ProviderOutcome::Failed,
                "{failed}"
            );
        }
        assert_eq!(
            classify_provider(&with_status(500, &[]), five, 0.0),
            ProviderOutcome::Retry { delay: five }
        );
        assert_eq!(
            classify_provider(&with_status(429, &[]), five, 0.0),
            ProviderOutcome::Retry {
                delay: BACKOFF_FLOOR
            }
        );
        assert_eq!(
            classify_provider(&Response::default(), five, 0.0),
            ProviderOutcome::Retry { delay: five }
        );
    }

    #[pg_test]
    fn the_schedule_repeats_its_last_delay() {
        let schedule = [Duration::from_secs(5), Duration::from_secs(300)];
        assert_eq!(scheduled_delay(&schedule, 1), Duration::from_secs(5));
        assert_eq!(scheduled_delay(&schedule, 2), Duration::from_secs(300));
        assert_eq!(scheduled_delay(&schedule, 9), Duration::from_secs(300));
    }

    #[pg_test]
    fn private_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "fd00:ec2::254",
            // IPv6 forms that carry a private IPv4 address.
            "::127.0.0.1",
            "::10.0.0.1",
            "::ffff:0:127.0.0.1",
            "::ffff:0:169.254.169.254",
            "64:ff9b::10.1.2.3",
            "64:ff9b::169.254.169.254",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            // IPv6 ranges with no public host.
            "64:ff9b:1::8.8.8.8",
            "2001::1",
            "2001:db8::1",
            "100::1",
            "fec0::1",
            // Reserved IPv4 ranges.
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.254",
            "192.88.99.1",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip} is private");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            // The same forms around public IPv4 addresses stay public.
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
            "::ffff:8.8.8.8",
            "198.20.0.1",
            "192.0.1.1",
        ] {
            assert!(!is_private(ip.parse().unwrap()), "{ip} is public");
        }
        assert!(resolve_public("http://127.0.0.1:8080/x", false)
            .unwrap_err()
            .contains("refused"));
        assert!(resolve_public("http://[::1]/", false)
            .unwrap_err()
            .contains("refused"));
        assert!(resolve_public("http://127.0.0.1:8080/x", true).is_ok());
    }

    #[pg_test]
    fn urls_are_parsed_strictly() {
        assert_eq!(
            host_and_port("https://hooks.example.com/a?b"),
            Some(("hooks.example.com".into(), 443))
        );
        assert_eq!(
            host_and_port("http://127.0.0.1:9000/x"),
            Some(("127.0.0.1".into(), 9000))
        );
        assert_eq!(host_and_port("http://[::1]:81/"), Some(("::1".into(), 81)));
        assert_eq!(host_and_port("https://user:pw@example.com/"), None);
        assert_eq!(host_and_port("ftp://example.com/"), None);
        assert_eq!(host_and_port("https:///path"), None);
    }

    #[pg_test]
    fn the_envelope_is_json() {
        assert_eq!(
            envelope("invoice.paid", "2024-01-01T00:00:00Z", "{\"a\":1}"),
            "{\"type\":\"invoice.paid\",\"timestamp\":\"2024-01-01T00:00:00Z\",\"data\":{\"a\":1}}"
        );
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(storable("a\0b", 10), "a\u{FFFD}b");
        assert_eq!(storable("ab\0cd", 2), "ab");
        assert_eq!(json_string("x\0y"), "\"x\u{FFFD}y\"");
    }
}
