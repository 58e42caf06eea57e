//! Still images: PNG, JPEG, WebP and GIF here; AVIF/HEIC/HEIF ([`heif`]), OpenEXR ([`exr`]),
//! Radiance HDR ([`hdr`]), TIFF, BMP, TGA and PSD/PSB in their own modules, whose doc
//! comments say what they read.
//!
//! Each format is recognised by its signature, then its header is parsed for the picture
//! size, and the end of the file is checked so that a truncated upload is refused:
//! - PNG: signature, `IHDR` (length, checksum, size, bit depth / colour type), every chunk
//!   that lies in the first 64 KiB (type, checksum, an `IDAT` before `IEND`), `acTL` frame
//!   count of an animated PNG, and an `IEND` chunk as the very last 12 bytes.
//! - JPEG: `SOI`, a walk of the marker segments up to the first scan (`SOS`), whose frame
//!   header (`SOFn`) gives precision, size and components; then an `EOI` marker in the last
//!   4 KiB after the scan start. Bytes after `EOI` are tolerated (encoders and cameras pad
//!   files), up to 4 KiB; a Motion Photo whose XMP declares an appended video
//!   (`MicroVideoOffset` / `Item:Length`) has its `EOI` looked for just before that video.
//! - WebP: the RIFF size against the file length, the `VP8 ` / `VP8L` / `VP8X` header, and
//!   a walk of the chunks (frame count and duration of an animated WebP).
//! - GIF: `GIF87a`/`GIF89a`, the logical screen size, the block structure in the first
//!   64 KiB, and the trailer byte `0x3B` as the last byte of the file.
//!
//! Pixel data is never decoded. Pictures of more than [`MAX_SIDE`] pixels a side or
//! [`MAX_PIXELS`] pixels in total are refused: decoding them would exhaust memory.

use super::work::{step, steps};
use super::{read_exact_at, read_up_to, ByteSource, Format, InspectError, Inspection, Rejection};
use intake_api::AssetProperties;

mod bmp;
mod exr;
mod hdr;
mod heif;
mod psd;
mod tga;
mod tiff;

/// The widest or tallest picture accepted, in pixels.
pub const MAX_SIDE: u64 = 100_000;
/// The most pixels accepted in one picture (1 gigapixel).
pub const MAX_PIXELS: u64 = 1_000_000_000;

/// How much of the file start is read at once to parse headers.
const HEAD_LEN: usize = 64 * 1024;
/// How far before the end of a JPEG its `EOI` marker is looked for.
const JPEG_TAIL: u64 = 4096;

const PNG_SIG: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
const PNG_IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];

/// Recognises PNG, JPEG, WebP, GIF, OpenEXR, Radiance HDR, TIFF, BMP and PSD by their
/// signatures, and AVIF/HEIC/HEIF by their `ftyp` brands (before `bmff` sees them as MP4).
/// TGA has none: see [`sniff_tga`].
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(PNG_SIG) {
        Some(Format::Png)
    } else if head.len() >= 3 && head[..3] == [0xFF, 0xD8, 0xFF] {
        Some(Format::Jpeg)
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some(Format::Webp)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else if exr::sniff(head) {
        Some(Format::Exr)
    } else if hdr::sniff(head) {
        Some(Format::Hdr)
    } else {
        heif::sniff(head).or_else(|| tiff::sniff(head)).or_else(|| bmp::sniff(head)).or_else(|| psd::sniff(head))
    }
}

/// Recognises a TGA by the consistency of its header fields; to be asked only after every
/// format that has a signature.
pub fn sniff_tga(head: &[u8]) -> Option<Format> {
    tga::sniff(head)
}

/// Parses an image already sniffed as `format`.
pub fn inspect(format: Format, src: &dyn ByteSource) -> Result<Inspection, InspectError> {
    let properties = match format {
        Format::Png => png(src)?,
        Format::Jpeg => jpeg(src)?,
        Format::Webp => webp(src)?,
        Format::Gif => gif(src)?,
        Format::Avif | Format::Heic | Format::Heif => heif::inspect(format, src)?,
        Format::Exr => exr::inspect(src)?,
        Format::Hdr => hdr::inspect(src)?,
        Format::Tiff => tiff::inspect(src)?,
        Format::Bmp => bmp::inspect(src)?,
        Format::Tga => tga::inspect(src)?,
        Format::Psd => psd::inspect(src)?,
        _ => return Ok(Inspection::default()),
    };
    Ok(Inspection { properties, weights: None })
}

