//! FLAC: `fLaC`, metadata blocks (STREAMINFO first: sample rate, channels, total samples)
//! walked by their sizes, a valid frame header after them, and at the end a last frame whose
//! header CRC-8 and frame CRC-16 check out and that reaches the last sample STREAMINFO
//! promises (so a cut-off file or a damaged last frame is refused).
//!
//! The last frame is looked for backwards through the tail, checking the CRC-16 of every
//! candidate up to the end; those CRCs are kept as one running suffix CRC
//! ([`SuffixCrc16`]), so the search is linear in the tail, however many candidates a
//! crafted tail holds.

use super::super::work::{step, steps};
use super::super::{read_exact_at, read_up_to, ByteSource, Format, InspectError};
use super::wav::MAX_RIFF_CHUNKS;
use super::{audio_end, bitrate_of, corrupt, eof, u16be, u24be, u32be};
use intake_api::AssetProperties;

const fn crc8_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u8;
        let mut k = 0;
        while k < 8 {
            c = if c & 0x80 != 0 { (c << 1) ^ 0x07 } else { c << 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

const fn crc16_table() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u16) << 8;
        let mut k = 0;
        while k < 8 {
            c = if c & 0x8000 != 0 { (c << 1) ^ 0x8005 } else { c << 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CRC8: [u8; 256] = crc8_table();
static CRC16: [u16; 256] = crc16_table();

fn crc8(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |c, &b| CRC8[(c ^ b) as usize])
}

#[cfg(test)]
fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |c, &b| (c << 8) ^ CRC16[((c >> 8) as u8 ^ b) as usize])
}

/// The CRC-16 of a suffix `data[i..]`, grown one byte at a time towards the front at a
/// constant cost per byte.
///
/// FLAC's CRC-16 starts from zero and has no final XOR, so it is linear over GF(2):
/// `crc(b ‖ rest) = crc([b]) · x^(8·|rest|) ⊕ crc(rest) (mod P)`. The running value keeps
/// `crc(rest)` and `shift = x^(8·|rest|) mod P`.
struct SuffixCrc16 {
    crc: u16,
    shift: u16,
}

impl SuffixCrc16 {
    fn new() -> Self {
        SuffixCrc16 { crc: 0, shift: 1 }
    }

    /// Puts `b` in front of the suffix.
    fn push_front(&mut self, b: u8) {
        self.crc ^= mul_mod_crc16(CRC16[b as usize], self.shift);
        // shift · x^8 mod P: the table step with a zero byte.
        self.shift = (self.shift << 8) ^ CRC16[(self.shift >> 8) as usize];
    }
}

/// `a · b mod P`, P the CRC-16 polynomial x^16 + x^15 + x^2 + 1 (0x8005).
fn mul_mod_crc16(a: u16, b: u16) -> u16 {
    let mut r = 0u16;
    for bit in (0..16).rev() {
        r = (r << 1) ^ if r & 0x8000 != 0 { 0x8005 } else { 0 };
        if (a >> bit) & 1 != 0 {
            r ^= b;
        }
    }
    r
}

/// What a FLAC STREAMINFO block says.
pub(super) struct StreamInfo {
    max_block: u32,
    max_frame: u32,
    pub(super) sample_rate: u32,
    pub(super) channels: u32,
    total_samples: u64,
}

pub(super) fn parse_streaminfo(b: &[u8], format: Format) -> Result<StreamInfo, InspectError> {
    let min_block = u32::from(u16be(&b[0..2]));
    let max_block = u32::from(u16be(&b[2..4]));
    let max_frame = u24be(&b[7..10]);
    let sample_rate = u24be(&b[10..13]) >> 4;
    let channels = u32::from((b[12] >> 1) & 7) + 1;
    let total_samples = (u64::from(b[13] & 0x0F) << 32) | u64::from(u32be(&b[14..18]));
    if sample_rate == 0 {
        return Err(corrupt(format, "STREAMINFO declares a sample rate of zero"));
    }
    if max_block < 16 || min_block > max_block {
        return Err(corrupt(format, format!("STREAMINFO declares impossible block sizes ({min_block}..{max_block})")));
    }
    Ok(StreamInfo { max_block, max_frame, sample_rate, channels, total_samples })
}

