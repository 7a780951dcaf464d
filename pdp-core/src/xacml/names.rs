//! The XACML name data types (core spec A.2): X.500 distinguished names, RFC 822 mailbox names,
//! IP addresses and DNS names.
//!
//! Each type keeps the text as written (so that it prints back unchanged) next to the parsed,
//! normalised form that the matching functions of A.3.1, A.3.13 and A.3.14 need. Parsing happens
//! once, when a policy or request is read, never during evaluation.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------------------------
// x500Name

/// One attribute type and value of an RDN, normalised for comparison: the type upper-cased with
/// well-known OIDs mapped to their short names, the value unescaped, with runs of white space
/// collapsed and lower-cased (RFC 3280 4.1.2.4 / RFC 4518 caseIgnoreMatch, simplified).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Ava {
    attr_type: String,
    value: String,
}

/// A relative distinguished name: its attribute-value pairs sorted, so that multi-valued RDNs
/// compare independently of the order in which they were written (X.690 11.6 set-of order).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rdn(Vec<Ava>);

/// `x500Name`: an X.500 distinguished name in the RFC 2253 string form.
#[derive(Clone, Debug)]
pub struct X500Name {
    text: Box<str>,
    /// RDNs in written order: most specific first (`cn=...` before `c=US`).
    rdns: Vec<Rdn>,
}

impl X500Name {
    /// Parses an RFC 2253 distinguished name (`cn=John Smith, o=Medico Corp, c=US`); also
    /// accepts `;` as RDN separator and quoted values, as RFC 1779 did.
    pub fn parse(s: &str) -> Result<X500Name, &'static str> {
        Ok(X500Name {
            text: s.into(),
            rdns: parse_dn(s)?,
        })
    }

    /// `x500Name-equal`: every RDN matches, in order.
    pub fn equals(&self, other: &X500Name) -> bool {
        self.rdns == other.rdns
    }

    /// `x500Name-match` with `self` as the first argument: true when `self` matches a terminal
    /// sequence of RDNs of `name` (for example `o=Medico Corp, c=US` matches
    /// `cn=John Smith, o=Medico Corp, c=US`).
    pub fn is_suffix_of(&self, name: &X500Name) -> bool {
        name.rdns.ends_with(&self.rdns)
    }
}

impl fmt::Display for X500Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn normalise_type(t: &str) -> Result<String, &'static str> {
    let t = t.trim();
    if t.is_empty() {
        return Err("an attribute type is empty");
    }
    let t = t
        .strip_prefix("OID.")
        .or_else(|| t.strip_prefix("oid."))
        .unwrap_or(t);
    if !t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err("an attribute type may hold only letters, digits, '-' and '.'");
    }
    let upper = t.to_ascii_uppercase();
    let short = match upper.as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.12" => "TITLE",
        "0.9.2342.19200300.100.1.1" => "UID",
        "0.9.2342.19200300.100.1.25" => "DC",
        "1.2.840.113549.1.9.1" | "E" => "EMAILADDRESS",
        _ => return Ok(upper),
    };
    Ok(short.to_owned())
}

