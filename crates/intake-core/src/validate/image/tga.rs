//! TGA (Truevision Targa). TGA has no signature: a file is taken for one only when every
//! field of its 18-byte header is consistent ([`sniff`]), and that judgement is made after
//! every format with a signature has had its turn (see `validate::sniff_head`).
//!
//! What is read: the header, the last 26 bytes (the TGA 2.0 footer, `TRUEVISION-XFILE.`,
//! when present) and, for a run-length-encoded picture, its packets within the first
//! [`RLE_WINDOW`] bytes of pixel data. Pixel data is otherwise never read.
//!
//! Refused: inconsistent header fields; an uncompressed picture whose pixels do not fit
//! between the header (with its ID and colour map) and the end of the file or the footer's
//! extension area (truncated); a run-length-encoded picture that ends before its pixels do,
//! or that cannot hold them even at the best compression run-length packets allow; footer
//! offsets pointing outside the file.
//! Reported: width, height, bits per channel (per palette index for a palette picture),
//! channels and alpha (alpha bits in the image descriptor).

use super::super::work::step;
use super::{check_size, le16, le32, read_up_to, read_vec, ByteSource, Format, InspectError, Rejection};
use intake_api::AssetProperties;

const F: Format = Format::Tga;
const FOOTER: &[u8; 18] = b"TRUEVISION-XFILE.\0";
/// How much run-length-encoded pixel data is walked packet by packet.
const RLE_WINDOW: usize = 64 * 1024;

/// The header fields.
struct Header {
    id_len: u64,
    map_type: u8,
    image_type: u8,
    map_len: u64,
    map_entry: u64,
    width: u64,
    height: u64,
    depth: u64,
    alpha_bits: u64,
}

/// Reads and checks the 18-byte header: `Err` names the first inconsistent field.
fn header(h: &[u8]) -> Result<Header, String> {
    let header = Header {
        id_len: u64::from(h[0]),
        map_type: h[1],
        image_type: h[2],
        map_len: le16(&h[5..7]),
        map_entry: u64::from(h[7]),
        width: le16(&h[12..14]),
        height: le16(&h[14..16]),
        depth: u64::from(h[16]),
        alpha_bits: u64::from(h[17] & 0x0F),
    };
    let palette = matches!(header.image_type, 1 | 9);
    if !matches!(header.image_type, 1 | 2 | 3 | 9 | 10 | 11) {
        return Err(format!("image type {}", header.image_type));
    }
    match header.map_type {
        0 if palette => return Err("a palette picture without a colour map".into()),
        // No colour map: its fields must be zero.
        0 if h[3..8] != [0; 5] => return Err("colour map fields without a colour map".into()),
        1 if header.map_len == 0 || !matches!(header.map_entry, 15 | 16 | 24 | 32) => {
            return Err(format!("a colour map of {} entries of {} bits", header.map_len, header.map_entry))
        }
        0 | 1 => {}
        t => return Err(format!("colour map type {t}")),
    }
    let depth_ok = match header.image_type {
        1 | 9 => matches!(header.depth, 8 | 16),
        2 | 10 => matches!(header.depth, 15 | 16 | 24 | 32),
        _ => matches!(header.depth, 8 | 16),
    };
    if !depth_ok {
        return Err(format!("{} bits per pixel for image type {}", header.depth, header.image_type));
    }
    if h[17] & 0xC0 != 0 {
        return Err("interleaved rows".into());
    }
    // Alpha bits: those a pixel has beside its colour (a palette's entries hold theirs).
    let most_alpha = match (header.image_type, header.depth) {
        (1 | 9, _) => 8,
        (_, 32) => 8,
        (2 | 10, 15 | 16) => 1,
        (3 | 11, 16) => 8,
        _ => 0,
    };
    if header.alpha_bits > most_alpha {
        return Err(format!("{} alpha bits in {}-bit pixels", header.alpha_bits, header.depth));
    }
    if header.width == 0 || header.height == 0 {
        return Err(format!("a picture size of {} × {} pixels", header.width, header.height));
    }
    Ok(header)
}

/// Recognises a TGA header by the consistency of its fields (a TGA has no signature).
pub(super) fn sniff(head: &[u8]) -> Option<Format> {
    let h = head.get(..18)?;
    header(h).ok()?;
    Some(F)
}

