//! WAV: a RIFF/WAVE file. The RIFF size and every chunk walked (up to `fmt ` and `data`)
//! must fit in the file; the `fmt ` chunk gives channels, sample rate, bits and byte rate
//! (checked against each other for PCM), and the `data` size over the byte rate the duration.

use super::super::work::step;
use super::super::{read_exact_at, ByteSource, Format, InspectError};
use super::{corrupt, u16le, u32le};
use intake_api::AssetProperties;

/// Most chunks a RIFF walk visits before giving up.
pub(super) const MAX_RIFF_CHUNKS: usize = 10_000;

pub(super) fn inspect_wav(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    const F: Format = Format::Wav;
    let len = src.len();
    let mut head = [0u8; 12];
    read_exact_at(src, 0, &mut head)?;
    let riff_size = u64::from(u32le(&head[4..8]));
    if riff_size < 4 {
        return Err(corrupt(F, "the RIFF header declares an impossible size"));
    }
    let riff_end = 8 + riff_size;
    if riff_end > len {
        return Err(corrupt(
            F,
            format!("the RIFF header declares {riff_end} bytes but the file has only {len} (truncated)"),
        ));
    }
    let mut fmt: Option<Vec<u8>> = None;
    let mut data: Option<u64> = None;
    let mut off = 12u64;
    let mut chunks = 0usize;
    while off + 8 <= riff_end && (fmt.is_none() || data.is_none()) {
        step()?;
        chunks += 1;
        if chunks > MAX_RIFF_CHUNKS {
            return Err(corrupt(F, "it holds too many RIFF chunks"));
        }
        let mut ch = [0u8; 8];
        read_exact_at(src, off, &mut ch)?;
        let size = u64::from(u32le(&ch[4..8]));
        let body = off + 8;
        let end = body + size;
        let id = &ch[0..4];
        if id == b"data" {
            if end > riff_end {
                return Err(corrupt(
                    F,
                    format!(
                        "the data chunk declares {size} bytes of samples but the file ends before them (truncated)"
                    ),
                ));
            }
            data = Some(size);
        } else if end > riff_end {
            let name = String::from_utf8_lossy(id).into_owned();
            return Err(corrupt(F, format!("the {name:?} chunk runs past the end of the file (truncated)")));
        }
        if id == b"fmt " {
            if size < 16 {
                return Err(corrupt(F, format!("the fmt chunk is only {size} bytes long (16 at least)")));
            }
            let mut b = vec![0u8; size.min(64) as usize];
            read_exact_at(src, body, &mut b)?;
            fmt = Some(b);
        }
        off = end + (size & 1);
    }
    let fmt = fmt.ok_or_else(|| corrupt(F, "it has no fmt chunk describing the samples"))?;
    let data_size = data.ok_or_else(|| corrupt(F, "it has no data chunk holding the samples"))?;

    let mut tag = u16le(&fmt[0..2]);
    let channels = u16le(&fmt[2..4]);
    let sample_rate = u32le(&fmt[4..8]);
    let byte_rate = u32le(&fmt[8..12]);
    let block_align = u16le(&fmt[12..14]);
    let bits = u16le(&fmt[14..16]);
    if tag == 0xFFFE {
        // WAVE_FORMAT_EXTENSIBLE: the real format code opens the sub-format GUID.
        if fmt.len() < 40 {
            return Err(corrupt(F, "the extensible fmt chunk is too short to hold its sub-format"));
        }
        tag = u16le(&fmt[24..26]);
    }
    if channels == 0 {
        return Err(corrupt(F, "the fmt chunk declares zero channels"));
    }
    if sample_rate == 0 {
        return Err(corrupt(F, "the fmt chunk declares a sample rate of zero"));
    }
    if byte_rate == 0 || block_align == 0 {
        return Err(corrupt(F, "the fmt chunk declares a byte rate or block size of zero"));
    }
    if matches!(tag, 1 | 3) {
        let bytes_per_sample = u32::from(bits).div_ceil(8);
        let expected_align = u32::from(channels) * bytes_per_sample;
        if bits == 0 || u32::from(block_align) != expected_align {
            return Err(corrupt(
                F,
                format!("the fmt chunk is inconsistent ({channels} channels of {bits} bits in blocks of {block_align} bytes)"),
            ));
        }
        if u64::from(byte_rate) != u64::from(sample_rate) * u64::from(block_align) {
            return Err(corrupt(
                F,
                format!("the fmt chunk is inconsistent (byte rate {byte_rate} is not {sample_rate} Hz × {block_align} bytes)"),
            ));
        }
    }
    let codec = match (tag, bits) {
        (1, 0..=8) => Some("pcm_u8"),
        (1, 9..=16) => Some("pcm_s16le"),
        (1, 17..=24) => Some("pcm_s24le"),
        (1, 25..=32) => Some("pcm_s32le"),
        (1, 64) => Some("pcm_s64le"),
        (3, 32) => Some("pcm_f32le"),
        (3, 64) => Some("pcm_f64le"),
        (2, _) => Some("adpcm_ms"),
        (6, _) => Some("pcm_alaw"),
        (7, _) => Some("pcm_mulaw"),
        (0x11, _) => Some("adpcm_ima_wav"),
        (0x31, _) => Some("gsm_ms"),
        (0x50, _) => Some("mp2"),
        (0x55, _) => Some("mp3"),
        _ => None,
    };
    Ok(AssetProperties {
        codec_name: codec.map(str::to_string),
        duration: Some(data_size as f64 / f64::from(byte_rate)),
        bitrate: Some(u64::from(byte_rate) * 8),
        sample_rate: Some(u64::from(sample_rate)),
        channels: Some(u64::from(channels)),
        ..Default::default()
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::super::CountingSource;
    use super::super::inspect;
    use super::super::testutil::*;
    use super::*;

    /// A 16-bit PCM WAV: a 440 Hz sine, `samples` samples per channel.
    pub(in super::super) fn wav(rate: u32, channels: u16, samples: u32) -> Vec<u8> {
        let align = channels * 2;
        let data_len = samples * u32::from(align);
        let mut v = Vec::new();
        v.extend_from_slice(b"RIFF");
        v.extend_from_slice(&(4 + 8 + 16 + 8 + 26 + 8 + data_len).to_le_bytes());
        v.extend_from_slice(b"WAVE");
        v.extend_from_slice(b"fmt ");
        v.extend_from_slice(&16u32.to_le_bytes());
        v.extend_from_slice(&1u16.to_le_bytes());
        v.extend_from_slice(&channels.to_le_bytes());
        v.extend_from_slice(&rate.to_le_bytes());
        v.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        v.extend_from_slice(&align.to_le_bytes());
        v.extend_from_slice(&16u16.to_le_bytes());
        // An unrelated chunk before the samples, as many writers add.
        v.extend_from_slice(b"LIST");
        v.extend_from_slice(&26u32.to_le_bytes());
        v.extend_from_slice(b"INFOISFT\x0e\x00\x00\x00intake tests\x00\x00");
        v.extend_from_slice(b"data");
        v.extend_from_slice(&data_len.to_le_bytes());
        for i in 0..samples {
            let s = ((i as f64 * 440.0 * std::f64::consts::TAU / f64::from(rate)).sin() * 8000.0) as i16;
            for _ in 0..channels {
                v.extend_from_slice(&s.to_le_bytes());
            }
        }
        v
    }

    #[test]
    fn wav_valid() {
        let p = check(Format::Wav, &wav(8000, 1, 8000));
        assert_eq!(p.format.as_deref(), Some("wav"));
        assert_eq!(p.codec_name.as_deref(), Some("pcm_s16le"));
        assert_eq!(p.sample_rate, Some(8000));
        assert_eq!(p.channels, Some(1));
        assert_eq!(p.bitrate, Some(128_000));
        close(p.duration, 1.0, 1e-9);
        let p = check(Format::Wav, &wav(22050, 2, 11025));
        assert_eq!(p.channels, Some(2));
        close(p.duration, 0.5, 1e-9);
    }

    #[test]
    fn wav_truncated_and_corrupt() {
        let good = wav(8000, 1, 8000);
        let msg = rejected(&good[..good.len() - 100]);
        assert!(msg.contains("WAV") && msg.contains("truncated"), "{msg}");
        // RIFF size patched to match the cut file: the data chunk no longer fits.
        let mut cut = good[..good.len() - 100].to_vec();
        let riff = (cut.len() - 8) as u32;
        cut[4..8].copy_from_slice(&riff.to_le_bytes());
        let msg = rejected(&cut);
        assert!(msg.contains("data chunk") && msg.contains("truncated"), "{msg}");
        let mut bad = good.clone();
        bad[22] = 0; // channels
        assert!(rejected(&bad).contains("zero channels"));
        let mut bad = good.clone();
        bad[28..32].copy_from_slice(&12345u32.to_le_bytes()); // byte rate
        assert!(rejected(&bad).contains("byte rate 12345"));
        let mut bad = good;
        bad[12..16].copy_from_slice(b"junk"); // no fmt chunk any more
        assert!(rejected(&bad).contains("no fmt chunk"));
    }

    #[test]
    fn wav_large_reads_little() {
        let mut big = wav(48000, 2, 4 * 1024 * 1024);
        big.truncate(big.len()); // 16 MiB of samples
        let counting = CountingSource::new(&big);
        let p = inspect(Format::Wav, &counting).unwrap().properties;
        close(p.duration, 4.0 * 1024.0 * 1024.0 / 48000.0, 1e-9);
        assert!(counting.bytes_read() < 4096, "read {}", counting.bytes_read());
    }
}
