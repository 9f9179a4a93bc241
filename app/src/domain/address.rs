//! Which network addresses affdesk may call. A link is typed by an admin, but a link to
//! `http://169.254.169.254/` or `http://localhost:5432/` would turn affdesk into a probe of its
//! own network (SSRF), so loopback, private, link-local and similar addresses are refused unless
//! the operator's allow-list names them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not public, in words for the admin; `None` for a public address.
pub fn non_public_reason(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4).map(str::to_owned),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4_reason(v4).map(str::to_owned);
            }
            if let Some(reason) = v6_reason(v6) {
                return Some(reason.to_owned());
            }
            let (embedding, v4) = embedded_ipv4(v6)?;
            match v4_reason(v4) {
                Some(reason) => Some(format!("{} of {v4}, {reason}", embedding.name())),
                // Deprecated since 2006 (RFC 4291 §2.5.5.1) and never a tracker's address, so
                // refused whatever it embeds: nothing legitimate breaks, and no host's tunnel
                // set-up decides where such an address goes.
                None if embedding == Embedding::Ipv4Compatible => {
                    Some("a deprecated IPv4-compatible address".to_owned())
                }
                // A NAT64 gateway or 6to4 relay forwards to the public IPv4 address, where
                // affdesk may call anyway; refusing would also break every IPv4-only tracker on
                // an IPv6-only server whose DNS64 answers with such addresses.
                None => None,
            }
        }
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
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
    } else if a == 192 && b == 0 && c == 0 {
        Some("an IETF protocol address")
    } else if a == 198 && (18..20).contains(&b) {
        Some("a network benchmarking address")
    } else if a >= 240 {
        Some("a reserved address")
    } else {
        None
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
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
    } else if bits >> 80 == 0x0064_ff9b_0001 {
        // 64:ff9b:1::/48 (RFC 8215) is for NAT64 inside one network, in whatever form it
        // chooses, so no embedded IPv4 address can be read from it to judge.
        Some("a local-use NAT64 address")
    } else if bits >> 96 == 0x2001_0000 {
        // 2001::/32 (RFC 4380): the client's IPv4 address is stored inverted and the packets go
        // through a relay; a tracker has no reason to use Teredo, so the whole range is refused.
        Some("a Teredo tunnel address")
    } else {
        None
    }
}

/// How an IPv6 address carries an IPv4 address that its packets end up at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Embedding {
    /// `64:ff9b::/96`, NAT64's well-known prefix (RFC 6052): the last 32 bits.
    Nat64,
    /// `2002::/16` (RFC 3056): bits 16 to 48.
    SixToFour,
    /// `::a.b.c.d` (RFC 4291, deprecated): the last 32 bits after 96 zero bits.
    Ipv4Compatible,
}

impl Embedding {
    fn name(self) -> &'static str {
        match self {
            Embedding::Nat64 => "a NAT64 address",
            Embedding::SixToFour => "a 6to4 address",
            Embedding::Ipv4Compatible => "an IPv4-compatible address",
        }
    }
}

/// The IPv4 address inside a NAT64, 6to4 or IPv4-compatible IPv6 address: such an address
/// reaches that IPv4 address (through a gateway, a relay or a tunnel), so `64:ff9b::10.0.0.1`
/// must be judged as 10.0.0.1 (RFC 6052 §3.1; OWASP's SSRF cheat sheet). IPv4-mapped addresses
/// (`::ffff:a.b.c.d`) are read by the callers as the IPv4 address itself.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<(Embedding, Ipv4Addr)> {
    let bits = u128::from(ip);
    // The truncating casts keep the low 32 bits: the IPv4 address once shifted into place.
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        Some((Embedding::Nat64, Ipv4Addr::from(bits as u32)))
    } else if bits >> 112 == 0x2002 {
        Some((Embedding::SixToFour, Ipv4Addr::from((bits >> 80) as u32)))
    } else if bits >> 32 == 0 && bits > 1 {
        // `::` and `::1` are the unspecified and loopback addresses, not IPv4-compatible ones.
        Some((Embedding::Ipv4Compatible, Ipv4Addr::from(bits as u32)))
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

    /// An IPv4-mapped address (`::ffff:10.0.0.1`) matches as its IPv4 address; any other IPv6
    /// address only as written: `10.0.0.0/8` does not allow the NAT64 address
    /// `64:ff9b::10.0.0.1`, which goes through a gateway that may see another network; list
    /// `64:ff9b::10.0.0.1` (or `64:ff9b::/96`) to allow it.
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

/// The network a client address stands for when counting what one client does (login attempts,
/// open connections): an IPv4 address itself, an IPv6 address's /64. One IPv6 subscriber or
/// host is usually given a whole /64, so counting single IPv6 addresses would give one client
/// 2^64 fresh counts. An IPv4-mapped IPv6 address counts as its IPv4 address.
pub fn client_network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !0u128 >> 64 << 64)),
        },
    }
}

