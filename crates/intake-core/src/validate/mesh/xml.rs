//! A bounded, streaming XML tag scanner for COLLADA documents and 3MF model parts.
//!
//! Why not `quick-xml`: its reader hands each text node over whole, in one buffer, and a
//! COLLADA `<float_array>` of a million vertices is one text node of tens of MiB. Bounding
//! its buffer would refuse honest files; not bounding it lets a file of one endless text
//! node take all memory. This scanner never holds text: it passes it on in the pieces it
//! was read in, and holds only one tag at a time (at most 64 KiB) and the stack of open
//! element names (at most 256 deep).
//!
//! It checks what validation needs of well-formedness: tags close in order and match their
//! opening tag, there is one root element and nothing but comments, processing
//! instructions and blanks after it, and the document does not end inside a tag, a comment
//! or an open element. It does not expand entities (so no entity bombs), validate names or
//! check attribute syntax beyond quoting. Every byte costs a step.

use super::super::work::steps;
use super::super::{Format, InspectError};
use super::corrupt;
use std::io::Read;

/// Longest tag (from `<` to `>`) accepted.
const MAX_TAG: usize = 64 * 1024;
/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 256;
/// Bytes read at once.
const CHUNK: usize = 64 * 1024;

/// What the scanner reports.
pub(super) enum Event<'a> {
    /// An opening tag: its local name (after any `prefix:`), its raw attributes and how
    /// many elements enclose it.
    Start { name: &'a [u8], attributes: &'a [u8], depth: usize },
    /// A closing tag, or the end of an empty element (`<name …/>`).
    End { name: &'a [u8] },
    /// A piece of character data (a text node may come in several pieces).
    Text(&'a [u8]),
}

enum State {
    Content,
    /// Inside `<…`, collecting the tag; `quote` is the open attribute quote.
    Tag {
        quote: Option<u8>,
    },
    /// Inside `<!-- … -->`; how many `-` were just seen.
    Comment {
        dashes: u8,
    },
    /// Inside `<![CDATA[ … ]]>`; how many `]` were just seen.
    Cdata {
        brackets: u8,
    },
    /// Inside `<? … ?>`; whether a `?` was just seen.
    Pi {
        question: bool,
    },
    /// Inside `<!DOCTYPE …>` or another declaration: `[` depth and open quote.
    Declaration {
        depth: u32,
        quote: Option<u8>,
    },
}

/// The local part of a qualified name.
pub(super) fn local(name: &[u8]) -> &[u8] {
    name.iter().rposition(|&b| b == b':').map_or(name, |i| &name[i + 1..])
}

/// The value of attribute `key` (compared by local name), unescaped only of nothing.
pub(super) fn attribute<'a>(attributes: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let mut rest = attributes;
    loop {
        rest = rest.trim_ascii_start();
        let eq = rest.iter().position(|&b| b == b'=')?;
        let name = rest[..eq].trim_ascii();
        rest = rest[eq + 1..].trim_ascii_start();
        let quote = *rest.first()?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let end = rest[1..].iter().position(|&b| b == quote)?;
        let value = &rest[1..1 + end];
        if local(name) == key {
            return Some(value);
        }
        rest = &rest[end + 2..];
    }
}

/// An attribute as an unsigned integer.
pub(super) fn uint_attribute(attributes: &[u8], key: &[u8]) -> Option<u64> {
    std::str::from_utf8(attribute(attributes, key)?.trim_ascii()).ok()?.parse().ok()
}