/// A FLAC frame header: (header length, block size, variable block size, frame/sample number).
fn flac_frame_header(b: &[u8]) -> Option<(usize, u32, bool, u64)> {
    if b.len() < 6 || b[0] != 0xFF || b[1] & 0xFE != 0xF8 {
        return None;
    }
    let variable = b[1] & 1 == 1;
    let bs_code = b[2] >> 4;
    let sr_code = b[2] & 0x0F;
    let chan = b[3] >> 4;
    let ss = (b[3] >> 1) & 7;
    if bs_code == 0 || sr_code == 15 || chan > 10 || ss == 3 || b[3] & 1 != 0 {
        return None;
    }
    let lead = b[4];
    let extra = match lead {
        0x00..=0x7F => 0,
        0xC0..=0xDF => 1,
        0xE0..=0xEF => 2,
        0xF0..=0xF7 => 3,
        0xF8..=0xFB => 4,
        0xFC..=0xFD => 5,
        0xFE => 6,
        _ => return None,
    };
    let mask: u8 = if extra == 0 { 0x7F } else { 0xFFu8.checked_shr(extra + 2).unwrap_or(0) };
    let mut number = u64::from(lead & mask);
    let mut i = 5;
    for _ in 0..extra {
        let c = *b.get(i)?;
        if c & 0xC0 != 0x80 {
            return None;
        }
        number = (number << 6) | u64::from(c & 0x3F);
        i += 1;
    }
    let block = match bs_code {
        1 => 192,
        2..=5 => 576 << (bs_code - 2),
        6 => {
            i += 1;
            u32::from(*b.get(i - 1)?) + 1
        }
        7 => {
            i += 2;
            u32::from(u16be(b.get(i - 2..i)?)) + 1
        }
        _ => 256 << (bs_code - 8),
    };
    i += match sr_code {
        12 => 1,
        13 | 14 => 2,
        _ => 0,
    };
    let crc = *b.get(i)?;
    (crc8(&b[..i]) == crc).then_some((i + 1, block, variable, number))
}

/// Parses a native FLAC stream whose `fLaC` marker is at `base`.
pub(super) fn inspect_flac(src: &dyn ByteSource, base: u64, f: Format) -> Result<AssetProperties, InspectError> {
    let len = src.len();
    let mut magic = [0u8; 4];
    read_exact_at(src, base, &mut magic)?;
    if &magic != b"fLaC" {
        return Err(corrupt(f, "the fLaC marker is missing"));
    }
    let mut off = base + 4;
    let mut info = None;
    for i in 0.. {
        step()?;
        if i > MAX_RIFF_CHUNKS {
            return Err(corrupt(f, "it holds too many metadata blocks"));
        }
        let mut h = [0u8; 4];
        read_exact_at(src, off, &mut h)?;
        let kind = h[0] & 0x7F;
        let size = u64::from(u24be(&h[1..4]));
        if i == 0 && (kind != 0 || size != 34) {
            return Err(corrupt(f, "the first metadata block is not a STREAMINFO block"));
        }
        if kind == 127 {
            return Err(corrupt(f, "a metadata block has the invalid type 127"));
        }
        if off + 4 + size > len {
            return Err(corrupt(f, "a metadata block runs past the end of the file (truncated)"));
        }
        if i == 0 {
            let mut b = [0u8; 34];
            read_exact_at(src, off + 4, &mut b)?;
            info = Some(parse_streaminfo(&b, f)?);
        }
        off += 4 + size;
        if h[0] & 0x80 != 0 {
            break;
        }
    }
    let info = info.ok_or_else(eof)?;
    let audio_start = off;
    if audio_start >= len {
        return Err(corrupt(f, "it holds no audio frames after its metadata (truncated)"));
    }
    let lead = read_up_to(src, audio_start, 32)?;
    let Some((_, _, variable, _)) = flac_frame_header(&lead) else {
        return Err(corrupt(f, "no valid audio frame header follows the metadata"));
    };
    let end = audio_end(src, audio_start, f)?;
    check_flac_tail(src, audio_start, end, &info, variable, f)?;

    let duration = (info.total_samples > 0).then(|| info.total_samples as f64 / f64::from(info.sample_rate));
    Ok(AssetProperties {
        codec_name: Some("flac".to_string()),
        duration,
        bitrate: duration.and_then(|d| bitrate_of(len - base, d)),
        sample_rate: Some(u64::from(info.sample_rate)),
        channels: Some(u64::from(info.channels)),
        ..Default::default()
    })
}