fn normalise_value(v: &str) -> String {
    v.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn hex_val(c: char) -> Option<u8> {
    c.to_digit(16).map(|d| d as u8)
}

/// Splits and unescapes a distinguished name into RDNs.
fn parse_dn(s: &str) -> Result<Vec<Rdn>, &'static str> {
    let chars: Vec<char> = s.chars().collect();
    let mut rdns = Vec::new();
    if s.trim().is_empty() {
        return Ok(rdns);
    }
    let mut i = 0;
    let mut avas = Vec::new();
    loop {
        // Attribute type, up to '='.
        let start = i;
        while i < chars.len() && chars[i] != '=' {
            if matches!(chars[i], ',' | ';' | '+') {
                return Err("expected '=' after an attribute type");
            }
            i += 1;
        }
        if i >= chars.len() {
            return Err("expected '=' after an attribute type");
        }
        let attr_type = normalise_type(&chars[start..i].iter().collect::<String>())?;
        i += 1; // '='
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        // Attribute value.
        let value = if chars.get(i) == Some(&'#') {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i].is_ascii_hexdigit() {
                i += 1;
            }
            if (i - start - 1) % 2 != 0 || i - start == 1 {
                return Err("a '#' value needs an even number of hex digits");
            }
            chars[start..i].iter().collect::<String>().to_lowercase()
        } else if chars.get(i) == Some(&'"') {
            i += 1;
            let mut out = String::new();
            loop {
                match chars.get(i) {
                    None => return Err("unterminated quoted value"),
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        let c = chars.get(i + 1).ok_or("a '\\' ends the name")?;
                        out.push(*c);
                        i += 2;
                    }
                    Some(c) => {
                        out.push(*c);
                        i += 1;
                    }
                }
            }
            normalise_value(&out)
        } else {
            let mut bytes: Vec<u8> = Vec::new();
            let mut buf = [0u8; 4];
            while i < chars.len() && !matches!(chars[i], ',' | ';' | '+') {
                if chars[i] == '\\' {
                    let c1 = *chars.get(i + 1).ok_or("a '\\' ends the name")?;
                    if let (Some(h), Some(l)) =
                        (hex_val(c1), chars.get(i + 2).copied().and_then(hex_val))
                    {
                        bytes.push(h * 16 + l);
                        i += 3;
                    } else if matches!(
                        c1,
                        ',' | '=' | '+' | '<' | '>' | '#' | ';' | '\\' | '"' | ' '
                    ) {
                        bytes.extend_from_slice(c1.encode_utf8(&mut buf).as_bytes());
                        i += 2;
                    } else {
                        return Err("invalid escape sequence");
                    }
                } else if chars[i] == '"' {
                    return Err("a '\"' inside a value must be escaped");
                } else {
                    bytes.extend_from_slice(chars[i].encode_utf8(&mut buf).as_bytes());
                    i += 1;
                }
            }
            let text = String::from_utf8(bytes).map_err(|_| "escaped bytes are not UTF-8")?;
            normalise_value(&text)
        };
        avas.push(Ava { attr_type, value });
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        match chars.get(i) {
            None => {
                avas.sort();
                rdns.push(Rdn(std::mem::take(&mut avas)));
                return Ok(rdns);
            }
            Some('+') => i += 1,
            Some(',' | ';') => {
                avas.sort();
                rdns.push(Rdn(std::mem::take(&mut avas)));
                i += 1;
            }
            Some(_) => return Err("unexpected text after a quoted or '#' value"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// rfc822Name

/// `rfc822Name`: an electronic mail address `local-part@domain`. The local part is case
/// sensitive, the domain is not (A.3.1 `rfc822Name-equal`).
#[derive(Clone, Debug)]
pub struct Rfc822Name {
    text: Box<str>,
    at: usize,
    domain_lower: Box<str>,
}

impl Rfc822Name {
    /// Parses `local@domain`; both parts must be non-empty and free of white space.
    pub fn parse(s: &str) -> Result<Rfc822Name, &'static str> {
        let at = s.rfind('@').ok_or("expected 'local-part@domain'")?;
        let (local, domain) = (&s[..at], &s[at + 1..]);
        if local.is_empty() || domain.is_empty() {
            return Err("the local part and the domain must not be empty");
        }
        if s.chars().any(char::is_whitespace) {
            return Err("a mail address may not contain white space");
        }
        if domain.contains('@') || domain.starts_with('.') || domain.ends_with('.') {
            return Err("invalid domain");
        }
        Ok(Rfc822Name {
            text: s.into(),
            at,
            domain_lower: domain.to_ascii_lowercase().into(),
        })
    }

    pub fn local_part(&self) -> &str {
        &self.text[..self.at]
    }

    /// The domain, lower-cased.
    pub fn domain(&self) -> &str {
        &self.domain_lower
    }

    /// `rfc822Name-equal`: local parts equal, domains equal ignoring case.
    pub fn equals(&self, other: &Rfc822Name) -> bool {
        self.local_part() == other.local_part() && self.domain_lower == other.domain_lower
    }

    /// `rfc822Name-match` (A.3.14) with `pattern` as the first argument. The pattern is one of:
    /// a whole mailbox (`Anderson@sun.com`: local part exact, domain ignoring case); a domain
    /// (`sun.com`: any mailbox at exactly that host); or a domain starting with `.`
    /// (`.east.sun.com`: any mailbox in a sub-domain of `east.sun.com`).
    pub fn matches_pattern(&self, pattern: &str) -> bool {
        if let Some(at) = pattern.rfind('@') {
            self.local_part() == &pattern[..at]
                && self.domain_lower.eq_ignore_ascii_case(&pattern[at + 1..])
        } else if pattern.starts_with('.') {
            let d = self.domain_lower.as_bytes();
            let p = pattern.as_bytes();
            d.len() > p.len() && d[d.len() - p.len()..].eq_ignore_ascii_case(p)
        } else {
            self.domain_lower.eq_ignore_ascii_case(pattern)
        }
    }
}

impl fmt::Display for Rfc822Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

// ---------------------------------------------------------------------------------------------
// port ranges

/// A port range `n`, `-n`, `n-` or `n-m` (A.2 ipAddress and dnsName); an open end is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    pub low: Option<u16>,
    pub high: Option<u16>,
}

