//! SSRF guard: a callback URL is user input, so the notifier must not be aimed at loopback,
//! metadata services or the private network. The API checks IP-literal hosts at submit; the
//! notifier checks resolved addresses at connect. Both parse URLs here so they judge one host.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Non-public IPv4 blocks (RFC 6890 and successors): (network, prefix length).
const V4_BLOCKED: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network"
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // CGNAT
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local, cloud metadata
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast
    ([192, 168, 0, 0], 16),  // private
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation
    ([203, 0, 113, 0], 24),  // documentation
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, and 255.255.255.255 broadcast
];

/// Non-public blocks inside global unicast 2000::/3. Everything outside 2000::/3 is refused
/// anyway: ::, ::1, 64:ff9b:1::/48, 100::/64, fc00::/7, fe80::/10, fec0::/10, ff00::/8 and
/// unallocated space.
const V6_BLOCKED: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23), // IETF protocol assignments, Teredo
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16), // 6to4: reaches an arbitrary IPv4
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation (RFC 9637)
];

/// Link-local blocks, where cloud metadata services answer (169.254.169.254, Tencent's 169.254.0.23,
/// AWS's fd00:ec2::254): a callback there could read the host's credentials, so `true` keeps them shut.
const V4_LINK_LOCAL: ([u8; 4], u8) = ([169, 254, 0, 0], 16);
const V6_LINK_LOCAL: &[(Ipv6Addr, u8)] = &[
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
    (Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254), 128), // AWS IMDS over IPv6
];

/// Whether `ip` is link-local or a cloud metadata address, in any IPv6 spelling of an IPv4 one.
fn is_link_local_or_metadata(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_in(v4, Ipv4Addr::from(V4_LINK_LOCAL.0), V4_LINK_LOCAL.1),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_link_local_or_metadata(IpAddr::V4(v4)),
            None => V6_LINK_LOCAL.iter().any(|&(net, len)| v6_in(v6, net, len)),
        },
    }
}

/// Whether `ip` is a public unicast address a callback may reach.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !V4_BLOCKED.iter().any(|&(net, len)| v4_in(v4, Ipv4Addr::from(net), len)),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                v6_in(v6, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3)
                    && !V6_BLOCKED.iter().any(|&(net, len)| v6_in(v6, net, len))
            }
        },
    }
}

/// The IPv4 address an IPv6 one stands for, judged as that IPv4: mapped (::ffff:0:0/96),
/// compatible (::/96, which holds :: and ::1 too) and NAT64 (64:ff9b::/96).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let [a, b, c, d, e, f, _, _] = ip.segments();
    let low = Ipv4Addr::from(u128::from(ip) as u32);
    match (a, b, c, d, e, f) {
        (0, 0, 0, 0, 0, 0xffff) | (0, 0, 0, 0, 0, 0) | (0x64, 0xff9b, 0, 0, 0, 0) => Some(low),
        _ => None,
    }
}

fn v4_in(ip: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    prefix_eq(u32::from(ip).into(), u32::from(net).into(), len, 32)
}

fn v6_in(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    prefix_eq(ip.into(), net.into(), len, 128)
}

/// Whether the top `len` of `bits` bits of `a` and `b` agree.
fn prefix_eq(a: u128, b: u128, len: u8, bits: u8) -> bool {
    len == 0 || (a ^ b) >> (bits - len) == 0
}

/// Which callback addresses are allowed: public ones, plus private ones the operator opts into
/// with `STOWAWAY_CALLBACK_ALLOW_PRIVATE`. The default allows public addresses only; `true`
/// allows private ones except link-local and metadata ones, which only a CIDR listing them opens.
#[derive(Clone, Debug, Default)]
pub struct AddressPolicy {
    allow_private: bool,
    /// Extra networks, host bits cleared.
    allow_nets: Vec<(IpAddr, u8)>,
}

impl AddressPolicy {
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Every address except link-local and metadata ones (private deployments, tests).
    pub fn allow_private() -> Self {
        AddressPolicy { allow_private: true, allow_nets: Vec::new() }
    }