/// [`client_network`] of an address given as text (as the login form's handler has it), written
/// `2001:db8:1:2::/64` for an IPv6 network; text that is no address is kept as it is.
pub fn client_network_text(address: &str) -> String {
    match address.parse::<IpAddr>().map(client_network) {
        Ok(IpAddr::V6(network)) => format!("{network}/64"),
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => address.to_owned(),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_ipv6_client_counts_as_its_64_and_an_ipv4_client_as_itself() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_network(a), client_network(b));
        assert_ne!(client_network(a), client_network(other));
        assert_eq!(
            client_network_text("2001:db8:1:2:aaaa::1"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(client_network_text("203.0.113.7"), "203.0.113.7");
        assert_eq!(client_network_text("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(client_network_text("session:3"), "session:3");
    }
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
    fn special_purpose_ipv4_ranges_are_refused() {
        for bad in [
            "192.0.0.1",
            "192.0.0.170",
            "192.0.0.255",
            "198.18.0.1",
            "198.19.255.255",
            "::ffff:198.18.0.1",
        ] {
            assert!(non_public_reason(ip(bad)).is_some(), "{bad}");
        }
        assert_eq!(
            non_public_reason(ip("192.0.0.8")).as_deref(),
            Some("an IETF protocol address")
        );
        assert_eq!(
            non_public_reason(ip("198.18.0.1")).as_deref(),
            Some("a network benchmarking address")
        );
        for good in [
            "192.0.1.1",
            "191.255.255.255",
            "198.17.255.255",
            "198.20.0.0",
        ] {
            assert_eq!(non_public_reason(ip(good)), None, "{good}");
        }
    }

    #[test]
    fn ipv6_addresses_that_embed_an_internal_ipv4_address_are_refused() {
        for bad in [
            // NAT64, well-known prefix: the last 32 bits.
            "64:ff9b::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::192.168.1.1",
            "64:ff9b::100.64.0.1",
            "64:ff9b::0.0.0.0",
            // NAT64, local-use prefix: refused whatever it embeds.
            "64:ff9b:1::1",
            "64:ff9b:1::8.8.8.8",
            "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
            // 6to4: bits 16 to 48.
            "2002:7f00:1::",
            "2002:a00:1::1",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:101:1::1",
            // IPv4-compatible (deprecated): refused whatever it embeds.
            "::127.0.0.1",
            "::10.0.0.1",
            "::169.254.169.254",
            "::8.8.8.8",
            "::0.0.0.2",
            // Teredo.
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(non_public_reason(ip(bad)).is_some(), "{bad}");
        }
        for good in [
            "64:ff9b::8.8.8.8",
            "64:ff9b::93.184.216.34",
            "2002:5db8:d822::1",
            "2001:4860:4860::8888",
            "2001:1::1",
            "64:ff9a::10.0.0.1",
            "64:ff9b:2::10.0.0.1",
            "2003::a00:1",
        ] {
            assert_eq!(non_public_reason(ip(good)), None, "{good}");
        }
    }

    #[test]
    fn an_embedded_address_is_named_in_the_reason() {
        let reason = |s: &str| non_public_reason(ip(s)).unwrap_or_default();
        assert_eq!(
            reason("64:ff9b::10.0.0.1"),
            "a NAT64 address of 10.0.0.1, a private network address"
        );
        assert_eq!(
            reason("2002:a9fe:a9fe::"),
            "a 6to4 address of 169.254.169.254, a link-local address (such as a cloud metadata service)"
        );
        assert_eq!(
            reason("::127.0.0.1"),
            "an IPv4-compatible address of 127.0.0.1, a loopback address"
        );
        assert_eq!(reason("::8.8.8.8"), "a deprecated IPv4-compatible address");
        assert_eq!(reason("64:ff9b:1::1"), "a local-use NAT64 address");
        assert_eq!(reason("2001::1"), "a Teredo tunnel address");
        // `::` and `::1` keep their own reasons.
        assert_eq!(reason("::"), "an unspecified address");
        assert_eq!(reason("::1"), "a loopback address");
        let refused = AllowList::default()
            .check(ip("64:ff9b::127.0.0.1"))
            .unwrap_err();
        assert!(
            refused.contains("NAT64") && refused.contains("127.0.0.1, a loopback address"),
            "{refused}"
        );
    }

    #[test]
    fn the_allow_list_admits_an_embedding_address_only_as_written() {
        let list = AllowList::parse("64:ff9b::/96, 2002:a00:1::1, ::10.0.0.1, 2001::/32").unwrap();
        for allowed in [
            "64:ff9b::10.0.0.1",
            "64:ff9b::127.0.0.1",
            "2002:a00:1::1",
            "::10.0.0.1",
            "2001::1",
        ] {
            assert!(list.check(ip(allowed)).is_ok(), "{allowed}");
        }
        for refused in ["2002:a00:1::2", "::10.0.0.2", "64:ff9b:1::1"] {
            assert!(list.check(ip(refused)).is_err(), "{refused}");
        }
        // The IPv4 range does not cover the NAT64 address: a gateway may see another network.
        let v4_only = AllowList::parse("10.0.0.0/8").unwrap();
        assert!(v4_only.check(ip("10.0.0.1")).is_ok());
        assert!(v4_only.check(ip("::ffff:10.0.0.1")).is_ok());
        assert!(v4_only.check(ip("64:ff9b::10.0.0.1")).is_err());
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