/// Scans the document `input` of `format`, calling `each` for every event. Fails when the
/// document is malformed as described in the module documentation; returns the local name
/// of the root element.
pub(super) fn scan(
    format: Format,
    mut input: impl Read,
    mut each: impl FnMut(Event) -> Result<(), InspectError>,
) -> Result<Vec<u8>, InspectError> {
    let mut chunk = vec![0u8; CHUNK];
    let mut tag: Vec<u8> = Vec::new();
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut root: Option<Vec<u8>> = None;
    let mut closed = false;
    let mut state = State::Content;
    let mut seen = 0u64;
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        steps(n as u64)?;
        let data = &chunk[..n];
        let mut i = if seen == 0 && data.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        while i < n {
            match &mut state {
                State::Content => {
                    let end = data[i..].iter().position(|&b| b == b'<').map_or(n, |p| i + p);
                    if end > i {
                        let text = &data[i..end];
                        if open.is_empty() && !text.trim_ascii().is_empty() {
                            let at = seen + i as u64;
                            return Err(corrupt(format, format!("it has text outside its root element at byte {at}")));
                        }
                        each(Event::Text(text))?;
                    }
                    if end < n {
                        tag.clear();
                        state = State::Tag { quote: None };
                    }
                    i = end + 1;
                    continue;
                }
                State::Tag { quote } => {
                    let b = data[i];
                    match *quote {
                        Some(q) if b == q => *quote = None,
                        Some(_) => {}
                        None if b == b'"' || b == b'\'' => *quote = Some(b),
                        None if b == b'>' => {
                            tag_done(format, &tag, &mut open, &mut root, &mut closed, &mut each)?;
                            state = State::Content;
                            i += 1;
                            continue;
                        }
                        None => {}
                    }
                    tag.push(b);
                    if tag.len() > MAX_TAG {
                        return Err(corrupt(format, "it has a tag longer than 64 KiB"));
                    }
                    if tag == b"!--" {
                        state = State::Comment { dashes: 0 };
                    } else if tag == b"![CDATA[" {
                        state = State::Cdata { brackets: 0 };
                    } else if tag == b"?" {
                        state = State::Pi { question: false };
                    } else if tag[0] == b'!' && !b"!--".starts_with(&tag) && !b"![CDATA[".starts_with(&tag) {
                        state = State::Declaration { depth: 0, quote: None };
                    }
                }
                State::Comment { dashes } => {
                    let b = data[i];
                    if b == b'>' && *dashes >= 2 {
                        state = State::Content;
                    } else if b == b'-' {
                        *dashes = dashes.saturating_add(1);
                    } else {
                        *dashes = 0;
                    }
                }
                State::Cdata { brackets } => {
                    let b = data[i];
                    if b == b'>' && *brackets >= 2 {
                        state = State::Content;
                    } else if b == b']' {
                        *brackets = brackets.saturating_add(1);
                    } else {
                        *brackets = 0;
                        if open.is_empty() {
                            return Err(corrupt(format, "it has character data outside its root element"));
                        }
                        each(Event::Text(&data[i..i + 1]))?;
                    }
                }
                State::Pi { question } => {
                    let b = data[i];
                    if b == b'>' && *question {
                        state = State::Content;
                    } else {
                        *question = b == b'?';
                    }
                }
                State::Declaration { depth, quote } => {
                    let b = data[i];
                    match *quote {
                        Some(q) if b == q => *quote = None,
                        Some(_) => {}
                        None => match b {
                            b'"' | b'\'' => *quote = Some(b),
                            b'[' => *depth += 1,
                            b']' => *depth = depth.saturating_sub(1),
                            b'>' if *depth == 0 => state = State::Content,
                            _ => {}
                        },
                    }
                }
            }
            i += 1;
        }
        seen += n as u64;
    }
    if !matches!(state, State::Content) {
        return Err(corrupt(format, "it ends inside a tag or comment (truncated)"));
    }
    match (root, closed) {
        (Some(root), true) => Ok(root),
        (Some(root), false) => Err(corrupt(
            format,
            format!("it ends before its root element <{}> closes (truncated)", String::from_utf8_lossy(&root)),
        )),
        (None, _) => Err(corrupt(format, "it has no root element")),
    }
}

