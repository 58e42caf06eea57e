//! OpenEXR images (single-part or multi-part, scan lines or tiles).
//!
//! What is read: the magic number and version field; the header attributes up to the null
//! byte that ends them (at most [`MAX_HEADER`] bytes, [`MAX_ATTRIBUTES`] attributes a part,
//! [`MAX_PARTS`] parts): `channels` (names and sample types: half, float, uint), `compression`,
//! `dataWindow`, `displayWindow`, `tiles` and, in a multi-part file, `type` and `chunkCount`;
//! then the offset tables (one 64-bit file position per chunk, at most [`MAX_CHUNKS`], read in
//! 64 KiB pieces) and the header of the chunk furthest into the file. The number of chunks
//! follows from the data window and the compression's lines per chunk (or the tile size and
//! level mode): a header whose offset table the file cannot hold, an offset outside the
//! file, or a last chunk that runs past its end is refused. Pixels are never decompressed.
//!
//! Reported: width and height of the data window (of the first part), bit depth (16 for
//! half, 32 for float or uint: the largest of the part's channels), alpha (a channel named
//! `A` or ending in `.A`), HDR (any half or float channel). Deep-data files (no pixels to
//! show) are refused.

use super::super::work::{step, steps};
use super::super::{read_exact_at, read_up_to, ByteSource, Format, InspectError, Rejection};
use super::{check_size, le32};
use intake_api::AssetProperties;

/// The most header bytes read (preview images live in the header).
pub const MAX_HEADER: usize = 4 << 20;
/// The most attributes in one part's header.
pub const MAX_ATTRIBUTES: usize = 10_000;
/// The most parts of a multi-part file.
pub const MAX_PARTS: usize = 10_000;
/// The most chunks (offset table entries) of a file.
pub const MAX_CHUNKS: u64 = 2 << 20;
/// The first read of the header.
const FIRST_READ: usize = 64 * 1024;

const F: Format = Format::Exr;

const TILED: u32 = 0x200;
const LONG_NAMES: u32 = 0x400;
const DEEP: u32 = 0x800;
const MULTIPART: u32 = 0x1000;

/// Recognises OpenEXR by its magic number.
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(&[0x76, 0x2F, 0x31, 0x01])
}

/// What one part's header says.
#[derive(Debug, Default)]
struct Part {
    /// (bits, is alpha, is float) of each channel.
    channels: Option<Vec<(u64, bool, bool)>>,
    compression: Option<u8>,
    data_window: Option<[i32; 4]>,
    display_window: Option<[i32; 4]>,
    tiles: Option<(u32, u32, u8)>,
    kind: Option<Vec<u8>>,
    chunk_count: Option<i32>,
}

fn corrupt(what: impl std::fmt::Display) -> InspectError {
    Rejection::corrupt(F, what).into()
}

