//! STL, binary and ASCII.
//!
//! Binary STL has no magic number: an 80-byte header (free text, often starting with
//! `solid`, which fools ASCII detection), a little-endian u32 triangle count `n`, then `n`
//! records of 50 bytes. It is recognised by its size: the file must be exactly
//! `84 + 50·n` bytes with `n ≥ 1`, and the first triangle's nine corner coordinates must be
//! finite.
//! Inspection reads those 84 bytes only; a body cut short (or with bytes after it) is
//! refused. A file that starts with `solid` but holds binary bytes in its head and misses
//! the size is claimed too, so that a truncated binary STL is refused as such.
//!
//! ASCII STL starts with `solid`, then `facet normal …` lines. Sniffing wants `solid` and
//! then `facet` or `endsolid` as the next statement, so prose starting with "solid" stays
//! text. Inspection streams the whole file in 64 KiB chunks (bounded lines), checks the
//! grammar (`solid` / `facet normal x y z` / `outer loop` / three `vertex x y z` /
//! `endloop` / `endfacet` / `endsolid`, several solids allowed) and counts facets; a file
//! that ends before `endsolid` is truncated.
//!
//! Reported: `faceCount` (triangles). STL repeats each corner in every triangle and states
//! no vertex count, so `vertexCount` is not reported.

use super::super::{read_up_to, ByteSource, Format, InspectError};
use super::corrupt;
use super::lines::{for_each_line, is_number, words};
use intake_api::AssetProperties;

const F: Format = Format::Stl;
const HEADER: u64 = 84;
const RECORD: u64 = 50;
/// Longest ASCII line accepted.
const MAX_LINE: usize = 64 * 1024;

fn count_at(head: &[u8]) -> Option<u64> {
    head.get(80..84).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
}

/// True when `head` cannot be the start of text: a NUL or a control byte other than tab,
/// newline, form feed or carriage return.
fn binary_bytes(head: &[u8]) -> bool {
    head.iter().any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
}

fn starts_with_solid(head: &[u8]) -> bool {
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head).trim_ascii_start();
    text.len() >= 5 && text[..5].eq_ignore_ascii_case(b"solid") && text.get(5).is_none_or(|b| b.is_ascii_whitespace())
}

/// A binary STL by its size (see the module documentation).
fn sniff_binary(head: &[u8], total_len: u64) -> bool {
    let Some(n) = count_at(head) else { return false };
    if n == 0 || HEADER + RECORD * n != total_len {
        return false;
    }
    // Files whose own magic merely happens to fit the size formula.
    for magic in [&b"PK\x03\x04"[..], b"PK\x05\x06", b"GGUF", b"\x89PNG"] {
        if head.starts_with(magic) {
            return false;
        }
    }
    // The first triangle's corners (not its normal: some writers leave NaN there).
    match head.get(96..132) {
        Some(floats) => floats.chunks_exact(4).all(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite()),
        None => true,
    }
}

/// ASCII: `solid …` then `facet` or `endsolid`.
fn sniff_ascii(head: &[u8]) -> bool {
    if !starts_with_solid(head) || binary_bytes(head) {
        return false;
    }
    let mut lines = head.split(|&b| b == b'\n').map(<[u8]>::trim_ascii).filter(|l| !l.is_empty());
    lines.next(); // `solid name`
    let Some(next) = lines.next().and_then(|l| words(l).next()) else { return false };
    next.eq_ignore_ascii_case(b"facet") || next.eq_ignore_ascii_case(b"endsolid")
}

pub(super) fn sniff(head: &[u8], total_len: u64) -> bool {
    sniff_binary(head, total_len)
        || sniff_ascii(head)
        || (starts_with_solid(head) && binary_bytes(&head[..head.len().min(4096)]))
}

pub(super) fn inspect(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let len = src.len();
    let head = read_up_to(src, 0, 4096)?;
    let declared = count_at(&head);
    let faces = match declared {
        Some(n) if HEADER + RECORD * n == len => n,
        _ if starts_with_solid(&head) && !binary_bytes(&head) => inspect_ascii(src)?,
        Some(n) => {
            let want = HEADER + RECORD * n;
            let what = if want > len { "it is truncated" } else { "bytes follow its last triangle" };
            return Err(corrupt(
                F,
                format!("its header declares {n} triangles, which take {want} bytes, but the file has {len} ({what})"),
            ));
        }
        None => return Err(corrupt(F, format!("it has {len} bytes, less than the 84-byte binary STL header"))),
    };
    if faces == 0 {
        return Err(corrupt(F, "it holds no triangles"));
    }
    Ok(AssetProperties { face_count: Some(faces), ..AssetProperties::default() })
}

