//! HEIF still images (ISO/IEC 23008-12): AVIF (AV1), HEIC (HEVC) and other HEIF, read
//! through the ISO-BMFF box reader of `bmff.rs`.
//!
//! Sniffing reads the `ftyp` brands: major brand `avif`/`avis` → AVIF; an HEVC brand
//! (`heic`, `heix`, `heim`, `heis`, `hevc`, `hevx`) → HEIC; `mif1`/`msf1` → the codec a
//! compatible brand names, else plain HEIF. A file whose major brand is a video or audio one
//! (`isom`, `qt  `, …) stays with `bmff.rs` whatever its compatible brands.
//!
//! Inspecting walks the top-level boxes by seeking (as `bmff.rs` does: a box that runs past
//! the end of the file means the file is truncated) and reads the `meta` box whole (at most
//! [`MAX_META`] bytes; `mdat` is never read):
//! - `hdlr` must be `pict`; `pitm` names the primary item, `iinf` its type (`av01`, `hvc1`,
//!   `grid`, whose tiles' type `iref dimg` gives);
//! - `iprp/ipco` + `ipma`: the primary item's `ispe` (size, required; encoders round it up
//!   to whole coding blocks), `clap` (the clean aperture it is cropped to) and `irot` (a
//!   quarter turn swaps width and height), applied in their order; `pixi` (bits per
//!   channel; else the `av1C`/`hvcC` configuration) and `colr nclx` (a PQ or HLG transfer
//!   function makes it HDR); an item whose `auxC` names an alpha plane and that
//!   `iref auxl` ties to the primary item means the picture has alpha;
//! - `iloc`: every extent of every item must lie inside the file (or inside `idat`): a file
//!   cut short in its `mdat` cannot pass.
//!
//! Counts are capped before anything is kept for them: [`MAX_PROPERTIES`] properties,
//! [`MAX_ITEMS`] items; every box, item, extent and association is a metered step.

use std::collections::{HashMap, HashSet};

use super::super::bmff::{self, be32, boxes, child, fourcc, BoxRef};
use super::super::work::step;
use super::super::{read_exact_at, ByteSource, Format, InspectError, Rejection};
use super::check_size;
use intake_api::AssetProperties;

/// The largest `meta` box read into memory.
pub const MAX_META: u64 = 16 << 20;
/// The most properties an `ipco` box may hold.
pub const MAX_PROPERTIES: usize = 10_000;
/// The most items an `iinf` or `iloc` box may declare.
pub const MAX_ITEMS: u64 = 100_000;

const AVIF_BRANDS: &[&[u8; 4]] = &[b"avif", b"avis"];
const HEVC_BRANDS: &[&[u8; 4]] = &[b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"];
const HEIF_BRANDS: &[&[u8; 4]] = &[b"mif1", b"msf1"];

/// The alpha plane's `auxC` types (MPEG-B CICP, and HEVC's auxiliary picture id 1).
const ALPHA_URNS: &[&[u8]] = &[b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha", b"urn:mpeg:hevc:2015:auxid:1"];

/// Recognises AVIF, HEIC and HEIF by their `ftyp` brands.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.len() < 16 || &head[4..8] != b"ftyp" {
        return None;
    }
    let size = be32(&head[0..4]) as usize;
    if size < 16 || !size.is_multiple_of(4) {
        return None;
    }
    let major = fourcc(&head[8..12]);
    let compatible: Vec<[u8; 4]> = head[16..size.min(head.len())].chunks_exact(4).map(fourcc).collect();
    let any = |list: &[&[u8; 4]]| compatible.iter().any(|b| list.contains(&b));
    let by_codec = || {
        if any(AVIF_BRANDS) {
            Format::Avif
        } else if any(HEVC_BRANDS) {
            Format::Heic
        } else {
            Format::Heif
        }
    };
    if AVIF_BRANDS.contains(&&major) {
        Some(Format::Avif)
    } else if HEVC_BRANDS.contains(&&major) {
        Some(Format::Heic)
    } else if HEIF_BRANDS.contains(&&major) {
        Some(by_codec())
    } else if !bmff::IMAGE_BRANDS.contains(&&major) && any(HEIF_BRANDS) && bmff::sniff(head).is_none() {
        // An unknown major brand (`MiHE`, `MiPr`…) that declares itself HEIF.
        Some(by_codec())
    } else {
        None
    }
}

