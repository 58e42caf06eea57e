//! 3MF: a ZIP (an OPC package) whose model part is `3D/3dmodel.model`.
//!
//! Sniffing looks for a local header named `3D/3dmodel.model` in the first 64 KiB (any
//! `PK\x03\x04` there, so data descriptors do not stop it), unless the first entry is a USD
//! layer (a USDZ). When the model part comes later (after a large thumbnail), the file
//! sniffs as a ZIP and [`is_package`] finds it in the central directory.
//!
//! Inspection reads the central directory with `archive`'s reader (its caps and overlap
//! checks), refuses unsafe entry names and decompression bombs as for any ZIP, then reads
//! the model part (stored, or deflated through a `DeflateDecoder` over 64 KiB reads) of at
//! most 256 MiB uncompressed, through the bounded tag scanner of [`super::xml`]: its root
//! must be `<model>`, it must inflate to the size the directory states, and every
//! `<triangle>`'s `v1`, `v2`, `v3` must name a vertex of its mesh. Reported: `vertexCount`
//! (`<vertex>` elements) and `faceCount` (`<triangle>` elements) of the model part.

use std::io::Read;

use flate2::read::DeflateDecoder;

use super::super::archive::{self, ZipEntry};
use super::super::work::step;
use super::super::{ByteSource, Format, InspectError, Rejection};
use super::corrupt;
use super::xml::{self, uint_attribute, Event};
use super::SourceReader;
use intake_api::AssetProperties;

const F: Format = Format::ThreeMf;
const MODEL: &str = "3D/3dmodel.model";
/// Largest model part read.
const MAX_MODEL: u64 = 256 << 20;

fn is_model(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(MODEL.as_bytes())
}

pub(super) fn sniff(head: &[u8]) -> bool {
    if !head.starts_with(b"PK\x03\x04") || head.len() < 30 {
        return false;
    }
    let name_at = |at: usize| {
        let len = u16::from_le_bytes([*head.get(at + 26)?, *head.get(at + 27)?]) as usize;
        head.get(at + 30..at + 30 + len)
    };
    if name_at(0).is_some_and(|n| {
        let n = n.to_ascii_lowercase();
        n.ends_with(b".usd") || n.ends_with(b".usda") || n.ends_with(b".usdc")
    }) {
        return false;
    }
    let mut at = 0;
    while let Some(p) = head[at..].windows(4).position(|w| w == b"PK\x03\x04") {
        if name_at(at + p).is_some_and(is_model) {
            return true;
        }
        at += p + 4;
    }
    false
}

/// True when `src` (which sniffs as a ZIP) holds a 3MF model part, by its central directory.
pub(super) fn is_package(src: &dyn ByteSource) -> std::io::Result<bool> {
    match archive::read_central_directory(src, Format::Zip) {
        Ok(directory) => Ok(directory.entries.iter().any(|e| is_model(e.name.as_bytes()))),
        Err(InspectError::Io(e)) if e.kind() != std::io::ErrorKind::UnexpectedEof => Err(e),
        Err(_) => Ok(false),
    }
}

/// Counts the bytes a reader hands out.
struct Counted<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

pub(super) fn inspect(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let directory = archive::read_central_directory(src, F)?;
    for e in &directory.entries {
        step()?;
        if archive::is_unsafe_path(&e.name) {
            return Err(Rejection(format!(
                "A 3MF model holds an entry with an unsafe path, {}: entry names must be relative and must not climb out of the archive with \"..\"",
                archive::quoted(&e.name)
            ))
            .into());
        }
    }
    archive::check_bomb(&directory.entries)?;
    let Some(entry) = directory.entries.iter().find(|e| is_model(e.name.as_bytes())) else {
        return Err(corrupt(F, format!("it has no {MODEL} part")));
    };
    if entry.encrypted() {
        return Err(corrupt(F, format!("its {MODEL} part is encrypted")));
    }
    if entry.uncompressed_size > MAX_MODEL {
        return Err(Rejection(format!(
            "the 3MF model part {MODEL} is {} bytes, more than the {} MiB intake reads",
            entry.uncompressed_size,
            MAX_MODEL >> 20
        ))
        .into());
    }
    let start = archive::local_data_offset(src, F, &directory, entry)?;
    let raw = SourceReader::new(src, start, start + entry.compressed_size);
    let counts = match entry.method {
        0 => read_model(raw, entry)?,
        8 => read_model(DeflateDecoder::new(raw), entry)?,
        m => {
            return Err(corrupt(F, format!("its {MODEL} part is compressed with method {m}, which 3MF does not allow")))
        }
    };
    Ok(AssetProperties { vertex_count: Some(counts.0), face_count: Some(counts.1), ..AssetProperties::default() })
}

