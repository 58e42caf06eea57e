//! MP3: MPEG-1/2/2.5 Layer III, after optional ID3v2 tags (skipped by their syncsafe size)
//! and before optional APEv2/ID3v1 tags. Two consecutive consistent frame headers are
//! required; a Xing/Info (with the LAME tag's encoder delay and padding) or VBRI header in
//! the first frame gives the exact duration, otherwise it is estimated from the size and
//! bitrate (CBR). The frames in the last 16 KiB are walked: one that runs past the end of the
//! file means the file was cut off.

use super::super::work::steps;
use super::super::{read_up_to, ByteSource, Format, InspectError};
use super::aac::{inspect_aac, AdtsHeader};
use super::flac::inspect_flac;
use super::{audio_end, bitrate_of, corrupt, eof, u32be};
use intake_api::AssetProperties;

/// How many zero bytes may pad the space between an ID3v2 tag and the first frame.
pub(super) const MAX_ZERO_PAD: usize = 4096;

/// Total size of the ID3v2 tag at the start of `h` (header, body, footer), if one is there.
pub(super) fn id3v2_size(h: &[u8]) -> Option<u64> {
    if h.len() < 10 || &h[0..3] != b"ID3" || !(2..=4).contains(&h[3]) || h[4] == 0xFF {
        return None;
    }
    if h[5] & 0x0F != 0 || h[6..10].iter().any(|&b| b & 0x80 != 0) {
        return None;
    }
    let size = h[6..10].iter().fold(0u64, |acc, &b| (acc << 7) | u64::from(b));
    let footer = if h[3] == 4 && h[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// Offset of the first byte after the ID3v2 tag(s) at the start of `src`.
pub(super) fn skip_id3v2(src: &dyn ByteSource) -> Result<u64, InspectError> {
    let mut pos = 0u64;
    for _ in 0..8 {
        let h = read_up_to(src, pos, 10)?;
        match id3v2_size(&h) {
            Some(n) => pos = pos.checked_add(n).ok_or_else(eof)?,
            None => break,
        }
    }
    Ok(pos)
}

/// One MPEG audio (Layer III) frame header.
#[derive(Debug, Clone, Copy)]
pub(super) struct MpegHeader {
    /// Raw version bits: 0 = MPEG-2.5, 2 = MPEG-2, 3 = MPEG-1.
    version: u8,
    sr_index: u8,
    sample_rate: u32,
    bitrate: u32,
    channels: u8,
    pub(super) frame_len: u32,
    samples_per_frame: u32,
}

impl MpegHeader {
    pub(super) fn parse(b: &[u8]) -> Option<Self> {
        if b.len() < 4 || b[0] != 0xFF || b[1] & 0xE0 != 0xE0 {
            return None;
        }
        let version = (b[1] >> 3) & 3;
        let layer = (b[1] >> 1) & 3;
        let br_index = (b[2] >> 4) as usize;
        let sr_index = (b[2] >> 2) & 3;
        let padding = u32::from((b[2] >> 1) & 1);
        let mode = b[3] >> 6;
        let emphasis = b[3] & 3;
        // Only Layer III; reserved version, free/bad bitrate, reserved rate or emphasis fail.
        if version == 1 || layer != 1 || br_index == 0 || br_index == 15 || sr_index == 3 || emphasis == 2 {
            return None;
        }
        const BR_V1: [u32; 15] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
        const BR_V2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
        const SR_V1: [u32; 3] = [44100, 48000, 32000];
        let mpeg1 = version == 3;
        let kbps = if mpeg1 { BR_V1[br_index] } else { BR_V2[br_index] };
        let divisor = match version {
            3 => 1,
            2 => 2,
            _ => 4,
        };
        let sample_rate = SR_V1[sr_index as usize] / divisor;
        let bitrate = kbps * 1000;
        let (coef, samples_per_frame) = if mpeg1 { (144, 1152) } else { (72, 576) };
        let frame_len = coef * bitrate / sample_rate + padding;
        Some(MpegHeader {
            version,
            sr_index,
            sample_rate,
            bitrate,
            channels: if mode == 3 { 1 } else { 2 },
            frame_len,
            samples_per_frame,
        })
    }

    pub(super) fn consistent_with(&self, other: &MpegHeader) -> bool {
        self.version == other.version && self.sr_index == other.sr_index
    }

    /// Offset of the Xing/Info tag inside the frame (after the side information).
    fn xing_offset(&self) -> usize {
        match (self.version == 3, self.channels == 1) {
            (true, false) => 4 + 32,
            (true, true) | (false, false) => 4 + 17,
            (false, true) => 4 + 9,
        }
    }
}

/// What a Xing/Info or VBRI header in the first frame says.
struct VbrInfo {
    frames: Option<u32>,
    bytes: Option<u32>,
    /// Encoder delay + padding in samples (LAME tag), to subtract for the played length.
    gapless: Option<u32>,
}

fn parse_vbr(frame: &[u8], h: &MpegHeader) -> Option<VbrInfo> {
    let x = h.xing_offset();
    if frame.len() >= x + 8 && (&frame[x..x + 4] == b"Xing" || &frame[x..x + 4] == b"Info") {
        let flags = u32be(&frame[x + 4..x + 8]);
        let mut p = x + 8;
        let mut field = |present: bool, width: usize| -> Option<Option<u32>> {
            if !present {
                return Some(None);
            }
            let v = frame.get(p..p + 4).map(u32be);
            p += width;
            v.map(Some)
        };
        let frames = field(flags & 1 != 0, 4)?;
        let bytes = field(flags & 2 != 0, 4)?;
        field(flags & 4 != 0, 100)?;
        field(flags & 8 != 0, 4)?;
        // LAME extension: 9-byte encoder string, then delay/padding 21 bytes in.
        let gapless = frame.get(p..p + 24).and_then(|lame| {
            lame[0..4].iter().all(u8::is_ascii_alphanumeric).then(|| {
                let delay = (u32::from(lame[21]) << 4) | (u32::from(lame[22]) >> 4);
                let pad = ((u32::from(lame[22]) & 0x0F) << 8) | u32::from(lame[23]);
                delay + pad
            })
        });
        return Some(VbrInfo { frames, bytes, gapless });
    }
    if frame.len() >= 36 + 18 && &frame[36..40] == b"VBRI" {
        return Some(VbrInfo {
            bytes: Some(u32be(&frame[46..50])),
            frames: Some(u32be(&frame[50..54])),
            gapless: None,
        });
    }
    None
}

pub(super) fn inspect_mp3(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    const F: Format = Format::Mp3;
    let len = src.len();
    let tag_end = skip_id3v2(src)?;
    if tag_end > len {
        return Err(corrupt(F, "its ID3 tag runs past the end of the file (truncated)"));
    }
    let lead = read_up_to(src, tag_end, MAX_ZERO_PAD + 4)?;
    if lead.starts_with(b"fLaC") {
        // A FLAC stream behind an ID3v2 tag whose tag hid it from sniffing.
        let mut p = inspect_flac(src, tag_end, Format::Flac)?;
        p.format = Some("flac".to_string());
        return Ok(p);
    }
    let zeros_ahead = lead.iter().take(MAX_ZERO_PAD).take_while(|&&b| b == 0).count();
    if tag_end > 0 && AdtsHeader::parse(&lead[zeros_ahead..]).is_some() {
        // An ADTS stream behind an ID3v2 tag too long for sniffing to see past.
        let mut p = inspect_aac(src, tag_end + zeros_ahead as u64)?;
        p.format = Some("aac".to_string());
        return Ok(p);
    }
    let zeros = if tag_end > 0 { lead.iter().take(MAX_ZERO_PAD).take_while(|&&b| b == 0).count() } else { 0 };
    let start = tag_end + zeros as u64;
    if start >= len {
        return Err(corrupt(F, "it holds no MPEG audio frames (truncated)"));
    }
    let first = MpegHeader::parse(&lead[zeros..])
        .ok_or_else(|| corrupt(F, "no valid MPEG Layer III frame header opens the audio"))?;

    let end = audio_end(src, start, F)?;

    let frame_len = u64::from(first.frame_len);
    let frame = read_up_to(src, start, first.frame_len as usize + 4)?;
    if start + frame_len > end {
        return Err(corrupt(F, "its first audio frame is cut off (truncated)"));
    }
    if start + frame_len + 4 <= end {
        match MpegHeader::parse(&frame[first.frame_len as usize..]) {
            Some(second) if second.consistent_with(&first) => {}
            _ => return Err(corrupt(F, "the second MPEG audio frame header is missing or damaged")),
        }
    }
    let vbr = parse_vbr(&frame, &first);
    let audio_bytes = end - start;
    let sr = f64::from(first.sample_rate);
    let (duration, bitrate) = match vbr.as_ref().and_then(|v| v.frames.filter(|&f| f > 0).map(|f| (v, f))) {
        Some((v, frames)) => {
            let total = u64::from(frames) * u64::from(first.samples_per_frame);
            let raw = total as f64 / sr;
            // Some encoders count the ID3v2 tag in the byte total: only a file shorter than
            // the total even with the tag counted is called truncated.
            if let Some(b) = v.bytes {
                if u64::from(b) > end {
                    return Err(corrupt(
                        F,
                        format!(
                            "its VBR header declares {b} bytes of audio but only {audio_bytes} are present (truncated)"
                        ),
                    ));
                }
            }
            let played = match v.gapless {
                Some(g) if u64::from(g) < total => total - u64::from(g),
                _ => total,
            };
            let bytes = v.bytes.map_or(audio_bytes, u64::from);
            (played as f64 / sr, bitrate_of(bytes, raw))
        }
        // Constant bitrate (or a VBR file without a frame count): estimate from the size.
        None => (audio_bytes as f64 * 8.0 / f64::from(first.bitrate), Some(u64::from(first.bitrate))),
    };
    check_mp3_tail(src, start, end, &first)?;
    Ok(AssetProperties {
        codec_name: Some("mp3".to_string()),
        duration: Some(duration),
        bitrate,
        sample_rate: Some(u64::from(first.sample_rate)),
        channels: Some(u64::from(first.channels)),
        ..Default::default()
    })
}

/// Walks the frames in the last few KiB of the audio: if that chain of frames runs past the
/// end of the file, the file was cut off.
fn check_mp3_tail(src: &dyn ByteSource, start: u64, end: u64, first: &MpegHeader) -> Result<(), InspectError> {
    const WINDOW: u64 = 16 * 1024;
    let win_start = if end - start <= WINDOW { start } else { end - WINDOW };
    let w = read_up_to(src, win_start, (end - win_start) as usize)?;
    let n = w.len();
    // Each byte is looked at a bounded number of times: as a header start, and along the
    // chain of frames (which only moves forward).
    steps(2 * n as u64)?;
    let header_at = |p: usize| MpegHeader::parse(w.get(p..)?).filter(|h| h.consistent_with(first));
    // Find where a chain begins: a header followed by another one (or by the end).
    let mut chain = None;
    if win_start == start {
        chain = Some(0);
    } else {
        for q in 0..n.saturating_sub(4) {
            if let Some(h) = header_at(q) {
                let next = q + h.frame_len as usize;
                if next == n || header_at(next).is_some() {
                    chain = Some(q);
                    break;
                }
            }
        }
    }
    let Some(mut p) = chain else { return Ok(()) };
    loop {
        let Some(h) = header_at(p) else { return Ok(()) }; // junk after the frames: tolerated
        let next = p + h.frame_len as usize;
        if next == n {
            return Ok(());
        }
        if next > n {
            return Err(corrupt(Format::Mp3, "its last audio frame is cut off (truncated)"));
        }
        p = next;
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::CountingSource;
    use super::super::testutil::*;
    use super::super::{inspect, sniff};
    use super::*;

    // Made by ffmpeg, see fixtures/README.md.
    const CBR_MP3: &[u8] = include_bytes!("../fixtures/audio_cbr.mp3");
    const VBR_MP3: &[u8] = include_bytes!("../fixtures/audio_vbr.mp3");

    #[test]
    fn mp3_cbr() {
        let p = check(Format::Mp3, CBR_MP3);
        assert_eq!(p.codec_name.as_deref(), Some("mp3"));
        assert_eq!(p.sample_rate, Some(8000));
        assert_eq!(p.channels, Some(1));
        assert_eq!(p.bitrate, Some(16_000));
        // No Xing header: the size-based estimate includes the encoder's delay and padding,
        // exactly as `ffprobe` reports it (16 frames × 576 samples = 1.152 s).
        close(p.duration, 1.152, 0.001);
    }

    #[test]
    fn mp3_vbr_xing_behind_id3() {
        assert!(VBR_MP3.starts_with(b"ID3"));
        let p = check(Format::Mp3, VBR_MP3);
        assert_eq!(p.sample_rate, Some(8000));
        assert_eq!(p.channels, Some(1));
        // Xing frame count minus the LAME tag's encoder delay and padding.
        close(p.duration, 1.0, 0.01);
        assert!(p.bitrate.unwrap() > 8_000 && p.bitrate.unwrap() < 20_000, "{:?}", p.bitrate);
        // An ID3v1 tag at the end is fine.
        let mut tagged = VBR_MP3.to_vec();
        let mut v1 = [0u8; 128];
        v1[..3].copy_from_slice(b"TAG");
        tagged.extend_from_slice(&v1);
        close(check(Format::Mp3, &tagged).duration, 1.0, 0.05);
    }

    #[test]
    fn mp3_truncated_and_corrupt() {
        let msg = rejected(&CBR_MP3[..CBR_MP3.len() - 50]);
        assert!(msg.contains("MP3") && msg.contains("truncated"), "{msg}");
        let msg = rejected(&VBR_MP3[..VBR_MP3.len() - 50]);
        assert!(msg.contains("truncated"), "{msg}");
        // The second frame header (144 bytes in) destroyed.
        let mut bad = CBR_MP3.to_vec();
        bad[144] = 0x12;
        assert!(sniff(&bad).is_none());
        let err = inspect(Format::Mp3, &bad).unwrap_err();
        assert!(matches!(err, InspectError::Rejected(r) if r.0.contains("second MPEG audio frame")));
        // An ID3 tag with nothing that looks like audio behind it.
        let mut junk = VBR_MP3[..45].to_vec();
        junk.extend_from_slice(&[0x42; 500]);
        let err = inspect(Format::Mp3, &junk).unwrap_err();
        assert!(matches!(err, InspectError::Rejected(r) if r.0.contains("no valid MPEG")));
    }

    /// A synthetic CBR stream: MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, joint stereo.
    fn mpeg1_frames(frames: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for i in 0..frames {
            // 417 or 418 bytes (padding bit) to keep the average at 128 kbit/s.
            let padded = i % 49 != 0;
            let len = if padded { 418 } else { 417 };
            let start = v.len();
            v.extend_from_slice(&[0xFF, 0xFB, 0x90 | if padded { 2 } else { 0 }, 0x64]);
            v.resize(start + len, 0x55);
        }
        v
    }

    #[test]
    fn mp3_large_reads_little() {
        let big = mpeg1_frames(20_000); // ~8 MiB
        assert_eq!(sniff(&big[..64 * 1024]), Some(Format::Mp3));
        let counting = CountingSource::new(&big);
        let p = inspect(Format::Mp3, &counting).unwrap().properties;
        assert_eq!(p.sample_rate, Some(44100));
        assert_eq!(p.channels, Some(2));
        assert_eq!(p.bitrate, Some(128_000));
        close(p.duration, 20_000.0 * 1152.0 / 44100.0, 0.5);
        assert!(counting.bytes_read() < 32 * 1024, "read {}", counting.bytes_read());
        let msg = rejected(&big[..big.len() - 7]);
        assert!(msg.contains("last audio frame is cut off"), "{msg}");
    }

    #[test]
    fn mp3_vbri_header() {
        // A Fraunhofer VBRI header 36 bytes into the first frame: 1000 frames, 417 000 bytes.
        let mut file = mpeg1_frames(1000);
        file[36..40].copy_from_slice(b"VBRI");
        file[40..42].copy_from_slice(&1u16.to_be_bytes());
        let size = file.len() as u32;
        file[46..50].copy_from_slice(&size.to_be_bytes());
        file[50..54].copy_from_slice(&1000u32.to_be_bytes());
        let p = inspect(Format::Mp3, &file).unwrap().properties;
        close(p.duration, 1000.0 * 1152.0 / 44100.0, 1e-9);
        let bitrate = p.bitrate.unwrap();
        assert!((127_000..129_000).contains(&bitrate), "{bitrate}");
        // A VBRI header that promises more frames' bytes than the file holds.
        file[46..50].copy_from_slice(&(size + 5000).to_be_bytes());
        let err = inspect(Format::Mp3, &file).unwrap_err();
        assert!(matches!(err, InspectError::Rejected(r) if r.0.contains("truncated")));
    }

    #[test]
    fn mp3_sniff_is_strict() {
        // Pseudo-random bytes that open with a valid-looking frame sync.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut random: Vec<u8> = (0..8192)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        random[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        assert_eq!(sniff(&random), None);
        assert_eq!(sniff(b"Just some text about MP3 files\n"), None);
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64]), None);
        // An M4A head (ISO-BMFF) is bmff.rs's, never ours.
        let m4a = b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00M4A isomiso2\x00\x00\x00\x08free";
        assert_eq!(sniff(m4a), None);
        // ADTS AAC has layer bits 00.
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC, 0, 0, 0]), None);
        // RIFF that is not WAVE (AVI, WebP).
        assert_eq!(sniff(b"RIFF\x10\x00\x00\x00AVI LIST"), None);
        assert_eq!(sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 "), None);
    }
}
