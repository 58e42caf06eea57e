//! Stanford PLY: ASCII, binary little-endian and binary big-endian.
//!
//! The header (`ply`, `format …`, `element`/`property`/`comment`/`obj_info` lines, up to
//! `end_header`) is read whole, at most 1 MiB (64 KiB first); elements and properties are
//! capped (256 elements, 1,024 properties each) before anything is kept for them.
//!
//! Binary body:
//! - elements of fixed-size properties only (vertices, usually) are not read: their size is
//!   `count × row size`;
//! - elements with list properties (faces) cannot be sized without reading each row's list
//!   length, so their rows are walked (count read, items skipped, one step a row) through a
//!   64 KiB window, for the first 4 MiB of list data. Past that budget the rest is only
//!   bounded from below (each remaining row takes at least its fixed properties and its list
//!   lengths), so a huge file is judged from a bounded sample and its size;
//! - when every row was sized, the body must end exactly at the end of the file (a short
//!   file is truncated, extra bytes are refused); otherwise the file must hold at least the
//!   lower bound.
//!
//! ASCII body: streamed line by line (bounded lines, 64 KiB chunks); each row must hold one
//! number per scalar property and, per list, a count followed by that many numbers; the
//! rows must be exactly as many as the header declares (fewer: truncated).
//!
//! Reported: `vertexCount` and `faceCount` (the `vertex` and `face` element counts),
//! `hasNormals` (`nx ny nz`) and `hasUVs` (`s t`, `u v` or `texture_u texture_v`).

use super::super::work::step;
use super::super::{read_up_to, ByteSource, Format, InspectError};
use super::lines::{for_each_line, is_number, words};
use super::{corrupt, eof};
use intake_api::AssetProperties;

