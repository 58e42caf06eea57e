//! BMP: Windows bitmaps with a BITMAPCOREHEADER (OS/2 1.x, 12 bytes), an OS/2 2.x header
//! (16 or 64 bytes), a BITMAPINFOHEADER (40 bytes) or one of its later variants (V2 52, V3
//! 56, V4 108, V5 124 bytes). A negative height is a top-down bitmap.
//!
//! What is read: the 14-byte file header, the info header and the colour masks that follow
//! a 40-byte header: at most 158 bytes from the start. Pixel data is never read.
//!
//! Refused: an unknown header size, compression or bit depth; a palette larger than the bit
//! depth allows; colour masks that are empty or overlap; pixel data that starts inside the
//! headers; and a pixel array that does not fit in the file: the rows an uncompressed
//! bitmap declares (each padded to 4 bytes), or the size a compressed one declares
//! (truncated).
//! Reported: width, height, bits per channel (per palette index for a palette bitmap; where
//! every colour mask is equally wide), channels (3, or 4 with an alpha mask) and alpha.

use super::super::work::step;
use super::{check_size, le16, le32, read_up_to, ByteSource, Format, InspectError, Rejection};
use intake_api::AssetProperties;

const F: Format = Format::Bmp;

/// The info header sizes intake reads.
const HEADER_SIZES: [u64; 8] = [12, 16, 40, 52, 56, 64, 108, 124];

/// Recognises `BM` followed by a known info header size and one colour plane.
pub(super) fn sniff(head: &[u8]) -> Option<Format> {
    if !head.starts_with(b"BM") || head.len() < 18 {
        return None;
    }
    let size = le32(&head[14..18]);
    if !HEADER_SIZES.contains(&size) {
        return None;
    }
    let at = if size == 12 { 22 } else { 26 };
    (le16(head.get(at..at + 2)?) == 1).then_some(F)
}

