//! The charset of a fetched document: byte order mark, then the HTTP header, then valid UTF-8, then the XML
//! declaration, then windows-1252, as browsers do. Everything after this stage sees UTF-8.

use std::borrow::Cow;

use encoding_rs::Encoding;

use super::ParseError;
use super::codepages;

/// Decodes to UTF-8 and names the encoding used.
///
/// The order is feedparser's and the XML specification's (appendix F): a byte order mark, then the shape of
/// the first four bytes (UTF-32 and UTF-16 without a mark, EBCDIC), then the HTTP charset, then valid UTF-8,
/// then the XML declaration, then windows-1252. A declared or sent charset that is not known falls through
/// to the next rule instead of failing the document.
pub fn decode<'a>(
    bytes: &'a [u8],
    content_type: Option<&str>,
) -> Result<(Cow<'a, str>, &'static str), ParseError> {
    // UTF-32 first: its little-endian mark starts like UTF-16's.
    match bytes {
        [0, 0, 0xFE, 0xFF, ..] => {
            return Ok((Cow::Owned(other("UTF-32BE", &bytes[4..])), "UTF-32BE"));
        }
        [0xFF, 0xFE, 0, 0, ..] => {
            return Ok((Cow::Owned(other("UTF-32LE", &bytes[4..])), "UTF-32LE"));
        }
        _ => {}
    }
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return Ok((text, enc.name()));
    }
    match bytes {
        [0, 0, 0, b'<', ..] => return Ok((Cow::Owned(other("UTF-32BE", bytes)), "UTF-32BE")),
        [b'<', 0, 0, 0, ..] => return Ok((Cow::Owned(other("UTF-32LE", bytes)), "UTF-32LE")),
        [0, b'<', 0, b'?', ..] => {
            let (text, _) = encoding_rs::UTF_16BE.decode_without_bom_handling(bytes);
            return Ok((text, "UTF-16BE"));
        }
        [b'<', 0, b'?', 0, ..] => {
            let (text, _) = encoding_rs::UTF_16LE.decode_without_bom_handling(bytes);
            return Ok((text, "UTF-16LE"));
        }
        // `<?xm` in EBCDIC: the declaration, read as cp037 (its ASCII letters agree across EBCDIC pages),
        // names the page.
        [0x4C, 0x6F, 0xA7, 0x94, ..] => {
            let head = other("IBM037", &bytes[..bytes.len().min(200)]);
            let (name, decoder_name) = declared_in(&head)
                .and_then(|label| ebcdic_page(&label))
                .unwrap_or(("IBM037", "IBM037"));
            return Ok((Cow::Owned(other(decoder_name, bytes)), name));
        }
        _ => {}
    }
    let from_header = content_type
        .and_then(charset_param)
        .and_then(|c| Charset::for_label(&c));
    if let Some(cs) = from_header.filter(|c| !c.is_utf8() || std::str::from_utf8(bytes).is_ok()) {
        return Ok(cs.decode(bytes));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((Cow::Borrowed(text), "UTF-8"));
    }
    let declared = declared_encoding(bytes)
        .and_then(|label| Charset::for_label(&label))
        .filter(|c| !c.is_utf8());
    Ok(declared
        .unwrap_or(Charset::Whatwg(encoding_rs::WINDOWS_1252))
        .decode(bytes))
}