const F: Format = Format::Ply;
const FIRST_HEADER_READ: usize = 64 * 1024;
const MAX_HEADER: usize = 1024 * 1024;
const MAX_ELEMENTS: usize = 256;
const MAX_PROPERTIES: usize = 1024;
/// List data walked in a binary body before the rest is only bounded from below.
const LIST_BUDGET: u64 = 4 * 1024 * 1024;
/// Longest ASCII body line.
const MAX_LINE: usize = 1024 * 1024;
/// Window read at once while walking binary list rows.
const WINDOW: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Ascii,
    Little,
    Big,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scalar {
    size: u8,
    signed: bool,
    float: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Property {
    Scalar(Scalar),
    /// A list: its length's type, then its items' type.
    List(Scalar, Scalar),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Element {
    name: String,
    count: u64,
    properties: Vec<Property>,
    property_names: Vec<String>,
}

impl Element {
    /// Bytes of the fixed-size part of a row (scalars and list lengths).
    fn fixed_size(&self) -> u64 {
        self.properties
            .iter()
            .map(|p| match p {
                Property::Scalar(s) | Property::List(s, _) => s.size as u64,
            })
            .sum()
    }

    fn has_lists(&self) -> bool {
        self.properties.iter().any(|p| matches!(p, Property::List(..)))
    }

    fn has(&self, names: &[&str]) -> bool {
        names.iter().all(|n| self.property_names.iter().any(|p| p == n))
    }
}

struct Header {
    encoding: Encoding,
    elements: Vec<Element>,
    /// Where the body starts.
    body: u64,
    /// Lines in the header (the body's first line is one more).
    lines: u64,
}

fn scalar(name: &[u8]) -> Option<Scalar> {
    let (size, signed, float) = match name {
        b"char" | b"int8" => (1, true, false),
        b"uchar" | b"uint8" => (1, false, false),
        b"short" | b"int16" => (2, true, false),
        b"ushort" | b"uint16" => (2, false, false),
        b"int" | b"int32" => (4, true, false),
        b"uint" | b"uint32" => (4, false, false),
        b"float" | b"float32" => (4, true, true),
        b"double" | b"float64" => (8, true, true),
        _ => return None,
    };
    Some(Scalar { size, signed, float })
}

pub(super) fn sniff(head: &[u8]) -> bool {
    let rest = head.strip_prefix(b"ply\n").or_else(|| head.strip_prefix(b"ply\r\n"));
    rest.is_some_and(|r| r.starts_with(b"format "))
}

fn parse_header(src: &dyn ByteSource) -> Result<Header, InspectError> {
    let mut head = read_up_to(src, 0, FIRST_HEADER_READ)?;
    let find_end = |head: &[u8]| head.windows(10).position(|w| w == b"end_header");
    if find_end(&head).is_none() && src.len() > head.len() as u64 {
        head = read_up_to(src, 0, MAX_HEADER)?;
    }
    let mut encoding = None;
    let mut elements: Vec<Element> = Vec::new();
    let mut at = 0usize;
    let mut line_no = 0u64;
    loop {
        step()?;
        let Some(nl) = head[at..].iter().position(|&b| b == b'\n') else {
            return Err(if head.len() >= MAX_HEADER {
                corrupt(F, "its header is longer than 1 MiB or has no end_header line")
            } else {
                corrupt(F, "its header ends before end_header (truncated)")
            });
        };
        let line = head[at..at + nl].trim_ascii();
        at += nl + 1;
        line_no += 1;
        let mut w = words(line);
        let keyword = w.next().unwrap_or_default();
        let bad = |what: &str| corrupt(F, format!("header line {line_no}: {what}"));
        match (line_no, keyword) {
            (1, b"ply") => {}
            (1, _) => return Err(bad("the file must start with `ply`")),
            (2, b"format") => {
                encoding = Some(match w.next().unwrap_or_default() {
                    b"ascii" => Encoding::Ascii,
                    b"binary_little_endian" => Encoding::Little,
                    b"binary_big_endian" => Encoding::Big,
                    _ => return Err(bad("the format must be ascii, binary_little_endian or binary_big_endian")),
                });
                if w.next() != Some(b"1.0") {
                    return Err(bad("only version 1.0 of PLY exists"));
                }
            }
            (2, _) => return Err(bad("the second line must be `format …`")),
            (_, b"comment" | b"obj_info") => {}
            (_, b"") => {}
            (_, b"element") => {
                if elements.len() >= MAX_ELEMENTS {
                    return Err(bad(&format!("more than {MAX_ELEMENTS} elements")));
                }
                let name = w.next().ok_or_else(|| bad("an element needs a name"))?;
                let count = w
                    .next()
                    .and_then(|c| std::str::from_utf8(c).ok()?.parse::<u64>().ok())
                    .ok_or_else(|| bad("an element needs a count"))?;
                elements.push(Element {
                    name: String::from_utf8_lossy(name).into_owned(),
                    count,
                    properties: Vec::new(),
                    property_names: Vec::new(),
                });
            }
            (_, b"property") => {
                let Some(element) = elements.last_mut() else {
                    return Err(bad("a property comes before any element"));
                };
                if element.properties.len() >= MAX_PROPERTIES {
                    return Err(bad(&format!("more than {MAX_PROPERTIES} properties in one element")));
                }
                let kind = w.next().unwrap_or_default();
                let property = if kind == b"list" {
                    let length = w.next().and_then(scalar).ok_or_else(|| bad("a list needs a length type"))?;
                    let item = w.next().and_then(scalar).ok_or_else(|| bad("a list needs an item type"))?;
                    if length.float {
                        return Err(bad("a list's length must be of an integer type"));
                    }
                    Property::List(length, item)
                } else {
                    Property::Scalar(scalar(kind).ok_or_else(|| bad("unknown property type"))?)
                };
                let name = w.next().ok_or_else(|| bad("a property needs a name"))?;
                element.properties.push(property);
                element.property_names.push(String::from_utf8_lossy(name).into_owned());
            }
            (_, b"end_header") => break,
            (_, other) => {
                return Err(bad(&format!("unknown keyword {:?}", String::from_utf8_lossy(other))));
            }
        }
    }
    let encoding = encoding.ok_or_else(|| corrupt(F, "its header has no format line"))?;
    Ok(Header { encoding, elements, body: at as u64, lines: line_no })
}

pub(super) fn inspect(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let header = parse_header(src)?;
    match header.encoding {
        Encoding::Ascii => check_ascii(src, &header)?,
        Encoding::Little | Encoding::Big => check_binary(src, &header)?,
    }
    let element = |name: &str| header.elements.iter().find(|e| e.name == name);
    let vertex = element("vertex");
    Ok(AssetProperties {
        vertex_count: vertex.map(|e| e.count),
        face_count: element("face").map(|e| e.count),
        has_normals: vertex.map(|v| v.has(&["nx", "ny", "nz"])),
        has_uvs: vertex.map(|v| v.has(&["s", "t"]) || v.has(&["u", "v"]) || v.has(&["texture_u", "texture_v"])),
        ..AssetProperties::default()
    })
}

/// Reads forward through a binary body in windows.
struct Window<'a> {
    src: &'a dyn ByteSource,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    start: u64,
    /// Current position.
    pos: u64,
}

impl Window<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], InspectError> {
        let end = self.pos.checked_add(n as u64).ok_or_else(eof)?;
        if self.pos < self.start || end > self.start + self.buf.len() as u64 {
            self.buf = read_up_to(self.src, self.pos, WINDOW.max(n))?;
            self.start = self.pos;
            if (self.buf.len() as u64) < n as u64 {
                return Err(eof());
            }
        }
        let at = (self.pos - self.start) as usize;
        self.pos = end;
        Ok(&self.buf[at..at + n])
    }
}

