//! USD layers outside a USDZ: USDA (text) and USDC (the binary "crate" format).
//!
//! - **USDA** starts with `#usda 1.0`. Inspection streams the whole file in 64 KiB chunks
//!   through a small lexer that knows comments (`#`, `//`, `/* */`), strings (`"…"`, `'…'`
//!   and their triple-quoted forms, with `\` escapes) and asset paths (`@…@`, `@@@…@@@`),
//!   and checks that every `(`, `[` and `{` outside them closes in order (at most 1,024
//!   deep) and that no NUL byte occurs. A file that ends inside a string or before its
//!   brackets close is truncated. Nothing is counted: that would mean parsing USD.
//! - **USDC** starts with `PXR-USDC`, then an 8-byte version (major 0) and the offset of its
//!   table of contents. Inspection reads the 88-byte bootstrap header and the table (at
//!   most 256 sections of a 16-byte name, a start and a size): the table and every section
//!   must lie inside the file, after the header. Only those bytes are read.

use super::super::work::{step, steps};
use super::super::{read_exact_at, read_up_to, ByteSource, Format, InspectError};
use super::corrupt;
use super::lines::CHUNK;
use intake_api::AssetProperties;

const BOOTSTRAP: u64 = 88;
const MAX_SECTIONS: u64 = 256;
const MAX_DEPTH: usize = 1024;

pub(super) fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"#usda ") {
        Some(Format::Usda)
    } else if head.starts_with(b"PXR-USDC") {
        Some(Format::Usdc)
    } else {
        None
    }
}

pub(super) fn inspect(format: Format, src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    if format == Format::Usdc {
        inspect_usdc(src)?;
    } else {
        inspect_usda(src)?;
    }
    Ok(AssetProperties::default())
}

