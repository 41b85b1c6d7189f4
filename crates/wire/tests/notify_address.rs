//! The callback SSRF guard: which addresses are public, the allow-list, and how callback URLs'
//! hosts are read (numeric IPv4 forms, userinfo, brackets) before they are judged.
use std::net::IpAddr;

use stowaway_wire::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|_| panic!("{s}"))
}

#[test]
fn non_public_ranges_are_refused_at_both_ends() {
    #[rustfmt::skip]
    let refused = [
        "0.0.0.0", "0.255.255.255", "10.0.0.0", "10.255.255.255", "100.64.0.0", "100.127.255.255",
        "127.0.0.0", "127.0.0.1", "127.255.255.255", "169.254.0.0", "169.254.169.254", "169.254.255.255",
        "172.16.0.0", "172.31.255.255", "192.0.0.0", "192.0.0.255", "192.0.2.0", "192.0.2.255",
        "192.88.99.0", "192.88.99.255", "192.168.0.0", "192.168.255.255", "198.18.0.0", "198.19.255.255",
        "198.51.100.0", "198.51.100.255", "203.0.113.0", "203.0.113.255", "224.0.0.0", "239.255.255.255",
        "240.0.0.0", "255.255.255.254", "255.255.255.255",
        // IPv6.
        "::", "::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
        "::127.0.0.1", "::10.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::c0a8:101",
        "64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "100::", "100::ffff:ffff:ffff:ffff",
        "2001::", "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
        "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2002::", "2002:7f00:1::1",
        "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "3fff::1", "fc00::", "fd00::1",
        "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe80::", "fe80::1",
        "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::", "ff02::1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:0:7f00:1", "1::1", "4000::1",
    ];
    for s in refused {
        assert!(!is_public(ip(s)), "{s} should be refused");
        assert!(!AddressPolicy::public_only().permits(ip(s)), "{s} should not be permitted");
        let link_local = LINK_LOCAL.iter().any(|(a, _)| *a == s);
        assert_eq!(AddressPolicy::allow_private().permits(ip(s)), !link_local, "{s} under true");
    }
}

#[test]
fn public_addresses_pass() {
    #[rustfmt::skip]
    let public = [
        "8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255",
        "128.0.0.0", "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0", "192.0.1.0",
        "192.0.3.0", "192.88.98.255", "192.88.100.0", "192.167.255.255", "192.169.0.0", "198.17.255.255",
        "198.20.0.0", "198.51.99.255", "198.51.101.0", "203.0.112.255", "203.0.114.0", "223.255.255.255",
        // IPv6.
        "2606:4700::1111", "2001:4860:4860::8888", "2001:200::", "2001:db7:ffff::1", "2001:db9::1",
        "2003::1", "3ffe::1", "::ffff:8.8.8.8", "::8.8.8.8", "64:ff9b::808:808", "2a00:1450:4001::200e",
    ];
    for s in public {
        assert!(is_public(ip(s)), "{s} should be public");
        assert!(AddressPolicy::public_only().permits(ip(s)), "{s} should be permitted");
    }
}

#[test]
fn allow_list_parsing() {
    for all in ["true", "1", "yes", " YES ", "True"] {
        assert!(AddressPolicy::parse(all).unwrap().permits(ip("127.0.0.1")), "{all}");
    }
    for none in ["false", "0", "no", "", "  ", "FALSE"] {
        let p = AddressPolicy::parse(none).unwrap();
        assert!(!p.permits(ip("10.0.0.1")) && p.permits(ip("8.8.8.8")), "{none}");
    }
    let p = AddressPolicy::parse("10.0.0.0/8, 192.168.1.7,fd00::/8,172.16.5.9/16,").unwrap();
    #[rustfmt::skip]
    let cases = [
        ("10.0.0.1", true), ("10.255.255.255", true), ("::ffff:10.2.3.4", true), ("11.0.0.1", true),
        ("192.168.1.7", true), ("192.168.1.8", false), ("192.168.2.1", false), ("fd00::1", true),
        ("fdff::1", true),
        ("fc00::1", false), ("172.16.200.1", true), ("172.17.0.1", false), ("127.0.0.1", false),
        ("169.254.169.254", false), ("8.8.8.8", true), ("2606:4700::1111", true),
    ];
    for (addr, want) in cases {
        assert_eq!(p.permits(ip(addr)), want, "{addr}");
    }
    let zero = AddressPolicy::parse("0.0.0.0/0").unwrap();
    assert!(zero.permits(ip("127.0.0.1")) && !zero.permits(ip("::1")));
    assert!(AddressPolicy::parse("::/0").unwrap().permits(ip("fe80::1")));
    assert!(AddressPolicy::parse("::1/128").unwrap().permits(ip("::1")));
    for bad in [
        "maybe",
        "10.0.0.0/33",
        "fd00::/129",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "10.0.0/8",
        "10.0.0.1,bogus",
        "localhost",
    ] {
        let e = AddressPolicy::parse(bad).expect_err(bad);
        assert!(e.contains("STOWAWAY_CALLBACK_ALLOW_PRIVATE"), "{bad}: {e}");
    }
}

