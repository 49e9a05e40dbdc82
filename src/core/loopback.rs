//! Which hosts are loopback, where plain `http:` is allowed without
//! `allowInsecureHttp`.
//!
//! One rule for every URL the configuration holds (the endpoints, the
//! discovery issuer and what discovery returns, `allowedOrigins`): a
//! loopback IP literal or the name `localhost` (RFC 8252 §8.3), written in
//! the one form every URL parser reads the same way:
//!
//! - an IPv4 address in `127.0.0.0/8` as four decimal octets without
//!   leading zeros (`127.0.0.1`, `127.1.2.3`);
//! - the IPv6 loopback address in brackets, in any textual form
//!   (`[::1]`, `[0:0:0:0:0:0:0:1]`);
//! - `localhost`, in any case, without a trailing dot.
//!
//! Everything else is not loopback: names that merely start like an
//! address (`127.0.0.1.nip.io`, `127.x.example`, `localhost.example`),
//! `localhost.`, the short, hex, octal and integer IPv4 forms a WHATWG
//! parser would still map into `127.0.0.0/8` (`127.1`, `0x7f000001`,
//! `0177.0.0.1`, `2130706433`), and IPv4-mapped IPv6 (`[::ffff:127.0.0.1]`).

use std::net::{Ipv4Addr, Ipv6Addr};

/// Whether `host`, as written in a URL's authority (an IPv6 address in
/// brackets, no port), is a loopback host by the rule above.
#[must_use]
pub fn is_loopback_host(host: &str) -> bool {
    if let Some(v6) = host.strip_prefix('[') {
        return v6
            .strip_suffix(']')
            .and_then(|addr| addr.parse::<Ipv6Addr>().ok())
            .is_some_and(|ip| ip.is_loopback());
    }
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback() && ip.to_string() == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_localhost_only() {
        for host in [
            "127.0.0.1",
            "127.1.2.3",
            "127.255.255.255",
            "[::1]",
            "[0:0:0:0:0:0:0:1]",
            "[0000:0000:0000:0000:0000:0000:0000:0001]",
            "[::0:1]",
            "localhost",
            "LocalHost",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "127.x.example",
            "127.attacker.example",
            "127.0.0.1.nip.io",
            "localhost.example",
            "localhost.",
            "0x7f000001",
            "2130706433",
            "127.1",
            "0177.0.0.1",
            "127.000.0.1",
            "127.0.0.01",
            "127.0.0.1.",
            "[::ffff:127.0.0.1]",
            "[::127.0.0.1]",
            "::1",
            "[::1",
            "[::2]",
            "128.0.0.1",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
