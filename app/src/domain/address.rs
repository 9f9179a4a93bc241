//! Which network addresses affdesk may call. A link is typed by an admin, but a link to
//! `http://169.254.169.254/` or `http://localhost:5432/` would turn affdesk into a probe of its
//! own network (SSRF), so loopback, private, link-local and similar addresses are refused unless
//! the operator's allow-list names them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not public, in words for the admin; `None` for a public address.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_reason(v4);
            }
            v6_reason(v6)
        }
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private network address")
    } else if ip.is_link_local() {
        Some("a link-local address (such as a cloud metadata service)")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if ip.is_broadcast() || ip.is_multicast() {
        Some("a broadcast or multicast address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a carrier-grade NAT address")
    } else if a >= 240 {
        Some("a reserved address")
    } else {
        None
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if (first & 0xfe00) == 0xfc00 {
        Some("a private network address")
    } else if (first & 0xffc0) == 0xfe80 {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else {
        None
    }
}

/// Addresses the operator allows although they are not public: single addresses or CIDR ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<(IpAddr, u8)>);

impl AllowList {
    /// Parses `127.0.0.1, 10.0.0.0/8, ::1`.
    pub fn parse(raw: &str) -> Result<AllowList, String> {
        let mut entries = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, prefix) = match item.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (item, None),
            };
            let ip: IpAddr = addr.parse().map_err(|_| {
                format!("{item:?} is not an IP address or CIDR range (like 10.0.0.0/8)")
            })?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("{item:?} has a prefix length outside 0-{max}"))?,
                None => max,
            };
            entries.push((ip, prefix));
        }
        Ok(AllowList(entries))
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|(net, prefix)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
                u32::from(*n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                u128::from(*n) & mask == u128::from(i) & mask
            }
            _ => false,
        })
    }

    /// `Err(reason)` when affdesk must not call `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        match non_public_reason(ip) {
            Some(reason) if !self.allows(ip) => Err(format!(
                "{ip} is {reason}; affdesk calls only public addresses unless AFFDESK_OUTBOUND_ALLOW lists it"
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_pass() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(non_public_reason(ip(bad)).is_some(), "{bad}");
        }
        for good in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            assert_eq!(non_public_reason(ip(good)), None, "{good}");
        }
    }

    #[test]
    fn the_allow_list_admits_named_addresses_and_ranges() {
        let list = AllowList::parse("127.0.0.1, 10.0.0.0/8 ,::1").unwrap();
        assert!(list.check(ip("127.0.0.1")).is_ok());
        assert!(list.check(ip("::ffff:127.0.0.1")).is_ok());
        assert!(list.check(ip("10.200.3.4")).is_ok());
        assert!(list.check(ip("::1")).is_ok());
        let refused = list.check(ip("192.168.0.1")).unwrap_err();
        assert!(refused.contains("private network") && refused.contains("AFFDESK_OUTBOUND_ALLOW"));
        assert!(AllowList::parse("")
            .unwrap()
            .check(ip("127.0.0.1"))
            .is_err());
        assert!(AllowList::parse("0.0.0.0/0")
            .unwrap()
            .check(ip("10.0.0.1"))
            .is_ok());
    }

    #[test]
    fn a_malformed_allow_list_says_which_entry_is_wrong() {
        assert!(AllowList::parse("localhost")
            .unwrap_err()
            .contains("\"localhost\""));
        assert!(AllowList::parse("10.0.0.0/33")
            .unwrap_err()
            .contains("prefix"));
    }
}