/// Refuses empty and absurd picture sizes.
fn check_size(format: Format, width: u64, height: u64) -> Result<(), Rejection> {
    if width == 0 || height == 0 {
        return Err(Rejection::corrupt(
            format,
            format!("its header gives a picture size of {width} × {height} pixels"),
        ));
    }
    if width > MAX_SIDE || height > MAX_SIDE || width.saturating_mul(height) > MAX_PIXELS {
        return Err(Rejection(format!(
            "the file is {} of {width} × {height} pixels, larger than intake accepts \
             (at most {MAX_SIDE} pixels a side and {MAX_PIXELS} pixels in total)",
            format.described()
        )));
    }
    Ok(())
}

fn sized(width: u64, height: u64) -> AssetProperties {
    AssetProperties { width: Some(width), height: Some(height), ..Default::default() }
}

fn be16(b: &[u8]) -> u64 {
    u64::from(u16::from_be_bytes([b[0], b[1]]))
}
fn be32(b: &[u8]) -> u64 {
    u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}
fn le16(b: &[u8]) -> u64 {
    u64::from(u16::from_le_bytes([b[0], b[1]]))
}
fn le24(b: &[u8]) -> u64 {
    u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16
}
fn le32(b: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_vec(src: &dyn ByteSource, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    read_exact_at(src, offset, &mut buf)?;
    Ok(buf)
}

/// The first bytes of the file, with reads past them going to the source.
struct Head<'a> {
    src: &'a dyn ByteSource,
    head: Vec<u8>,
}

impl<'a> Head<'a> {
    fn new(src: &'a dyn ByteSource) -> std::io::Result<Self> {
        Ok(Head { src, head: read_up_to(src, 0, HEAD_LEN)? })
    }

    /// `len` bytes at `offset` (at most 64 KiB), or `UnexpectedEof`.
    fn bytes(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let end = offset.checked_add(len as u64).ok_or(std::io::ErrorKind::UnexpectedEof)?;
        if end <= self.head.len() as u64 {
            return Ok(self.head[offset as usize..end as usize].to_vec());
        }
        read_vec(self.src, offset, len)
    }
}

// ---------------------------------------------------------------------------------------
// PNG

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = crc_table();

/// CRC-32 (ISO 3309 / ITU-T V.42, as used by PNG, zlib and Matroska).
pub(super) fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

fn png(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let f = Format::Png;
    let total = src.len();
    let head = read_up_to(src, 0, HEAD_LEN)?;
    if head.len() < 33 {
        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
    }
    if be32(&head[8..12]) != 13 || &head[12..16] != b"IHDR" {
        return Err(Rejection::corrupt(f, "the PNG header is damaged (the first chunk is not a valid IHDR)").into());
    }
    if crc32(&head[12..29]) as u64 != be32(&head[29..33]) {
        return Err(Rejection::corrupt(f, "the PNG header is damaged (bad IHDR checksum)").into());
    }
    let ihdr = &head[16..29];
    let (width, height) = (be32(&ihdr[0..4]), be32(&ihdr[4..8]));
    let (depth, color) = (ihdr[8], ihdr[9]);
    let depth_ok = match color {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => false,
    };
    if !depth_ok {
        return Err(Rejection::corrupt(
            f,
            format!("the PNG header is damaged (bit depth {depth} with colour type {color})"),
        )
        .into());
    }
    if ihdr[10] != 0 || ihdr[11] != 0 || ihdr[12] > 1 {
        return Err(Rejection::corrupt(
            f,
            "the PNG header is damaged (unknown compression, filter or interlace method)",
        )
        .into());
    }
    if width > 0x7FFF_FFFF || height > 0x7FFF_FFFF {
        return Err(Rejection::corrupt(f, "the PNG header is damaged (size out of range)").into());
    }
    check_size(f, width, height)?;

    // Walk the chunks that lie in the head: checksums, order, animation frame count.
    let mut props = sized(width, height);
    let mut pos = 33usize;
    let mut seen_idat = false;
    for _ in 0..100_000 {
        step()?;
        if pos + 8 > head.len() {
            break;
        }
        let len = be32(&head[pos..pos + 4]);
        let kind = &head[pos + 4..pos + 8];
        let name = String::from_utf8_lossy(kind).into_owned();
        if len > 0x7FFF_FFFF || !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(Rejection::corrupt(f, format!("it has an invalid chunk header at byte {pos}")).into());
        }
        let end = pos as u64 + 12 + len;
        if end > total {
            return Err(
                Rejection::corrupt(f, format!("its '{name}' chunk runs past the end of the file (truncated)")).into()
            );
        }
        if end > head.len() as u64 {
            break;
        }
        let end = end as usize;
        let body = &head[pos + 8..end - 4];
        if crc32(&head[pos + 4..end - 4]) as u64 != be32(&head[end - 4..end]) {
            return Err(Rejection::corrupt(f, format!("bad checksum in its '{name}' chunk")).into());
        }
        match kind {
            b"IHDR" => return Err(Rejection::corrupt(f, "it has a second IHDR chunk").into()),
            b"IDAT" => seen_idat = true,
            b"acTL" if body.len() == 8 => props.nb_frames = Some(be32(&body[0..4])),
            b"IEND" => {
                if !seen_idat {
                    return Err(Rejection::corrupt(f, "it has no image data (no IDAT chunk)").into());
                }
                if end as u64 != total {
                    return Err(Rejection::corrupt(
                        f,
                        format!("it has {} bytes of data after its IEND chunk", total - end as u64),
                    )
                    .into());
                }
                break;
            }
            _ => {}
        }
        pos = end;
    }

    let tail = read_vec(src, total - 12, 12)?;
    if tail != PNG_IEND {
        return Err(Rejection::corrupt(
            f,
            "it does not end with an IEND chunk (the file is truncated or has data appended)",
        )
        .into());
    }
    Ok(props)
}

