//! AIFF and AIFF-C: an IFF `FORM` of type `AIFF` or `AIFC`, big-endian throughout.
//!
//! The `FORM` size and every chunk walked (by seeking, at most [`MAX_RIFF_CHUNKS`], up to
//! `COMM` and `SSND`) must fit in the file. Only chunk headers, `COMM` and `SSND`'s first
//! 8 bytes are read; the sound data never is. `COMM` gives channels, the sample frame count,
//! the sample size and the sample rate (an 80-bit IEEE extended float, converted without
//! overflow); AIFF-C adds a compression type, reported as the codec. The duration is the
//! frame count over the rate. For uncompressed sound, `SSND` must hold every frame `COMM`
//! declares: a shorter one means the file was cut off or its header lies.

use super::super::work::step;
use super::super::{read_exact_at, read_up_to, ByteSource, Format, InspectError};
use super::wav::MAX_RIFF_CHUNKS;
use super::{corrupt, u16be, u32be};
use intake_api::AssetProperties;

const F: Format = Format::Aiff;

/// The highest sample rate believed (10 MHz).
const MAX_RATE: f64 = 1e7;

/// The value of an 80-bit IEEE 754 extended-precision float (sign, 15-bit exponent, 64-bit
/// significand with an explicit integer bit), or `None` if it is not finite. The significand
/// is scaled by a power of two computed by `f64::powi`, which saturates to 0 or infinity
/// instead of overflowing.
pub(super) fn extended(b: &[u8; 10]) -> Option<f64> {
    let sign = if b[0] & 0x80 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from(u16::from_be_bytes([b[0] & 0x7F, b[1]]));
    let mantissa = u64::from_be_bytes([b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]]);
    if exponent == 0x7FFF {
        return None; // infinity or NaN
    }
    if mantissa == 0 {
        return Some(0.0);
    }
    // value = mantissa × 2^(exponent − 16383 − 63), split in two steps so that neither
    // power leaves f64's range on its own before the product does.
    let e = exponent - 16383 - 63;
    let v = sign * mantissa as f64 * 2f64.powi(e / 2) * 2f64.powi(e - e / 2);
    v.is_finite().then_some(v)
}

/// Whether an AIFF-C compression type stores plain samples (whose size `COMM` gives).
fn uncompressed(kind: &[u8; 4]) -> bool {
    matches!(
        kind,
        b"NONE" | b"none" | b"twos" | b"sowt" | b"raw " | b"fl32" | b"FL32" | b"fl64" | b"FL64" | b"in24" | b"in32"
    )
}

/// The ffprobe name of the sound in an AIFF(-C) file.
fn codec_name(kind: &[u8; 4], bits: u16) -> String {
    let pcm = |endian: &str| match bits {
        1..=8 => "pcm_s8".to_string(),
        9..=16 => format!("pcm_s16{endian}"),
        17..=24 => format!("pcm_s24{endian}"),
        _ => format!("pcm_s32{endian}"),
    };
    match kind {
        b"NONE" | b"none" | b"twos" => pcm("be"),
        b"sowt" => pcm("le"),
        b"raw " => "pcm_u8".into(),
        b"in24" => "pcm_s24be".into(),
        b"in32" => "pcm_s32be".into(),
        b"fl32" | b"FL32" => "pcm_f32be".into(),
        b"fl64" | b"FL64" => "pcm_f64be".into(),
        b"alaw" | b"ALAW" => "pcm_alaw".into(),
        b"ulaw" | b"ULAW" => "pcm_mulaw".into(),
        b"ima4" => "adpcm_ima_qt".into(),
        b"MAC3" => "mace3".into(),
        b"MAC6" => "mace6".into(),
        b"QDMC" => "qdmc".into(),
        b"QDM2" => "qdm2".into(),
        b"GSM " => "gsm".into(),
        b"G722" => "adpcm_g722".into(),
        other => other.iter().map(|&c| if c.is_ascii_graphic() { c as char } else { '?' }).collect::<String>(),
    }
}

