//! Radiance RGBE images (`.hdr`, `.pic`).
//!
//! What is read: the header lines up to the blank line that ends them (within the first
//! [`MAX_HEADER`] bytes; the first line `#?RADIANCE` or `#?RGBE`, a `FORMAT=` line if any
//! must say `32-bit_rle_rgbe` or `32-bit_rle_xyze`), the resolution line (`-Y h +X w`, or
//! any of the seven other orientations), then the pixels of at most [`SAMPLE`] bytes.
//!
//! The body has no index and no end marker: only decoding every scan line finds where the
//! last one ends. So the first scan lines, up to [`SAMPLE`] bytes, are decoded for real
//! (adaptive run-length scan lines: `02 02` + length, four components of runs and literals
//! that must add up to the scan line's length exactly; flat or old-style run-length pixels
//! otherwise): a file of up to that size is checked to its last byte, and a damaged start is
//! refused wherever it is. For the scan lines beyond the sample, the file must hold at least
//! the fewest bytes they can be encoded in: `4 + 8 × ⌈length / 127⌉` each when the sampled
//! scan lines were all run-length encoded (a run covers at most 127 pixels of one component
//! in 2 bytes), 4 otherwise (one pixel, the rest old-style repeats). A file cut short by more
//! than that is refused as truncated; one cut by less, after the sample, is not seen. This
//! reads a bounded amount (kilobytes) whatever the file's size, at the price of missing small
//! truncations of large files; decoding the whole body would read the whole file.
//!
//! Reported: width, height, `hdr: true`, `hasAlpha: false`. RGBE has no bit depth per
//! channel (an 8-bit mantissa per channel and a shared exponent), so none is reported.

use super::super::work::{step, steps};
use super::super::{read_up_to, ByteSource, Format, InspectError, Rejection};
use super::check_size;
use intake_api::AssetProperties;

/// The most header bytes read (lines up to the resolution line).
pub const MAX_HEADER: usize = 64 * 1024;
/// The most body bytes decoded.
pub const SAMPLE: usize = 256 * 1024;

const F: Format = Format::Hdr;

/// Recognises Radiance RGBE by its first line.
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(b"#?RADIANCE") || head.starts_with(b"#?RGBE")
}

fn corrupt(what: impl std::fmt::Display) -> InspectError {
    Rejection::corrupt(F, what).into()
}

/// Parses a file already sniffed as Radiance HDR.
pub fn inspect(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let total = src.len();
    let head = read_up_to(src, 0, MAX_HEADER)?;
    let whole = head.len() as u64 == total;
    let cut = || {
        if whole {
            corrupt("it ends inside its header (truncated)")
        } else {
            Rejection(format!("the file is {} whose header is longer than intake reads (64 KiB)", F.described())).into()
        }
    };

    // Header lines up to the blank one, then the resolution line.
    let mut pos = 0usize;
    let mut first = true;
    let resolution = loop {
        step()?;
        let len = head[pos..].iter().position(|&b| b == b'\n').ok_or_else(cut)?;
        let line = &head[pos..pos + len];
        pos += len + 1;
        if first {
            first = false;
            continue;
        }
        if line.is_empty() {
            let len = head[pos..].iter().position(|&b| b == b'\n').ok_or_else(cut)?;
            let line = &head[pos..pos + len];
            pos += len + 1;
            break line;
        }
        if let Some(format) = line.strip_prefix(b"FORMAT=") {
            if format.trim_ascii() != b"32-bit_rle_rgbe" && format.trim_ascii() != b"32-bit_rle_xyze" {
                return Err(corrupt(format!(
                    "its pixel format '{}' is not 32-bit_rle_rgbe or 32-bit_rle_xyze",
                    String::from_utf8_lossy(format)
                )));
            }
        }
    };
    let (width, height, lines, length) = parse_resolution(resolution).ok_or_else(|| {
        corrupt(format!("its resolution line '{}' is not like '-Y 480 +X 640'", String::from_utf8_lossy(resolution)))
    })?;
    check_size(F, width, height)?;

    // The first scan lines, for real.
    let body_at = pos as u64;
    let sample = read_up_to(src, body_at, SAMPLE)?;
    let sample_whole = body_at + sample.len() as u64 == total;
    let mut at = 0usize;
    let mut decoded = 0u64;
    let mut all_rle = true;
    while decoded < lines {
        step()?;
        match scan_line(&sample[at..], length)? {
            Some((used, rle)) => {
                at += used;
                all_rle &= rle;
                decoded += 1;
            }
            None if sample_whole => {
                return Err(corrupt(format!("it ends in scan line {} of {lines} (truncated)", decoded + 1)))
            }
            None => break,
        }
    }
    if decoded < lines {
        let fewest = if all_rle && (8..32768).contains(&length) { 4 + 8 * length.div_ceil(127) } else { 4 };
        let need = (lines - decoded).saturating_mul(fewest);
        let have = total - body_at - at as u64;
        if have < need {
            return Err(corrupt(format!(
                "its {} scan lines after the first {decoded} need at least {need} bytes, and it has {have} left \
                 (truncated)",
                lines - decoded
            )));
        }
    }
    Ok(AssetProperties {
        width: Some(width),
        height: Some(height),
        has_alpha: Some(false),
        hdr: Some(true),
        ..Default::default()
    })
}