    /// Parses STOWAWAY_CALLBACK_ALLOW_PRIVATE's value: "true"/"1"/"yes" → allow all,
    /// "false"/"0"/"no"/"" → public only, otherwise a comma-separated list of CIDRs or single IPs
    /// (e.g. "10.0.0.0/8,192.168.1.7,fd00::/8") allowed in addition to public addresses.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => return Ok(Self::allow_private()),
            "false" | "0" | "no" | "" => return Ok(Self::public_only()),
            _ => {}
        }
        let allow_nets = value.split(',').map(str::trim).filter(|e| !e.is_empty()).map(parse_net);
        Ok(AddressPolicy { allow_private: false, allow_nets: allow_nets.collect::<Result<_, _>>()? })
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        // ::ffff:10.0.0.1 goes out as 10.0.0.1, so an allowed 10.0.0.0/8 covers it.
        let ip = ip.to_canonical();
        is_public(ip)
            || (self.allow_private && !is_link_local_or_metadata(ip))
            || self.allow_nets.iter().any(|&(net, len)| net_contains(net, len, ip))
    }

    /// Submit-time check of a callback URL: http or https, a host, and an IP-literal or
    /// `localhost` host this policy permits. Names are not resolved here (the notifier checks the
    /// resolved addresses when it connects).
    pub fn check_url(&self, url: &str) -> Result<(), String> {
        let refused = |host: &str| {
            Err(format!(
                "callback URL host {host} is not a public address \
                 (STOWAWAY_CALLBACK_ALLOW_PRIVATE does not allow it)"
            ))
        };
        match parse_url(url)?.host {
            Host::Ip(ip) if !self.permits(ip) && is_link_local_or_metadata(ip) => Err(format!(
                "callback URL host {ip} is not a public address: it is link-local, where cloud \
                 metadata services answer (only a CIDR in STOWAWAY_CALLBACK_ALLOW_PRIVATE that \
                 contains it allows it, not true)"
            )),
            Host::Ip(ip) if !self.permits(ip) => refused(&ip.to_string()),
            Host::Name(name) if is_localhost(&name) => {
                let loopback = [IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)];
                if loopback.into_iter().any(|ip| self.permits(ip)) {
                    Ok(())
                } else {
                    refused(&name)
                }
            }
            _ => Ok(()),
        }
    }
}

fn parse_net(entry: &str) -> Result<(IpAddr, u8), String> {
    let bad = || {
        format!(
            "STOWAWAY_CALLBACK_ALLOW_PRIVATE: {entry:?} is not an IP address or CIDR block \
             (or true/false for all/none)"
        )
    };
    let (addr, len) = entry.split_once('/').map_or((entry, None), |(a, l)| (a, Some(l)));
    let ip: IpAddr = addr.trim().parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) if !l.trim().is_empty() && l.trim().bytes().all(|b| b.is_ascii_digit()) => {
            l.trim().parse().ok().filter(|&l| l <= max).ok_or_else(bad)?
        }
        Some(_) => return Err(bad()),
    };
    // Clear host bits: "192.168.1.7/24" means that /24.
    let net = match ip {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask(len, 32) as u32)),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask(len, 128))),
    };
    Ok((net, len))
}

fn mask(len: u8, bits: u8) -> u128 {
    let all = u128::MAX >> (128 - bits);
    if len == 0 {
        0
    } else {
        all & !all.checked_shr(len.into()).unwrap_or(0)
    }
}

fn net_contains(net: IpAddr, len: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => v4_in(ip, net, len),
        (IpAddr::V6(net), IpAddr::V6(ip)) => v6_in(ip, net, len),
        _ => false,
    }
}

fn is_localhost(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    name == "localhost" || name.ends_with(".localhost")
}

/// Host, port (default 80/443) and whether TLS, parsed from an http(s) URL. The host comes back
/// canonical: IP literals in standard form (numeric IPv4 forms like `0x7f.1` as dotted quads,
/// IPv6 without brackets), names lowercased.
pub fn url_host_port(url: &str) -> Result<(String, u16, bool), String> {
    let p = parse_url(url)?;
    let host = match p.host {
        Host::Ip(ip) => ip.to_string(),
        Host::Name(name) => name,
    };
    Ok((host, p.port, p.tls))
}