pub(super) fn inspect_aiff(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let len = src.len();
    let mut head = [0u8; 12];
    read_exact_at(src, 0, &mut head)?;
    let aifc = &head[8..12] == b"AIFC";
    let form_end = 8 + u64::from(u32be(&head[4..8]));
    if form_end < 12 {
        return Err(corrupt(F, "the FORM header declares an impossible size"));
    }
    if form_end > len {
        return Err(corrupt(
            F,
            format!("the FORM header declares {form_end} bytes but the file has only {len} (truncated)"),
        ));
    }
    let mut comm: Option<Vec<u8>> = None;
    let mut ssnd: Option<(u64, u64)> = None; // (size, offset field)
    let mut off = 12u64;
    let mut chunks = 0usize;
    while off + 8 <= form_end && (comm.is_none() || ssnd.is_none()) {
        step()?;
        chunks += 1;
        if chunks > MAX_RIFF_CHUNKS {
            return Err(corrupt(F, "it holds too many chunks"));
        }
        let mut ch = [0u8; 8];
        read_exact_at(src, off, &mut ch)?;
        let size = u64::from(u32be(&ch[4..8]));
        let body = off + 8;
        let end = body + size;
        let id = &ch[0..4];
        if end > form_end {
            let name = String::from_utf8_lossy(id).into_owned();
            return Err(corrupt(
                F,
                format!("the {name:?} chunk declares {size} bytes but the file ends before them (truncated)"),
            ));
        }
        match id {
            b"COMM" if comm.is_none() => {
                let need = if aifc { 22 } else { 18 };
                if size < need {
                    return Err(corrupt(F, format!("the COMM chunk is only {size} bytes long ({need} at least)")));
                }
                comm = Some(read_up_to(src, body, 22.min(size as usize))?);
            }
            b"SSND" if ssnd.is_none() => {
                if size < 8 {
                    return Err(corrupt(F, format!("the SSND chunk is only {size} bytes long (8 at least)")));
                }
                let mut b = [0u8; 4];
                read_exact_at(src, body, &mut b)?;
                ssnd = Some((size, u64::from(u32be(&b))));
            }
            _ => {}
        }
        off = end + (size & 1);
    }
    let comm = comm.ok_or_else(|| corrupt(F, "it has no COMM chunk describing the sound"))?;
    let channels = u16be(&comm[0..2]);
    let frames = u32be(&comm[2..6]);
    let bits = u16be(&comm[6..8]);
    let mut rate_bytes = [0u8; 10];
    rate_bytes.copy_from_slice(&comm[8..18]);
    let kind: [u8; 4] = if aifc { [comm[18], comm[19], comm[20], comm[21]] } else { *b"NONE" };
    if channels == 0 || channels > 0x7FFF {
        return Err(corrupt(F, format!("the COMM chunk declares {} channels", i16::from_be_bytes([comm[0], comm[1]]))));
    }
    let rate = extended(&rate_bytes)
        .filter(|r| (1.0..=MAX_RATE).contains(r))
        .ok_or_else(|| corrupt(F, "the COMM chunk declares an impossible sample rate"))?;
    if uncompressed(&kind) && !(1..=64).contains(&bits) {
        return Err(corrupt(F, format!("the COMM chunk declares samples of {bits} bits")));
    }
    if frames > 0 {
        let (size, offset) = ssnd.ok_or_else(|| corrupt(F, "it has no SSND chunk holding the sound"))?;
        if uncompressed(&kind) {
            let bytes_per_sample = match &kind {
                b"fl32" | b"FL32" => 4,
                b"fl64" | b"FL64" => 8,
                b"in24" => 3,
                b"in32" => 4,
                _ => u64::from(bits).div_ceil(8),
            };
            let needed = u64::from(frames) * u64::from(channels) * bytes_per_sample;
            let held = (size - 8).saturating_sub(offset);
            if held < needed {
                return Err(corrupt(
                    F,
                    format!(
                        "the COMM chunk declares {frames} sample frames ({needed} bytes) but the SSND chunk holds only {held} bytes"
                    ),
                ));
            }
        }
    }
    let duration = f64::from(frames) / rate;
    let bitrate = if uncompressed(&kind) {
        let per_sample = u64::from(bits).div_ceil(8) * 8;
        Some((rate * (per_sample * u64::from(channels)) as f64).round() as u64)
    } else {
        None
    };
    Ok(AssetProperties {
        codec_name: Some(codec_name(&kind, bits)),
        duration: Some(duration),
        bitrate,
        sample_rate: Some(rate.round() as u64),
        channels: Some(u64::from(channels)),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::CountingSource;
    use super::super::inspect;
    use super::super::testutil::*;
    use super::*;

    // Made by ffmpeg, see fixtures/README.md.
    const AIFF: &[u8] = include_bytes!("../fixtures/audio_s16.aiff");
    const AIFC: &[u8] = include_bytes!("../fixtures/audio_sowt.aifc");

    #[test]
    fn extended_floats() {
        let f = |b: [u8; 10]| extended(&b);
        assert_eq!(f([0x40, 0x0B, 0xFA, 0, 0, 0, 0, 0, 0, 0]), Some(8000.0));
        assert_eq!(f([0x40, 0x0E, 0xAC, 0x44, 0, 0, 0, 0, 0, 0]), Some(44100.0));
        assert_eq!(f([0x40, 0x0F, 0xBB, 0x80, 0, 0, 0, 0, 0, 0]), Some(96000.0));
        assert_eq!(f([0; 10]), Some(0.0));
        assert_eq!(f([0x7F, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0]), None);
        // The largest and smallest exponents: no overflow, no panic.
        assert_eq!(f([0x7F, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), None);
        assert_eq!(f([0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), Some(0.0));
        assert_eq!(f([0xC0, 0x0B, 0xFA, 0, 0, 0, 0, 0, 0, 0]), Some(-8000.0));
    }

    #[test]
    fn aiff_fixture() {
        let p = check(Format::Aiff, AIFF);
        assert_eq!(p.format.as_deref(), Some("aiff"));
        assert_eq!(p.codec_name.as_deref(), Some("pcm_s16be"));
        assert_eq!((p.sample_rate, p.channels), (Some(8000), Some(1)));
        assert_eq!(p.bitrate, Some(128_000));
        close(p.duration, 0.2, 1e-12);
    }

    #[test]
    fn aifc_fixture() {
        let p = check(Format::Aiff, AIFC);
        assert_eq!(p.codec_name.as_deref(), Some("pcm_s16le"));
        assert_eq!((p.sample_rate, p.channels), (Some(8000), Some(1)));
        close(p.duration, 0.2, 1e-12);
    }

    fn find(bytes: &[u8], what: &[u8]) -> usize {
        bytes.windows(what.len()).position(|w| w == what).unwrap()
    }

    #[test]
    fn aiff_truncated_and_lying() {
        let msg = rejected(&AIFF[..AIFF.len() - 100]);
        assert!(msg.contains("AIFF") && msg.contains("truncated"), "{msg}");
        // FORM and SSND sizes patched to match the cut file: COMM's frame count now lies.
        let mut cut = AIFF[..AIFF.len() - 100].to_vec();
        let form = (cut.len() - 8) as u32;
        cut[4..8].copy_from_slice(&form.to_be_bytes());
        let ssnd = find(&cut, b"SSND");
        let size = (cut.len() - ssnd - 8) as u32;
        cut[ssnd + 4..ssnd + 8].copy_from_slice(&size.to_be_bytes());
        let msg = rejected(&cut);
        assert!(msg.contains("declares 1600 sample frames") && msg.contains("SSND chunk holds only"), "{msg}");
        // An impossible sample rate (exponent all ones).
        let mut bad = AIFF.to_vec();
        let comm = find(&bad, b"COMM");
        bad[comm + 16..comm + 18].copy_from_slice(&[0x7F, 0xFF]);
        assert!(rejected(&bad).contains("impossible sample rate"));
        let mut bad = AIFF.to_vec();
        bad[comm + 8..comm + 10].copy_from_slice(&[0, 0]);
        assert!(rejected(&bad).contains("0 channels"));
    }

    #[test]
    fn aifc_compression_is_the_codec() {
        let mut alaw = AIFC.to_vec();
        let comm = find(&alaw, b"COMM");
        alaw[comm + 26..comm + 30].copy_from_slice(b"alaw");
        let p = check(Format::Aiff, &alaw);
        assert_eq!(p.codec_name.as_deref(), Some("pcm_alaw"));
        assert_eq!(p.bitrate, None);
    }

    #[test]
    fn aiff_large_reads_little() {
        // 4 Mi frames of 16-bit stereo at 48 kHz behind the fixture's header.
        let ssnd = find(AIFF, b"SSND");
        let frames = 4u32 << 20;
        let data = u64::from(frames) * 4;
        let mut big = AIFF[..ssnd].to_vec();
        let comm = find(&big, b"COMM");
        big[comm + 8..comm + 10].copy_from_slice(&2u16.to_be_bytes());
        big[comm + 10..comm + 14].copy_from_slice(&frames.to_be_bytes());
        big[comm + 16..comm + 26].copy_from_slice(&[0x40, 0x0E, 0xBB, 0x80, 0, 0, 0, 0, 0, 0]);
        big.extend_from_slice(b"SSND");
        big.extend_from_slice(&((data + 8) as u32).to_be_bytes());
        big.resize(big.len() + 8 + data as usize, 0);
        let form = (big.len() - 8) as u32;
        big[4..8].copy_from_slice(&form.to_be_bytes());
        let counting = CountingSource::new(&big);
        let p = inspect(Format::Aiff, &counting).unwrap().properties;
        close(p.duration, f64::from(frames) / 48000.0, 1e-9);
        assert!(counting.bytes_read() < 4096, "read {}", counting.bytes_read());
    }
}