impl PortRange {
    fn parse(s: &str) -> Result<PortRange, &'static str> {
        fn port(p: &str) -> Result<u16, &'static str> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err("a port must be a decimal number");
            }
            p.parse().map_err(|_| "a port must be at most 65535")
        }
        match s.split_once('-') {
            None => {
                let p = port(s)?;
                Ok(PortRange {
                    low: Some(p),
                    high: Some(p),
                })
            }
            Some(("", "")) => Err("a port range needs at least one port"),
            Some((lo, hi)) => {
                let low = if lo.is_empty() { None } else { Some(port(lo)?) };
                let high = if hi.is_empty() { None } else { Some(port(hi)?) };
                if let (Some(l), Some(h)) = (low, high) {
                    if l > h {
                        return Err("the port range is reversed");
                    }
                }
                Ok(PortRange { low, high })
            }
        }
    }

    /// Whether `port` lies in the range.
    pub fn contains(&self, port: u16) -> bool {
        self.low.is_none_or(|l| port >= l) && self.high.is_none_or(|h| port <= h)
    }
}

// ---------------------------------------------------------------------------------------------
// ipAddress

/// `ipAddress`: `address [ "/" mask ] [ ":" [ portrange ] ]`; IPv6 address and mask are written
/// in brackets as in RFC 2732 (`[::1]/[ffff::]:80-443`).
#[derive(Clone, Debug)]
pub struct IpAddress {
    text: Box<str>,
    pub address: IpAddr,
    pub mask: Option<IpAddr>,
    pub ports: Option<PortRange>,
}

impl IpAddress {
    pub fn parse(s: &str) -> Result<IpAddress, &'static str> {
        let (address, mask, rest) = if let Some(v6) = s.strip_prefix('[') {
            let (addr, rest) = v6
                .split_once(']')
                .ok_or("expected ']' after an IPv6 address")?;
            let address = IpAddr::V6(
                addr.parse::<Ipv6Addr>()
                    .map_err(|_| "invalid IPv6 address")?,
            );
            let (mask, rest) = if let Some(m) = rest.strip_prefix("/[") {
                let (m, rest) = m.split_once(']').ok_or("expected ']' after an IPv6 mask")?;
                let mask = IpAddr::V6(m.parse::<Ipv6Addr>().map_err(|_| "invalid IPv6 mask")?);
                (Some(mask), rest)
            } else {
                (None, rest)
            };
            (address, mask, rest)
        } else {
            let end = s.find([':', '/']).unwrap_or(s.len());
            let address = IpAddr::V4(
                s[..end]
                    .parse::<Ipv4Addr>()
                    .map_err(|_| "invalid IPv4 address")?,
            );
            let rest = &s[end..];
            let (mask, rest) = if let Some(m) = rest.strip_prefix('/') {
                let end = m.find(':').unwrap_or(m.len());
                let mask = IpAddr::V4(
                    m[..end]
                        .parse::<Ipv4Addr>()
                        .map_err(|_| "invalid IPv4 mask")?,
                );
                (Some(mask), &m[end..])
            } else {
                (None, rest)
            };
            (address, mask, rest)
        };
        let ports = match rest.strip_prefix(':') {
            None if rest.is_empty() => None,
            None => return Err("unexpected text after the address"),
            Some("") => None,
            Some(p) => Some(PortRange::parse(p)?),
        };
        Ok(IpAddress {
            text: s.into(),
            address,
            mask,
            ports,
        })
    }

    /// Same address, mask and port range.
    pub fn equals(&self, other: &IpAddress) -> bool {
        self.address == other.address && self.mask == other.mask && self.ports == other.ports
    }
}