/// Parses a file already sniffed as AVIF, HEIC or HEIF.
pub fn inspect(format: Format, src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let corrupt = |what: String| InspectError::from(Rejection::corrupt(format, what));
    let total = src.len();
    let mut meta = None;
    bmff::walk_top_boxes(src, format, |kind, start, end| {
        if &kind == b"meta" && meta.is_none() {
            meta = Some((start, end));
        }
    })?;
    let Some((start, end)) = meta else {
        return Err(corrupt(
            "it has no meta box, so no primary image (an image sequence without a still image is not accepted)".into(),
        ));
    };
    if end - start > MAX_META {
        return Err(Rejection(format!(
            "the file's item index (meta box) is {} MiB, more than intake reads ({} MiB)",
            (end - start) >> 20,
            MAX_META >> 20
        ))
        .into());
    }
    let mut body = vec![0u8; (end - start) as usize];
    read_exact_at(src, start, &mut body)?;
    let picture = parse_meta(&body, total).map_err(corrupt)?;
    let (width, height) = picture.size;
    check_size(format, width, height)?;
    Ok(AssetProperties {
        width: Some(width),
        height: Some(height),
        codec_name: picture.codec,
        bit_depth: picture.bit_depth,
        has_alpha: Some(picture.has_alpha),
        hdr: Some(picture.hdr),
        ..Default::default()
    })
}

/// What the `meta` box says of the primary image.
#[derive(Debug, Default)]
struct Picture {
    /// As shown: cropped and turned.
    size: (u64, u64),
    bit_depth: Option<u64>,
    has_alpha: bool,
    hdr: bool,
    codec: Option<String>,
}

/// Big-endian fields read one after the other; `None` past the end.
struct Fields<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Fields<'a> {
    fn new(b: &'a [u8]) -> Self {
        Fields { b, at: 0 }
    }

    /// An unsigned field of `n` bytes (0 to 8; 0 reads as 0).
    fn uint(&mut self, n: usize) -> Option<u64> {
        let bytes = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(bytes.iter().fold(0u64, |v, &b| v << 8 | u64::from(b)))
    }

    /// Bytes left.
    fn left(&self) -> usize {
        self.b.len().saturating_sub(self.at)
    }
}

/// An item id: 16 bits in version 0 boxes, 32 bits after.
fn id_size(version: u8) -> usize {
    if version == 0 {
        2
    } else {
        4
    }
}

