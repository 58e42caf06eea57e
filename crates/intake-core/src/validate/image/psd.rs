//! Adobe Photoshop documents: PSD (`8BPS`, version 1) and PSB (version 2, "large document").
//!
//! What is read: the 26-byte header; the length of each section (colour mode data, image
//! resources, layer and mask information), which are skipped, not read; the compression of
//! the merged image; and, for a run-length-encoded merged image, its table of row lengths
//! (two bytes a row and channel, four in a PSB) when it is at most [`MAX_ROW_TABLE`]
//! bytes. Layers and pixel data are never read.
//!
//! Refused: an unknown version, colour mode or depth; a size beyond the version's limits; a
//! section that runs past the end of the file (truncated); raw pixel data or run-length rows
//! that do not fit in what is left of the file.
//! Reported: width, height, bits per channel (the header's depth), channels (as many as the
//! header declares: colour, alpha and spot channels) and alpha (channels beyond the colour
//! mode's own; `None` for multichannel documents, which have no colour channels).

use super::super::work::steps;
use super::{be16, be32, check_size, read_vec, ByteSource, Format, InspectError, Rejection};
use intake_api::AssetProperties;

const F: Format = Format::Psd;
/// The longest row-length table read to check a run-length-encoded image's size.
const MAX_ROW_TABLE: u64 = 4 << 20;
/// How much of the row-length table is read at once.
const TABLE_BLOCK: u64 = 64 * 1024;

/// Recognises `8BPS` with version 1 (PSD) or 2 (PSB).
pub(super) fn sniff(head: &[u8]) -> Option<Format> {
    (head.len() >= 6 && head.starts_with(b"8BPS") && matches!(head[4..6], [0, 1] | [0, 2])).then_some(F)
}

fn be64(b: &[u8]) -> u64 {
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Parses a file already sniffed as PSD or PSB; `properties.format` says which.
pub(super) fn inspect(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let total = src.len();
    let h = read_vec(src, 0, 26)?;
    let version = be16(&h[4..6]);
    let psb = version == 2;
    let (channels, height, width, depth, mode) =
        (be16(&h[12..14]), be32(&h[14..18]), be32(&h[18..22]), be16(&h[22..24]), be16(&h[24..26]));
    if h[6..12] != [0; 6] {
        return Err(Rejection::corrupt(F, "its header's reserved bytes are not zero").into());
    }
    if !(1..=56).contains(&channels) {
        return Err(Rejection::corrupt(F, format!("its header declares {channels} channels (1 to 56)")).into());
    }
    let colour_channels = match mode {
        0 | 1 | 2 | 8 => Some(1),
        3 | 9 => Some(3),
        4 => Some(4),
        7 => None,
        m => return Err(Rejection::corrupt(F, format!("its header declares colour mode {m}")).into()),
    };
    let depth_ok = match mode {
        0 => depth == 1,
        2 => depth == 8,
        8 => matches!(depth, 8 | 16),
        _ => matches!(depth, 8 | 16 | 32),
    };
    if !depth_ok {
        return Err(Rejection::corrupt(F, format!("its header declares depth {depth} for colour mode {mode}")).into());
    }
    if colour_channels.is_some_and(|c| channels < c) {
        return Err(
            Rejection::corrupt(F, format!("its header declares {channels} channels for colour mode {mode}")).into()
        );
    }
    let side = if psb { 300_000 } else { 30_000 };
    if width > side || height > side {
        return Err(Rejection::corrupt(
            F,
            format!("its header gives {width} × {height} pixels, beyond the {side} a side a {} allows", name(psb)),
        )
        .into());
    }
    check_size(F, width, height)?;

    // Colour mode data, image resources, layer and mask information: each a length and a
    // body, back to back.
    let mut pos = 26u64;
    for (section, wide) in
        [("colour mode data", false), ("image resources", false), ("layer and mask information", psb)]
    {
        let len_size = if wide { 8 } else { 4 };
        if pos + len_size > total {
            return Err(truncated(section));
        }
        let b = read_vec(src, pos, len_size as usize)?;
        let len = if wide { be64(&b) } else { be32(&b) };
        pos = pos.saturating_add(len_size).saturating_add(len);
        if pos > total {
            return Err(truncated(section));
        }
    }

    // The merged image: compression, then the channels' data, plane after plane.
    if pos + 2 > total {
        return Err(truncated("image data"));
    }
    let compression = be16(&read_vec(src, pos, 2)?);
    pos += 2;
    let left = total - pos;
    let row = width.saturating_mul(depth).div_ceil(8);
    let rows = height.saturating_mul(channels);
    match compression {
        0 => {
            let needed = row.saturating_mul(rows);
            if needed > left {
                return Err(Rejection::corrupt(
                    F,
                    format!("its raw image data needs {needed} bytes but {left} are left (truncated)"),
                )
                .into());
            }
        }
        1 => {
            let entry = if psb { 4 } else { 2 };
            let table = rows * entry;
            if table > left {
                return Err(Rejection::corrupt(
                    F,
                    format!("its run-length row table needs {table} bytes but {left} are left (truncated)"),
                )
                .into());
            }
            if table <= MAX_ROW_TABLE {
                let mut sum = 0u64;
                let mut at = 0u64;
                while at < table {
                    let n = TABLE_BLOCK.min(table - at);
                    let block = read_vec(src, pos + at, n as usize)?;
                    steps(n / entry)?;
                    sum += block.chunks_exact(entry as usize).map(|c| if psb { be32(c) } else { be16(c) }).sum::<u64>();
                    at += n;
                }
                if sum > left - table {
                    return Err(Rejection::corrupt(
                        F,
                        format!(
                            "its run-length rows hold {sum} bytes but {} are left after their table (truncated)",
                            left - table
                        ),
                    )
                    .into());
                }
            }
        }
        2 | 3 => {
            if left == 0 {
                return Err(truncated("image data"));
            }
        }
        c => return Err(Rejection::corrupt(F, format!("its image data has compression {c}")).into()),
    }

    Ok(AssetProperties {
        width: Some(width),
        height: Some(height),
        format: Some(name(psb).to_ascii_lowercase()),
        bit_depth: Some(depth),
        channels: Some(channels),
        has_alpha: colour_channels.map(|c| channels > c),
        ..Default::default()
    })
}

fn name(psb: bool) -> &'static str {
    if psb {
        "PSB"
    } else {
        "PSD"
    }
}

fn truncated(section: &str) -> InspectError {
    Rejection::corrupt(F, format!("its {section} section runs past the end of the file (truncated)")).into()
}
