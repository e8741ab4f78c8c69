//! Sanitised HTML for publishing: an ammonia allowlist, links made absolute against the item's URL, and
//! outbound links marked `noopener noreferrer`.

use std::collections::HashSet;

use url::Url;

/// Cleans an HTML fragment. Relative links resolve against `base` when given and are dropped otherwise.
pub fn sanitize_html(html: &str, base: Option<&Url>) -> String {
    // Many feeds send plain text; with no tag and no entity there is nothing for an HTML parser to do.
    if !html.contains(['<', '&']) {
        return html_escape::encode_text(html.trim()).into_owned();
    }
    let mut builder = ammonia::Builder::default();
    builder
        .link_rel(Some("noopener noreferrer"))
        .url_schemes(HashSet::from(["http", "https", "mailto"]));
    match base {
        Some(b) => builder.url_relative(ammonia::UrlRelative::RewriteWithBase(b.clone())),
        None => builder.url_relative(ammonia::UrlRelative::Deny),
    };
    builder.clean(html).to_string().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_takes_the_fast_path_and_stays_safe() {
        assert_eq!(sanitize_html("  Tom > Jerry  ", None), "Tom &gt; Jerry");
        assert_eq!(sanitize_html("a &amp; b", None), "a &amp; b");
        assert_eq!(
            sanitize_html("<b>x</b> &lt;script&gt;", None),
            "<b>x</b> &lt;script&gt;"
        );
    }

    #[test]
    fn scripts_handlers_and_bad_schemes_are_removed() {
        let base = Url::parse("https://a.example/news/1").unwrap();
        let out = sanitize_html(
            r#"<p onclick="x()" style="color:red">Hi <a href="/more">more</a> <a href="javascript:alert(1)">bad</a></p><script>alert(1)</script><img src="pic.jpg" alt="p">"#,
            Some(&base),
        );
        assert!(
            !out.contains("script") && !out.contains("onclick") && !out.contains("style="),
            "{out}"
        );
        assert!(!out.contains("javascript:"), "{out}");
        assert!(out.contains(r#"href="https://a.example/more""#), "{out}");
        assert!(
            out.contains(r#"src="https://a.example/news/pic.jpg""#),
            "{out}"
        );
        assert!(out.contains("noopener noreferrer"), "{out}");
    }
}
