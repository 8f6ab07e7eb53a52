//! Notification endpoint URLs (contract §14) and the address ranges a
//! webhook must never reach. The same `ip_blocked` guards the URL at
//! registration and every address the notifier resolves at delivery time.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const MAX_URL_LEN: usize = 2048;

/// A URL that passed the rules: `https` (or, with the development switch,
/// `http` to loopback), at most 2048 characters, no user name or password,
/// and a host that is not an IP address in a blocked range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyUrl(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("url is required")]
    Required,
    #[error("url must be at most 2048 characters")]
    TooLong,
    #[error("url is not a valid absolute URL")]
    Malformed,
    #[error("url must use https")]
    NotHttps,
    #[error("url must not contain a user name or password")]
    UserInfo,
    #[error("url must not point at a loopback, private, link-local, shared or multicast address")]
    BlockedAddress,
}

impl NotifyUrl {
    /// `allow_loopback` is `NOTIFY_ALLOW_LOOPBACK_HTTP`: it lets `127.0.0.1`
    /// and `localhost` through, over `http` or `https`, and nothing else.
    pub fn parse(raw: &str, allow_loopback: bool) -> Result<NotifyUrl, UrlError> {
        if raw.trim().is_empty() {
            return Err(UrlError::Required);
        }
        if raw.len() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        // Whitespace and control characters would be silently stripped by the
        // URL parser: refuse them so the stored URL is exactly the one given.
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::Malformed);
        }
        let url = url::Url::parse(raw).map_err(|_| UrlError::Malformed)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::UserInfo);
        }
        let host = url.host().ok_or(UrlError::Malformed)?;
        let loopback_host = match &host {
            url::Host::Domain(d) => is_localhost(d),
            url::Host::Ipv4(ip) => *ip == Ipv4Addr::LOCALHOST,
            url::Host::Ipv6(_) => false,
        };
        let dev_loopback = allow_loopback && loopback_host;
        match url.scheme() {
            "https" => {}
            "http" if dev_loopback => {}
            _ => return Err(UrlError::NotHttps),
        }
        let ip = match host {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(d) => {
                // `localhost` resolves to loopback everywhere: as blocked as 127.0.0.1.
                if is_localhost(d) && !dev_loopback {
                    return Err(UrlError::BlockedAddress);
                }
                None
            }
        };
        if ip.is_some_and(|ip| ip_blocked(ip, allow_loopback)) {
            return Err(UrlError::BlockedAddress);
        }
        Ok(NotifyUrl(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `localhost`, `localhost.` and any `*.localhost` name (RFC 6761: they
/// resolve to loopback).
fn is_localhost(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost" || d.ends_with(".localhost")
}

/// True for an address a webhook must not reach: loopback (unless
/// `allow_loopback`, and then only 127.0.0.1 and ::1), unspecified, private,
/// shared (100.64/10), link-local, multicast, broadcast, documentation,
/// benchmarking and reserved ranges, and their IPv4-mapped IPv6 forms.
pub fn ip_blocked(ip: IpAddr, allow_loopback: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_blocked(v4, allow_loopback),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_blocked(v4, allow_loopback);
            }
            v6_blocked(v6, allow_loopback)
        }
    }
}

fn v4_blocked(ip: Ipv4Addr, allow_loopback: bool) -> bool {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        return !(allow_loopback && ip == Ipv4Addr::LOCALHOST);
    }
    ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_private()
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