/// Parses a file already sniffed as OpenEXR.
pub fn inspect(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let total = src.len();
    let mut head = read_up_to(src, 0, FIRST_READ)?;
    let (parts, header_end, flags) = match parse_headers(&head, head.len() as u64 == total)? {
        Some(parsed) => parsed,
        None => {
            head = read_up_to(src, 0, MAX_HEADER)?;
            parse_headers(&head, head.len() as u64 == total)?.ok_or_else(|| {
                Rejection(format!(
                    "the file is {} whose header is longer than intake reads ({} MiB)",
                    F.described(),
                    MAX_HEADER >> 20
                ))
            })?
        }
    };

    // Chunks per part, and the offset tables after the headers.
    let mut counts = Vec::with_capacity(parts.len());
    let mut all = 0u64;
    for (i, part) in parts.iter().enumerate() {
        step()?;
        let n = chunk_count(part, flags, parts.len() > 1)
            .map_err(|what| corrupt(if parts.len() > 1 { format!("part {i}: {what}") } else { what }))?;
        all = all.saturating_add(n);
        if all > MAX_CHUNKS {
            return Err(Rejection(format!(
                "the file is {} of more than {MAX_CHUNKS} chunks, more than intake reads",
                F.described()
            ))
            .into());
        }
        counts.push(n);
    }
    let table_end = header_end.saturating_add(all * 8);
    if table_end > total {
        return Err(corrupt(format!(
            "its header declares {all} chunks, whose offset table the file cannot hold (truncated, or a lying header)"
        )));
    }
    let mut furthest = 0u64;
    let mut at = header_end;
    let mut left = all;
    while left > 0 {
        let n = left.min(FIRST_READ as u64 / 8);
        let mut table = vec![0u8; (n * 8) as usize];
        read_exact_at(src, at, &mut table)?;
        steps(n)?;
        for (i, entry) in table.chunks_exact(8).enumerate() {
            let offset = u64::from_le_bytes(entry.try_into().unwrap_or_default());
            let index = all - left + i as u64;
            if offset == 0 {
                return Err(corrupt(format!("its chunk {index} was never written (the file is incomplete)")));
            }
            if offset < table_end || offset >= total {
                return Err(corrupt(format!(
                    "its offset table places chunk {index} at byte {offset}, outside its pixel data (bytes \
                     {table_end} to {total}; truncated, or a lying header)"
                )));
            }
            furthest = furthest.max(offset);
        }
        at += n * 8;
        left -= n;
    }

    // The furthest chunk must end inside the file.
    if all > 0 {
        let multipart = flags & MULTIPART != 0;
        let mut pos = furthest;
        let tiled_part = if multipart {
            let number = le32(&read_exact_vec(src, pos, 4)?) as usize;
            pos += 4;
            let part =
                parts.get(number).ok_or_else(|| corrupt(format!("a chunk names part {number}, which it lacks")))?;
            part.tiles.is_some()
        } else {
            flags & TILED != 0
        };
        let header = if tiled_part { 20 } else { 8 };
        let fields = read_exact_vec(src, pos, header)?;
        let size = i32::from_le_bytes(fields[header - 4..].try_into().unwrap_or_default());
        let end = u64::try_from(size).ok().and_then(|s| (pos + header as u64).checked_add(s));
        if end.is_none_or(|e| e > total) {
            return Err(corrupt("its last chunk runs past the end of the file (truncated)"));
        }
    }

    let first = &parts[0];
    let channels = first.channels.as_deref().unwrap_or_default();
    let [x0, y0, x1, y1] = first.data_window.unwrap_or_default();
    let width = (i64::from(x1) - i64::from(x0) + 1).max(0) as u64;
    let height = (i64::from(y1) - i64::from(y0) + 1).max(0) as u64;
    Ok(AssetProperties {
        width: Some(width),
        height: Some(height),
        bit_depth: channels.iter().map(|c| c.0).max(),
        has_alpha: Some(channels.iter().any(|c| c.1)),
        hdr: Some(channels.iter().any(|c| c.2)),
        ..Default::default()
    })
}

fn read_exact_vec(src: &dyn ByteSource, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    read_exact_at(src, offset, &mut buf)?;
    Ok(buf)
}