/// A charset, from encoding_rs when the WHATWG list has it, else from [`codepages`] or anyxml-encoding
/// (UTF-32, EBCDIC, DOS).
#[derive(Clone, Copy)]
enum Charset {
    Whatwg(&'static Encoding),
    Other(&'static str),
}

impl Charset {
    fn for_label(label: &str) -> Option<Charset> {
        let label = label.trim().to_ascii_lowercase();
        // Python's codec names, which feeds copy, write `_` where the registries write `-`.
        let dashed = label.replace('_', "-");
        // Mac code pages under the names Python gives them.
        let whatwg = match dashed.as_str() {
            "macroman" | "mac-roman" => "macintosh",
            "maccyrillic" | "mac-cyrillic" => "x-mac-cyrillic",
            l => l,
        };
        if let Some(enc) = Encoding::for_label(whatwg.as_bytes()) {
            // The replacement encoding guards HTML forms, not feeds: a label mapping to it is unknown here.
            return (enc != encoding_rs::REPLACEMENT).then_some(Charset::Whatwg(enc));
        }
        if let Some(page) = codepages::for_label(&dashed) {
            return Some(Charset::Other(page.name));
        }
        let name = anyxml_encoding::resolve_encoding_alias(&label)
            .or_else(|| anyxml_encoding::resolve_encoding_alias(&dashed))
            .or_else(|| ibm_page(&dashed))
            .or_else(|| ebcdic_page(&label).map(|(_, d)| d))?;
        anyxml_encoding::find_decoder(name).map(|d| Charset::Other(d.name()))
    }

    fn is_utf8(self) -> bool {
        matches!(self, Charset::Whatwg(e) if e == encoding_rs::UTF_8)
    }

    fn decode(self, bytes: &[u8]) -> (Cow<'_, str>, &'static str) {
        match self {
            Charset::Whatwg(enc) => {
                let (text, _) = enc.decode_without_bom_handling(bytes);
                (text, enc.name())
            }
            Charset::Other(name) => (Cow::Owned(other(name, bytes)), name),
        }
    }
}

/// IBM and DOS code pages by number, whatever the label's prefix (`cp850`, `ibm437`, `csibm855`,
/// `cspc850multilingual`, `cspc8codepage437`), when anyxml-encoding carries the page.
fn ibm_page(label: &str) -> Option<&'static str> {
    let numeric = label.chars().all(|c| c.is_ascii_digit());
    if !numeric
        && !["cp", "ibm", "csibm", "cspc"]
            .iter()
            .any(|p| label.starts_with(p))
    {
        return None;
    }
    let number = label
        .split(|c: char| !c.is_ascii_digit())
        .max_by_key(|run| run.len())
        .filter(|run| run.len() >= 3)?;
    anyxml_encoding::find_decoder(&format!("IBM{number}")).map(|d| d.name())
}

/// Decodes with an anyxml-encoding decoder; malformed sequences become U+FFFD.
fn other(name: &str, bytes: &[u8]) -> String {
    use anyxml_encoding::DecodeError;
    if let Some(page) = codepages::by_name(name) {
        return page.decode(bytes);
    }
    let Some(mut decoder) = anyxml_encoding::find_decoder(name) else {
        return String::from_utf8_lossy(bytes).into_owned();
    };
    let mut out = String::with_capacity(bytes.len() + 16);
    let mut at = 0;
    while at < bytes.len() {
        if out.capacity() - out.len() < 16 {
            out.reserve(bytes.len() - at + 16);
        }
        match decoder.decode(&bytes[at..], &mut out, true) {
            Ok((0, _)) => break,
            Ok((read, _)) => at += read,
            Err(DecodeError::Malformed { read, .. }) => {
                out.push('\u{FFFD}');
                at += read.max(1);
            }
            Err(DecodeError::OutputTooShort) => out.reserve(64),
            Err(_) => break,
        }
    }
    out
}

/// The EBCDIC page a label names, as (reported name, decoder name): the pages anyxml-encoding carries, and
/// cp875, which [`codepages`] carries.
fn ebcdic_page(label: &str) -> Option<(&'static str, &'static str)> {
    let l = label.trim().to_ascii_lowercase().replace('_', "-");
    let digits: String = l.chars().filter(char::is_ascii_digit).collect();
    let page = match (l.as_str(), digits.as_str()) {
        (l, _) if l.starts_with("ebcdic-cp-") => match &l[10..] {
            "us" | "ca" | "wt" | "nl" => "IBM037",
            "be" | "ch" => "IBM500",
            _ => return None,
        },
        // IBM1140 is 037 with the euro sign at 0x9F; 039 is an old alias of 037.
        (_, "037" | "37" | "039" | "1140") => "IBM037",
        (_, "500" | "1148") => "IBM500",
        (_, "273") => "IBM273",
        (_, "277") => "IBM277",
        (_, "278") => "IBM278",
        (_, "280") => "IBM280",
        (_, "284") => "IBM284",
        (_, "285") => "IBM285",
        (_, "297") => "IBM297",
        (_, "870") => "IBM870",
        (_, "871") => "IBM871",
        (_, "1026") => "IBM1026",
        (_, "875") => return codepages::by_name("IBM875").map(|p| (p.name, p.name)),
        _ => return None,
    };
    anyxml_encoding::find_decoder(page).map(|d| (d.name(), d.name()))
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string())
    })
}

/// The `encoding` named in an XML declaration, read as ASCII.
pub(super) fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(200)];
    declared_in(&String::from_utf8_lossy(head))
}

/// The `encoding` pseudo-attribute of the XML declaration at the start of `text`.
fn declared_in(text: &str) -> Option<String> {
    let decl = text.trim_start().strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    // The quote is one ASCII byte; slicing by its char length keeps multi-byte text after `=` safe.
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[quote.len_utf8()..];
    Some(rest[..rest.find(quote)?].trim().to_string())
}