enum Host {
    Ip(IpAddr),
    Name(String),
}

struct Parsed {
    host: Host,
    port: u16,
    tls: bool,
}

/// Parses the authority the way browsers' URL parsers do for http(s), refusing what they would
/// reinterpret (percent-encoded or non-ASCII hosts, backslashes) rather than guessing.
fn parse_url(url: &str) -> Result<Parsed, String> {
    if url.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
        return Err("callback URL must not contain spaces, control characters or backslashes".into());
    }
    let (scheme, rest) = url.split_once("://").ok_or("callback URL must be an http:// or https:// URL")?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "http" => false,
        "https" => true,
        _ => return Err(format!("callback URL scheme must be http or https, not {scheme:?}")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // Userinfo ends at the last '@': in http://8.8.8.8@127.0.0.1/ the host is 127.0.0.1.
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);

    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (inner, after) = bracketed.split_once(']').ok_or("callback URL has an unclosed [ in its host")?;
        let ip: Ipv6Addr =
            inner.parse().map_err(|_| format!("callback URL host [{inner}] is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or("callback URL has text after its [IPv6] host")?),
        };
        (Host::Ip(IpAddr::V6(ip)), port)
    } else {
        let (host, port) = host_port.split_once(':').map_or((host_port, None), |(h, p)| (h, Some(p)));
        (parse_host(host)?, port)
    };
    let port = match port.filter(|p| !p.is_empty()) {
        None if tls => 443,
        None => 80,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&n| n != 0 && p.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(format!("callback URL port {p:?} is not a number from 1 to 65535"))?,
    };
    Ok(Parsed { host, port, tls })
}

/// A host outside brackets: an IPv4 address in any form URL parsers accept, or a name.
fn parse_host(host: &str) -> Result<Host, String> {
    if host.is_empty() {
        return Err("callback URL has no host".into());
    }
    if !host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')) {
        return Err(format!(
            "callback URL host {host:?} must be an IP address or an ASCII host name (punycode for others)"
        ));
    }
    let host = host.to_ascii_lowercase();
    if !ends_in_number(&host) {
        return Ok(Host::Name(host));
    }
    parse_ipv4(&host)
        .map(|ip| Host::Ip(IpAddr::V4(ip)))
        .ok_or(format!("callback URL host {host:?} is not a valid IPv4 address"))
}

/// WHATWG URL: a host whose last label is a number is an IPv4 address (or invalid), never a name.
fn ends_in_number(host: &str) -> bool {
    let trimmed = host.strip_suffix('.').filter(|h| !h.is_empty()).unwrap_or(host);
    let last = trimmed.rsplit('.').next().unwrap_or_default();
    let hex = last.strip_prefix("0x").is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    hex || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

/// The WHATWG (and `inet_aton`) IPv4 parser: 1 to 4 parts, each decimal, octal (leading 0) or
/// hex (0x), the last filling the remaining bytes: `2130706433`, `0177.0.0.1` and `0x7f.1` are
/// all 127.0.0.1. Expects a lowercased host.
fn parse_ipv4(host: &str) -> Option<Ipv4Addr> {
    let host = host.strip_suffix('.').filter(|h| !h.is_empty()).unwrap_or(host);
    let parts = host.split('.').map(ipv4_number).collect::<Option<Vec<u64>>>()?;
    let (&last, init) = parts.split_last()?;
    if parts.len() > 4 || init.iter().any(|&n| n > 255) || last >= 1 << (8 * (5 - parts.len())) {
        return None;
    }
    let value = init.iter().enumerate().fold(last, |v, (i, &n)| v | n << (8 * (3 - i)));
    Some(Ipv4Addr::from(value as u32))
}

fn ipv4_number(part: &str) -> Option<u64> {
    let (digits, radix) = match part.strip_prefix("0x") {
        Some(hex) => (hex, 16),
        None if part.len() > 1 && part.starts_with('0') => (&part[1..], 8),
        None => (part, 10),
    };
    if part.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // "0x" alone is zero; overlong numbers fail to parse and so are invalid.
    if digits.is_empty() {
        Some(0)
    } else {
        u64::from_str_radix(digits, radix).ok()
    }
}