// ---------------------------------------------------------------------------------------
// JPEG

fn jpeg(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let f = Format::Jpeg;
    let total = src.len();
    let head = Head::new(src)?;
    let mut pos: u64 = 2;
    let mut size = None;
    let mut scan_start = None;
    let mut appended: Option<u64> = None;
    for _ in 0..10_000 {
        step()?;
        let m = head.bytes(pos, 2)?;
        if m[0] != 0xFF {
            return Err(
                Rejection::corrupt(f, format!("expected a JPEG marker at byte {pos}, found 0x{:02X}", m[0])).into()
            );
        }
        let marker = m[1];
        match marker {
            0xFF => {
                pos += 1; // fill byte
                continue;
            }
            0xD0..=0xD7 | 0x01 => {
                pos += 2;
                continue;
            }
            0x00 | 0xD8 | 0xD9 => {
                return Err(
                    Rejection::corrupt(f, format!("unexpected marker 0xFF{marker:02X} before the image data")).into()
                )
            }
            _ => {}
        }
        let len = be16(&head.bytes(pos + 2, 2)?);
        if len < 2 {
            return Err(Rejection::corrupt(f, format!("the segment at byte {pos} has an invalid length")).into());
        }
        let body_at = pos + 4;
        let next = pos + 2 + len;
        if next > total {
            return Err(Rejection::corrupt(f, "a header segment runs past the end of the file (truncated)").into());
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof && size.is_none() {
            let body = head.bytes(body_at, (len - 2) as usize)?;
            if body.len() < 6 {
                return Err(Rejection::corrupt(f, "the JPEG frame header is damaged (too short)").into());
            }
            let precision = body[0];
            let (height, width, comps) = (be16(&body[1..3]), be16(&body[3..5]), body[5]);
            let lossless = matches!(marker, 0xC3 | 0xC7 | 0xCB | 0xCF);
            let precision_ok = if lossless { (2..=16).contains(&precision) } else { matches!(precision, 8 | 12) };
            if !precision_ok {
                return Err(
                    Rejection::corrupt(f, format!("the JPEG frame header is damaged (precision {precision})")).into()
                );
            }
            if !(1..=4).contains(&comps) || body.len() != 6 + 3 * comps as usize {
                return Err(
                    Rejection::corrupt(f, format!("the JPEG frame header is damaged ({comps} components)")).into()
                );
            }
            check_size(f, width, height)?;
            size = Some((width, height));
        } else if marker == 0xE1 && appended.is_none() {
            let body = head.bytes(body_at, (len - 2) as usize)?;
            // Looked for: the XMP namespace, then at most three keys, each found in one pass.
            steps(4 * body.len() as u64)?;
            appended = motion_photo_length(&body);
        } else if marker == 0xDA {
            if size.is_none() {
                return Err(
                    Rejection::corrupt(f, "its image data starts before any frame header (no SOF marker)").into()
                );
            }
            scan_start = Some(next);
            break;
        }
        pos = next;
    }
    let (Some((width, height)), Some(scan_start)) = (size, scan_start) else {
        return Err(Rejection::corrupt(f, "it has no image data (no SOS marker)").into());
    };

    // The EOI marker ends the image; look for it near the end (or before an appended video).
    let mut ends = vec![total];
    if let Some(n) = appended.filter(|&n| n < total) {
        ends.push(total - n);
    }
    for end in ends {
        let start = end.saturating_sub(JPEG_TAIL).max(scan_start);
        if start >= end {
            continue;
        }
        let tail = read_vec(src, start, (end - start) as usize)?;
        if tail.windows(2).any(|w| w == [0xFF, 0xD9]) {
            return Ok(sized(width, height));
        }
    }
    Err(Rejection::corrupt(f, "it does not end with an EOI marker (the file is truncated)").into())
}

/// The length of a video appended to a Motion Photo, as its XMP (in an APP1 segment) says.
fn motion_photo_length(app1: &[u8]) -> Option<u64> {
    const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
    let xmp = std::str::from_utf8(app1.strip_prefix(XMP)?).ok()?;
    let number_after = |key: &str, from: usize| -> Option<u64> {
        let at = from + xmp[from..].find(key)? + key.len();
        let rest = xmp[at..].trim_start_matches(['=', '"', '\'', '>', ' ']);
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    if let Some(n) = number_after("MicroVideoOffset", 0) {
        return Some(n);
    }
    let semantic = xmp.find("MotionPhoto\"").or_else(|| xmp.find("MotionPhoto<"))?;
    number_after("Length", semantic)
}

// ---------------------------------------------------------------------------------------
// WebP

fn webp(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let f = Format::Webp;
    let total = src.len();
    let hdr = read_vec(src, 0, 20)?;
    let riff_end = le32(&hdr[4..8]) + 8;
    if total < riff_end {
        return Err(Rejection::corrupt(f, "the file is shorter than its RIFF header says (truncated)").into());
    }
    if total > riff_end + (riff_end & 1) {
        return Err(
            Rejection::corrupt(f, format!("it has {} bytes after the end of its RIFF data", total - riff_end)).into()
        );
    }
    let first = [hdr[12], hdr[13], hdr[14], hdr[15]];
    let first_len = le32(&hdr[16..20]);
    if 20 + first_len > riff_end {
        return Err(Rejection::corrupt(f, "its first chunk runs past the end of the RIFF data").into());
    }
    match &first {
        b"VP8 " => {
            let (w, h) = vp8_size(&read_vec(src, 20, 10.min(first_len as usize))?)?;
            check_size(f, w, h)?;
            Ok(sized(w, h))
        }
        b"VP8L" => {
            let (w, h) = vp8l_size(&read_vec(src, 20, 5.min(first_len as usize))?)?;
            check_size(f, w, h)?;
            Ok(sized(w, h))
        }
        b"VP8X" => {
            if first_len < 10 {
                return Err(Rejection::corrupt(f, "its VP8X header is too short").into());
            }
            let x = read_vec(src, 20, 10)?;
            let (w, h) = (le24(&x[4..7]) + 1, le24(&x[7..10]) + 1);
            check_size(f, w, h)?;
            let mut props = sized(w, h);
            let animated = x[0] & 0x02 != 0;
            let (frames, duration_ms) = webp_chunks(src, 20 + first_len + (first_len & 1), riff_end)?;
            match frames {
                Some(n) if animated && n == 0 => {
                    return Err(Rejection::corrupt(f, "it is marked animated but has no frames").into())
                }
                Some(n) if animated => {
                    props.nb_frames = Some(n);
                    props.duration = Some(duration_ms as f64 / 1000.0);
                }
                _ => {}
            }
            Ok(props)
        }
        _ => Err(Rejection::corrupt(f, "its first chunk is not a VP8, VP8L or VP8X header").into()),
    }
}

/// Walks the chunks after `VP8X`: returns the animation frame count (None when the walk
/// stopped early) and the summed frame duration in milliseconds.
fn webp_chunks(src: &dyn ByteSource, mut pos: u64, riff_end: u64) -> Result<(Option<u64>, u64), InspectError> {
    let f = Format::Webp;
    let (mut frames, mut duration, mut image) = (0u64, 0u64, false);
    for _ in 0..100_000 {
        step()?;
        if pos >= riff_end {
            if !image {
                return Err(Rejection::corrupt(f, "it has no image data").into());
            }
            return Ok((Some(frames), duration));
        }
        let hdr = read_vec(src, pos, 8)?;
        let len = le32(&hdr[4..8]);
        let end = pos + 8 + len;
        if end > riff_end {
            let name = String::from_utf8_lossy(&hdr[..4]).into_owned();
            return Err(Rejection::corrupt(f, format!("its '{name}' chunk runs past the end of the RIFF data")).into());
        }
        match &hdr[..4] {
            b"VP8 " | b"VP8L" => image = true,
            b"ANMF" => {
                if len < 16 {
                    return Err(Rejection::corrupt(f, "an animation frame header is too short").into());
                }
                image = true;
                frames += 1;
                duration += le24(&read_vec(src, pos + 8 + 12, 3)?);
            }
            _ => {}
        }
        pos = end + (len & 1);
    }
    Ok((None, duration))
}

fn vp8_size(b: &[u8]) -> Result<(u64, u64), Rejection> {
    if b.len() < 10 || b[0] & 1 != 0 || b[3..6] != [0x9D, 0x01, 0x2A] {
        return Err(Rejection::corrupt(Format::Webp, "its VP8 bitstream header is damaged"));
    }
    Ok((le16(&b[6..8]) & 0x3FFF, le16(&b[8..10]) & 0x3FFF))
}

fn vp8l_size(b: &[u8]) -> Result<(u64, u64), Rejection> {
    if b.len() < 5 || b[0] != 0x2F {
        return Err(Rejection::corrupt(Format::Webp, "its VP8L bitstream header is damaged"));
    }
    let bits = le32(&b[1..5]);
    if bits >> 29 != 0 {
        return Err(Rejection::corrupt(Format::Webp, "its VP8L bitstream header has an unknown version"));
    }
    Ok(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
}

// ---------------------------------------------------------------------------------------
// GIF

fn gif(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let f = Format::Gif;
    let total = src.len();
    let head = read_up_to(src, 0, HEAD_LEN)?;
    if head.len() < 13 {
        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
    }
    let (width, height) = (le16(&head[6..8]), le16(&head[8..10]));
    check_size(f, width, height)?;
    let packed = head[10];
    let mut pos = 13usize;
    if packed & 0x80 != 0 {
        pos += 3 << ((packed & 7) + 1);
    }
    if pos as u64 >= total {
        return Err(Rejection::corrupt(f, "its colour table runs past the end of the file (truncated)").into());
    }

    // Walk the blocks that lie in the head.
    let whole = head.len() as u64 == total;
    let need = |pos: usize, n: usize| -> Result<Option<()>, InspectError> {
        if pos + n <= head.len() {
            Ok(Some(()))
        } else if whole {
            Err(Rejection::corrupt(f, "it ends in the middle of a block (truncated)").into())
        } else {
            Ok(None)
        }
    };
    let mut images = 0u64;
    'walk: for _ in 0..1_000_000 {
        step()?;
        if need(pos, 1)?.is_none() {
            break;
        }
        match head[pos] {
            0x3B => {
                if pos + 1 != head.len() || !whole {
                    return Err(Rejection::corrupt(f, "it has data after its trailer byte").into());
                }
                if images == 0 {
                    return Err(Rejection::corrupt(f, "it has no image").into());
                }
                break;
            }
            0x2C => {
                if need(pos, 10)?.is_none() {
                    break;
                }
                let flags = head[pos + 9];
                pos += 10;
                if flags & 0x80 != 0 {
                    pos += 3 << ((flags & 7) + 1);
                }
                if need(pos, 1)?.is_none() {
                    break;
                }
                if !(1..=11).contains(&head[pos]) {
                    return Err(Rejection::corrupt(f, format!("invalid LZW code size at byte {pos}")).into());
                }
                pos += 1;
                images += 1;
            }
            0x21 => pos += 2,
            b => {
                return Err(Rejection::corrupt(
                    f,
                    format!("unexpected byte 0x{b:02X} at byte {pos} where a block should start"),
                )
                .into())
            }
        }
        // Data sub-blocks, up to the zero-length terminator.
        loop {
            step()?;
            if need(pos, 1)?.is_none() {
                break 'walk;
            }
            let n = head[pos] as usize;
            pos += 1 + n;
            if n == 0 {
                break;
            }
        }
    }

    let last = read_vec(src, total - 1, 1)?;
    if last[0] != 0x3B {
        return Err(Rejection::corrupt(
            f,
            "it does not end with the GIF trailer byte (the file is truncated or has data appended)",
        )
        .into());
    }
    Ok(sized(width, height))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_raster;