#[test]
fn url_hosts_ports_and_schemes() {
    #[rustfmt::skip]
    let cases = [
        ("http://example.com/cb", "example.com", 80, false),
        ("HTTPS://Example.COM", "example.com", 443, true),
        ("https://example.com:8443/x?y#z", "example.com", 8443, true),
        ("http://example.com:/", "example.com", 80, false),
        ("http://example.com?q=1", "example.com", 80, false),
        ("http://user:pw@example.com:81/", "example.com", 81, false),
        ("http://8.8.8.8@127.0.0.1/", "127.0.0.1", 80, false),
        ("http://a@b@c.example/", "c.example", 80, false),
        ("http://[2606:4700::1111]:8080/cb", "2606:4700::1111", 8080, false),
        ("https://[::FFFF:127.0.0.1]/", "::ffff:127.0.0.1", 443, true),
        ("http://2130706433/", "127.0.0.1", 80, false),
        ("http://0177.0.0.1/", "127.0.0.1", 80, false),
        ("http://0x7f.1/", "127.0.0.1", 80, false),
        ("http://0X7F000001/", "127.0.0.1", 80, false),
        ("http://127.1/", "127.0.0.1", 80, false),
        ("http://127.0.0.1./", "127.0.0.1", 80, false),
        ("http://0/", "0.0.0.0", 80, false),
        ("http://0x/", "0.0.0.0", 80, false),
        ("http://1.2.3.4.example/", "1.2.3.4.example", 80, false),
        ("http://cb_host-1.example./", "cb_host-1.example.", 80, false),
    ];
    for (url, host, port, tls) in cases {
        assert_eq!(url_host_port(url), Ok((host.to_string(), port, tls)), "{url}");
    }
    #[rustfmt::skip]
    let bad = [
        ("ftp://example.com/", "scheme"), ("file:///etc/passwd", "scheme"),
        ("gopher://example.com/", "scheme"),
        ("javascript:alert(1)", "http:// or https://"), ("example.com", "http:// or https://"),
        ("http:/example.com", "http:// or https://"), ("http:///path", "no host"),
        ("http://user@/", "no host"),
        ("http://:80/", "no host"), ("http://::1/", "no host"), ("http://host:0/", "port"),
        ("http://host:65536/", "port"), ("http://host:8o/", "port"), ("http://host:+80/", "port"),
        ("http://host:80:81/", "port"), ("http://[::1/", "unclosed"), ("http://[::1]x/", "after"),
        ("http://[fe80::1%25eth0]/", "IPv6"), ("http://[127.0.0.1]/", "IPv6"),
        ("http://127.0.0.%31/", "ASCII host name"), ("http://１２７.0.0.1/", "ASCII host name"),
        ("http://evil.example\\@127.0.0.1/", "backslashes"), ("http://a b/", "spaces"),
        ("http://1.2.3.256/", "IPv4"), ("http://1.2.3.4.5/", "IPv4"), ("http://08.0.0.1/", "IPv4"),
        ("http://4294967296/", "IPv4"), ("http://1..2/", "IPv4"), ("http://example.0x1/", "IPv4"),
    ];
    for (url, words) in bad {
        let e = url_host_port(url).expect_err(url);
        assert!(e.contains(words), "{url}: {e}");
    }
}

#[test]
fn submit_time_url_check() {
    let public = AddressPolicy::public_only();
    #[rustfmt::skip]
    let refused = [
        "http://127.0.0.1/", "http://127.0.0.1:8080/cb", "https://10.0.0.5/",
        "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/",
        "http://[fd00::1]/", "http://[2002:7f00:1::]/", "http://[2001::1]/",
        "http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/", "http://0x7f000001/", "http://127.1/",
        "http://0/", "http://0.0.0.0/", "http://3232235777/", "http://012.1/",
        "http://8.8.8.8@127.0.0.1/", "http://user:pw@[::1]:80/", "http://localhost/",
        "http://LOCALHOST:8080/",
        "http://localhost./", "http://api.localhost/", "http://a.b.localhost/",
    ];
    for url in refused {
        let e = public.check_url(url).expect_err(url);
        assert!(e.contains("not a public address"), "{url}: {e}");
        assert_eq!(AddressPolicy::allow_private().check_url(url), Ok(()), "{url}");
    }
    #[rustfmt::skip]
    let allowed = [
        "http://8.8.8.8/", "https://1.1.1.1:443/cb", "http://[2606:4700::1111]/", "http://134744072/",
        "http://127.0.0.1@8.8.8.8/", "http://example.com/cb", "https://hooks.example.com:8443/a?b=c",
        "http://localhost.example.com/", "http://notlocalhost/", "http://internal.corp/",
    ];
    for url in allowed {
        assert_eq!(public.check_url(url), Ok(()), "{url}");
    }
    for url in ["ftp://8.8.8.8/", "file:///etc/passwd", "gopher://example.com:70/", "http://1.2.3.256/"] {
        assert!(AddressPolicy::allow_private().check_url(url).is_err(), "{url}");
    }

    let some = AddressPolicy::parse("10.0.0.0/8,127.0.0.1").unwrap();
    assert_eq!(some.check_url("http://10.1.2.3:9000/cb"), Ok(()));
    assert_eq!(some.check_url("http://012.1/"), Ok(()));
    assert_eq!(some.check_url("http://localhost:9/"), Ok(()));
    assert!(some.check_url("http://192.168.0.1/").is_err());
    assert!(AddressPolicy::parse("::1").unwrap().check_url("http://localhost/").is_ok());
    assert!(AddressPolicy::parse("10.0.0.0/8").unwrap().check_url("http://localhost/").is_err());
}

