//! Which addresses an import may connect to: the SSRF address classifier.
//!
//! Everything that is not a public unicast address is refused: loopback, private (RFC 1918),
//! link-local (cloud metadata at 169.254.169.254 included), CGNAT, multicast, broadcast,
//! unspecified, reserved and documentation ranges, IPv4-mapped and other IPv6 forms that
//! embed an IPv4 address, and IPv6 unique-local and site-local addresses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Which addresses imports may reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Lift the check entirely (`INTAKE_IMPORT_ALLOW_PRIVATE=1`): for local testing only.
    pub allow_private: bool,
    /// Addresses allowed although their class is refused (an internal mirror, say).
    pub allowed: Vec<IpAddr>,
}

impl AddressPolicy {
    /// `Err` names the class of `ip` when an import may not connect to it.
    pub fn check(&self, ip: IpAddr) -> Result<(), &'static str> {
        if self.allow_private || self.allowed.contains(&ip) {
            return Ok(());
        }
        match forbidden_class(ip) {
            Some(class) => Err(class),
            None => Ok(()),
        }
    }
}

/// The class of a non-public address, or `None` for a public unicast address.
pub fn forbidden_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => v6_class(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    const CLASSES: &[([u8; 4], u32, &str)] = &[
        ([0, 0, 0, 0], 8, "unspecified (0.0.0.0/8)"),
        ([127, 0, 0, 0], 8, "loopback"),
        ([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
        ([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
        ([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
        ([169, 254, 0, 0], 16, "link-local (169.254.0.0/16, where cloud metadata services live)"),
        ([100, 64, 0, 0], 10, "carrier-grade NAT (100.64.0.0/10)"),
        ([192, 0, 0, 0], 24, "reserved (192.0.0.0/24)"),
        ([192, 0, 2, 0], 24, "documentation (192.0.2.0/24)"),
        ([198, 51, 100, 0], 24, "documentation (198.51.100.0/24)"),
        ([203, 0, 113, 0], 24, "documentation (203.0.113.0/24)"),
        ([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
        ([224, 0, 0, 0], 4, "multicast"),
        ([255, 255, 255, 255], 32, "broadcast"),
        ([240, 0, 0, 0], 4, "reserved (240.0.0.0/4)"),
    ];
    CLASSES.iter().find(|(net, prefix, _)| in_v4(ip, *net, *prefix)).map(|(_, _, class)| *class)
}

fn v6_class(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some("unspecified (::)");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if s[0..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff {
        return Some("IPv4-mapped IPv6 (::ffff:0:0/96)");
    }
    if s[0..6] == [0, 0, 0, 0, 0, 0] {
        return Some("IPv4-compatible IPv6 (::/96)");
    }
    if s[0] == 0x64 && s[1] == 0xff9b {
        return Some("NAT64 (64:ff9b::/96, embeds an IPv4 address)");
    }
    if s[0] == 0x2002 {
        return Some("6to4 (2002::/16, embeds an IPv4 address)");
    }
    if s[0] == 0x2001 && s[1] == 0 {
        return Some("Teredo (2001::/32, embeds an IPv4 address)");
    }
    if s[0] == 0x2001 && s[1] == 0x0db8 {
        return Some("documentation (2001:db8::/32)");
    }
    match s[0] {
        x if x & 0xfe00 == 0xfc00 => Some("unique-local IPv6 (fc00::/7)"),
        x if x & 0xffc0 == 0xfe80 => Some("link-local IPv6 (fe80::/10)"),
        x if x & 0xffc0 == 0xfec0 => Some("site-local IPv6 (fec0::/10)"),
        x if x & 0xff00 == 0xff00 => Some("multicast"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<&'static str> {
        forbidden_class(s.parse().unwrap())
    }

    #[test]
    fn every_forbidden_class_is_refused() {
        let cases = [
            ("127.0.0.1", "loopback"),
            ("127.8.9.10", "loopback"),
            ("::1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("fe80::1", "link-local"),
            ("100.64.0.1", "carrier-grade NAT"),
            ("100.127.255.254", "carrier-grade NAT"),
            ("224.0.0.1", "multicast"),
            ("239.255.255.250", "multicast"),
            ("ff02::1", "multicast"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
            ("::ffff:127.0.0.1", "IPv4-mapped"),
            ("::ffff:8.8.8.8", "IPv4-mapped"),
            ("fc00::1", "unique-local"),
            ("fd12:3456::1", "unique-local"),
            ("255.255.255.255", "broadcast"),
            ("64:ff9b::a9fe:a9fe", "NAT64"),
            ("2002:a9fe:a9fe::1", "6to4"),
        ];
        for (ip, expected) in cases {
            let got = class(ip).unwrap_or_else(|| panic!("{ip} must be refused"));
            assert!(got.contains(expected), "{ip}: {got} should say {expected}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "2a00:1450::1"] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn the_policy_can_lift_the_check() {
        let strict = AddressPolicy::default();
        assert!(strict.check("127.0.0.1".parse().unwrap()).is_err());
        let exception = AddressPolicy { allow_private: false, allowed: vec!["127.0.0.1".parse().unwrap()] };
        assert!(exception.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(exception.check("127.0.0.2".parse().unwrap()).is_err());
        let open = AddressPolicy { allow_private: true, allowed: vec![] };
        assert!(open.check("169.254.169.254".parse().unwrap()).is_ok());
    }
}
