//! IP address ranges for the `cidr` operator and for exact matches on IP address strings
//! (EventBridge compares a pattern value that looks like an IP address as an address, so
//! `"::1"` matches `"0:0:0:0:0:0:0:1"`). IPv4 and IPv6 are separate spaces.

use std::net::IpAddr;

/// An inclusive range of addresses of one family.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct IpRange {
    low: u128,
    high: u128,
    v6: bool,
}

impl IpRange {
    /// Parse a `cidr` operand, with AWS's reasons for each way it can be malformed.
    pub(crate) fn parse_cidr(text: &str) -> Result<IpRange, String> {
        let parts: Vec<&str> = text.split('/').collect();
        if parts.len() != 2 {
            return Err("Malformed CIDR, one '/' required".into());
        }
        let bits: i64 = parts[1]
            .parse()
            .map_err(|_| "Malformed CIDR, mask bits must be an integer".to_string())?;
        if bits < 0 {
            return Err("Malformed CIDR, mask bits must not be negative".into());
        }
        let address = parse_ip(parts[0])?;
        let (value, width, v6) = match address {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32u32, false),
            IpAddr::V6(v6) => (u128::from(v6), 128u32, true),
        };
        if !v6 && bits > 31 {
            return Err("IPv4 mask bits must be < 32".into());
        }
        if v6 && bits > 127 {
            return Err("IPv6 mask bits must be < 128".into());
        }
        let host_bits = width - u32::try_from(bits).unwrap_or(0);
        let host_mask: u128 = if host_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        // AWS keeps the given address as the bottom of the range (it does not clear host bits).
        Ok(IpRange {
            low: value,
            high: value | host_mask,
            v6,
        })
    }

    /// A single address, if `text` looks like and parses as an IP address.
    pub(crate) fn single(text: &str) -> Option<IpRange> {
        let (value, v6) = ip_value(text)?;
        Some(IpRange {
            low: value,
            high: value,
            v6,
        })
    }

    /// Whether an event string is an address inside this range.
    pub(crate) fn contains(&self, text: &str) -> bool {
        match ip_value(text) {
            Some((value, v6)) => v6 == self.v6 && self.low <= value && value <= self.high,
            None => false,
        }
    }
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    if !looks_like_ip(text) {
        return Err(format!("Nonstandard IP address: {text}"));
    }
    text.parse::<IpAddr>()
        .map_err(|_| format!("Invalid IP address: {text}"))
}

/// The cheap shape test AWS applies before parsing (four dotted numbers, or hex with a colon).
fn looks_like_ip(text: &str) -> bool {
    let v4 = text.split('.').count() == 4
        && text
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    let v6 = text.contains(':') && text.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
    v4 || v6
}

fn ip_value(text: &str) -> Option<(u128, bool)> {
    if !looks_like_ip(text) {
        return None;
    }
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some((u128::from(u32::from(v4)), false)),
        IpAddr::V6(v6) => Some((u128::from(v6), true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_block_contains_its_addresses_only() {
        let range = IpRange::parse_cidr("10.0.0.0/24").unwrap();
        assert!(range.contains("10.0.0.0"));
        assert!(range.contains("10.0.0.255"));
        assert!(!range.contains("10.0.1.0"));
        assert!(!range.contains("not an ip"));
        assert!(!range.contains("::ffff:10.0.0.1"));
    }

    #[test]
    fn ipv6_block_contains_its_addresses_only() {
        let range = IpRange::parse_cidr("2001:db8::/32").unwrap();
        assert!(range.contains("2001:db8::1"));
        assert!(range.contains("2001:0db8:ffff::"));
        assert!(!range.contains("2001:db9::"));
        assert!(!range.contains("10.0.0.1"));
    }

    #[test]
    fn malformed_cidrs_are_rejected_with_aws_reasons() {
        let reason = |t: &str| IpRange::parse_cidr(t).unwrap_err();
        assert_eq!(reason("10.0.0.0"), "Malformed CIDR, one '/' required");
        assert_eq!(
            reason("10.0.0.0/a"),
            "Malformed CIDR, mask bits must be an integer"
        );
        assert_eq!(
            reason("10.0.0.0/-1"),
            "Malformed CIDR, mask bits must not be negative"
        );
        assert_eq!(reason("10.0.0.0/32"), "IPv4 mask bits must be < 32");
        assert_eq!(reason("::/128"), "IPv6 mask bits must be < 128");
        assert_eq!(
            reason("host.example/8"),
            "Nonstandard IP address: host.example"
        );
        assert_eq!(reason("300.0.0.0/8"), "Invalid IP address: 300.0.0.0");
    }

    #[test]
    fn single_addresses_compare_as_addresses() {
        let one = IpRange::single("::1").unwrap();
        assert!(one.contains("0:0:0:0:0:0:0:1"));
        assert!(IpRange::single("example").is_none());
    }
}