/// Finds the last frame (its header CRC-8 and whole-frame CRC-16 must check out and it must
/// end where the file ends) and checks that it reaches the last sample STREAMINFO promises.
fn check_flac_tail(
    src: &dyn ByteSource,
    audio_start: u64,
    end: u64,
    info: &StreamInfo,
    variable: bool,
    f: Format,
) -> Result<(), InspectError> {
    let audio_len = end - audio_start;
    let want = (u64::from(info.max_frame) * 2 + 64).clamp(64 * 1024, 1024 * 1024);
    let win = audio_len.min(want);
    let w = read_up_to(src, end - win, win as usize)?;
    if w.len() < 2 {
        return Err(corrupt(f, "its last audio frame is incomplete (truncated)"));
    }
    let stored = u16be(&w[w.len() - 2..]);
    // Backwards from the end: `covered` is the CRC-16 of w[i..len - 2], the frame that
    // would start at i, without its own CRC.
    steps(w.len() as u64)?;
    let candidates_below = w.len().saturating_sub(6);
    let mut covered = SuffixCrc16::new();
    let mut last = None;
    for i in (0..w.len() - 2).rev() {
        covered.push_front(w[i]);
        if i >= candidates_below || w[i] != 0xFF {
            continue;
        }
        if let Some((_, block, var, number)) = flac_frame_header(&w[i..]) {
            if var == variable && covered.crc == stored {
                last = Some((block, number));
                break;
            }
        }
    }
    let covers_all = win == audio_len || info.max_frame > 0;
    let Some((block, number)) = last else {
        if covers_all {
            return Err(corrupt(f, "its last audio frame is incomplete (truncated)"));
        }
        return Ok(());
    };
    let first_sample = if variable { number } else { number.saturating_mul(u64::from(info.max_block)) };
    let end_sample = first_sample.saturating_add(u64::from(block));
    if info.total_samples > 0 && end_sample < info.total_samples {
        return Err(corrupt(
            f,
            format!("the audio stops at sample {end_sample} of {} (truncated)", info.total_samples),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::super::CountingSource;
    use super::super::inspect;
    use super::super::testutil::*;
    use super::*;

    // Made by ffmpeg (padding block removed), see fixtures/README.md.
    const FLAC: &[u8] = include_bytes!("../fixtures/audio.flac");

    #[test]
    fn suffix_crc_matches_the_direct_crc_of_every_suffix() {
        let mut x = 0x2545_F491u32;
        let data: Vec<u8> = (0..3000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let mut suffix = SuffixCrc16::new();
        assert_eq!(suffix.crc, crc16(&[]));
        for i in (0..data.len()).rev() {
            suffix.push_front(data[i]);
            assert_eq!(suffix.crc, crc16(&data[i..]), "suffix from {i}");
        }
    }

    #[test]
    fn flac_valid() {
        let p = check(Format::Flac, FLAC);
        assert_eq!(p.codec_name.as_deref(), Some("flac"));
        assert_eq!(p.sample_rate, Some(8000));
        assert_eq!(p.channels, Some(1));
        close(p.duration, 1.0, 1e-9);
    }

    #[test]
    fn flac_with_trailing_tags() {
        // An APEv2 tag (footer only, no items) and an ID3v1 tag after the last frame.
        let mut tagged = FLAC.to_vec();
        tagged.extend_from_slice(b"APETAGEX");
        for v in [2000u32, 32, 0, 0] {
            tagged.extend_from_slice(&v.to_le_bytes());
        }
        tagged.extend_from_slice(&[0; 8]);
        tagged.extend_from_slice(b"TAG");
        tagged.resize(tagged.len() + 125, 0);
        close(check(Format::Flac, &tagged).duration, 1.0, 1e-9);
        // Junk after the last frame is not a tag: the last frame no longer ends the file.
        let mut junk = FLAC.to_vec();
        junk.extend_from_slice(b"trailing junk");
        assert!(rejected(&junk).contains("last audio frame is incomplete"));
    }

    #[test]
    fn flac_truncated_and_corrupt() {
        let msg = rejected(&FLAC[..FLAC.len() - 10]);
        assert!(msg.contains("FLAC") && msg.contains("truncated"), "{msg}");
        let msg = rejected(&FLAC[..60]);
        assert!(msg.contains("truncated"), "{msg}");
        // A damaged byte in the last frame breaks its CRC-16.
        let mut bad = FLAC.to_vec();
        let n = bad.len();
        bad[n - 20] ^= 0x40;
        assert!(rejected(&bad).contains("last audio frame"));
        // STREAMINFO with a zero sample rate.
        let mut bad = FLAC.to_vec();
        bad[18] = 0;
        bad[19] = 0;
        bad[20] &= 0x0F;
        assert!(rejected(&bad).contains("sample rate of zero"));
        // First block not STREAMINFO.
        let mut bad = FLAC.to_vec();
        bad[4] = (bad[4] & 0x80) | 4;
        assert!(rejected(&bad).contains("STREAMINFO"));
    }

    #[test]
    fn flac_large_padding_reads_little() {
        // Insert an 8 MiB PADDING block after STREAMINFO: the walk seeks over it.
        let pad = 8 * 1024 * 1024u32;
        let mut big = FLAC[..42].to_vec();
        big[4] &= 0x7F;
        big.push(1);
        big.extend_from_slice(&pad.to_be_bytes()[1..]);
        big.resize(big.len() + pad as usize, 0);
        big.extend_from_slice(&FLAC[42..]);
        let counting = CountingSource::new(&big);
        let p = inspect(Format::Flac, &counting).unwrap().properties;
        close(p.duration, 1.0, 1e-9);
        assert!(counting.bytes_read() < 128 * 1024, "read {}", counting.bytes_read());
    }
}
