//! The outbound address policy: which addresses wiredesk may connect to.
//!
//! A feed URL comes from a stranger, and so does every redirect: without a policy, one 302 to `127.0.0.1`,
//! `169.254.169.254` or `10.0.0.7` makes wiredesk fetch an internal page and republish it. So by default
//! only public addresses are allowed: loopback, private, shared (CGNAT), link-local, unique-local,
//! multicast, unspecified, documentation and reserved ranges are refused, in IPv4, in IPv6 and in the IPv6
//! forms that carry an IPv4 address (mapped, compatible, NAT64). `allow_networks` (in `[fetch]` and per
//! source) opts networks in.
//!
//! The check runs on every hop: [`AddressPolicy::check_url`] on the URL itself (literal addresses such as
//! `2130706435` or `[::ffff:127.0.0.3]`, which reach the connector without a lookup, `localhost`, and
//! credentials), and [`GuardedResolver`] on every address a name resolves to, inside reqwest's connector,
//! so the address checked is the address connected to and DNS rebinding cannot slip past it.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, LazyLock};

use futures_util::future::BoxFuture;
use ipnet::IpNet;
use url::{Host, Url};

/// Ranges refused by default, with what they are (for the error message). IPv4-mapped and other IPv6
/// forms of IPv4 addresses are reduced to IPv4 first ([`effective`]), so they meet the IPv4 rows.
const REFUSED: &[(&str, &str)] = &[
    ("0.0.0.0/8", "an unspecified (\"this network\") address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),
    ("::/128", "an unspecified address"),
    ("::1/128", "a loopback address"),
    ("100::/64", "a discard-only address"),
    ("2001:db8::/32", "a documentation address"),
    ("fc00::/7", "a unique-local address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
];

static REFUSED_NETS: LazyLock<Vec<(IpNet, &'static str)>> = LazyLock::new(|| {
    REFUSED
        .iter()
        .map(|(net, what)| (net.parse().expect("the refused ranges parse"), *what))
        .collect()
});

/// Which addresses may be connected to: public ones, and those in the allowed networks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AddressPolicy {
    /// Networks opted in, sorted and without repeats.
    allow: Vec<IpNet>,
}

/// A connection the policy refused: where to, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The URL's host as written (a name, or the address).
    pub host: String,
    /// The address refused, when there is one (credentials in a URL are refused without one).
    pub addr: Option<IpAddr>,
    /// What is wrong with it, e.g. "a loopback address".
    pub why: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            Some(addr) if self.host == addr.to_string() => {
                write!(f, "refused to connect to {addr}, {}", self.why)?
            }
            Some(addr) => write!(
                f,
                "refused to connect to {addr} (what `{}` resolves to), {}",
                self.host, self.why
            )?,
            None => return write!(f, "refused `{}`: {}", self.host, self.why),
        }
        f.write_str(
            "; wiredesk only fetches from public addresses: to allow this one, add its network to \
             `allow_networks` in [fetch] or in this source",
        )
    }
}

impl std::error::Error for Refused {}

impl AddressPolicy {
    /// A policy allowing public addresses and `allow`.
    pub fn new(allow: impl IntoIterator<Item = IpNet>) -> Self {
        let mut allow: Vec<IpNet> = allow.into_iter().map(|n| n.trunc()).collect();
        allow.sort();
        allow.dedup();
        AddressPolicy { allow }
    }

    /// This policy with more networks allowed.
    pub fn with(&self, more: &[IpNet]) -> Self {
        AddressPolicy::new(self.allow.iter().chain(more).copied())
    }

    /// The networks opted in.
    pub fn allowed(&self) -> &[IpNet] {
        &self.allow
    }

    /// Why `addr` may not be connected to, or None when it may.
    pub fn refusal(&self, addr: IpAddr) -> Option<&'static str> {
        let ip = effective(addr);
        let why = REFUSED_NETS
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, why)| *why)?;
        let allowed = self
            .allow
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&addr));
        (!allowed).then_some(why)
    }

    /// Checks `addr`, reached through `host`.
    pub fn check(&self, host: &str, addr: IpAddr) -> Result<(), Refused> {
        match self.refusal(addr) {
            None => Ok(()),
            Some(why) => Err(Refused {
                host: host.to_string(),
                addr: Some(addr),
                why: why.to_string(),
            }),
        }
    }

    /// Checks what can be checked before connecting: no credentials, and a literal address or a
    /// `localhost` name must pass [`AddressPolicy::check`]. Other names are checked as they resolve.
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        let host = url.host_str().unwrap_or_default().to_string();
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused {
                host: url.to_string(),
                addr: None,
                why:
                    "the URL carries credentials (user:pass@); wiredesk sends none, and they are a \
                      common way to disguise where a link goes"
                        .into(),
            });
        }
        match url.host() {
            Some(Host::Ipv4(ip)) => self.check(&host, IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check(&ip.to_string(), IpAddr::V6(ip)),
            Some(Host::Domain(name)) if is_localhost(name) => localhost()
                .into_iter()
                .try_for_each(|ip| self.check(name, ip)),
            _ => Ok(()),
        }
    }
}