/// Where the ASCII grammar is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before `solid` (or after `endsolid`).
    Outside,
    /// Inside a solid, between facets.
    Solid,
    /// After `facet normal`, before `outer loop`.
    Facet,
    /// Inside `outer loop`, with this many vertices seen.
    Loop(u8),
    /// After `endloop`, before `endfacet`.
    EndLoop,
}

fn shown(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned();
    if line.len() > 40 {
        format!("{text:?}…")
    } else {
        format!("{text:?}")
    }
}

/// True when `words` are exactly three numbers.
fn three_numbers<'a>(words: impl Iterator<Item = &'a [u8]>) -> bool {
    let mut n = 0;
    for w in words {
        n += 1;
        if n > 3 || !is_number(w) {
            return false;
        }
    }
    n == 3
}

fn inspect_ascii(src: &dyn ByteSource) -> Result<u64, InspectError> {
    let mut state = State::Outside;
    let mut solids = 0u64;
    let mut facets = 0u64;
    let mut first = true;
    for_each_line(src, F, 0, 1, MAX_LINE, |raw, line_no| {
        let mut line = raw.trim_ascii();
        if first {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line).trim_ascii();
            first = false;
        }
        if line.is_empty() {
            return Ok(());
        }
        if line.contains(&0) {
            return Err(corrupt(F, format!("line {line_no} holds binary data (a NUL byte)")));
        }
        let mut w = words(line);
        let keyword = w.next().unwrap_or_default().to_ascii_lowercase();
        let expect = |what: &str| corrupt(F, format!("line {line_no}: expected {what}, found {}", shown(line)));
        state = match (state, keyword.as_slice()) {
            (State::Outside, b"solid") => {
                solids += 1;
                State::Solid
            }
            (State::Outside, _) if solids == 0 => return Err(expect("`solid`")),
            (State::Outside, _) => return Err(expect("nothing after `endsolid` but another `solid`")),
            (State::Solid, b"facet") => {
                if !w.next().is_some_and(|n| n.eq_ignore_ascii_case(b"normal")) || !three_numbers(&mut w) {
                    return Err(expect("`facet normal x y z`"));
                }
                facets += 1;
                State::Facet
            }
            (State::Solid, b"endsolid") => State::Outside,
            (State::Solid, _) => return Err(expect("`facet normal` or `endsolid`")),
            (State::Facet, b"outer") if w.next().is_some_and(|n| n.eq_ignore_ascii_case(b"loop")) => State::Loop(0),
            (State::Facet, _) => return Err(expect("`outer loop`")),
            (State::Loop(n), b"vertex") if n < 3 => {
                if !three_numbers(&mut w) {
                    return Err(expect("`vertex x y z` with three numbers"));
                }
                State::Loop(n + 1)
            }
            (State::Loop(3), b"endloop") => State::EndLoop,
            (State::Loop(3), _) => return Err(expect("`endloop` after three vertices")),
            (State::Loop(_), _) => return Err(expect("`vertex x y z`")),
            (State::EndLoop, b"endfacet") => State::Solid,
            (State::EndLoop, _) => return Err(expect("`endfacet`")),
        };
        Ok(())
    })?;
    match state {
        State::Outside if solids > 0 => Ok(facets),
        State::Outside => Err(corrupt(F, "it holds no `solid`")),
        _ => Err(corrupt(F, format!("it ends before `endsolid`, after {facets} facets (truncated)"))),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::super::test_support::{err, fixture, ok};
    use super::*;
    use crate::validate::sniff_head;
    use intake_api::Kind;

    /// A binary STL of `n` triangles whose header starts with `header`.
    pub fn binary_stl(header: &[u8], n: u32) -> Vec<u8> {
        let mut out = header.to_vec();
        out.resize(80, b' ');
        out.extend_from_slice(&n.to_le_bytes());
        for i in 0..n {
            for v in [0.0f32, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, i as f32, 1.0, 0.0] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&[0, 0]);
        }
        out
    }

    pub const ASCII: &str = "solid cube\n  facet normal 0 0 1\n    outer loop\n      vertex 0 0 0\n      vertex 1 0 0\n      vertex 0 1 0\n    endloop\n  endfacet\n  facet normal 0 0 1\n    outer loop\n      vertex 1 0 0\n      vertex 1 1 0\n      vertex 0 1 0\n    endloop\n  endfacet\nendsolid cube\n";

    #[test]
    fn fixtures_are_recognised() {
        for (name, faces) in [("mesh_box_binary.stl", 12), ("mesh_box_ascii.stl", 12)] {
            let bytes = fixture(name);
            assert_eq!(sniff_head(&bytes, bytes.len() as u64), Format::Stl, "{name}");
            let found = ok(Kind::ThreeD, &bytes);
            assert_eq!(found.format, Format::Stl);
            assert_eq!(found.properties.face_count, Some(faces), "{name}");
            assert_eq!(found.properties.format.as_deref(), Some("stl"));
        }
    }

    #[test]
    fn binary_with_a_solid_header_is_binary() {
        let file = binary_stl(b"solid made by a CAD tool", 3);
        assert_eq!(sniff_head(&file, file.len() as u64), Format::Stl);
        assert_eq!(ok(Kind::ThreeD, &file).properties.face_count, Some(3));
        let cut = &file[..file.len() - 7];
        let reason = err(Kind::ThreeD, cut);
        assert!(reason.contains("declares 3 triangles, which take 234 bytes, but the file has 227"), "{reason}");
        let mut longer = file.clone();
        longer.extend_from_slice(b"xx");
        assert!(err(Kind::ThreeD, &longer).contains("bytes follow its last triangle"));
        // Without `solid`, a binary STL of the wrong size has nothing to be recognised by.
        let plain = binary_stl(b"\0\0binary", 2);
        assert_eq!(sniff_head(&plain, plain.len() as u64), Format::Stl);
        assert_eq!(sniff_head(&plain[..plain.len() - 1], plain.len() as u64 - 1), Format::Unknown);
        assert!(err(Kind::ThreeD, &binary_stl(b"solid x", 0)).contains("holds no triangles"));
        // A NaN normal is left alone; a NaN corner is not an STL's.
        let mut nan = binary_stl(b"\0made by", 1);
        nan[84..88].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(sniff_head(&nan, nan.len() as u64), Format::Stl);
        nan[96..100].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(sniff_head(&nan, nan.len() as u64), Format::Unknown);
    }

    #[test]
    fn ascii_grammar_and_truncation() {
        assert_eq!(ok(Kind::ThreeD, ASCII.as_bytes()).properties.face_count, Some(2));
        // Text mode takes it as the text it is.
        assert_eq!(ok(Kind::Text, ASCII.as_bytes()).format, Format::Stl);
        let cut = &ASCII[..ASCII.rfind("endsolid").unwrap()];
        assert!(err(Kind::ThreeD, cut.as_bytes()).contains("ends before `endsolid`, after 2 facets (truncated)"));
        let two = ASCII.replacen("      vertex 0 1 0\n    endloop", "    endloop", 1);
        assert!(err(Kind::ThreeD, two.as_bytes()).contains("expected `vertex x y z`"));
        let bad = ASCII.replacen("vertex 1 0 0", "vertex 1 zero 0", 1);
        assert!(err(Kind::ThreeD, bad.as_bytes()).contains("line 5: expected `vertex x y z` with three numbers"));
        let after = format!("{ASCII}trailing words\n");
        assert!(err(Kind::ThreeD, after.as_bytes()).contains("nothing after `endsolid`"));
        let multi = format!("{ASCII}{ASCII}");
        assert_eq!(ok(Kind::ThreeD, multi.as_bytes()).properties.face_count, Some(4));
        assert!(err(Kind::ThreeD, b"solid empty\nendsolid empty\n").contains("holds no triangles"));
    }

    #[test]
    fn prose_starting_with_solid_stays_text() {
        let prose = b"solid advice for builders\nAlways check the foundation before the walls.\n";
        assert_eq!(sniff_head(prose, prose.len() as u64), Format::Text);
        assert!(!sniff(b"solidarity forever\nfacet\n", 100));
    }
}