/// Handles one complete tag (the bytes between `<` and `>`).
fn tag_done(
    format: Format,
    tag: &[u8],
    open: &mut Vec<Vec<u8>>,
    root: &mut Option<Vec<u8>>,
    closed: &mut bool,
    each: &mut impl FnMut(Event) -> Result<(), InspectError>,
) -> Result<(), InspectError> {
    match tag {
        // A processing instruction or declaration shorter than its opener (`<?>`, `<!>`).
        [b'?' | b'!', ..] => return Ok(()),
        [b'/', name @ ..] => {
            let name = name.trim_ascii_end();
            let Some(top) = open.pop() else {
                return Err(corrupt(format, format!("it closes </{}>, which is not open", shown(name))));
            };
            if top != name {
                return Err(corrupt(
                    format,
                    format!("</{}> closes <{}> (the tags are not nested)", shown(name), shown(&top)),
                ));
            }
            if open.is_empty() {
                *closed = true;
            }
            each(Event::End { name: local(name) })?;
        }
        _ => {
            let empty = tag.ends_with(b"/");
            let body = if empty { &tag[..tag.len() - 1] } else { tag };
            let split = body.iter().position(|b| b.is_ascii_whitespace()).unwrap_or(body.len());
            let (name, attributes) = body.split_at(split);
            if name.is_empty() {
                return Err(corrupt(format, "it has a tag without a name"));
            }
            if *closed || (open.is_empty() && root.is_some()) {
                return Err(corrupt(format, "it has a second root element"));
            }
            if root.is_none() {
                *root = Some(local(name).to_vec());
            }
            let depth = open.len();
            each(Event::Start { name: local(name), attributes, depth })?;
            if empty {
                if depth == 0 {
                    *closed = true;
                }
                each(Event::End { name: local(name) })?;
            } else {
                if open.len() >= MAX_DEPTH {
                    return Err(corrupt(format, format!("its elements nest deeper than {MAX_DEPTH}")));
                }
                open.push(name.to_vec());
            }
        }
    }
    Ok(())
}

fn shown(name: &[u8]) -> String {
    String::from_utf8_lossy(&name[..name.len().min(60)]).into_owned()
}

/// Counts whitespace-separated tokens in text that arrives in pieces.
#[derive(Default)]
pub(super) struct TokenCounter {
    pub count: u64,
    in_token: bool,
}

impl TokenCounter {
    pub fn feed(&mut self, text: &[u8]) {
        for &b in text {
            let blank = b.is_ascii_whitespace();
            if !blank && !self.in_token {
                self.count += 1;
            }
            self.in_token = !blank;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(doc: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let result = scan(Format::Dae, doc.as_bytes(), |e| {
            match e {
                Event::Start { name, depth, .. } => out.push(format!("{depth}<{}", String::from_utf8_lossy(name))),
                Event::End { name, .. } => out.push(format!(">{}", String::from_utf8_lossy(name))),
                Event::Text(_) => {}
            }
            Ok(())
        });
        match result {
            Ok(_) => Ok(out),
            Err(InspectError::Rejected(r)) => Err(r.0),
            Err(InspectError::Io(e)) => Err(e.to_string()),
        }
    }

    #[test]
    fn scans_tags_comments_and_declarations() {
        let doc = "\u{feff}<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x \"<y>\">]>\n<!-- <b> -- -->\n<a:root x='1>2'><b/><![CDATA[<c>]]><d>t</d></a:root>\n<?pi?>\n";
        assert_eq!(names(doc).unwrap(), ["0<root", "1<b", ">b", "1<d", ">d", ">root"]);
        assert!(names("<a><b></a></b>").unwrap_err().contains("</a> closes <b>"));
        assert!(names("<a><b></b>").unwrap_err().contains("before its root element <a> closes"));
        assert!(names("<a><b x=\"1").unwrap_err().contains("ends inside a tag"));
        assert!(names("<a/><b/>").unwrap_err().contains("second root"));
        assert!(names("<a/>text").unwrap_err().contains("text outside its root"));
        assert!(names("").unwrap_err().contains("no root element"));
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(names(&deep).unwrap_err().contains("nest deeper"));
    }

    #[test]
    fn attributes_and_tokens() {
        let attrs = b" id=\"p\" m:count = '12' stride=\"3\"";
        assert_eq!(attribute(attrs, b"id"), Some(&b"p"[..]));
        assert_eq!(uint_attribute(attrs, b"count"), Some(12));
        assert_eq!(uint_attribute(attrs, b"stride"), Some(3));
        assert_eq!(attribute(attrs, b"missing"), None);
        let mut t = TokenCounter::default();
        for piece in ["1 2.5", "e3 ", " 4\n5"] {
            t.feed(piece.as_bytes());
        }
        assert_eq!(t.count, 4);
    }
}
