//! The charset of a fetched document: byte order mark, then the HTTP header, then valid UTF-8, then the XML
//! declaration, then windows-1252, as browsers do. Everything after this stage sees UTF-8.

use std::borrow::Cow;

use encoding_rs::Encoding;

use super::ParseError;

/// Decodes to UTF-8 and names the encoding used.
pub fn decode<'a>(
    bytes: &'a [u8],
    content_type: Option<&str>,
) -> Result<(Cow<'a, str>, &'static str), ParseError> {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return Ok((text, enc.name()));
    }
    if let Some(enc) = utf32_without_bom(bytes) {
        return Err(ParseError(format!(
            "the document is {enc}, which is not supported; serve it as UTF-8"
        )));
    }
    let from_header = content_type
        .and_then(charset_param)
        .and_then(|c| Encoding::for_label(c.as_bytes()));
    // UTF-16 without a BOM still starts with `<` next to a zero byte.
    let sniffed_utf16 = match bytes {
        [b'<', 0, b'?', 0, ..] => Some(encoding_rs::UTF_16LE),
        [0, b'<', 0, b'?', ..] => Some(encoding_rs::UTF_16BE),
        _ => None,
    };
    let chosen = if let Some(enc) = sniffed_utf16 {
        enc
    } else if let Some(enc) =
        from_header.filter(|e| *e != encoding_rs::UTF_8 || std::str::from_utf8(bytes).is_ok())
    {
        enc
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((Cow::Borrowed(text), "UTF-8"));
    } else {
        declared_encoding(bytes)
            .and_then(|label| Encoding::for_label(label.as_bytes()))
            .filter(|e| *e != encoding_rs::UTF_8)
            .unwrap_or(encoding_rs::WINDOWS_1252)
    };
    let (text, _, _) = chosen.decode(bytes);
    Ok((text, chosen.name()))
}

fn utf32_without_bom(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0, 0, 0, b'<', ..] | [0, 0, 0xFE, 0xFF, ..] => Some("UTF-32BE"),
        [b'<', 0, 0, 0, ..] | [0xFF, 0xFE, 0, 0, ..] => Some("UTF-32LE"),
        _ => None,
    }
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
    let head = String::from_utf8_lossy(head);
    let decl = head.trim_start().strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>")?];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next()?;
    let rest = &rest[1..];
    Some(rest[..rest.find(quote)?].to_string())
}