fn parse_meta(meta: &[u8], file_len: u64) -> Result<Picture, String> {
    let children = meta.get(4..).ok_or("its meta box is too short")?;
    let (mut hdlr, mut pitm, mut iinf, mut iloc, mut iprp, mut iref, mut idat) =
        (None, None, None, None, None, None, None);
    for (kind, body) in boxes(children)? {
        let slot = match &kind {
            b"hdlr" => &mut hdlr,
            b"pitm" => &mut pitm,
            b"iinf" => &mut iinf,
            b"iloc" => &mut iloc,
            b"iprp" => &mut iprp,
            b"iref" => &mut iref,
            b"idat" => &mut idat,
            _ => continue,
        };
        slot.get_or_insert(body);
    }
    let handler = hdlr.and_then(|h: &[u8]| h.get(8..12)).ok_or("its meta box has no handler (hdlr)")?;
    if handler != b"pict" {
        return Err(format!("its meta box does not describe pictures (handler '{}')", bmff::name(&fourcc(handler))));
    }
    let pitm = pitm.ok_or("it names no primary image (no pitm box)")?;
    let mut f = Fields::new(pitm);
    let version = f.uint(1).ok_or("its primary item box (pitm) is too short")? as u8;
    f.uint(3);
    let primary = f.uint(id_size(version)).ok_or("its primary item box (pitm) is too short")?;

    let types = item_types(iinf.ok_or("it has no item list (iinf)")?)?;
    let primary_type = *types.get(&primary).ok_or(format!("its primary item {primary} is not in its item list"))?;
    check_locations(iloc.ok_or("it has no item locations (iloc)")?, file_len, idat.map_or(0, <[u8]>::len))?;

    let iprp = iprp.ok_or("it has no item properties (iprp)")?;
    let ipco = child(iprp, b"ipco")?.ok_or("it has no item properties (ipco)")?;
    let mut properties: Vec<BoxRef<'_>> = Vec::new();
    for property in boxes(ipco)? {
        if properties.len() == MAX_PROPERTIES {
            return Err(format!("it has more than {MAX_PROPERTIES} item properties"));
        }
        properties.push(property);
    }
    let is_alpha: Vec<bool> = properties
        .iter()
        .map(|(kind, body)| {
            let urn = body.get(4..).unwrap_or_default();
            kind == b"auxC" && ALPHA_URNS.iter().any(|u| urn.strip_prefix(*u).is_some_and(|r| r.first() == Some(&0)))
        })
        .collect();
    let mut primary_properties = Vec::new();
    let mut alpha_items = HashSet::new();
    for (kind, ipma) in boxes(iprp)? {
        if &kind != b"ipma" {
            continue;
        }
        let mut f = Fields::new(ipma);
        let cut = || "its property associations (ipma) are cut short".to_string();
        let version = f.uint(1).ok_or_else(cut)? as u8;
        let wide = f.uint(3).ok_or_else(cut)? & 1 != 0;
        let entries = f.uint(4).ok_or_else(cut)?;
        for _ in 0..entries {
            step()?;
            let item = f.uint(id_size(version)).ok_or_else(cut)?;
            let count = f.uint(1).ok_or_else(cut)?;
            for _ in 0..count {
                step()?;
                let index = if wide { f.uint(2).ok_or_else(cut)? & 0x7FFF } else { f.uint(1).ok_or_else(cut)? & 0x7F };
                if index == 0 {
                    continue;
                }
                if index as usize > properties.len() {
                    return Err(format!("item {item} is given property {index}, which its ipco box does not hold"));
                }
                if item == primary && primary_properties.len() < 4 * 255 {
                    primary_properties.push(index as usize - 1);
                }
                if is_alpha[index as usize - 1] && alpha_items.len() < MAX_ITEMS as usize {
                    alpha_items.insert(item);
                }
            }
        }
    }

    let mut picture = Picture::default();
    let mut size = None;
    let mut config_depth = None;
    for index in primary_properties {
        let (kind, body) = properties[index];
        match &kind {
            b"ispe" if body.len() >= 12 => size = Some((be32(&body[4..8]), be32(&body[8..12]))),
            // Transformations, in the order listed: a clean aperture crops, a quarter turn swaps.
            b"clap" if body.len() >= 16 => {
                let ratio = |n: &[u8], d: &[u8]| {
                    let (n, d) = (be32(n), be32(d));
                    (d > 0).then(|| (n + d / 2) / d)
                };
                if let (Some(w), Some(h)) = (ratio(&body[0..4], &body[4..8]), ratio(&body[8..12], &body[12..16])) {
                    size = size.map(|_| (w, h));
                }
            }
            b"irot" if !body.is_empty() && body[0] & 1 == 1 => size = size.map(|(w, h)| (h, w)),
            b"pixi" if body.len() >= 5 => {
                let channels = usize::from(body[4]);
                let bits = body.get(5..5 + channels).ok_or("its pixel information (pixi) is cut short")?;
                picture.bit_depth = bits.iter().copied().max().map(u64::from).filter(|&b| b > 0);
            }
            b"colr" if body.len() >= 8 && &body[0..4] == b"nclx" => {
                let transfer = u16::from_be_bytes([body[6], body[7]]);
                picture.hdr = matches!(transfer, 16 | 18);
            }
            b"av1C" if body.len() >= 3 => {
                let high = body[2] & 0x40 != 0;
                let twelve = body[2] & 0x20 != 0;
                config_depth = Some(if !high {
                    8
                } else if twelve {
                    12
                } else {
                    10
                });
            }
            b"hvcC" if body.len() >= 18 => config_depth = Some(u64::from(body[17] & 7) + 8),
            _ => {}
        }
    }
    picture.size = size.ok_or("its primary image has no size (no ispe property)")?;
    picture.bit_depth = picture.bit_depth.or(config_depth);

    // References: an alpha plane of the primary image, and the tiles of a grid.
    let mut codec_type = primary_type;
    if let Some(iref) = iref {
        let version = *iref.first().ok_or("its item references (iref) are too short")?;
        let mut tile_type = None;
        for (kind, body) in boxes(iref.get(4..).ok_or("its item references (iref) are too short")?)? {
            let mut f = Fields::new(body);
            let cut = || "its item references (iref) are cut short".to_string();
            let from = f.uint(id_size(version)).ok_or_else(cut)?;
            let count = f.uint(2).ok_or_else(cut)?;
            if (count as usize).saturating_mul(id_size(version)) > f.left() {
                return Err(cut());
            }
            for _ in 0..count {
                step()?;
                let to = f.uint(id_size(version)).ok_or_else(cut)?;
                if &kind == b"auxl" && to == primary && alpha_items.contains(&from) {
                    picture.has_alpha = true;
                }
                if &kind == b"dimg" && from == primary && tile_type.is_none() {
                    tile_type = types.get(&to).copied();
                }
            }
        }
        if &primary_type == b"grid" {
            codec_type = tile_type.unwrap_or(primary_type);
        }
    }
    picture.codec = Some(codec_name(&codec_type));
    Ok(picture)
}