/// The headers in `head`: the parts, where the offset tables start, and the version flags.
/// `None` when `head` ends inside them and more of the file is left to read.
#[allow(clippy::type_complexity)]
fn parse_headers(head: &[u8], whole: bool) -> Result<Option<(Vec<Part>, u64, u32)>, InspectError> {
    let more = |what: &str| -> Result<Option<(Vec<Part>, u64, u32)>, InspectError> {
        if whole {
            Err(corrupt(format!("it ends inside its header ({what}; truncated)")))
        } else {
            Ok(None)
        }
    };
    if head.len() < 8 {
        return more("the version field");
    }
    let version = le32(&head[4..8]) as u32;
    if version & 0xFF != 2 {
        return Err(corrupt(format!("its version is {}, not 2", version & 0xFF)));
    }
    let flags = version & !0xFF;
    if flags & !(TILED | LONG_NAMES | DEEP | MULTIPART) != 0 {
        return Err(corrupt(format!("its version field has unknown flags 0x{flags:X}")));
    }
    if flags & DEEP != 0 {
        return Err(Rejection(format!(
            "the file is {} of deep data (samples at several depths), which is not a picture intake accepts",
            F.described()
        ))
        .into());
    }
    let multipart = flags & MULTIPART != 0;
    let longest_name = if flags & LONG_NAMES != 0 { 255 } else { 31 };
    let mut pos = 8usize;
    let mut parts = Vec::new();
    loop {
        // A multi-part file ends its list of headers with an empty one.
        if multipart && !parts.is_empty() {
            match head.get(pos) {
                None => return more("the list of parts"),
                Some(0) => {
                    pos += 1;
                    break;
                }
                Some(_) => {}
            }
        }
        if parts.len() == MAX_PARTS {
            return Err(corrupt(format!("it has more than {MAX_PARTS} parts")));
        }
        let mut part = Part::default();
        let mut attributes = 0usize;
        loop {
            step()?;
            let Some(name_len) = head.get(pos..).and_then(|rest| rest.iter().take(256).position(|&b| b == 0)) else {
                return more("an attribute name");
            };
            if name_len == 0 {
                pos += 1;
                break;
            }
            if name_len > longest_name {
                return Err(corrupt(format!("an attribute name at byte {pos} is longer than {longest_name} bytes")));
            }
            attributes += 1;
            if attributes > MAX_ATTRIBUTES {
                return Err(corrupt(format!("a header has more than {MAX_ATTRIBUTES} attributes")));
            }
            let name = &head[pos..pos + name_len];
            let type_at = pos + name_len + 1;
            let Some(type_len) = head.get(type_at..).and_then(|rest| rest.iter().take(256).position(|&b| b == 0))
            else {
                return more("an attribute type");
            };
            let size_at = type_at + type_len + 1;
            let Some(size) = head.get(size_at..size_at + 4) else { return more("an attribute size") };
            let size = i32::from_le_bytes(size.try_into().unwrap_or_default());
            let Ok(size) = usize::try_from(size) else {
                return Err(corrupt(format!("its attribute '{}' has a negative size", String::from_utf8_lossy(name))));
            };
            let value_at = size_at + 4;
            let Some(value) = value_at.checked_add(size).and_then(|end| head.get(value_at..end)) else {
                return more("an attribute value");
            };
            steps(size as u64 / 64)?;
            attribute(&mut part, name, &head[type_at..type_at + type_len], value)?;
            pos = value_at + size;
        }
        parts.push(part);
        if !multipart {
            break;
        }
    }
    if parts.is_empty() {
        return Err(corrupt("it has no parts"));
    }
    for (i, part) in parts.iter().enumerate() {
        let which = if parts.len() > 1 { format!("part {i}'s header") } else { "its header".to_string() };
        let channels = part.channels.as_ref().ok_or_else(|| corrupt(format!("{which} has no channels attribute")))?;
        if channels.is_empty() {
            return Err(corrupt(format!("{which} lists no channels")));
        }
        for (name, window) in [("dataWindow", part.data_window), ("displayWindow", part.display_window)] {
            let [x0, y0, x1, y1] = window.ok_or_else(|| corrupt(format!("{which} has no {name} attribute")))?;
            let w = i64::from(x1) - i64::from(x0) + 1;
            let h = i64::from(y1) - i64::from(y0) + 1;
            if w <= 0 || h <= 0 {
                return Err(corrupt(format!("{which} gives an empty {name} ({x0}, {y0}) – ({x1}, {y1})")));
            }
            check_size(F, w as u64, h as u64)?;
        }
        if part.compression.is_none() {
            return Err(corrupt(format!("{which} has no compression attribute")));
        }
        if let Some(kind) = &part.kind {
            if kind.starts_with(b"deep") {
                return Err(Rejection(format!(
                    "the file is {} of deep data (samples at several depths), which is not a picture intake \
                     accepts",
                    F.described()
                ))
                .into());
            }
        }
    }
    Ok(Some((parts, pos as u64, flags)))
}

/// Keeps what `part` needs from one attribute.
fn attribute(part: &mut Part, name: &[u8], kind: &[u8], value: &[u8]) -> Result<(), InspectError> {
    let what = String::from_utf8_lossy(name);
    let short = || corrupt(format!("its '{what}' attribute is too short"));
    let i32_at = |at: usize| value.get(at..at + 4).map(|b| i32::from_le_bytes(b.try_into().unwrap_or_default()));
    match (name, kind) {
        (b"channels", b"chlist") => {
            let mut channels = Vec::new();
            let mut pos = 0usize;
            loop {
                step()?;
                let len = value.get(pos..).and_then(|r| r.iter().position(|&b| b == 0)).ok_or_else(short)?;
                if len == 0 {
                    break;
                }
                let channel = &value[pos..pos + len];
                let fields = value.get(pos + len + 1..pos + len + 17).ok_or_else(short)?;
                let bits = match le32(&fields[0..4]) {
                    0 => (32, false),
                    1 => (16, true),
                    2 => (32, true),
                    t => {
                        return Err(corrupt(format!(
                            "its channel '{}' has an unknown sample type {t}",
                            String::from_utf8_lossy(channel)
                        )))
                    }
                };
                let alpha = channel == b"A" || channel.ends_with(b".A");
                channels.push((bits.0, alpha, bits.1));
                pos += len + 17;
            }
            part.channels = Some(channels);
        }
        (b"compression", b"compression") => {
            let c = *value.first().ok_or_else(short)?;
            if c > 9 {
                return Err(corrupt(format!("its compression method {c} is unknown")));
            }
            part.compression = Some(c);
        }
        (b"dataWindow" | b"displayWindow", b"box2i") => {
            let window = [i32_at(0), i32_at(4), i32_at(8), i32_at(12)];
            let [Some(x0), Some(y0), Some(x1), Some(y1)] = window else { return Err(short()) };
            if name == b"dataWindow" {
                part.data_window = Some([x0, y0, x1, y1]);
            } else {
                part.display_window = Some([x0, y0, x1, y1]);
            }
        }
        (b"tiles", b"tiledesc") => {
            let (Some(x), Some(y), Some(&mode)) = (i32_at(0), i32_at(4), value.get(8)) else { return Err(short()) };
            part.tiles = Some((x as u32, y as u32, mode));
        }
        (b"type", b"string") => part.kind = Some(value.to_vec()),
        (b"chunkCount", b"int") => part.chunk_count = Some(i32_at(0).ok_or_else(short)?),
        _ => {}
    }
    Ok(())
}