fn v6_blocked(ip: Ipv6Addr, allow_loopback: bool) -> bool {
    let seg = ip.segments();
    if ip.is_loopback() {
        return !allow_loopback;
    }
    ip.is_unspecified()
        || ip.is_multicast()
        || (seg[0] & 0xfe00) == 0xfc00 // unique local
        || (seg[0] & 0xffc0) == 0xfe80 // link-local
        || (seg[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        || (seg[0] == 0x0064 && seg[1] == 0xff9b) // NAT64: reaches IPv4 space
        || (seg[0] == 0x2002) // 6to4: reaches IPv4 space
        || (seg[0] == 0x2001 && seg[1] == 0) // Teredo
        || (seg[0..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
        || (seg[0] == 0x0100 && seg[1..4] == [0, 0, 0]) // discard-only
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err(raw: &str) -> UrlError {
        NotifyUrl::parse(raw, false).unwrap_err()
    }

    #[test]
    fn accepts_public_https() {
        for ok in [
            "https://hooks.example.com/portguard",
            "https://hooks.example.com:8443/a?b=c",
            "https://93.184.216.34/x",
            "https://[2606:2800:220:1:248:1893:25c8:1946]/x",
        ] {
            assert!(NotifyUrl::parse(ok, false).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_other_schemes_and_userinfo() {
        assert_eq!(err("http://hooks.example.com/"), UrlError::NotHttps);
        assert_eq!(err("ftp://hooks.example.com/"), UrlError::NotHttps);
        assert_eq!(err("https://user@hooks.example.com/"), UrlError::UserInfo);
        assert_eq!(err("https://u:p@hooks.example.com/"), UrlError::UserInfo);
        assert_eq!(err("https://:p@hooks.example.com/"), UrlError::UserInfo);
        assert_eq!(err("hooks.example.com/x"), UrlError::Malformed);
        assert_eq!(err("https://hooks.example.com/a b"), UrlError::Malformed);
        assert_eq!(err(""), UrlError::Required);
    }

    #[test]
    fn length_limit_is_2048() {
        let base = "https://hooks.example.com/";
        let ok = format!("{base}{}", "a".repeat(MAX_URL_LEN - base.len()));
        assert!(NotifyUrl::parse(&ok, false).is_ok());
        assert_eq!(err(&format!("{ok}a")), UrlError::TooLong);
    }

    #[test]
    fn refuses_blocked_ip_hosts() {
        for bad in [
            "https://127.0.0.1/",
            "https://127.1.2.3/",
            "https://localhost/",
            "https://LOCALHOST:8080/",
            "https://localhost./",
            "https://hooks.localhost/",
            "https://10.0.0.1/",
            "https://172.16.5.4/",
            "https://192.168.1.1/",
            "https://100.64.0.1/",
            "https://100.127.255.254/",
            "https://169.254.169.254/latest/meta-data",
            "https://224.0.0.1/",
            "https://0.0.0.0/",
            "https://255.255.255.255/",
            "https://[::1]/",
            "https://[::]/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://[ff02::1]/",
            "https://[::ffff:10.0.0.1]/",
            "https://[::ffff:127.0.0.1]/",
            // Numeric forms the URL standard turns into 127.0.0.1 / 10.0.0.1.
            "https://2130706433/",
            "https://0x7f.1/",
            "https://012.0.0.1/",
        ] {
            assert_eq!(err(bad), UrlError::BlockedAddress, "{bad}");
        }
        assert!(NotifyUrl::parse("https://100.128.0.1/", false).is_ok());
    }

    #[test]
    fn the_switch_lets_only_loopback_through() {
        for ok in [
            "http://127.0.0.1:8080/hook",
            "https://127.0.0.1/",
            "http://localhost:9000/",
        ] {
            assert!(NotifyUrl::parse(ok, true).is_ok(), "{ok}");
            assert!(NotifyUrl::parse(ok, false).is_err(), "{ok}");
        }
        assert_eq!(
            NotifyUrl::parse("http://10.0.0.1/", true).unwrap_err(),
            UrlError::NotHttps
        );
        assert_eq!(
            NotifyUrl::parse("https://10.0.0.1/", true).unwrap_err(),
            UrlError::BlockedAddress
        );
        assert_eq!(
            NotifyUrl::parse("http://hooks.example.com/", true).unwrap_err(),
            UrlError::NotHttps
        );
        assert_eq!(
            NotifyUrl::parse("https://127.0.0.2/", true).unwrap_err(),
            UrlError::BlockedAddress
        );
    }

    proptest! {
        #[test]
        fn private_v4_is_always_blocked(b in 0u8.., c in 0u8.., d in 0u8.., allow in any::<bool>()) {
            prop_assert!(ip_blocked(Ipv4Addr::new(10, b, c, d).into(), allow));
            prop_assert!(ip_blocked(Ipv4Addr::new(192, 168, c, d).into(), allow));
            prop_assert!(ip_blocked(Ipv4Addr::new(169, 254, c, d).into(), allow));
            prop_assert!(ip_blocked(Ipv4Addr::new(172, 16 + b % 16, c, d).into(), allow));
            prop_assert!(ip_blocked(Ipv4Addr::new(100, 64 + b % 64, c, d).into(), allow));
            let mapped = Ipv4Addr::new(10, b, c, d).to_ipv6_mapped();
            prop_assert!(ip_blocked(mapped.into(), allow));
        }

        #[test]
        fn parse_never_panics(s in ".{0,80}", allow in any::<bool>()) {
            let _ = NotifyUrl::parse(&s, allow);
        }
    }
}
