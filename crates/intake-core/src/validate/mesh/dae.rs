//! COLLADA (`.dae`): an XML document whose root element is `<COLLADA>`.
//!
//! Sniffing skips the XML declaration, comments and a DOCTYPE and wants `<COLLADA` as the
//! first element. Inspection streams the whole document through the bounded tag scanner of
//! [`super::xml`] (64 KiB reads, text never held), so a document that ends before its root
//! closes, or whose tags do not nest, is refused. On the way it checks that every
//! `<float_array count="N">` holds N values, and counts:
//! - `vertexCount`: for each `<vertices>`, the `count` of the accessor of the source its
//!   `POSITION` input names (sources are remembered per `<mesh>`, at most 10,000 of them,
//!   ids up to 256 bytes);
//! - `faceCount`: the `count` of every `<triangles>`, `<polylist>` and `<polygons>`.
//!
//! Either is reported only when the document has such elements.

use std::collections::HashMap;

use super::super::{ByteSource, Format, InspectError};
use super::corrupt;
use super::xml::{self, attribute, uint_attribute, Event, TokenCounter};
use super::SourceReader;
use intake_api::AssetProperties;

const F: Format = Format::Dae;
const MAX_SOURCES: usize = 10_000;
const MAX_ID: usize = 256;

pub(super) fn sniff(head: &[u8]) -> bool {
    let mut rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    loop {
        rest = rest.trim_ascii_start();
        let end = if rest.starts_with(b"<?") {
            rest.windows(2).position(|w| w == b"?>").map(|p| p + 2)
        } else if rest.starts_with(b"<!--") {
            rest.windows(3).position(|w| w == b"-->").map(|p| p + 3)
        } else if rest.starts_with(b"<!") {
            rest.iter().position(|&b| b == b'>').map(|p| p + 1)
        } else {
            break;
        };
        match end {
            Some(end) => rest = &rest[end..],
            None => return false,
        }
    }
    rest.strip_prefix(b"<COLLADA").is_some_and(|r| r.first().is_some_and(|&b| b.is_ascii_whitespace() || b == b'>'))
}

#[derive(Default)]
struct Counts {
    /// Accessor counts of the current mesh's sources, by id.
    sources: HashMap<Vec<u8>, u64>,
    /// The id of the `<source>` being read.
    source: Option<Vec<u8>>,
    in_vertices: bool,
    /// The `<float_array>` being read: its declared count and what it holds so far.
    float_array: Option<(u64, TokenCounter)>,
    float_arrays: u64,
    vertices: Option<u64>,
    faces: Option<u64>,
}

impl Counts {
    fn start(&mut self, name: &[u8], attributes: &[u8]) -> Result<(), InspectError> {
        match name {
            b"mesh" => self.sources.clear(),
            b"source" => {
                self.source = attribute(attributes, b"id").filter(|id| id.len() <= MAX_ID).map(<[u8]>::to_vec);
            }
            b"accessor" => {
                if let (Some(id), Some(count)) = (&self.source, uint_attribute(attributes, b"count")) {
                    if self.sources.len() < MAX_SOURCES {
                        self.sources.insert(id.clone(), count);
                    }
                }
            }
            b"float_array" => {
                self.float_arrays += 1;
                if let Some(count) = uint_attribute(attributes, b"count") {
                    self.float_array = Some((count, TokenCounter::default()));
                }
            }
            b"vertices" => self.in_vertices = true,
            b"input" if self.in_vertices => {
                let position = attribute(attributes, b"semantic") == Some(&b"POSITION"[..]);
                let source = attribute(attributes, b"source").and_then(|s| s.strip_prefix(b"#"));
                if let (true, Some(&count)) = (position, source.and_then(|s| self.sources.get(s))) {
                    self.vertices = Some(self.vertices.unwrap_or(0).saturating_add(count));
                }
            }
            b"triangles" | b"polylist" | b"polygons" => {
                let count = uint_attribute(attributes, b"count")
                    .ok_or_else(|| corrupt(F, format!("a <{}> has no valid count", String::from_utf8_lossy(name))))?;
                self.faces = Some(self.faces.unwrap_or(0).saturating_add(count));
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, name: &[u8]) -> Result<(), InspectError> {
        match name {
            b"source" => self.source = None,
            b"vertices" => self.in_vertices = false,
            b"float_array" => {
                if let Some((declared, held)) = self.float_array.take() {
                    if declared != held.count {
                        return Err(corrupt(
                            F,
                            format!(
                                "<float_array> number {} declares {declared} values but holds {}",
                                self.float_arrays, held.count
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

pub(super) fn inspect(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let mut counts = Counts::default();
    let root = xml::scan(F, SourceReader::new(src, 0, src.len()), |event| match event {
        Event::Start { name, depth: 0, .. } if name != b"COLLADA" => {
            Err(corrupt(F, format!("its root element is <{}>, not <COLLADA>", String::from_utf8_lossy(name))))
        }
        Event::Start { name, attributes, .. } => counts.start(name, attributes),
        Event::End { name, .. } => counts.end(name),
        Event::Text(text) => {
            if let Some((_, held)) = &mut counts.float_array {
                held.feed(text);
            }
            Ok(())
        }
    })?;
    debug_assert_eq!(root, b"COLLADA");
    Ok(AssetProperties { vertex_count: counts.vertices, face_count: counts.faces, ..AssetProperties::default() })
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{err, fixture, ok};
    use super::*;
    use crate::validate::sniff_head;
    use intake_api::Kind;

    #[test]
    fn the_fixture_is_recognised() {
        let bytes = fixture("mesh_box.dae");
        assert_eq!(sniff_head(&bytes, bytes.len() as u64), Format::Dae);
        let found = ok(Kind::ThreeD, &bytes);
        assert_eq!(found.properties.format.as_deref(), Some("dae"));
        assert_eq!((found.properties.vertex_count, found.properties.face_count), (Some(8), Some(12)));
        // COLLADA is text too.
        assert_eq!(ok(Kind::Text, &bytes).format, Format::Dae);
    }

    #[test]
    fn truncated_and_lying_documents_are_refused() {
        let bytes = fixture("mesh_box.dae");
        let cut = &bytes[..bytes.len() - 30];
        assert!(err(Kind::ThreeD, cut).contains("truncated"), "{}", err(Kind::ThreeD, cut));
        let text = String::from_utf8(bytes).unwrap();
        let at = text.find("<float_array").unwrap();
        let count = text[at..].find("count=\"").unwrap() + at + 7;
        let mut lying = text.clone();
        lying.insert(count, '9');
        assert!(err(Kind::ThreeD, lying.as_bytes()).contains("<float_array> number 1 declares 9"));
    }

    #[test]
    fn sniffing() {
        assert!(sniff(b"<?xml version=\"1.0\"?>\n<!-- made by hand -->\n<COLLADA xmlns=\"x\" version=\"1.4.1\">"));
        assert!(sniff(b"<COLLADA>"));
        assert!(!sniff(b"<?xml version=\"1.0\"?><svg>"));
        assert!(!sniff(b"<COLLADAX>"));
        let doc = b"<COLLADA><library_geometries/></COLLADA>";
        assert_eq!(ok(Kind::ThreeD, doc).properties.vertex_count, None);
        assert!(err(Kind::ThreeD, b"<COLLADA><x></COLLADA>").contains("</COLLADA> closes <x>"));
    }
}