/// Scans the model part; returns its vertex and triangle counts.
fn read_model(input: impl Read, entry: &ZipEntry) -> Result<(u64, u64), InspectError> {
    let mut input = Counted { inner: input.take(MAX_MODEL + 1), count: 0 };
    let (mut vertices, mut triangles) = (0u64, 0u64);
    let mut mesh_vertices = 0u64;
    let mut in_vertices = false;
    let scanned = xml::scan(F, &mut input, |event| {
        match event {
            Event::Start { name, depth: 0, .. } if name != b"model" => {
                return Err(corrupt(
                    F,
                    format!("the root element of {MODEL} is <{}>, not <model>", String::from_utf8_lossy(name)),
                ));
            }
            Event::Start { name: b"mesh", .. } => mesh_vertices = 0,
            Event::Start { name: b"vertices", .. } => in_vertices = true,
            Event::End { name: b"vertices", .. } => in_vertices = false,
            Event::Start { name: b"vertex", .. } if in_vertices => {
                vertices += 1;
                mesh_vertices += 1;
            }
            Event::Start { name: b"triangle", attributes, .. } => {
                triangles += 1;
                for key in [&b"v1"[..], &b"v2"[..], &b"v3"[..]] {
                    let v = uint_attribute(attributes, key).ok_or_else(|| {
                        corrupt(F, format!("triangle {triangles} has no valid {}", String::from_utf8_lossy(key)))
                    })?;
                    if v >= mesh_vertices {
                        return Err(corrupt(
                            F,
                            format!("triangle {triangles} refers to vertex {v}, but its mesh has {mesh_vertices}"),
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    });
    match scanned {
        Err(InspectError::Io(e))
            if matches!(e.kind(), std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData) =>
        {
            return Err(corrupt(F, format!("its {MODEL} part cannot be inflated: {e}")));
        }
        other => {
            other?;
        }
    }
    if input.count != entry.uncompressed_size {
        return Err(corrupt(
            F,
            format!(
                "its {MODEL} part holds {} bytes, but the ZIP directory says {}",
                input.count, entry.uncompressed_size
            ),
        ));
    }
    Ok((vertices, triangles))
}

#[cfg(test)]
mod tests {
    use super::super::super::archive::testzip::{self, Entry};
    use super::super::super::test_support::{err, fixture, ok};
    use super::*;
    use crate::validate::sniff_head;
    use intake_api::Kind;

    const MODEL_XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<model unit="millimeter" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">
 <resources><object id="1" type="model"><mesh>
  <vertices><vertex x="0" y="0" z="0"/><vertex x="1" y="0" z="0"/><vertex x="0" y="1" z="0"/></vertices>
  <triangles><triangle v1="0" v2="1" v3="2"/></triangles>
 </mesh></object></resources>
 <build><item objectid="1"/></build>
</model>
"#;

    fn package(first: Vec<Entry>, model: &str) -> Vec<u8> {
        let mut entries = first;
        entries.push(Entry::stored("_rels/.rels", b"<Relationships/>"));
        entries.push(Entry::deflated(MODEL, model.as_bytes()));
        testzip::write(&entries, None, false)
    }

    #[test]
    fn the_fixture_is_recognised() {
        let bytes = fixture("mesh_box.3mf");
        assert_eq!(sniff_head(&bytes, bytes.len() as u64), Format::ThreeMf);
        let found = ok(Kind::ThreeD, &bytes);
        assert_eq!(found.properties.format.as_deref(), Some("3mf"));
        assert_eq!((found.properties.vertex_count, found.properties.face_count), (Some(8), Some(12)));
    }

    #[test]
    fn built_packages() {
        let file = package(vec![], MODEL_XML);
        assert_eq!(sniff_head(&file, file.len() as u64), Format::ThreeMf);
        let found = ok(Kind::ThreeD, &file);
        assert_eq!((found.properties.vertex_count, found.properties.face_count), (Some(3), Some(1)));
        // The model part after a large thumbnail: found through the central directory.
        let noise: Vec<u8> = (0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let file = package(vec![Entry::stored("Metadata/thumbnail.png", &noise)], MODEL_XML);
        assert_eq!(sniff_head(&file[..crate::validate::SNIFF_LEN], file.len() as u64), Format::Zip);
        assert_eq!(ok(Kind::ThreeD, &file).format, Format::ThreeMf);
        assert_eq!(ok(Kind::Asset, &file).format, Format::ThreeMf);
        // A plain ZIP stays a ZIP, and a 3D upload of it is refused.
        let zip = testzip::write(&[Entry::stored("a.txt", b"x")], None, false);
        assert!(err(Kind::ThreeD, &zip).contains("found a ZIP archive"));
    }

    #[test]
    fn damaged_packages() {
        let lying = MODEL_XML.replace("v3=\"2\"", "v3=\"7\"");
        let reason = err(Kind::ThreeD, &package(vec![], &lying));
        assert!(reason.contains("triangle 1 refers to vertex 7, but its mesh has 3"), "{reason}");
        let cut = &MODEL_XML[..MODEL_XML.len() - 20];
        assert!(err(Kind::ThreeD, &package(vec![], cut)).contains("ends inside a tag or comment (truncated)"));
        let cut = &MODEL_XML[..MODEL_XML.find("<build>").unwrap()];
        assert!(err(Kind::ThreeD, &package(vec![], cut)).contains("before its root element <model> closes"));
        let file = package(vec![], MODEL_XML);
        assert!(err(Kind::ThreeD, &file[..file.len() - 10]).contains("3MF model but is damaged"));
        // Damaged deflate data in the model part.
        let mut broken = file.clone();
        let data = broken.windows(MODEL.len()).position(|w| w == MODEL.as_bytes()).unwrap() + MODEL.len();
        for b in &mut broken[data + 2..data + 10] {
            *b ^= 0x55;
        }
        let reason = err(Kind::ThreeD, &broken);
        assert!(reason.contains("3MF"), "{reason}");
    }
}
