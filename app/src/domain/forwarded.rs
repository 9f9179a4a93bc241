//! Which address a request came from, behind reverse proxies. `X-Forwarded-For` is a list each
//! proxy appends the address it received the request from to; everything left of what a proxy
//! the operator trusts appended may have been written by the client, so the list is read from
//! the right, past the trusted proxies, and only when the connection itself comes from one.

use super::address::AllowList;
use std::net::IpAddr;

/// The client's address: the TCP peer, unless the peer is a trusted proxy; then the rightmost
/// `X-Forwarded-For` entry that is not itself a trusted proxy. `header_lines` are the header's
/// values in the order received (several lines form one list). When every entry is a trusted
/// proxy, the leftmost is the client; an entry that is not an address ends the walk there
/// (what a trusted proxy wrote is used as written, for throttling and logs).
pub fn client_address(peer: IpAddr, header_lines: &[&str], trusted: &AllowList) -> String {
    if !trusted.allows(peer) {
        return peer.to_string();
    }
    let entries: Vec<&str> = header_lines
        .iter()
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    let mut client = None;
    for entry in entries.iter().rev() {
        client = Some(*entry);
        match entry.parse::<IpAddr>() {
            Ok(ip) if trusted.allows(ip) => continue,
            _ => break,
        }
    }
    client.map_or_else(|| peer.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(list: &str) -> AllowList {
        AllowList::parse(list).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_direct_client_is_its_peer_whatever_it_sends() {
        let trusted = proxies("10.0.0.0/8");
        let forged = ["1.2.3.4"];
        assert_eq!(
            client_address(ip("203.0.113.9"), &forged, &trusted),
            "203.0.113.9"
        );
        assert_eq!(
            client_address(ip("203.0.113.9"), &[], &proxies("")),
            "203.0.113.9"
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_entry_it_appended_is_the_client() {
        let trusted = proxies("10.0.0.0/8");
        // The client forged "1.1.1.1"; the proxy appended the address it saw.
        let lines = ["1.1.1.1, 203.0.113.7"];
        assert_eq!(
            client_address(ip("10.0.0.2"), &lines, &trusted),
            "203.0.113.7"
        );
    }

    #[test]
    fn a_forged_first_header_line_does_not_win() {
        // The client sent its own X-Forwarded-For line; the proxy added a second one.
        let trusted = proxies("10.0.0.0/8");
        let lines = ["6.6.6.6", "203.0.113.7"];
        assert_eq!(
            client_address(ip("10.0.0.2"), &lines, &trusted),
            "203.0.113.7"
        );
    }

    #[test]
    fn trusted_hops_are_skipped_from_the_right() {
        let trusted = proxies("10.0.0.0/8, 192.0.2.10");
        let lines = ["9.9.9.9, 198.51.100.4, 192.0.2.10, 10.1.1.1"];
        assert_eq!(
            client_address(ip("10.0.0.2"), &lines, &trusted),
            "198.51.100.4"
        );
    }

    #[test]
    fn a_chain_of_only_proxies_or_none_falls_back_sensibly() {
        let trusted = proxies("10.0.0.0/8");
        assert_eq!(
            client_address(ip("10.0.0.2"), &["10.0.0.9, 10.0.0.5"], &trusted),
            "10.0.0.9"
        );
        assert_eq!(client_address(ip("10.0.0.2"), &[], &trusted), "10.0.0.2");
        assert_eq!(
            client_address(ip("10.0.0.2"), &[" , "], &trusted),
            "10.0.0.2"
        );
    }
}