/// The type of every item `iinf` lists (`infe` version 2 and later).
fn item_types(iinf: &[u8]) -> Result<HashMap<u64, [u8; 4]>, String> {
    let mut f = Fields::new(iinf);
    let version = f.uint(1).ok_or("its item list (iinf) is too short")? as u8;
    f.uint(3);
    let count = f.uint(id_size(version)).ok_or("its item list (iinf) is too short")?;
    if count > MAX_ITEMS {
        return Err(format!("it declares {count} items, more than intake reads ({MAX_ITEMS})"));
    }
    let mut types = HashMap::new();
    for (kind, infe) in boxes(&iinf[f.at..])? {
        if &kind != b"infe" || infe.first().is_none_or(|&v| v < 2) {
            continue;
        }
        let mut f = Fields::new(infe);
        let version = f.uint(1).unwrap_or(0);
        f.uint(3);
        let id = f.uint(if version == 2 { 2 } else { 4 });
        f.uint(2);
        let kind = f.uint(4);
        let (Some(id), Some(kind)) = (id, kind) else {
            return Err("an item entry (infe) is too short".into());
        };
        if types.len() as u64 == MAX_ITEMS {
            return Err(format!("it has more than {MAX_ITEMS} items"));
        }
        types.entry(id).or_insert((kind as u32).to_be_bytes());
    }
    Ok(types)
}