impl fmt::Display for IpAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

// ---------------------------------------------------------------------------------------------
// dnsName

/// `dnsName`: `hostname [ ":" portrange ]`, where the host name may start with `*.` to stand for
/// any sub-domain (A.2).
#[derive(Clone, Debug)]
pub struct DnsName {
    text: Box<str>,
    host_lower: Box<str>,
    pub ports: Option<PortRange>,
}

impl DnsName {
    pub fn parse(s: &str) -> Result<DnsName, &'static str> {
        let (host, ports) = match s.split_once(':') {
            None => (s, None),
            Some((h, "")) => (h, None),
            Some((h, p)) => (h, Some(PortRange::parse(p)?)),
        };
        let trimmed = host.strip_suffix('.').unwrap_or(host);
        let body = trimmed.strip_prefix("*.").unwrap_or(trimmed);
        if body.is_empty() {
            return Err("the host name is empty");
        }
        for label in body.split('.') {
            let ok = !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err("a host name label must be letters, digits and inner '-'");
            }
        }
        Ok(DnsName {
            text: s.into(),
            host_lower: trimmed.to_ascii_lowercase().into(),
            ports,
        })
    }

    /// The host name, lower-cased, without a trailing dot (may start with `*.`).
    pub fn host(&self) -> &str {
        &self.host_lower
    }

    /// Same host name (ignoring case) and port range.
    pub fn equals(&self, other: &DnsName) -> bool {
        self.host_lower == other.host_lower && self.ports == other.ports
    }
}

impl fmt::Display for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(s: &str) -> X500Name {
        X500Name::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn x500_equal_normalises_per_rfc_2253_and_3280() {
        // Spaces around separators, case of types and values, OID forms.
        assert!(dn("cn=Julius Hibbert, o=Medi Corporation, c=US")
            .equals(&dn("CN=julius  hibbert,O=Medi Corporation,C=us")));
        assert!(dn("2.5.4.3=John,C=US").equals(&dn("cn=John, c=US")));
        // Multi-valued RDNs compare regardless of order.
        assert!(dn("ou=Sales+cn=J. Smith,o=Acme").equals(&dn("cn=J. Smith+ou=Sales,o=Acme")));
        // Escapes (RFC 2253 section 5).
        assert!(dn("cn=Smith\\, John,o=Acme").equals(&dn("cn=\"Smith, John\",o=Acme")));
        assert!(dn("cn=L\\C3\\A9a").equals(&dn("cn=Léa")));
        // Order of RDNs matters.
        assert!(!dn("cn=John,o=Acme").equals(&dn("o=Acme,cn=John")));
        assert!(!dn("cn=John,o=Acme").equals(&dn("cn=Jon,o=Acme")));
        assert_eq!(dn("cn=A , o=B").to_string(), "cn=A , o=B");
    }

    #[test]
    fn x500_match_is_a_terminal_rdn_sequence() {
        // A.3.14 x500Name-match example.
        let name = dn("cn=John Smith, o=Medico Corp, c=US");
        assert!(dn("o=Medico Corp, c=US").is_suffix_of(&name));
        assert!(dn("c=US").is_suffix_of(&name));
        assert!(name.is_suffix_of(&name));
        assert!(!dn("cn=John Smith, o=Medico Corp").is_suffix_of(&name));
        assert!(!dn("o=Medico Corp").is_suffix_of(&name));
    }