/// Parses a file already sniffed as TGA.
pub(super) fn inspect(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let total = src.len();
    if total < 18 {
        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
    }
    let h = read_vec(src, 0, 18)?;
    let hd = header(&h).map_err(|what| Rejection::corrupt(F, format!("its header declares {what}")))?;
    check_size(F, hd.width, hd.height)?;

    // The pixels end where the extension or developer area starts, or at the footer.
    let mut data_end = total;
    if total >= 18 + 26 {
        let foot = read_vec(src, total - 26, 26)?;
        if &foot[8..] == FOOTER {
            data_end = total - 26;
            for (name, at) in [("extension area", le32(&foot[0..4])), ("developer directory", le32(&foot[4..8]))] {
                if at == 0 {
                    continue;
                }
                if at < 18 || at >= total - 26 {
                    return Err(Rejection::corrupt(
                        F,
                        format!("its footer puts its {name} at byte {at}, outside the file"),
                    )
                    .into());
                }
                data_end = data_end.min(at);
            }
        }
    }

    let map_bytes = if hd.map_type == 1 { hd.map_len * hd.map_entry.div_ceil(8) } else { 0 };
    let pixels_at = 18 + hd.id_len + map_bytes;
    let pixel = hd.depth.div_ceil(8);
    let count = hd.width * hd.height;
    let needed = count * pixel;
    if hd.image_type < 9 {
        if pixels_at + needed > data_end {
            return Err(Rejection::corrupt(
                F,
                format!(
                    "its {} × {} pixels need {needed} bytes from byte {pixels_at}, but the file has {} (truncated)",
                    hd.width,
                    hd.height,
                    data_end.saturating_sub(pixels_at)
                ),
            )
            .into());
        }
    } else {
        // A packet holds at most 128 pixels, in 1 + pixel bytes at best.
        let least = count.div_ceil(128) * (1 + pixel);
        if pixels_at + least > data_end {
            return Err(Rejection::corrupt(
                F,
                format!(
                    "its {} × {} run-length-encoded pixels need at least {least} bytes from byte {pixels_at}, but \
                     the file has {} (truncated)",
                    hd.width,
                    hd.height,
                    data_end.saturating_sub(pixels_at)
                ),
            )
            .into());
        }
        walk_rle(src, pixels_at, data_end, count, pixel)?;
    }

    let (bit_depth, colours) = match hd.image_type {
        1 | 9 => (hd.depth, 3),
        2 | 10 if hd.depth <= 16 => (5, 3),
        2 | 10 => (8, 3),
        _ => (hd.depth - hd.alpha_bits, 1),
    };
    let alpha = hd.alpha_bits > 0;
    Ok(AssetProperties {
        width: Some(hd.width),
        height: Some(hd.height),
        bit_depth: Some(bit_depth),
        channels: Some(colours + u64::from(alpha)),
        has_alpha: Some(alpha),
        ..Default::default()
    })
}

/// Walks the run-length packets that lie in the first [`RLE_WINDOW`] bytes of pixel data:
/// when the picture ends inside the window it must end before `data_end`; when the window
/// is the end of the pixel data, the picture must be complete.
fn walk_rle(src: &dyn ByteSource, at: u64, data_end: u64, count: u64, pixel: u64) -> Result<(), InspectError> {
    let window = read_up_to(src, at, RLE_WINDOW.min(data_end.saturating_sub(at) as usize))?;
    let whole = at + window.len() as u64 >= data_end;
    let (mut pos, mut done) = (0u64, 0u64);
    while done < count {
        step()?;
        let Some(&packet) = window.get(pos as usize) else { break };
        let n = u64::from(packet & 0x7F) + 1;
        pos += 1 + if packet & 0x80 != 0 { pixel } else { n * pixel };
        done += n;
        if pos > window.len() as u64 {
            break;
        }
    }
    let complete = done >= count && pos <= window.len() as u64;
    if whole && !complete {
        return Err(Rejection::corrupt(
            F,
            format!("its run-length-encoded pixels stop after {} of {count} pixels (truncated)", done.min(count)),
        )
        .into());
    }
    Ok(())
}