fn i32_le(b: &[u8]) -> i64 {
    i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Parses a file already sniffed as BMP.
pub(super) fn inspect(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let total = src.len();
    let head = read_up_to(src, 0, 14 + 124 + 16)?;
    if head.len() < 26 {
        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
    }
    let pixels_at = le32(&head[10..14]);
    let header = le32(&head[14..18]);
    if head.len() < 14 + header as usize {
        return Err(Rejection::corrupt(F, "its header runs past the end of the file (truncated)").into());
    }
    let h = &head[14..14 + header as usize];
    // Width, height, planes, bits per pixel, compression, colours used.
    let (width, height, planes, bpp, compression, colours_used) = if header == 12 {
        (le16(&h[4..6]) as i64, le16(&h[6..8]) as i64, le16(&h[8..10]), le16(&h[10..12]), 0, 0)
    } else {
        let field = |at: usize| if h.len() >= at + 4 { le32(&h[at..at + 4]) } else { 0 };
        (i32_le(&h[4..8]), i32_le(&h[8..12]), le16(&h[12..14]), le16(&h[14..16]), field(16), field(32))
    };
    if planes != 1 {
        return Err(Rejection::corrupt(F, format!("it declares {planes} colour planes (a bitmap has 1)")).into());
    }
    let top_down = height < 0;
    let (width, height) = (width, height.unsigned_abs());
    if width <= 0 {
        return Err(Rejection::corrupt(F, format!("its header gives a width of {width} pixels")).into());
    }
    let width = width as u64;
    check_size(F, width, height)?;

    // OS/2 2.x headers (16 and 64 bytes) number their compressions differently: 3 is
    // Huffman 1D and 4 RLE24, neither of which intake reads.
    let os2 = matches!(header, 16 | 64);
    let compression_ok = match compression {
        0 => matches!(bpp, 1 | 2 | 4 | 8 | 16 | 24 | 32),
        1 => bpp == 8,
        2 => bpp == 4,
        3 | 6 if !os2 => matches!(bpp, 16 | 32),
        4 | 5 if !os2 => bpp == 0 || matches!(bpp, 1 | 2 | 4 | 8 | 16 | 24 | 32),
        _ => false,
    };
    if !compression_ok {
        return Err(Rejection::corrupt(
            F,
            format!("it declares compression {compression} with {bpp} bits per pixel, which BMP does not define"),
        )
        .into());
    }
    if top_down && matches!(compression, 1 | 2) {
        return Err(
            Rejection::corrupt(F, "it is a top-down bitmap with run-length compression, which BMP forbids").into()
        );
    }

    // Colour masks: in the header from V2 (52 bytes) on, else after a 40-byte header.
    let mask_count: usize = match compression {
        3 => 3,
        6 => 4,
        _ => 0,
    };
    let mut after_headers = 14 + header;
    let masks: Vec<u64> = if mask_count == 0 {
        Vec::new()
    } else if header >= 52 {
        let in_header = if header >= 56 { 4 } else { 3 };
        (0..in_header).map(|i| le32(&h[40 + 4 * i..44 + 4 * i])).collect()
    } else {
        after_headers += 4 * mask_count as u64;
        if head.len() < after_headers as usize {
            return Err(Rejection::corrupt(F, "its colour masks run past the end of the file (truncated)").into());
        }
        (0..mask_count).map(|i| le32(&head[54 + 4 * i..58 + 4 * i])).collect()
    };
    let mut seen = 0u64;
    for &m in &masks {
        step()?;
        if m & seen != 0 || m >> bpp != 0 {
            return Err(
                Rejection::corrupt(F, format!("its colour masks {masks:08X?} overlap or exceed the pixel")).into()
            );
        }
        seen |= m;
    }
    if masks.iter().take(3).any(|&m| m == 0) {
        return Err(Rejection::corrupt(F, format!("its colour masks {masks:08X?} leave a colour empty")).into());
    }
    let alpha_mask = masks.get(3).copied();
    let alpha = alpha_mask.is_some_and(|m| m != 0);

    // A palette follows the headers for bit depths up to 8.
    let entry = if header == 12 { 3 } else { 4 };
    let palette = if bpp <= 8 && bpp > 0 {
        let most = 1u64 << bpp;
        if colours_used > most {
            return Err(Rejection::corrupt(
                F,
                format!("it declares a palette of {colours_used} colours for {bpp}-bit pixels (at most {most})"),
            )
            .into());
        }
        if colours_used == 0 {
            most
        } else {
            colours_used
        }
    } else {
        0
    };
    if pixels_at < after_headers {
        return Err(
            Rejection::corrupt(F, format!("its pixel data starts at byte {pixels_at}, inside its headers")).into()
        );
    }
    // Writers often store fewer palette entries than the bit depth allows; only entries
    // that the pixel offset leaves room for are required of a palette that is declared.
    if colours_used > 0 && pixels_at < after_headers + palette * entry {
        return Err(Rejection::corrupt(
            F,
            format!("its pixel data starts at byte {pixels_at}, inside its palette of {palette} colours"),
        )
        .into());
    }

    // The pixel array must fit in the file.
    let declared = if header == 12 { 0 } else { le32(&h[20..24]) };
    let needed = if matches!(compression, 0 | 3 | 6) {
        let row = width.saturating_mul(bpp).div_ceil(32) * 4;
        row.saturating_mul(height)
    } else if declared == 0 {
        return Err(Rejection::corrupt(F, "it is compressed but does not say how long its pixel data is").into());
    } else {
        declared
    };
    let end = pixels_at.saturating_add(needed);
    if end > total {
        return Err(Rejection::corrupt(
            F,
            format!(
                "its {width} × {height} pixels need {needed} bytes from byte {pixels_at}, but the file has {total} \
                 (truncated)"
            ),
        )
        .into());
    }

    let bit_depth = match (compression, bpp) {
        (_, 1..=8) => Some(bpp),
        (0, 16) => Some(5),
        (0, 24 | 32) => Some(8),
        (3 | 6, _) => {
            let widths: Vec<u32> = masks[..3].iter().map(|m| m.count_ones()).collect();
            widths.iter().all(|&w| w == widths[0]).then_some(u64::from(widths[0]))
        }
        _ => None,
    };
    let compressed_picture = matches!(compression, 4 | 5);
    Ok(AssetProperties {
        width: Some(width),
        height: Some(height),
        bit_depth,
        channels: (!compressed_picture).then_some(3 + u64::from(alpha)),
        has_alpha: (!compressed_picture).then_some(alpha),
        ..Default::default()
    })
}
