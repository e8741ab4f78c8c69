//! Canonical URLs: one spelling per article, so reposts under tracking links, `http`, AMP or a trailing slash
//! are recognised as the same page.
//!
//! The canonical form is a dedup key only. Published feeds keep each item's original link.

use url::Url;

/// Query parameters that only track the click, never select the page.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gclsrc",
    "msclkid",
    "yclid",
    "twclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "wickedid",
    "rb_clickid",
    "s_cid",
    "ncid",
    "ocid",
    "cmpid",
    "cmp",
    "smid",
    "smtyp",
    "ito",
    "xtor",
    "at_medium",
    "at_campaign",
    "at_custom1",
    "ref_src",
    "ref_url",
    "spm",
    "share",
    "sr_share",
    "amp",
    "outputtype",
    "ns_mchannel",
    "ns_source",
    "ns_campaign",
    "ns_linkname",
    "ns_fee",
    "feature",
    "cid",
];

/// True for parameters to strip: the list above and every `utm_*`.
fn is_tracking(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("utm_")
        || lower.starts_with("pk_")
        || TRACKING_PARAMS.contains(&lower.as_str())
}

/// `link` without its tracking parameters (`utm_*`, `fbclid`, ...), otherwise as given: the link to show
/// people, who should not carry someone's campaign tags along. A link that is not a URL comes back as is.
pub fn without_tracking(link: &str) -> String {
    let Ok(mut url) = Url::parse(link) else {
        return link.to_string();
    };
    if !url.query_pairs().any(|(k, _)| is_tracking(&k)) {
        return link.to_string();
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    url.to_string()
}

/// Resolves `link` against `base` and returns it as an absolute http(s) URL, or None when it cannot be one.
pub fn absolute(link: &str, base: Option<&Url>) -> Option<Url> {
    let link = link.trim();
    if link.is_empty() {
        return None;
    }
    let url = match base {
        Some(b) => b.join(link).ok()?,
        None => Url::parse(link).ok()?,
    };
    matches!(url.scheme(), "http" | "https")
        .then_some(url)
        .filter(|u| u.host().is_some())
}

/// The dedup key for an absolute URL: https, lower-case host without `www.`, no default port, no fragment,
/// no tracking parameters, remaining parameters sorted, no AMP suffix, no trailing slash.
pub fn canonical(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    let mut path = url.path().to_string();
    for suffix in ["/amp/", "/amp", ".amp"] {
        if path.len() > suffix.len() && path.ends_with(suffix) {
            path.truncate(path.len() - suffix.len());
            break;
        }
    }
    if let Some(rest) = path.strip_prefix("/amp/") {
        path = format!("/{rest}");
    }
    while path.len() > 1 && path.ends_with('/') {
        path.pop();
    }
    if path == "/" {
        path.clear();
    }
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !is_tracking(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    params.sort();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let mut out = format!("https://{host}{port}{path}");
    if !params.is_empty() {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        out.push('?');
        out.push_str(&query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonical(&Url::parse(s).unwrap())
    }

    #[test]
    fn links_shown_to_people_lose_only_their_tracking_parameters() {
        assert_eq!(
            without_tracking("http://a.example/p/?utm_source=x&id=3&fbclid=y"),
            "http://a.example/p/?id=3"
        );
        assert_eq!(
            without_tracking("https://a.example/p?utm_medium=rss"),
            "https://a.example/p"
        );
        assert_eq!(
            without_tracking("https://a.example/p?q=1"),
            "https://a.example/p?q=1"
        );
        assert_eq!(without_tracking("not a url"), "not a url");
    }

    #[test]
    fn spellings_of_one_article_share_a_key() {
        let key = canon("https://www.meridianwire.example/sports/2025/05/31/dj0q1uccei");
        for variant in [
            "http://www.meridianwire.example/sports/2025/05/31/dj0q1uccei",
            "https://meridianwire.example/sports/2025/05/31/dj0q1uccei/",
            "https://WWW.MeridianWire.example:443/sports/2025/05/31/dj0q1uccei#comments",
            "https://www.meridianwire.example/sports/2025/05/31/dj0q1uccei?utm_source=x&utm_medium=rss&fbclid=abc",
            "https://www.meridianwire.example/sports/2025/05/31/dj0q1uccei/amp",
            "https://www.meridianwire.example/sports/2025/05/31/dj0q1uccei?outputType=amp",
            "https://www.meridianwire.example/amp/sports/2025/05/31/dj0q1uccei",
        ] {
            assert_eq!(canon(variant), key, "{variant}");
        }
    }

    #[test]
    fn parameters_that_select_the_page_are_kept_and_sorted() {
        assert_eq!(
            canon("https://a.example/?p=573162&utm_source=x"),
            "https://a.example?p=573162"
        );
        assert_eq!(
            canon("https://a.example/view?b=2&a=1"),
            "https://a.example/view?a=1&b=2"
        );
        assert_ne!(
            canon("https://a.example/?p=1"),
            canon("https://a.example/?p=2")
        );
        assert_ne!(
            canon("https://a.example:8080/x"),
            canon("https://a.example/x")
        );
    }

    #[test]
    fn relative_links_resolve_and_odd_schemes_are_refused() {
        let base = Url::parse("https://a.example/feeds/rss.xml").unwrap();
        assert_eq!(
            absolute("../story/1", Some(&base)).unwrap().as_str(),
            "https://a.example/story/1"
        );
        assert!(absolute("javascript:alert(1)", Some(&base)).is_none());
        assert!(absolute("mailto:x@y", None).is_none());
        assert!(absolute("   ", Some(&base)).is_none());
    }
}