/// Each policy a test below judges under, as STOWAWAY_CALLBACK_ALLOW_PRIVATE spells it.
const POLICIES: [&str; 6] =
    ["false", "true", "169.254.169.254", "169.254.0.0/16", "fe80::/10,fd00:ec2::254", "0.0.0.0/0"];

/// Link-local and metadata addresses, and whether each of [`POLICIES`] lets a callback reach them:
/// `true` does not; only a CIDR that contains the address does.
#[rustfmt::skip]
const LINK_LOCAL: &[(&str, [bool; 6])] = &[
    // address                                   false  true   .254   /16    v6     0/0
    ("169.254.169.254",                         [false, false, true,  true,  false, true]),
    ("169.254.0.23",                            [false, false, false, true,  false, true]),
    ("169.254.0.0",                             [false, false, false, true,  false, true]),
    ("169.254.255.255",                         [false, false, false, true,  false, true]),
    ("::ffff:169.254.169.254",                  [false, false, true,  true,  false, true]),
    ("::ffff:a9fe:17",                          [false, false, false, true,  false, true]),
    // Compatible and NAT64 forms leave as IPv6, so an IPv4 CIDR does not open them.
    ("::169.254.169.254",                       [false, false, false, false, false, false]),
    ("64:ff9b::a9fe:a9fe",                      [false, false, false, false, false, false]),
    ("fe80::",                                  [false, false, false, false, true,  false]),
    ("fe80::1",                                 [false, false, false, false, true,  false]),
    ("fe80::a9fe:a9fe",                         [false, false, false, false, true,  false]),
    ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", [false, false, false, false, true,  false]),
    ("fd00:ec2::254",                           [false, false, false, false, true,  false]),
];

/// Addresses next to those: private ones `true` still opens, and public ones everything does.
#[rustfmt::skip]
const NEIGHBOURS: &[(&str, [bool; 6])] = &[
    // address                                   false  true   .254   /16    v6     0/0
    ("fd00:ec2::253",                           [false, true,  false, false, false, false]),
    ("fec0::1",                                 [false, true,  false, false, false, false]),
    ("fc00::1",                                 [false, true,  false, false, false, false]),
    ("127.0.0.1",                               [false, true,  false, false, false, true]),
    ("::ffff:10.0.0.1",                         [false, true,  false, false, false, true]),
    ("169.253.255.255",                         [true,  true,  true,  true,  true,  true]),
    ("169.255.0.0",                             [true,  true,  true,  true,  true,  true]),
    ("2606:4700::1111",                         [true,  true,  true,  true,  true,  true]),
];

#[test]
fn link_local_and_metadata_addresses_need_a_cidr_that_holds_them() {
    let policies = POLICIES.map(|p| AddressPolicy::parse(p).unwrap_or_else(|e| panic!("{p}: {e}")));
    for (addr, allowed) in LINK_LOCAL.iter().chain(NEIGHBOURS) {
        for ((policy, setting), want) in policies.iter().zip(POLICIES).zip(allowed) {
            assert_eq!(policy.permits(ip(addr)), *want, "{addr} under {setting:?}");
        }
    }
}

#[test]
fn metadata_urls_are_refused_at_submit_under_true() {
    let private = AddressPolicy::parse("true").unwrap();
    let cidr = AddressPolicy::parse("169.254.0.0/16,fe80::/10,fd00:ec2::254").unwrap();
    #[rustfmt::skip]
    let urls = [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://169.254.0.23/meta-data/", "http://0xa9.0xfe.0xa9.0xfe/", "http://2852039166/",
        "http://[::ffff:169.254.169.254]/", "http://[fe80::1]:8080/", "http://[fd00:ec2::254]/",
    ];
    for url in urls {
        let e = private.check_url(url).expect_err(url);
        assert!(e.contains("not a public address") && e.contains("link-local"), "{url}: {e}");
        assert_eq!(cidr.check_url(url), Ok(()), "{url}");
    }
    for url in ["http://[64:ff9b::a9fe:a9fe]/", "http://[::169.254.169.254]/"] {
        assert!(private.check_url(url).is_err() && cidr.check_url(url).is_err(), "{url}");
    }
    assert_eq!(private.check_url("http://10.0.0.5/cb"), Ok(()));
}