/// `(width, height, scan lines, pixels a scan line)` of a resolution line: two axes, one
/// `Y` and one `X`, each a sign, the axis and a positive count; the first is the slow one.
fn parse_resolution(line: &[u8]) -> Option<(u64, u64, u64, u64)> {
    let text = std::str::from_utf8(line).ok()?;
    let words: Vec<&str> = text.split_ascii_whitespace().take(5).collect();
    let [a, n, b, m] = words.as_slice() else { return None };
    let axis = |w: &str| match w {
        "-Y" | "+Y" => Some(b'Y'),
        "-X" | "+X" => Some(b'X'),
        _ => None,
    };
    let count = |w: &str| w.parse::<u64>().ok().filter(|&c| c > 0 && w.bytes().all(|b| b.is_ascii_digit()));
    let (first, second) = (axis(a)?, axis(b)?);
    let (slow, fast) = (count(n)?, count(m)?);
    match (first, second) {
        (b'Y', b'X') => Some((fast, slow, slow, fast)),
        (b'X', b'Y') => Some((slow, fast, slow, fast)),
        _ => None,
    }
}

/// Decodes one scan line of `length` pixels at the start of `data`: the bytes it takes and
/// whether it was adaptive run-length encoded. `None` when `data` ends first.
fn scan_line(data: &[u8], length: u64) -> Result<Option<(usize, bool)>, InspectError> {
    let Some(start) = data.get(..4) else { return Ok(None) };
    let rle = (8..32768).contains(&length) && start[0] == 2 && start[1] == 2 && start[2] & 0x80 == 0;
    if rle {
        let declared = u64::from(start[2]) << 8 | u64::from(start[3]);
        if declared != length {
            return Err(corrupt(format!("a scan line says it has {declared} pixels, not {length}")));
        }
        let mut at = 4usize;
        for _ in 0..4 {
            let mut filled = 0u64;
            while filled < length {
                step()?;
                let Some(&code) = data.get(at) else { return Ok(None) };
                let (count, bytes) =
                    if code > 128 { (u64::from(code - 128), 1) } else { (u64::from(code), code as usize) };
                if count == 0 || filled + count > length {
                    return Err(corrupt("a run-length encoded scan line is damaged (a run overflows it)"));
                }
                if data.len() < at + 1 + bytes {
                    return Ok(None);
                }
                at += 1 + bytes;
                filled += count;
            }
        }
        return Ok(Some((at, true)));
    }
    // Flat pixels, where (1, 1, 1, n) repeats the previous pixel n << shift times.
    let mut at = 0usize;
    let mut filled = 0u64;
    let mut shift = 0u32;
    while filled < length {
        step()?;
        let Some(pixel) = data.get(at..at + 4) else { return Ok(None) };
        at += 4;
        if pixel[..3] == [1, 1, 1] {
            if filled == 0 || shift > 24 {
                return Err(corrupt("a scan line is damaged (a repeat with nothing to repeat)"));
            }
            let count = u64::from(pixel[3]) << shift;
            if filled + count > length {
                return Err(corrupt("a scan line is damaged (a repeat overflows it)"));
            }
            steps(count / 64)?;
            filled += count;
            shift += 8;
        } else {
            filled += 1;
            shift = 0;
        }
    }
    Ok(Some((at, false)))
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{err, fixture, mutate_and_validate, ok};
    use super::super::super::{sniff_head, Format};
    use super::*;
    use intake_api::Kind;

    /// A run-length encoded RGBE file of `lines` scan lines of `width` pixels (each component
    /// one run per 127 pixels: the fewest bytes possible).
    fn flat_rle(width: usize, lines: usize, magic: &str) -> Vec<u8> {
        let mut out = format!("{magic}\nFORMAT=32-bit_rle_rgbe\n\n-Y {lines} +X {width}\n").into_bytes();
        for _ in 0..lines {
            out.extend_from_slice(&[2, 2, (width >> 8) as u8, width as u8]);
            for component in [100u8, 80, 60, 129] {
                let mut left = width;
                while left > 0 {
                    let n = left.min(127);
                    out.extend_from_slice(&[128 + n as u8, component]);
                    left -= n;
                }
            }
        }
        out
    }

    #[test]
    fn reports_size_and_hdr() {
        let hdr = fixture("image_64x48.hdr");
        assert_eq!(sniff_head(&hdr, hdr.len() as u64), Format::Hdr);
        let p = ok(Kind::Image, &hdr).properties;
        assert_eq!((p.width, p.height, p.format.as_deref()), (Some(64), Some(48), Some("hdr")));
        assert_eq!((p.bit_depth, p.has_alpha, p.hdr), (None, Some(false), Some(true)));
        let rgbe = flat_rle(40, 30, "#?RGBE");
        assert_eq!((ok(Kind::Avatar, &rgbe).properties.width), Some(40));
        // Other orientations: `+X w -Y h` has w scan lines (columns) of h pixels.
        let mut columns = flat_rle(30, 40, "#?RADIANCE");
        let at = columns.windows(11).position(|w| w == b"-Y 40 +X 30").unwrap();
        columns[at..at + 11].copy_from_slice(b"+X 40 -Y 30");
        let p = ok(Kind::Image, &columns).properties;
        assert_eq!((p.width, p.height), (Some(40), Some(30)));
    }

    #[test]
    fn every_truncation_is_refused() {
        let hdr = fixture("image_64x48.hdr");
        for cut in 1..hdr.len() {
            let reason = err(Kind::Image, &hdr[..cut]);
            assert!(reason.contains("(truncated)") || reason.contains("expected"), "cut at {cut}: {reason}");
        }
        let reason = err(Kind::Image, &hdr[..hdr.len() / 2]);
        assert!(reason.contains("it ends in scan line"), "{reason}");
    }

    #[test]
    fn a_large_file_is_judged_from_a_sample_and_its_length() {
        // 4,000 scan lines of 1,000 pixels: 4 + 4 × 8 × 2 = 68 bytes each, 272 KB in all.
        let big = flat_rle(1000, 4000, "#?RADIANCE");
        assert!(big.len() > SAMPLE);
        let counted = super::super::super::CountingSource::new(&big);
        assert!(super::super::super::validate(Kind::Image, &counted).is_ok());
        // Sniffing's 64 KiB, the header's and the sample.
        let bound = super::super::super::SNIFF_LEN + MAX_HEADER + SAMPLE;
        assert!(counted.bytes_read() <= bound as u64, "{}", counted.bytes_read());
        // Cut by more than the sample can see: refused by length.
        let reason = err(Kind::Image, &big[..big.len() - 68 * 100]);
        assert!(reason.contains("need at least") && reason.contains("(truncated)"), "{reason}");
    }

    #[test]
    fn lying_and_damaged_headers_are_refused() {
        let hdr = fixture("image_64x48.hdr");
        let text = |from: &[u8], to: &[u8]| {
            let at = hdr.windows(from.len()).position(|w| w == from).unwrap();
            [&hdr[..at], to, &hdr[at + from.len()..]].concat()
        };
        let reason = err(Kind::Image, &text(b"-Y 48 +X 64", b"-Y 4800 +X 64"));
        assert!(reason.contains("it ends in scan line 49 of 4800 (truncated)"), "{reason}");
        let reason = err(Kind::Image, &text(b"-Y 48 +X 64", b"-Y 48 +X 65"));
        assert!(reason.contains("a scan line says it has 64 pixels, not 65"), "{reason}");
        let reason = err(Kind::Image, &text(b"-Y 48 +X 64", b"-Y 48 -Y 64"));
        assert!(reason.contains("is not like '-Y 480 +X 640'"), "{reason}");
        let reason = err(Kind::Image, &text(b"32-bit_rle_rgbe", b"16-bit_rle_rgbe"));
        assert!(reason.contains("its pixel format '16-bit_rle_rgbe' is not"), "{reason}");
        let reason = err(Kind::Image, &text(b"-Y 48 +X 64", b"-Y 200000 +X 64"));
        assert!(reason.contains("larger than intake accepts"), "{reason}");
    }

    #[test]
    fn flat_and_old_run_length_scan_lines_are_read() {
        // 3 scan lines of 4 flat pixels, then one pixel repeated 3 times (old style).
        let mut file = b"#?RADIANCE\n\n-Y 2 +X 4\n".to_vec();
        file.extend_from_slice(&[9, 9, 9, 128].repeat(4));
        file.extend_from_slice(&[9, 9, 9, 128, 1, 1, 1, 3]);
        assert_eq!(ok(Kind::Image, &file).properties.height, Some(2));
        let mut overflow = file.clone();
        let n = overflow.len();
        overflow[n - 1] = 4;
        assert!(err(Kind::Image, &overflow).contains("a repeat overflows it"));
    }

    #[test]
    fn mutations_never_panic() {
        mutate_and_validate(&fixture("image_64x48.hdr"), 3000);
        mutate_and_validate(&flat_rle(20, 10, "#?RGBE"), 3000);
    }
}