/// Checks that every extent `iloc` gives lies inside the file, or inside `idat` (of
/// `idat_len` bytes) for items stored there.
fn check_locations(iloc: &[u8], file_len: u64, idat_len: usize) -> Result<(), String> {
    let cut = || "its item locations (iloc) are cut short".to_string();
    let mut f = Fields::new(iloc);
    let version = f.uint(1).ok_or_else(cut)? as u8;
    f.uint(3).ok_or_else(cut)?;
    if version > 2 {
        return Err(format!("its item locations (iloc) have an unknown version {version}"));
    }
    let sizes = f.uint(2).ok_or_else(cut)?;
    let offset_size = (sizes >> 12) as usize;
    let length_size = ((sizes >> 8) & 15) as usize;
    let base_size = ((sizes >> 4) & 15) as usize;
    let index_size = if version >= 1 { (sizes & 15) as usize } else { 0 };
    if [offset_size, length_size, base_size, index_size].iter().any(|s| !matches!(s, 0 | 4 | 8)) {
        return Err("its item locations (iloc) use an invalid field size".into());
    }
    let count = f.uint(if version < 2 { 2 } else { 4 }).ok_or_else(cut)?;
    if count > MAX_ITEMS {
        return Err(format!("it locates {count} items, more than intake reads ({MAX_ITEMS})"));
    }
    for _ in 0..count {
        step()?;
        let item = f.uint(if version < 2 { 2 } else { 4 }).ok_or_else(cut)?;
        let method = if version >= 1 { f.uint(2).ok_or_else(cut)? & 15 } else { 0 };
        let data_reference = f.uint(2).ok_or_else(cut)?;
        let base = f.uint(base_size).ok_or_else(cut)?;
        let extents = f.uint(2).ok_or_else(cut)?;
        if (extents as usize).saturating_mul(index_size + offset_size + length_size) > f.left() {
            return Err(cut());
        }
        for _ in 0..extents {
            step()?;
            f.uint(index_size);
            let offset = f.uint(offset_size).ok_or_else(cut)?;
            let length = f.uint(length_size).ok_or_else(cut)?;
            let start = base.checked_add(offset);
            let end = start.and_then(|s| s.checked_add(length));
            match (method, data_reference) {
                (0, 0) if end.is_none_or(|e| e > file_len) => {
                    return Err(format!("the data of item {item} lies past the end of the file (truncated)"))
                }
                (1, _) if end.is_none_or(|e| e > idat_len as u64) => {
                    return Err(format!("the data of item {item} lies past the end of its idat box"))
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The ffprobe name of an item type (the four-cc itself when unknown).
fn codec_name(kind: &[u8; 4]) -> String {
    match kind {
        b"av01" => "av1",
        b"hvc1" => "hevc",
        b"avc1" => "h264",
        b"jpeg" => "mjpeg",
        b"j2k1" => "jpeg2000",
        b"vvc1" => "vvc",
        _ => return bmff::name(kind).trim().to_string(),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{err, fixture, mutate_and_validate, ok};
    use super::super::super::{sniff_head, Format};
    use super::*;
    use intake_api::Kind;

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let mut out = ((16 + 4 * compatible.len()) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(b"ftyp");
        out.extend_from_slice(major);
        out.extend_from_slice(&[0; 4]);
        for b in compatible {
            out.extend_from_slice(*b);
        }
        out
    }

    #[test]
    fn sniffs_heif_brands_before_mp4() {
        assert_eq!(sniff_head(&fixture("image_64x48.avif"), 358), Format::Avif);
        assert_eq!(sniff_head(&fixture("image_64x48.heic"), 493), Format::Heic);
        assert_eq!(sniff_head(&fixture("image_64x48_10bit.heic"), 491), Format::Heic); // major `heix`
        assert_eq!(sniff(&ftyp(b"mif1", &[b"mif1", b"avif"])), Some(Format::Avif));
        assert_eq!(sniff(&ftyp(b"msf1", &[b"msf1", b"hevc"])), Some(Format::Heic));
        assert_eq!(sniff(&ftyp(b"mif1", &[b"mif1", b"miaf"])), Some(Format::Heif));
        assert_eq!(sniff(&ftyp(b"MiHE", &[b"MiHE", b"mif1", b"heic"])), Some(Format::Heic));
        // A video brand keeps a file an MP4, whatever it lists.
        assert_eq!(sniff(&ftyp(b"isom", &[b"isom", b"mif1"])), None);
        assert_eq!(sniff_head(&ftyp(b"isom", &[b"isom", b"mif1"]), 24), Format::Mp4);
        assert_eq!(sniff(&ftyp(b"crx ", &[b"crx ", b"isom"])), None);
        assert_eq!(sniff(&fixture("video_h264_faststart.mp4")), None);
        assert_eq!(sniff(b"\0\0\0\x10ftypavif"), None);
    }

    #[test]
    fn reports_size_depth_alpha_and_codec() {
        for (name, format, depth, alpha) in [
            ("image_64x48.avif", "avif", 8, false),
            ("image_64x48_alpha.avif", "avif", 8, true),
            ("image_64x48.heic", "heic", 8, false),
            ("image_64x48_10bit.heic", "heic", 10, false),
        ] {
            let p = ok(Kind::Image, &fixture(name)).properties;
            assert_eq!((p.width, p.height), (Some(64), Some(48)), "{name}: cropped by its clap, if any");
            assert_eq!(p.format.as_deref(), Some(format), "{name}");
            assert_eq!(p.codec_name.as_deref(), Some(if format == "avif" { "av1" } else { "hevc" }), "{name}");
            assert_eq!((p.bit_depth, p.has_alpha, p.hdr), (Some(depth), Some(alpha), Some(false)), "{name}");
        }
        assert_eq!(ok(Kind::Avatar, &fixture("image_64x48.avif")).format, Format::Avif);
    }

    #[test]
    fn every_truncation_is_refused() {
        for name in ["image_64x48.avif", "image_64x48_alpha.avif", "image_64x48.heic"] {
            let bytes = fixture(name);
            for cut in 1..bytes.len() {
                let reason = err(Kind::Image, &bytes[..cut]);
                assert!(reason.contains("damaged") || reason.contains("expected"), "{name} cut at {cut}: {reason}");
            }
            assert!(err(Kind::Image, &bytes[..bytes.len() - 20]).contains("(truncated)"), "{name}");
        }
    }

    /// `bytes` with the `n`-byte field at `at` set to `value`.
    fn patched(bytes: &[u8], at: usize, value: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        out[at..at + value.len()].copy_from_slice(value);
        out
    }

    fn find(bytes: &[u8], what: &[u8]) -> usize {
        bytes.windows(what.len()).position(|w| w == what).unwrap()
    }

    #[test]
    fn lying_headers_are_refused() {
        let heic = fixture("image_64x48.heic");
        // iloc v0, 4-byte base offsets, offsets and lengths, one item of one extent: its
        // length is at +22 of the body.
        let iloc = find(&heic, b"iloc") + 4;
        let reason = err(Kind::Image, &patched(&heic, iloc + 22, &(1u32 << 20).to_be_bytes()));
        assert!(reason.contains("the data of item 1 lies past the end of the file (truncated)"), "{reason}");
        // An association with a property that is not there.
        let avif = fixture("image_64x48.avif");
        let ipma = find(&avif, b"ipma") + 4;
        let reason = err(Kind::Image, &patched(&avif, ipma + 11, &[0x09]));
        assert!(reason.contains("item 1 is given property 9, which its ipco box does not hold"), "{reason}");
        // No size.
        let reason = err(Kind::Image, &patched(&avif, find(&avif, b"ispe"), b"ispf"));
        assert!(reason.contains("its primary image has no size (no ispe property)"), "{reason}");
        // A primary item that is not listed.
        let pitm = find(&avif, b"pitm") + 4;
        let reason = err(Kind::Image, &patched(&avif, pitm + 4, &[0, 7]));
        assert!(reason.contains("its primary item 7 is not in its item list"), "{reason}");
        // A picture of 0 pixels.
        let ispe = find(&avif, b"ispe") + 4;
        let reason = err(Kind::Image, &patched(&avif, ispe + 4, &[0; 4]));
        assert!(reason.contains("picture size of 0 × 48"), "{reason}");
        // Not a picture handler.
        let reason = err(Kind::Image, &patched(&avif, find(&avif, b"pict"), b"vide"));
        assert!(reason.contains("does not describe pictures (handler 'vide')"), "{reason}");
    }

    #[test]
    fn a_pq_or_hlg_transfer_is_hdr() {
        let avif = fixture("image_64x48.avif");
        // colr nclx: primaries, transfer, matrix (16 bits each), full range.
        let transfer = find(&avif, b"nclx") + 6;
        for (value, hdr) in [(16u16, true), (18, true), (13, false)] {
            let p = ok(Kind::Image, &patched(&avif, transfer, &value.to_be_bytes())).properties;
            assert_eq!(p.hdr, Some(hdr), "transfer {value}");
        }
    }

    #[test]
    fn a_sequence_without_a_still_image_is_refused() {
        let mut file = ftyp(b"avis", &[b"avis", b"msf1"]);
        file.extend_from_slice(b"\0\0\0\x10mdat01234567");
        let reason = err(Kind::Image, &file);
        assert!(reason.contains("it has no meta box, so no primary image"), "{reason}");
    }

    #[test]
    fn counts_are_capped_before_use() {
        // An iinf declaring 4 billion items is refused before anything is read for them.
        let avif = fixture("image_64x48.avif");
        let iinf = find(&avif, b"iinf") + 4;
        let reason = err(Kind::Image, &patched(&avif, iinf, &[1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]));
        assert!(reason.contains("it declares 4294967295 items, more than intake reads"), "{reason}");
    }

    #[test]
    fn mutations_never_panic() {
        for name in ["image_64x48.avif", "image_64x48_alpha.avif", "image_64x48_10bit.heic"] {
            mutate_and_validate(&fixture(name), 3000);
        }
    }
}
