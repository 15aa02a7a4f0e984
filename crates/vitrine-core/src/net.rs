//! Client addresses: CIDR blocks (which peers are trusted proxies) and the part of an address a
//! throttle counts by.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket reports for an IPv4
//! client) are treated as the IPv4 address they carry, everywhere in this module.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// A block of addresses: `10.0.0.0/8`, `2001:db8::/32`, or one address (`192.0.2.7`, which is
/// `/32`; `::1`, which is `/128`). Bits past the prefix must be zero, so a typo such as
/// `10.0.0.1/8` is refused rather than silently widened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a CIDR block did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an address or a CIDR block (such as 10.0.0.0/8 or 2001:db8::/32)")]
pub struct CidrError(pub String);

impl Cidr {
    /// Parses `address` or `address/prefix`.
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        let bad = || CidrError(text.to_owned());
        let (address, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let network = canonical(address.parse::<IpAddr>().map_err(|_| bad())?);
        let width = bits(network);
        let prefix = match prefix {
            None => width,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                let p: u8 = p.parse().map_err(|_| bad())?;
                // An IPv4-mapped block (`::ffff:10.0.0.0/104`) becomes its IPv4 block.
                let p = match (address.parse::<IpAddr>(), network) {
                    (Ok(IpAddr::V6(_)), IpAddr::V4(_)) => p.checked_sub(96).ok_or_else(bad)?,
                    _ => p,
                };
                if p > width {
                    return Err(bad());
                }
                p
            }
            Some(_) => return Err(bad()),
        };
        if masked(network, prefix) != network {
            return Err(bad());
        }
        Ok(Self { network, prefix })
    }

    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.network.is_ipv4() && masked(ip, self.prefix) == self.network
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// `ip` with an IPv4-mapped IPv6 address turned into its IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// The part of `ip` a throttle counts by: the whole IPv4 address, but only the /64 prefix of
/// an IPv6 address — one subscriber usually holds a whole /64, and counting its 2^64
/// addresses one by one would let it guess without limit.
pub fn throttle_prefix(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        v6 @ IpAddr::V6(_) => masked(v6, 64),
    }
}

fn bits(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn masked(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn blocks_contain_their_addresses_and_nothing_else() {
        let private = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(private.contains(ip("10.255.0.1")));
        assert!(!private.contains(ip("11.0.0.1")));
        assert!(
            private.contains(ip("::ffff:10.1.2.3")),
            "an IPv4 client on a dual-stack socket"
        );
        let one = Cidr::parse("192.0.2.7").unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(!v6.contains(ip("10.0.0.1")));
        let everyone = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(everyone.contains(ip("203.0.113.1")) && !everyone.contains(ip("::1")));
        assert!(Cidr::parse("::1").unwrap().contains(ip("::1")));
        let mapped = Cidr::parse("::ffff:10.0.0.0/104").unwrap();
        assert_eq!(mapped, private);
        assert_eq!(private.to_string(), "10.0.0.0/8");
    }

    #[test]
    fn malformed_or_ambiguous_blocks_are_refused() {
        for text in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.1/8",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "2001:db8::/129",
            "example.com",
            "10.0.0.0 /8",
            "::ffff:10.0.0.0/8",
        ] {
            assert!(Cidr::parse(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn a_throttle_counts_ipv6_by_its_slash_64() {
        assert_eq!(
            throttle_prefix(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            throttle_prefix(ip("2001:db8:1:2::1")),
            throttle_prefix(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            throttle_prefix(ip("2001:db8:1:2::1")),
            throttle_prefix(ip("2001:db8:1:3::1"))
        );
        assert_eq!(throttle_prefix(ip("192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(throttle_prefix(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }
}