/// The IPv4 address an IPv6 address stands for (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`,
/// deprecated compatible `::a.b.c.d`), else the address itself.
fn effective(addr: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = addr else { return addr };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    let s = v6.segments();
    let embedded = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    // `::` and `::1` are themselves, not IPv4 0.0.0.0 and 0.0.0.1.
    let compatible = s[..6] == [0; 6] && u32::from(embedded) > 1;
    if nat64 || compatible {
        IpAddr::V4(embedded)
    } else {
        addr
    }
}

/// `localhost` and its subdomains, which resolve to loopback by definition (RFC 6761) whatever DNS says.
fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

fn localhost() -> [IpAddr; 2] {
    [Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]
}

/// Resolves a host name to addresses; the system resolver by default, a fixed table in tests.
#[doc(hidden)]
pub type Lookup = Arc<dyn Fn(String) -> BoxFuture<'static, io::Result<Vec<IpAddr>>> + Send + Sync>;

/// The system resolver (getaddrinfo on a blocking thread, as reqwest's own default does).
pub fn system_lookup() -> Lookup {
    Arc::new(|host: String| {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    })
}

/// reqwest's resolver: resolves with a [`Lookup`], then refuses the name unless every address it
/// resolved to passes the policy. Every address, not just one: the connector falls back from one to the
/// next, so a name answering a public and a private address would otherwise reach the private one.
pub struct GuardedResolver {
    policy: AddressPolicy,
    lookup: Lookup,
}

impl GuardedResolver {
    /// A resolver enforcing `policy` over `lookup`.
    pub fn new(policy: AddressPolicy, lookup: Lookup) -> Self {
        GuardedResolver { policy, lookup }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let policy = self.policy.clone();
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let addrs = if is_localhost(&host) {
                localhost().to_vec()
            } else {
                lookup(host.clone()).await?
            };
            if addrs.is_empty() {
                return Err(format!("`{host}` resolves to no address").into());
            }
            for &addr in &addrs {
                policy.check(&host, addr)?;
            }
            let addrs: reqwest::dns::Addrs =
                Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// The refusal somewhere in an error's chain of causes, if the policy is why a request failed.
pub fn refusal_in<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e Refused> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(r) = e.downcast_ref::<Refused>() {
            return Some(r);
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_public_addresses_are_refused_in_every_form() {
        let policy = AddressPolicy::default();
        for refused in [
            "127.0.0.1",
            "127.255.0.3",
            "0.0.0.0",
            "10.1.2.3",
            "172.31.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.3",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "::127.0.0.3",
        ] {
            assert!(policy.refusal(ip(refused)).is_some(), "{refused}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert_eq!(policy.refusal(ip(public)), None, "{public}");
        }
    }

    #[test]
    fn an_allowed_network_opts_in_only_its_own_addresses() {
        let policy = AddressPolicy::new(["127.0.0.1/32".parse().unwrap()]);
        assert_eq!(policy.refusal(ip("127.0.0.1")), None);
        assert_eq!(policy.refusal(ip("::ffff:127.0.0.1")), None);
        assert!(policy.refusal(ip("127.0.0.3")).is_some());
        assert!(policy.refusal(ip("::1")).is_some());
        let wider = policy.with(&["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(wider.refusal(ip("10.9.9.9")), None);
        assert_eq!(wider.allowed().len(), 2);
    }

    #[test]
    fn urls_are_checked_for_literal_addresses_localhost_and_credentials() {
        let policy = AddressPolicy::new(["127.0.0.1/32".parse().unwrap()]);
        let check = |u: &str| policy.check_url(&Url::parse(u).unwrap());
        assert!(check("http://127.0.0.1:8080/feed").is_ok());
        assert!(
            check("https://example.org/feed").is_ok(),
            "names wait for DNS"
        );
        for refused in [
            "http://127.0.0.3/",
            "http://2130706435/",
            "http://0x7f000003/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.3]/",
            "http://localhost/",
            "http://LocalHost./",
            "http://feeds.localhost/",
            "http://user:pass@example.org/",
            "http://example.org@127.0.0.3/",
        ] {
            let err = check(refused).expect_err(refused);
            assert!(err.to_string().contains("refused"), "{err}");
        }
        let err = check("http://2130706435/").unwrap_err();
        assert_eq!(err.addr, Some(ip("127.0.0.3")));
        assert!(
            err.to_string().contains("127.0.0.3, a loopback address"),
            "{err}"
        );
    }
}