/// Lines of pixels in one chunk of a scan-line image, by compression method.
fn lines_per_chunk(compression: u8) -> u64 {
    match compression {
        0..=2 => 1,
        3 | 5 => 16,
        9 => 256,
        _ => 32,
    }
}

/// The number of chunks of `part`.
fn chunk_count(part: &Part, flags: u32, multipart: bool) -> Result<u64, String> {
    let [x0, y0, x1, y1] = part.data_window.unwrap_or_default();
    let width = (i64::from(x1) - i64::from(x0) + 1) as u64;
    let height = (i64::from(y1) - i64::from(y0) + 1) as u64;
    let tiled = if multipart {
        part.kind.as_deref().map(|k| k == b"tiledimage").unwrap_or(part.tiles.is_some())
    } else {
        flags & TILED != 0
    };
    let computed = if tiled {
        let (tx, ty, mode) = part.tiles.ok_or("a tiled image has no tiles attribute")?;
        if tx == 0 || ty == 0 || tx > 1 << 30 || ty > 1 << 30 {
            return Err(format!("its tiles are {tx} × {ty} pixels"));
        }
        let (tx, ty) = (u64::from(tx), u64::from(ty));
        let round_up = match mode >> 4 {
            0 => false,
            1 => true,
            r => return Err(format!("its tiles have an unknown rounding mode {r}")),
        };
        let levels = |side: u64| -> u32 {
            let log = 63 - side.leading_zeros();
            if round_up && !side.is_power_of_two() {
                log + 2
            } else {
                log + 1
            }
        };
        let level_size = |side: u64, l: u32| {
            let size = if round_up { side.div_ceil(1 << l) } else { side >> l };
            size.max(1)
        };
        let tiles = |w: u64, h: u64| w.div_ceil(tx).saturating_mul(h.div_ceil(ty));
        match mode & 0x0F {
            0 => tiles(width, height),
            1 => (0..levels(width.max(height)))
                .map(|l| tiles(level_size(width, l), level_size(height, l)))
                .fold(0u64, u64::saturating_add),
            2 => {
                let mut sum = 0u64;
                for ly in 0..levels(height) {
                    for lx in 0..levels(width) {
                        sum = sum.saturating_add(tiles(level_size(width, lx), level_size(height, ly)));
                    }
                }
                sum
            }
            m => return Err(format!("its tiles have an unknown level mode {m}")),
        }
    } else {
        height.div_ceil(lines_per_chunk(part.compression.unwrap_or(0)))
    };
    match part.chunk_count {
        Some(declared) if i64::from(declared) != computed as i64 => {
            Err(format!("its chunkCount attribute says {declared} chunks, its size and compression {computed}"))
        }
        None if multipart => Err("it has no chunkCount attribute".into()),
        _ => Ok(computed),
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{err, fixture, mutate_and_validate, ok};
    use super::super::super::{sniff_head, Format};
    use intake_api::Kind;

    fn find(bytes: &[u8], what: &[u8]) -> usize {
        bytes.windows(what.len()).position(|w| w == what).unwrap()
    }

    fn patched(bytes: &[u8], at: usize, value: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        out[at..at + value.len()].copy_from_slice(value);
        out
    }

    #[test]
    fn reports_size_depth_alpha_and_hdr() {
        let half = fixture("image_64x48_half_rgba.exr");
        assert_eq!(sniff_head(&half, half.len() as u64), Format::Exr);
        let p = ok(Kind::Image, &half).properties;
        assert_eq!((p.width, p.height, p.format.as_deref()), (Some(64), Some(48), Some("exr")));
        assert_eq!((p.bit_depth, p.has_alpha, p.hdr), (Some(16), Some(true), Some(true)));
        let tiled = ok(Kind::Avatar, &fixture("image_16x12_float_tiled.exr")).properties;
        assert_eq!((tiled.width, tiled.height), (Some(16), Some(12)));
        assert_eq!((tiled.bit_depth, tiled.has_alpha, tiled.hdr), (Some(32), Some(false), Some(true)));
        // Two parts: half RGB scan lines (PIZ), then float depth tiles; the first one is told.
        let parts = ok(Kind::Image, &fixture("image_16x12_multipart.exr")).properties;
        assert_eq!((parts.width, parts.height, parts.bit_depth), (Some(16), Some(12), Some(16)));
    }

    #[test]
    fn every_truncation_is_refused() {
        for name in ["image_64x48_half_rgba.exr", "image_16x12_float_tiled.exr", "image_16x12_multipart.exr"] {
            let bytes = fixture(name);
            for cut in 1..bytes.len() {
                let reason = err(Kind::Image, &bytes[..cut]);
                assert!(reason.contains("damaged") || reason.contains("expected"), "{name} cut at {cut}: {reason}");
            }
            let reason = err(Kind::Image, &bytes[..bytes.len() - 10]);
            assert!(reason.contains("its last chunk runs past the end of the file (truncated)"), "{name}: {reason}");
        }
    }

    #[test]
    fn lying_headers_are_refused() {
        let exr = fixture("image_64x48_half_rgba.exr");
        let window = find(&exr, b"dataWindow\0box2i\0") + 17 + 4;
        // 4,800 lines: 300 chunks of 16, whose offsets alone need more than the file.
        let reason = err(Kind::Image, &patched(&exr, window + 12, &4799i32.to_le_bytes()));
        assert!(reason.contains("its header declares 300 chunks, whose offset table the file cannot hold"), "{reason}");
        // An empty window, and one too large to accept.
        let reason = err(Kind::Image, &patched(&exr, window + 8, &(-5i32).to_le_bytes()));
        assert!(reason.contains("gives an empty dataWindow"), "{reason}");
        let reason = err(Kind::Image, &patched(&exr, window + 8, &i32::MAX.to_le_bytes()));
        assert!(reason.contains("larger than intake accepts"), "{reason}");
        let compression = find(&exr, b"compression\0compression\0") + 24 + 4;
        let reason = err(Kind::Image, &patched(&exr, compression, &[42]));
        assert!(reason.contains("its compression method 42 is unknown"), "{reason}");
        let reason = err(Kind::Image, &patched(&exr, 5, &[0x08]));
        assert!(reason.contains("of deep data"), "{reason}");
        let reason = err(Kind::Image, &patched(&exr, 4, &[1]));
        assert!(reason.contains("its version is 1, not 2"), "{reason}");
        let reason = err(Kind::Image, &patched(&exr, find(&exr, b"channels\0"), b"chunnels"));
        assert!(reason.contains("its header has no channels attribute"), "{reason}");
    }

    #[test]
    fn a_multipart_chunk_count_must_agree() {
        let exr = fixture("image_16x12_multipart.exr");
        let at = find(&exr, b"chunkCount\0int\0") + 15 + 4;
        let reason = err(Kind::Image, &patched(&exr, at, &7i32.to_le_bytes()));
        assert!(reason.contains("part 0: its chunkCount attribute says 7 chunks"), "{reason}");
    }

    #[test]
    fn offsets_outside_the_file_are_refused() {
        let exr = fixture("image_64x48_half_rgba.exr");
        // The offset table: 3 entries after the header, the first pointing just past them.
        let at = |i: usize| u64::from_le_bytes(exr[i..i + 8].try_into().unwrap());
        let table = (8..exr.len() - 8).find(|&i| at(i) == i as u64 + 24).unwrap();
        assert_eq!(exr[table - 1], 0, "the header ends with a null byte");
        let reason = err(Kind::Image, &patched(&exr, table + 8, &(1u64 << 40).to_le_bytes()));
        assert!(reason.contains("places chunk 1 at byte 1099511627776, outside its pixel data"), "{reason}");
        let reason = err(Kind::Image, &patched(&exr, table + 16, &[0; 8]));
        assert!(reason.contains("its chunk 2 was never written (the file is incomplete)"), "{reason}");
        let reason = err(Kind::Image, &patched(&exr, table, &8u64.to_le_bytes()));
        assert!(reason.contains("places chunk 0 at byte 8"), "{reason}");
    }

    #[test]
    fn mutations_never_panic() {
        for name in ["image_64x48_half_rgba.exr", "image_16x12_float_tiled.exr", "image_16x12_multipart.exr"] {
            mutate_and_validate(&fixture(name), 3000);
        }
    }
}