fn u64le(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

fn inspect_usdc(src: &dyn ByteSource) -> Result<(), InspectError> {
    let f = Format::Usdc;
    let len = src.len();
    let mut header = [0u8; BOOTSTRAP as usize];
    read_exact_at(src, 0, &mut header)?;
    if header[8] != 0 {
        return Err(corrupt(
            f,
            format!("its version {}.{}.{} is not a crate version (0.x)", header[8], header[9], header[10]),
        ));
    }
    let toc = u64le(&header[16..]);
    if toc < BOOTSTRAP || toc.checked_add(8).is_none_or(|end| end > len) {
        return Err(corrupt(
            f,
            format!("its table of contents is said to start at byte {toc}, outside the file's {len} bytes"),
        ));
    }
    let mut count = [0u8; 8];
    read_exact_at(src, toc, &mut count)?;
    let sections = u64le(&count);
    if sections > MAX_SECTIONS {
        return Err(corrupt(f, format!("its table of contents lists {sections} sections (at most {MAX_SECTIONS})")));
    }
    let table = read_up_to(src, toc + 8, (sections * 32) as usize)?;
    if (table.len() as u64) < sections * 32 {
        return Err(corrupt(
            f,
            format!("its table of contents of {sections} sections runs past the end of the file (truncated)"),
        ));
    }
    for entry in table.chunks_exact(32) {
        step()?;
        let name_len = entry[..16].iter().position(|&b| b == 0).unwrap_or(16);
        let name = String::from_utf8_lossy(&entry[..name_len]);
        let (start, size) = (u64le(&entry[16..]), u64le(&entry[24..]));
        if start < BOOTSTRAP || start.checked_add(size).is_none_or(|end| end > len) {
            return Err(corrupt(
                f,
                format!("its section {name:?} ({size} bytes at byte {start}) lies outside the file's {len} bytes"),
            ));
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lex {
    Normal,
    /// After a `/` in normal text.
    Slash,
    LineComment,
    /// Inside `/* */`; whether a `*` was just seen.
    BlockComment(bool),
    /// Counting the opening quotes (or `@`s) of a string or asset path.
    Opening(u8, u8),
    /// Inside a string or asset path: its delimiter, whether tripled, closing delimiters
    /// just seen, whether the last byte was a `\`.
    Inside {
        delim: u8,
        triple: bool,
        closing: u8,
        escape: bool,
    },
}

fn inspect_usda(src: &dyn ByteSource) -> Result<(), InspectError> {
    let f = Format::Usda;
    let head = read_up_to(src, 0, 64)?;
    let first = head.split(|&b| b == b'\n').next().unwrap_or_default().trim_ascii_end();
    let version = first.strip_prefix(b"#usda ").unwrap_or_default();
    if version.is_empty() || !version.iter().all(|b| b.is_ascii_digit() || *b == b'.') || !version.starts_with(b"1.") {
        return Err(corrupt(f, "its first line is not `#usda 1.0`"));
    }
    let len = src.len();
    let mut stack: Vec<u8> = Vec::new();
    let mut lex = Lex::Normal;
    let mut off = 0u64;
    while off < len {
        let chunk = read_up_to(src, off, CHUNK)?;
        if chunk.is_empty() {
            break;
        }
        steps(chunk.len() as u64)?;
        let mut i = 0;
        while i < chunk.len() {
            let b = chunk[i];
            if b == 0 {
                return Err(corrupt(f, format!("byte {} is a NUL: this is not text", off + i as u64)));
            }
            let mut again = false;
            lex = match lex {
                Lex::Normal => match b {
                    b'#' => Lex::LineComment,
                    b'/' => Lex::Slash,
                    b'"' | b'\'' | b'@' => Lex::Opening(b, 1),
                    b'(' | b'[' | b'{' => {
                        if stack.len() >= MAX_DEPTH {
                            return Err(corrupt(f, format!("its brackets nest deeper than {MAX_DEPTH}")));
                        }
                        stack.push(b);
                        Lex::Normal
                    }
                    b')' | b']' | b'}' => {
                        let open = match b {
                            b')' => b'(',
                            b']' => b'[',
                            _ => b'{',
                        };
                        if stack.pop() != Some(open) {
                            return Err(corrupt(
                                f,
                                format!("byte {}: {:?} closes nothing open", off + i as u64, b as char),
                            ));
                        }
                        Lex::Normal
                    }
                    _ => Lex::Normal,
                },
                Lex::Slash => match b {
                    b'/' => Lex::LineComment,
                    b'*' => Lex::BlockComment(false),
                    _ => {
                        again = true;
                        Lex::Normal
                    }
                },
                Lex::LineComment => {
                    if b == b'\n' {
                        Lex::Normal
                    } else {
                        Lex::LineComment
                    }
                }
                Lex::BlockComment(star) => {
                    if star && b == b'/' {
                        Lex::Normal
                    } else {
                        Lex::BlockComment(b == b'*')
                    }
                }
                Lex::Opening(d, n) if b == d && n < 3 => Lex::Opening(d, n + 1),
                // Two delimiters and something else: an empty string or path.
                Lex::Opening(_, 2) => {
                    again = true;
                    Lex::Normal
                }
                Lex::Opening(d, n) => {
                    again = true;
                    Lex::Inside { delim: d, triple: n == 3, closing: 0, escape: false }
                }
                Lex::Inside { delim, triple, closing, escape } => {
                    if escape {
                        Lex::Inside { delim, triple, closing: 0, escape: false }
                    } else if b == b'\\' && delim != b'@' {
                        Lex::Inside { delim, triple, closing: 0, escape: true }
                    } else if b == delim {
                        if !triple || closing == 2 {
                            Lex::Normal
                        } else {
                            Lex::Inside { delim, triple, closing: closing + 1, escape: false }
                        }
                    } else {
                        Lex::Inside { delim, triple, closing: 0, escape: false }
                    }
                }
            };
            if !again {
                i += 1;
            }
        }
        off += chunk.len() as u64;
    }
    match lex {
        Lex::Inside { .. } | Lex::Opening(_, 1) | Lex::Opening(_, 3) => {
            Err(corrupt(f, "it ends inside a string or asset path (truncated)"))
        }
        Lex::BlockComment(_) => Err(corrupt(f, "it ends inside a /* comment (truncated)")),
        _ if !stack.is_empty() => Err(corrupt(
            f,
            format!("it ends before its {:?} closes (truncated)", *stack.last().expect("not empty") as char),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{err, fixture, ok};
    use super::*;
    use crate::validate::sniff_head;
    use intake_api::Kind;

    #[test]
    fn fixtures_are_recognised() {
        for (name, format) in [("mesh_box.usda", Format::Usda), ("mesh_box.usdc", Format::Usdc)] {
            let bytes = fixture(name);
            assert_eq!(sniff_head(&bytes, bytes.len() as u64), format, "{name}");
            assert_eq!(ok(Kind::ThreeD, &bytes).properties.format.as_deref(), Some(format.name()));
        }
        assert_eq!(ok(Kind::Text, &fixture("mesh_box.usda")).format, Format::Usda);
    }

    #[test]
    fn truncated_and_lying_usdc() {
        let bytes = fixture("mesh_box.usdc");
        let reason = err(Kind::ThreeD, &bytes[..bytes.len() - 40]);
        assert!(reason.contains("USDC") && reason.contains("(truncated)"), "{reason}");
        let mut lying = bytes.clone();
        let toc = u64le(&lying[16..]) as usize;
        lying[toc + 8 + 16..toc + 8 + 24].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(err(Kind::ThreeD, &lying).contains("lies outside the file"));
    }

    #[test]
    fn usda_lexing() {
        let good = "#usda 1.0\n(\n  doc = \"\"\"a ( [ \"quoted\" \"\"\"\n)\n// c (\n/* { */\ndef Mesh \"m\" { int[] x = [1, 2] asset a = @./b(.png@ string s = '' string e = \"\\\"(\" }\n";
        assert!(ok(Kind::ThreeD, good.as_bytes()).properties.vertex_count.is_none());
        let cut = &good[..good.rfind('}').unwrap()];
        assert!(err(Kind::ThreeD, cut.as_bytes()).contains("ends before its '{' closes (truncated)"));
        let cut = &good[..good.find("a ( [").unwrap()];
        assert!(err(Kind::ThreeD, cut.as_bytes()).contains("ends inside a string"));
        assert!(err(Kind::ThreeD, b"#usda 1.0\ndef X { ] }\n").contains("']' closes nothing open"));
        assert!(err(Kind::ThreeD, b"#usda 9\ndef X {}\n").contains("not `#usda 1.0`"));
    }
}