fn check_binary(src: &dyn ByteSource, header: &Header) -> Result<(), InspectError> {
    let len = src.len();
    let big = header.encoding == Encoding::Big;
    let too_big = || corrupt(F, "its header declares more data than any file can hold");
    let mut offset = header.body;
    let mut exact = true;
    let mut walked = 0u64;
    for element in &header.elements {
        step()?;
        let fixed = element.fixed_size();
        if !element.has_lists() {
            offset = element.count.checked_mul(fixed).and_then(|b| offset.checked_add(b)).ok_or_else(too_big)?;
            continue;
        }
        if !exact || offset > len {
            // Only a lower bound from here on.
            offset = element.count.checked_mul(fixed).and_then(|b| offset.checked_add(b)).ok_or_else(too_big)?;
            exact = false;
            continue;
        }
        let mut window = Window { src, buf: Vec::new(), start: offset, pos: offset };
        let mut row = 0u64;
        while row < element.count {
            if walked > LIST_BUDGET {
                let rest = element.count - row;
                offset = rest.checked_mul(fixed).and_then(|b| window.pos.checked_add(b)).ok_or_else(too_big)?;
                exact = false;
                break;
            }
            step()?;
            let before = window.pos;
            let truncated = || {
                corrupt(F, format!("its {} data ends inside row {row} of {} (truncated)", element.name, element.count))
            };
            for property in &element.properties {
                match property {
                    Property::Scalar(s) => {
                        window.pos = window.pos.checked_add(s.size as u64).ok_or_else(too_big)?;
                    }
                    Property::List(length, item) => {
                        let raw = window.bytes(length.size as usize).map_err(|_| truncated())?;
                        let n = list_length(raw, *length, big).ok_or_else(|| {
                            corrupt(F, format!("row {row} of {} has a negative list length", element.name))
                        })?;
                        let skip = n.checked_mul(item.size as u64).ok_or_else(too_big)?;
                        window.pos = window.pos.checked_add(skip).ok_or_else(too_big)?;
                    }
                }
            }
            if window.pos > len {
                return Err(truncated());
            }
            walked += window.pos - before;
            row += 1;
        }
        if exact {
            offset = window.pos;
        }
    }
    if offset > len {
        let what = if exact { "the file has" } else { "at least, but the file has only" };
        return Err(corrupt(
            F,
            format!(
                "its header declares {} bytes of data {what} {} (truncated)",
                offset - header.body,
                len - header.body
            ),
        ));
    }
    if exact && offset < len {
        return Err(corrupt(F, format!("{} bytes follow the last element its header declares", len - offset)));
    }
    Ok(())
}

/// A list length of integer type `t`; `None` when negative.
fn list_length(raw: &[u8], t: Scalar, big: bool) -> Option<u64> {
    let mut b = [0u8; 8];
    let n = raw.len();
    if big {
        b[8 - n..].copy_from_slice(raw);
        b.reverse();
    } else {
        b[..n].copy_from_slice(raw);
    }
    let unsigned = u64::from_le_bytes(b);
    let negative = t.signed && unsigned >> (8 * n - 1) & 1 == 1;
    (!negative).then_some(unsigned)
}

fn check_ascii(src: &dyn ByteSource, header: &Header) -> Result<(), InspectError> {
    let mut element = 0usize;
    let mut row = 0u64;
    let skip_empty = |element: &mut usize, row: u64| {
        while *element < header.elements.len() && row == header.elements[*element].count {
            *element += 1;
        }
    };
    skip_empty(&mut element, 0);
    for_each_line(src, F, header.body, header.lines + 1, MAX_LINE, |line, line_no| {
        let line = line.trim_ascii();
        if line.is_empty() {
            return Ok(());
        }
        let Some(e) = header.elements.get(element) else {
            return Err(corrupt(F, format!("line {line_no} holds a row after the last element its header declares")));
        };
        let bad = |what: &str| corrupt(F, format!("line {line_no} (row {row} of {}): {what}", e.name));
        let mut w = words(line);
        for (property, name) in e.properties.iter().zip(&e.property_names) {
            match property {
                Property::Scalar(_) => {
                    if !w.next().is_some_and(is_number) {
                        return Err(bad(&format!("no number for {name}")));
                    }
                }
                Property::List(..) => {
                    let n = w
                        .next()
                        .and_then(|c| std::str::from_utf8(c).ok()?.parse::<u64>().ok())
                        .ok_or_else(|| bad(&format!("no length for the list {name}")))?;
                    for _ in 0..n {
                        step()?;
                        if !w.next().is_some_and(is_number) {
                            return Err(bad(&format!("the list {name} holds fewer than {n} numbers")));
                        }
                    }
                }
            }
        }
        if w.next().is_some() {
            return Err(bad("more values than its properties"));
        }
        row += 1;
        if row == e.count {
            element += 1;
            row = 0;
            skip_empty(&mut element, 0);
        }
        Ok(())
    })?;
    match header.elements.get(element) {
        None => Ok(()),
        Some(e) => Err(corrupt(
            F,
            format!("its header declares {} {} rows but the file holds only {row} (truncated)", e.count, e.name),
        )),
    }
}

#[cfg(test)]
mod tests;