    #[test]
    fn x500_rejects_malformed_names() {
        for bad in [
            "cn",
            "cn=a,",
            "=a",
            "cn=a\\",
            "cn=a\\q",
            "cn=\"open",
            "cn=#abc",
            "c n=x",
        ] {
            assert!(X500Name::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn rfc822_equal_ignores_domain_case_only() {
        // A.3.1 rfc822Name-equal example.
        let a = Rfc822Name::parse("Anderson@SUN.COM").unwrap();
        assert!(a.equals(&Rfc822Name::parse("Anderson@sun.com").unwrap()));
        assert!(!a.equals(&Rfc822Name::parse("anderson@sun.com").unwrap()));
        assert_eq!(a.to_string(), "Anderson@SUN.COM");
        for bad in ["anderson", "@sun.com", "anderson@", "a b@sun.com"] {
            assert!(Rfc822Name::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn rfc822_match_pattern_forms() {
        // A.3.14 examples.
        let n = |s| Rfc822Name::parse(s).unwrap();
        assert!(n("Anderson@sun.com").matches_pattern("Anderson@sun.com"));
        assert!(n("Anderson@SUN.COM").matches_pattern("Anderson@sun.com"));
        assert!(!n("anderson@sun.com").matches_pattern("Anderson@sun.com"));
        assert!(!n("Anderson@east.sun.com").matches_pattern("Anderson@sun.com"));
        assert!(n("anderson@sun.com").matches_pattern("sun.com"));
        assert!(n("Baxter@SUN.COM").matches_pattern("sun.com"));
        assert!(!n("Anderson@east.sun.com").matches_pattern("sun.com"));
        assert!(n("anderson@isrg.east.sun.com").matches_pattern(".east.sun.com"));
        assert!(n("anne.anderson@ISRG.EAST.SUN.COM").matches_pattern(".east.sun.com"));
        assert!(!n("anderson@east.sun.com").matches_pattern(".east.sun.com"));
    }

    #[test]
    fn ip_address_forms() {
        let ip = IpAddress::parse("35.123.111.56/255.64.32.255:9999").unwrap();
        assert_eq!(ip.address, "35.123.111.56".parse::<IpAddr>().unwrap());
        assert_eq!(ip.mask, Some("255.64.32.255".parse::<IpAddr>().unwrap()));
        assert_eq!(
            ip.ports,
            Some(PortRange {
                low: Some(9999),
                high: Some(9999)
            })
        );
        assert_eq!(ip.to_string(), "35.123.111.56/255.64.32.255:9999");
        let ip = IpAddress::parse("[2001:db8::1]/[ffff:ffff::]:80-443").unwrap();
        assert!(ip.ports.unwrap().contains(443) && !ip.ports.unwrap().contains(444));
        assert!(IpAddress::parse("10.0.0.1:-1024")
            .unwrap()
            .ports
            .unwrap()
            .contains(1));
        assert!(IpAddress::parse("10.0.0.1:").unwrap().ports.is_none());
        for bad in [
            "10.0.0",
            "10.0.0.256",
            "::1",
            "[::1",
            "10.0.0.1/255",
            "10.0.0.1:x",
            "10.0.0.1:9-8",
            "10.0.0.1:70000",
        ] {
            assert!(IpAddress::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn dns_name_forms() {
        let d = DnsName::parse("some.host.name:147-874").unwrap();
        assert_eq!(d.host(), "some.host.name");
        assert_eq!(
            d.ports,
            Some(PortRange {
                low: Some(147),
                high: Some(874)
            })
        );
        let d = DnsName::parse("a.different.host:-45").unwrap();
        assert_eq!(
            d.ports,
            Some(PortRange {
                low: None,
                high: Some(45)
            })
        );
        assert_eq!(
            DnsName::parse("*.Example.COM").unwrap().host(),
            "*.example.com"
        );
        assert!(DnsName::parse("Example.com")
            .unwrap()
            .equals(&DnsName::parse("example.com").unwrap()));
        for bad in ["", "*.", "a..b", "-a.com", "a.com:x", "a b.com", "a.*.com"] {
            assert!(DnsName::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
