//! Wavefront OBJ: a text format of one statement per line.
//!
//! Sniffing wants every line of the head to be an OBJ statement or comment, with at least
//! one `v x y z` vertex. Inspection streams the file in bounded chunks (never holding it in
//! memory), counts `v` (vertices), `f` (faces), `vn` and `vt`, and rejects malformed
//! vertices and faces whose vertex, UV or normal indices are 0 or out of range.
//!
//! A line ending in `\` continues on the next one. Whether the joined (logical) line is a
//! comment is decided by its first non-blank byte, found once ([`LogicalLine`]), not by
//! rescanning the whole line at every continuation, which made a long line of
//! continuations after a run of blanks quadratic.

use super::super::work::{step, steps};
use super::super::{read_up_to, ByteSource, Format, InspectError, SNIFF_LEN};
use super::corrupt;
use intake_api::AssetProperties;

/// Statements of the OBJ specification (geometry, grouping, display attributes).
const KEYWORDS: &[&str] = &[
    "v",
    "vt",
    "vn",
    "vp",
    "f",
    "fo",
    "l",
    "p",
    "o",
    "g",
    "s",
    "mg",
    "usemtl",
    "mtllib",
    "usemap",
    "maplib",
    "cstype",
    "deg",
    "bmat",
    "step",
    "curv",
    "curv2",
    "surf",
    "parm",
    "trim",
    "hole",
    "scrv",
    "sp",
    "end",
    "con",
    "bevel",
    "c_interp",
    "d_interp",
    "lod",
    "shadow_obj",
    "trace_obj",
    "ctech",
    "stech",
    "call",
    "csh",
];

/// Longest line inspection accepts.
const MAX_LINE: usize = 1024 * 1024;
/// Bytes read per step while streaming.
const CHUNK: usize = 64 * 1024;

