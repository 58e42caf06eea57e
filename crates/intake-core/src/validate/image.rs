//! Still images: PNG, JPEG, WebP and GIF.
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

use super::{read_exact_at, read_up_to, ByteSource, Format, InspectError, Inspection, Rejection};
use intake_api::AssetProperties;

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

/// Recognises PNG, JPEG, WebP and GIF by their signatures.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(PNG_SIG) {
        Some(Format::Png)
    } else if head.len() >= 3 && head[..3] == [0xFF, 0xD8, 0xFF] {
        Some(Format::Jpeg)
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some(Format::Webp)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else {
        None
    }
}

/// Parses an image already sniffed as `format`.
pub fn inspect(format: Format, src: &dyn ByteSource) -> Result<Inspection, InspectError> {
    let properties = match format {
        Format::Png => png(src)?,
        Format::Jpeg => jpeg(src)?,
        Format::Webp => webp(src)?,
        Format::Gif => gif(src)?,
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
mod tests {
    use super::super::test_support::{err, fixture, ok};
    use super::super::CountingSource;
    use super::*;
    use intake_api::Kind;

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }

    fn adler32(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &x in data {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        b << 16 | a
    }

    /// A real RGB PNG: filter byte 0 per row, zlib with stored (uncompressed) blocks.
    fn png_rgb(width: u32, height: u32) -> Vec<u8> {
        let mut raw = Vec::new();
        for y in 0..height {
            raw.push(0);
            for x in 0..width {
                raw.extend_from_slice(&[(x * 4) as u8, (y * 5) as u8, 128]);
            }
        }
        let mut z = vec![0x78, 0x01];
        let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
        for (i, block) in blocks.iter().enumerate() {
            z.push(u8::from(i + 1 == blocks.len()));
            let len = block.len() as u16;
            z.extend_from_slice(&len.to_le_bytes());
            z.extend_from_slice(&(!len).to_le_bytes());
            z.extend_from_slice(block);
        }
        z.extend_from_slice(&adler32(&raw).to_be_bytes());
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut out = PNG_SIG.to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        for part in z.chunks(8192) {
            chunk(&mut out, b"IDAT", part);
        }
        chunk(&mut out, b"IEND", &[]);
        out
    }

    /// A PNG header claiming `width` × `height`, with a token IDAT.
    fn png_header_only(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        let mut out = PNG_SIG.to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &[0x78, 0x01, 0x01, 0, 0, 0xFF, 0xFF, 0, 0, 0, 1]);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn sniffs_signatures_only() {
        assert_eq!(sniff(&png_rgb(1, 1)), Some(Format::Png));
        assert_eq!(sniff(&fixture("image_64x48.jpg")), Some(Format::Jpeg));
        assert_eq!(sniff(&fixture("image_64x48_lossy.webp")), Some(Format::Webp));
        assert_eq!(sniff(&fixture("image_64x48.gif")), Some(Format::Gif));
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"GIF88a"), None);
        assert_eq!(sniff(b"\x89PNG"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn crc32_known_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn png_built_in_test() {
        let png = png_rgb(64, 48);
        let found = ok(Kind::Image, &png);
        assert_eq!(found.format, Format::Png);
        assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)));
        assert_eq!(found.properties.format.as_deref(), Some("png"));
        assert_eq!(found.properties.size, png.len() as u64);
    }

    #[test]
    fn png_from_ffmpeg() {
        let found = ok(Kind::Avatar, &fixture("image_64x48.png"));
        assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)));
        assert_eq!(found.properties.nb_frames, None);
    }

    #[test]
    fn apng_frame_count() {
        let found = ok(Kind::Image, &fixture("image_64x48_anim.png"));
        assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)));
        assert_eq!(found.properties.nb_frames, Some(3));
    }

    #[test]
    fn png_truncated() {
        let png = png_rgb(64, 48);
        let msg = err(Kind::Image, &png[..png.len() - 5]);
        assert!(msg.contains("truncated"), "{msg}");
        let msg = err(Kind::Image, &png[..20]);
        assert!(msg.contains("truncated"), "{msg}");
        // A large PNG cut beyond the first 64 KiB: only the tail check can see it.
        let big = png_rgb(300, 300);
        assert!(big.len() > 2 * HEAD_LEN);
        ok(Kind::Image, &big);
        let msg = err(Kind::Image, &big[..big.len() - 1000]);
        assert!(msg.contains("IEND") && msg.contains("truncated"), "{msg}");
    }

    #[test]
    fn png_corrupted() {
        let mut png = png_rgb(64, 48);
        png[17] ^= 0x01; // width
        assert_eq!(
            err(Kind::Image, &png),
            "the file looks like a PNG image but is damaged: the PNG header is damaged (bad IHDR checksum)"
        );
        let mut png = png_rgb(64, 48);
        png[50] ^= 0x55; // inside the IDAT data
        assert_eq!(
            err(Kind::Image, &png),
            "the file looks like a PNG image but is damaged: bad checksum in its 'IDAT' chunk"
        );
        let mut png = png_rgb(4, 4);
        png.extend_from_slice(b"junk");
        let msg = err(Kind::Image, &png);
        assert!(msg.contains("after its IEND"), "{msg}");
        let mut bad_depth = png_header_only(4, 4);
        bad_depth[24] = 3; // bit depth 3
        let crc = crc32(&bad_depth[12..29]);
        bad_depth[29..33].copy_from_slice(&crc.to_be_bytes());
        assert!(err(Kind::Image, &bad_depth).contains("bit depth 3"));
    }

    #[test]
    fn png_zero_and_bomb_sizes() {
        let msg = err(Kind::Image, &png_header_only(0, 10));
        assert!(msg.contains("0 × 10"), "{msg}");
        assert_eq!(
            err(Kind::Image, &png_header_only(200_000, 10)),
            "the file is a PNG image of 200000 × 10 pixels, larger than intake accepts \
             (at most 100000 pixels a side and 1000000000 pixels in total)"
        );
        let msg = err(Kind::Image, &png_header_only(50_000, 50_000));
        assert!(msg.contains("larger than intake accepts"), "{msg}");
        ok(Kind::Image, &png_header_only(40_000, 25_000)); // exactly 1 gigapixel
    }

    #[test]
    fn large_png_reads_little() {
        // A valid header, then one 8 MiB IDAT chunk: only the head and tail are read.
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&4000u32.to_be_bytes());
        ihdr.extend_from_slice(&700u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut png = PNG_SIG.to_vec();
        chunk(&mut png, b"IHDR", &ihdr);
        chunk(&mut png, b"IDAT", &vec![0u8; 8 << 20]);
        chunk(&mut png, b"IEND", &[]);
        let counting = CountingSource::new(&png);
        let found = inspect(Format::Png, &counting).unwrap_or_else(|_| panic!("rejected"));
        assert_eq!(found.properties.width, Some(4000));
        assert!(counting.bytes_read() <= HEAD_LEN as u64 + 64, "read {}", counting.bytes_read());
    }

    #[test]
    fn jpeg_valid() {
        for name in ["image_64x48.jpg", "image_64x48_444.jpg"] {
            let found = ok(Kind::Image, &fixture(name));
            assert_eq!(found.format, Format::Jpeg);
            assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)), "{name}");
            assert_eq!(found.properties.format.as_deref(), Some("jpeg"));
        }
        // A few padding bytes after EOI are tolerated.
        let mut padded = fixture("image_64x48.jpg");
        padded.extend_from_slice(&[0u8; 100]);
        ok(Kind::Image, &padded);
    }

    #[test]
    fn jpeg_truncated() {
        let jpg = fixture("image_64x48.jpg");
        let msg = err(Kind::Image, &jpg[..jpg.len() - 2]);
        assert!(msg.contains("EOI") && msg.contains("truncated"), "{msg}");
        let msg = err(Kind::Image, &jpg[..jpg.len() / 2]);
        assert!(msg.contains("truncated"), "{msg}");
        let msg = err(Kind::Image, &jpg[..200]); // inside the header segments
        assert!(msg.contains("truncated"), "{msg}");
        // More than 4 KiB appended without a Motion Photo declaration hides the EOI.
        let mut long = jpg.clone();
        long.extend_from_slice(&[0x55u8; 5000]);
        assert!(err(Kind::Image, &long).contains("EOI"));
    }

    #[test]
    fn jpeg_motion_photo() {
        // A real JPEG with an XMP segment declaring a 20000-byte video appended at the end.
        let jpg = fixture("image_64x48.jpg");
        let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><rdf:Description \
                    GCamera:MicroVideo=\"1\" GCamera:MicroVideoOffset=\"20000\"/></x:xmpmeta>";
        let mut photo = jpg[..2].to_vec();
        photo.extend_from_slice(&[0xFF, 0xE1]);
        photo.extend_from_slice(&((xmp.len() + 2) as u16).to_be_bytes());
        photo.extend_from_slice(xmp);
        photo.extend_from_slice(&jpg[2..]);
        photo.extend_from_slice(&[0x42u8; 20000]);
        let found = ok(Kind::Image, &photo);
        assert_eq!(found.properties.width, Some(64));
        // The same photo cut inside the image data is still refused.
        let cut = [&photo[..photo.len() - 20000 - 300], &[0x42u8; 20000][..]].concat();
        assert!(err(Kind::Image, &cut).contains("EOI"));
    }

    #[test]
    fn jpeg_corrupted() {
        let mut jpg = fixture("image_64x48.jpg");
        jpg[38] = 0x12; // the DQT marker's 0xFF
        let msg = err(Kind::Image, &jpg);
        assert_eq!(
            msg,
            "the file looks like a JPEG image but is damaged: expected a JPEG marker at byte 38, found 0x12"
        );
        let mut jpg = fixture("image_64x48.jpg");
        jpg[289 + 4 + 5] = 0; // SOF0 components: 3 → 0
        assert!(err(Kind::Image, &jpg).contains("0 components"));
        let mut jpg = fixture("image_64x48.jpg");
        jpg[289 + 4 + 3] = 0; // SOF0 width: 64 → 0
        jpg[289 + 4 + 4] = 0;
        assert!(err(Kind::Image, &jpg).contains("48 × 0") || err(Kind::Image, &jpg).contains("0 × 48"));
        let mut jpg = fixture("image_64x48.jpg");
        jpg[289 + 1] = 0xC4; // SOF0 → DHT: no frame header before the scan
        assert!(err(Kind::Image, &jpg).contains("no SOF marker"));
    }

    #[test]
    fn large_jpeg_reads_little() {
        let jpg = fixture("image_64x48.jpg");
        let mut big = jpg[..jpg.len() - 2].to_vec();
        big.resize(big.len() + (16 << 20), 0x5A); // stands for entropy-coded data
        big.extend_from_slice(&[0xFF, 0xD9]);
        let counting = CountingSource::new(&big);
        assert!(inspect(Format::Jpeg, &counting).is_ok());
        assert!(counting.bytes_read() <= (HEAD_LEN as u64) + JPEG_TAIL, "read {}", counting.bytes_read());
    }

    #[test]
    fn webp_valid() {
        for name in ["image_64x48_lossy.webp", "image_64x48_lossless.webp"] {
            let found = ok(Kind::Image, &fixture(name));
            assert_eq!(found.format, Format::Webp);
            assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)), "{name}");
            assert_eq!(found.properties.nb_frames, None);
        }
        let found = ok(Kind::Image, &fixture("image_64x48_anim.webp"));
        assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)));
        assert_eq!(found.properties.nb_frames, Some(3));
        let duration = found.properties.duration.unwrap();
        assert!((duration - 0.6).abs() < 0.01, "{duration}");
    }

    #[test]
    fn webp_truncated_and_padded() {
        for name in ["image_64x48_lossy.webp", "image_64x48_anim.webp"] {
            let w = fixture(name);
            let msg = err(Kind::Image, &w[..w.len() - 10]);
            assert!(msg.contains("truncated"), "{msg}");
            let mut longer = w.clone();
            longer.extend_from_slice(b"garbage!");
            assert!(err(Kind::Image, &longer).contains("8 bytes after the end of its RIFF data"));
        }
    }

    #[test]
    fn webp_corrupted() {
        let mut w = fixture("image_64x48_lossy.webp");
        w[23] = 0; // the VP8 start code 9D 01 2A
        assert_eq!(
            err(Kind::Image, &w),
            "the file looks like a WebP image but is damaged: its VP8 bitstream header is damaged"
        );
        let mut w = fixture("image_64x48_lossless.webp");
        w[20] = 0x2E;
        assert!(err(Kind::Image, &w).contains("VP8L bitstream header is damaged"));
        let mut w = fixture("image_64x48_anim.webp");
        w[12..16].copy_from_slice(b"VP9X");
        assert!(err(Kind::Image, &w).contains("not a VP8, VP8L or VP8X"));
        let mut w = fixture("image_64x48_anim.webp");
        w[34..38].copy_from_slice(&0x7000u32.to_le_bytes()); // ANIM chunk size
        assert!(err(Kind::Image, &w).contains("'ANIM' chunk runs past the end"));
    }

    #[test]
    fn large_webp_reads_little() {
        // The animated WebP with a 16 MiB unknown chunk appended inside its RIFF data.
        let mut w = fixture("image_64x48_anim.webp");
        let extra = 16u32 << 20;
        w.extend_from_slice(b"JUNK");
        w.extend_from_slice(&extra.to_le_bytes());
        w.resize(w.len() + extra as usize, 0);
        let riff = (w.len() - 8) as u32;
        w[4..8].copy_from_slice(&riff.to_le_bytes());
        let counting = CountingSource::new(&w);
        let found = inspect(Format::Webp, &counting).unwrap_or_else(|_| panic!("rejected"));
        assert_eq!(found.properties.nb_frames, Some(3));
        assert!(counting.bytes_read() < 1024, "read {}", counting.bytes_read());
    }

    #[test]
    fn gif_valid() {
        let found = ok(Kind::Image, &fixture("image_64x48.gif"));
        assert_eq!(found.format, Format::Gif);
        assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)));
    }

    #[test]
    fn gif_truncated_and_corrupted() {
        let g = fixture("image_64x48.gif");
        let msg = err(Kind::Image, &g[..g.len() - 1]);
        assert!(msg.contains("truncated"), "{msg}");
        let msg = err(Kind::Image, &g[..g.len() / 2]);
        assert!(msg.contains("truncated"), "{msg}");
        let mut g2 = g.clone();
        g2.extend_from_slice(b"xx;");
        assert!(err(Kind::Image, &g2).contains("after its trailer"));
        let mut g3 = g.clone();
        g3[6] = 0;
        g3[7] = 0; // width 0
        assert!(err(Kind::Image, &g3).contains("0 × 48"));
        let mut g4 = g.clone();
        let table_end = 13 + (3 << ((g[10] & 7) + 1));
        g4[table_end] = 0x99;
        assert!(err(Kind::Image, &g4).contains("unexpected byte 0x99"));
    }

    #[test]
    fn large_gif_reads_little() {
        let g = fixture("image_64x48.gif");
        // Header and colour table, a huge run of 255-byte data sub-blocks, then the end.
        let table_end = 13 + (3 << ((g[10] & 7) + 1));
        let mut big = g[..table_end].to_vec();
        big.extend_from_slice(&[0x2C, 0, 0, 0, 0, 64, 0, 48, 0, 0, 8]);
        for _ in 0..40_000 {
            big.push(255);
            big.extend_from_slice(&[0u8; 255]);
        }
        big.extend_from_slice(&[0, 0x3B]);
        let counting = CountingSource::new(&big);
        assert!(inspect(Format::Gif, &counting).is_ok());
        assert!(counting.bytes_read() <= HEAD_LEN as u64 + 1);
    }

    #[test]
    fn kind_mismatch() {
        assert_eq!(err(Kind::Video, &png_rgb(2, 2)), "expected a video (MP4, MOV, WebM or MKV), found a PNG image");
        assert_eq!(
            err(Kind::Audio, &fixture("image_64x48.jpg")),
            "expected audio (WAV, MP3, FLAC, Ogg or M4A), found a JPEG image"
        );
        assert_eq!(
            err(Kind::ThreeD, &fixture("image_64x48.gif")),
            "expected a 3D model (GLB, glTF, OBJ, FBX or USDZ), found a GIF image"
        );
        assert!(err(Kind::Model, &fixture("image_64x48_lossy.webp")).ends_with("found a WebP image"));
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        let seeds =
            [png_rgb(3, 3), fixture("image_64x48.jpg"), fixture("image_64x48_anim.webp"), fixture("image_64x48.gif")];
        for seed in &seeds {
            let format = sniff(seed).unwrap();
            for cut in (0..seed.len()).step_by(7) {
                let _ = inspect(format, &seed[..cut].to_vec());
            }
            let mut state = 0x1234_5678u32;
            for _ in 0..300 {
                let mut bytes = seed.clone();
                for _ in 0..4 {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let at = (state as usize >> 4) % bytes.len();
                    bytes[at] = (state >> 24) as u8;
                }
                let _ = inspect(format, &bytes);
            }
        }
    }
}