fn is_number(t: &str) -> bool {
    t.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Every non-blank line is a statement or a comment, three at least, one of them a vertex.
pub(super) fn sniff(head: &[u8]) -> bool {
    if head.contains(&0) {
        return false;
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let mut lines: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
    if head.len() >= SNIFF_LEN - 3 && !head.ends_with(b"\n") {
        lines.pop(); // the head cut the last line short
    }
    let (mut statements, mut commands, mut vertex) = (0usize, 0usize, false);
    let mut continued = false;
    for raw in lines {
        let was_continued = continued;
        let line = raw.trim_ascii();
        continued = line.ends_with(b"\\") && !line.starts_with(b"#");
        if line.is_empty() || was_continued {
            continue;
        }
        statements += 1;
        if line[0] == b'#' {
            continue;
        }
        let Ok(line) = std::str::from_utf8(line) else { return false };
        let mut tokens = line.split_ascii_whitespace();
        let keyword = tokens.next().unwrap_or("");
        if !KEYWORDS.contains(&keyword) {
            return false;
        }
        commands += 1;
        if keyword == "v" && tokens.take(3).filter(|t| is_number(t)).count() == 3 {
            vertex = true;
        }
    }
    vertex && statements >= 3 && commands >= 2
}

/// Counts kept while streaming.
#[derive(Default)]
struct Counts {
    v: u64,
    vt: u64,
    vn: u64,
    faces: u64,
    /// Largest positive reference to each list, with its line, checked at the end (OBJ
    /// allows faces to name vertices defined further down).
    max_ref: [(u64, u64); 3],
}

const LISTS: [&str; 3] = ["vertex", "texture coordinate", "normal"];

impl Counts {
    fn list_len(&self, k: usize) -> u64 {
        [self.v, self.vt, self.vn][k]
    }

    /// One face corner or line point (`v`, `v/vt`, `v//vn`, `v/vt/vn`).
    fn reference(&mut self, corner: &str, line_no: u64) -> Result<(), InspectError> {
        let f = Format::Obj;
        for (k, part) in corner.split('/').enumerate() {
            if k > 2 {
                return Err(corrupt(f, format!("line {line_no}: the face corner {corner:?} has too many parts")));
            }
            if part.is_empty() {
                if k == 0 {
                    return Err(corrupt(f, format!("line {line_no}: the face corner {corner:?} has no vertex index")));
                }
                continue;
            }
            let Ok(i) = part.parse::<i64>() else {
                return Err(corrupt(f, format!("line {line_no}: {corner:?} is not a valid face corner")));
            };
            let len = self.list_len(k);
            if i == 0 {
                return Err(corrupt(
                    f,
                    format!("line {line_no}: a face refers to {} 0 (indices start at 1)", LISTS[k]),
                ));
            }
            if i < 0 && i.unsigned_abs() > len {
                return Err(corrupt(
                    f,
                    format!("line {line_no}: a face refers to {} {i}, but only {len} precede it", LISTS[k]),
                ));
            }
            if i > 0 && i as u64 > self.max_ref[k].0 {
                self.max_ref[k] = (i as u64, line_no);
            }
        }
        Ok(())
    }

    fn statement(&mut self, line: &[u8], line_no: u64) -> Result<(), InspectError> {
        let f = Format::Obj;
        if line.contains(&0) {
            return Err(corrupt(f, format!("line {line_no} holds binary data (a NUL byte)")));
        }
        let line = line.trim_ascii();
        if line.is_empty() || line[0] == b'#' {
            return Ok(());
        }
        let text = String::from_utf8_lossy(line);
        let mut tokens = text.split_ascii_whitespace();
        let keyword = tokens.next().unwrap_or("");
        let numbers =
            |tokens: std::str::SplitAsciiWhitespace, n: usize| tokens.take(n).filter(|t| is_number(t)).count() == n;
        match keyword {
            "v" => {
                if !numbers(tokens, 3) {
                    return Err(corrupt(f, format!("line {line_no}: a vertex needs three numbers")));
                }
                self.v += 1;
            }
            "vt" => {
                if !numbers(tokens, 1) {
                    return Err(corrupt(f, format!("line {line_no}: a texture coordinate needs a number")));
                }
                self.vt += 1;
            }
            "vn" => {
                if !numbers(tokens, 3) {
                    return Err(corrupt(f, format!("line {line_no}: a normal needs three numbers")));
                }
                self.vn += 1;
            }
            "f" | "fo" => {
                let mut corners = 0;
                for corner in tokens {
                    self.reference(corner, line_no)?;
                    corners += 1;
                }
                if corners < 3 {
                    return Err(corrupt(f, format!("line {line_no}: a face needs at least three vertices")));
                }
                self.faces += 1;
            }
            "l" | "p" => {
                for corner in tokens {
                    self.reference(corner, line_no)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The logical line being joined from physical lines (across chunks), and where its first
/// non-blank byte is, found by looking at each byte once.
#[derive(Default)]
struct LogicalLine {
    bytes: Vec<u8>,
    /// Index of the first byte that is not ASCII whitespace, once found.
    first_mark: Option<usize>,
    /// Bytes before this index are known to be blank.
    blank_up_to: usize,
}

impl LogicalLine {
    /// True when the line so far is a comment: its first non-blank byte is `#`.
    fn is_comment(&mut self) -> Result<bool, InspectError> {
        if self.first_mark.is_none() {
            let unseen = &self.bytes[self.blank_up_to..];
            steps(unseen.len() as u64)?;
            match unseen.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(p) => {
                    self.blank_up_to += p;
                    self.first_mark = Some(self.blank_up_to);
                }
                None => self.blank_up_to = self.bytes.len(),
            }
        }
        Ok(self.first_mark.is_some_and(|i| self.bytes[i] == b'#'))
    }

    fn truncate(&mut self, len: usize) {
        self.bytes.truncate(len);
        if self.first_mark.is_some_and(|i| i >= len) {
            self.first_mark = None;
        }
        self.blank_up_to = self.blank_up_to.min(len);
    }

    fn clear(&mut self) {
        self.truncate(0);
    }
}

pub(super) fn inspect(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let f = Format::Obj;
    let len = src.len();
    let mut counts = Counts::default();
    let mut pending = LogicalLine::default(); // the current (logical) line, across chunks
    let mut line_no = 1u64; // number of the line `pending` started on
    let mut lines_seen = 0u64;
    let mut off = 0u64;
    while off < len {
        let chunk = read_up_to(src, off, CHUNK)?;
        if chunk.is_empty() {
            break;
        }
        steps(chunk.len() as u64)?;
        off += chunk.len() as u64;
        let mut rest = &chunk[..];
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            step()?;
            pending.bytes.extend_from_slice(&rest[..nl]);
            rest = &rest[nl + 1..];
            lines_seen += 1;
            if pending.bytes.len() > MAX_LINE {
                return Err(corrupt(f, format!("line {line_no} is longer than 1 MiB")));
            }
            let trimmed_len = pending.bytes.trim_ascii_end().len();
            if pending.bytes[..trimmed_len].ends_with(b"\\") && !pending.is_comment()? {
                // A continuation: join with the next line.
                pending.truncate(trimmed_len - 1);
                pending.bytes.push(b' ');
            } else {
                counts.statement(&pending.bytes, line_no)?;
                pending.clear();
                line_no = lines_seen + 1;
            }
        }
        pending.bytes.extend_from_slice(rest);
        if pending.bytes.len() > MAX_LINE {
            return Err(corrupt(f, format!("line {line_no} is longer than 1 MiB")));
        }
    }
    counts.statement(&pending.bytes, line_no)?;

    if counts.v == 0 {
        return Err(corrupt(f, "it defines no vertices"));
    }
    for (k, &(max, line)) in counts.max_ref.iter().enumerate() {
        let have = counts.list_len(k);
        if max > have {
            return Err(corrupt(
                f,
                format!("line {line}: a face refers to {} {max}, but the file defines only {have}", LISTS[k]),
            ));
        }
    }
    Ok(AssetProperties {
        vertex_count: Some(counts.v),
        face_count: Some(counts.faces),
        has_normals: Some(counts.vn > 0),
        has_uvs: Some(counts.vt > 0),
        has_animations: Some(false),
        has_skeleton: Some(false),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::{validate, CountingSource, ValidateError};
    use super::super::sniff as mesh_sniff;
    use super::*;
    use intake_api::Kind;

    const CUBE: &str = "# a unit cube\r\nmtllib cube.mtl\r\no Cube\r\n\
        v 0 0 0\r\nv 1 0 0\r\nv 1 1 0\r\nv 0 1 0\r\nv 0 0 1\r\nv 1 0 1\r\nv 1 1 1\r\nv 0 1 1\r\n\
        vt 0 0\r\nvt 1 0\r\nvt 1 1\r\nvt 0 1\r\n\
        vn 0 0 -1\r\nvn 0 0 1\r\nvn 0 -1 0\r\nvn 1 0 0\r\nvn 0 1 0\r\nvn -1 0 0\r\n\
        usemtl Material\r\ns off\r\n\
        f 1/1/1 4/4/1 3/3/1 2/2/1\r\nf 5/1/2 6/2/2 7/3/2 8/4/2\r\nf 1/1/3 2/2/3 6/3/3 5/4/3\r\n\
        f 2/1/4 3/2/4 \\\r\n  7/3/4 6/4/4\r\nf 3/1/5 4/2/5 8/3/5 7/4/5\r\nf -8/1/6 -4/2/6 -1/3/6 -5/4/6\r\n";

    fn obj(text: &str) -> Result<AssetProperties, String> {
        match validate(Kind::ThreeD, &text.as_bytes().to_vec()) {
            Ok(found) => {
                assert_eq!(found.format, Format::Obj);
                Ok(found.properties)
            }
            Err(ValidateError::Rejected(r)) => Err(r.0),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_comment_is_never_continued_wherever_its_mark_is() {
        let vertices = |text: &str| inspect(&text.as_bytes().to_vec()).map(|p| p.vertex_count).ok().flatten();
        // A comment ending in a backslash does not swallow the next line.
        assert_eq!(vertices("v 0 0 0\n# note \\\nv 1 0 0\nv 0 1 0\n"), Some(3));
        // Nor does one whose '#' comes after blanks joined by a continuation.
        assert_eq!(vertices("v 0 0 0\n   \\\n  \\\n # note \\\nv 1 0 0\nv 0 1 0\n"), Some(3));
        // A statement continued after blanks is one statement.
        assert_eq!(vertices("   \\\n \\\nv 0 0 \\\n 0\nv 1 0 0\nv 0 1 0\n"), Some(3));
        // Blanks then a continued comment mark: the whole joined line is a comment.
        assert_eq!(vertices("v 0 0 0\n \\\n#v 1 0 0 \\\nv 1 0 0\n"), Some(2));
    }

    #[test]
    fn triangle_and_cube() {
        let p = obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n").unwrap();
        assert_eq!(p.format.as_deref(), Some("obj"));
        assert_eq!((p.vertex_count, p.face_count), (Some(3), Some(1)));
        assert_eq!((p.has_normals, p.has_uvs), (Some(false), Some(false)));
        let p = obj(CUBE).unwrap();
        assert_eq!((p.vertex_count, p.face_count), (Some(8), Some(6)));
        assert_eq!((p.has_normals, p.has_uvs), (Some(true), Some(true)));
        assert_eq!((p.has_animations, p.has_skeleton), (Some(false), Some(false)));
    }

    #[test]
    fn truncated_and_corrupt() {
        // Cut inside a face and inside a vertex.
        let cut = &CUBE[..CUBE.find("f 5/1/2 6/2/2").unwrap() + 9];
        assert!(obj(cut).unwrap_err().contains("a face needs at least three vertices"));
        let cut = &CUBE[..CUBE.find("v 1 1 1").unwrap() + 5];
        assert!(obj(cut).unwrap_err().contains("a vertex needs three numbers"));
        let msg = obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n").unwrap_err();
        assert!(
            msg.contains("Wavefront OBJ") && msg.contains("refers to vertex 4, but the file defines only 3"),
            "{msg}"
        );
        assert!(obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n").unwrap_err().contains("vertex 0"));
        assert!(obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -4\n").unwrap_err().contains("vertex -4"));
        assert!(obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/5 2/1 3/1\nvt 0 0\n")
            .unwrap_err()
            .contains("texture coordinate 5"));
        let mut binary = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n".to_vec();
        binary.extend_from_slice(&vec![0u8; SNIFF_LEN]);
        binary.extend_from_slice(b"\nf 1 2 3\n");
        match inspect(&binary) {
            Err(InspectError::Rejected(r)) => assert!(r.0.contains("NUL byte")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sniff_is_strict() {
        assert!(sniff(CUBE.as_bytes()));
        assert_eq!(mesh_sniff(CUBE.as_bytes(), CUBE.len() as u64), Some(Format::Obj));
        assert!(!sniff(b"# Title\n\nSome markdown text.\nv 1 2 3\n"));
        assert!(!sniff(b"v 1 2 3\n")); // too little to tell
        assert!(!sniff(b"# only\n# comments\no name\ng group\n")); // no vertex
        assert!(!sniff(b"v one two three\nf 1 2 3\n# x\n"));
        assert!(!sniff(b"v 1 2 3\nv 1 2 3\nf 1 2 3\x00\n"));
    }

    #[test]
    fn streams_a_large_file() {
        let mut big = String::from("# generated\n");
        let n = 200_000;
        for i in 0..n {
            big.push_str(&format!("v {i} {}.5 -{i}e-3\n", i % 7));
        }
        for i in 1..n - 1 {
            big.push_str(&format!("f {i} {} {}\n", i + 1, i + 2));
        }
        let big = big.into_bytes();
        let counting = CountingSource::new(&big);
        let p = inspect(&counting).unwrap();
        assert_eq!((p.vertex_count, p.face_count), (Some(n), Some(n - 2)));
        // OBJ is read once, front to back, in 64 KiB steps.
        assert_eq!(counting.bytes_read(), big.len() as u64);
        let long = format!("v 0 0 0\nv 1 0 0\nv 0 1 0\n# {}\n", "x".repeat(MAX_LINE + 10));
        match inspect(&long.into_bytes()) {
            Err(InspectError::Rejected(r)) => assert!(r.0.contains("longer than 1 MiB")),
            other => panic!("{other:?}"),
        }
    }
}
