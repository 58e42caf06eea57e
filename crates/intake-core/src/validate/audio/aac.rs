//! AAC in ADTS frames (a raw `.aac` stream), after optional ID3v2 tags and before optional
//! APEv2/ID3v1 tags.
//!
//! ADTS has no index and no frame count: the exact duration is the sum of the frames'
//! samples (1024 per raw data block, up to 4 blocks per frame) over the sample rate. So every
//! frame *header* is found, by going from one to the next with the frame length it declares.
//! Frames are short (some 370 bytes at 128 kbit/s, at most 8,191), so a header sits in every
//! page of the file and the storage delivers every byte whatever is asked of it; the headers
//! are therefore read through a [`WINDOW`] of 64 KiB (one read per window, not one per
//! frame: a 4 GiB file took 11 million 7-byte reads). Each frame is one [`step`]. Every frame must
//! carry a valid header with the first frame's MPEG version, sample rate and channel layout,
//! and the last one must end where the file (less its trailing tags) ends: otherwise the
//! file was cut off or damaged.
//!
//! ADTS shares its 12-bit sync word with MPEG audio; its layer bits are `00`, which no MP3
//! frame header has (`mp3.rs` takes only Layer III, `01`), so the two sniffers never collide.

use super::super::work::step;
use super::super::{read_up_to, ByteSource, Format};
use super::{audio_end, bitrate_of, corrupt, InspectError};
use intake_api::AssetProperties;

/// Bytes read at once while walking the frame headers.
const WINDOW: usize = 64 * 1024;

/// The part of the file last read, from which frame headers are taken.
struct Window {
    start: u64,
    bytes: Vec<u8>,
}

impl Window {
    /// The (up to) 7 bytes at `pos`, refilling the window from `pos` when they are not all
    /// in it. Fewer than 7 only at the end of the file. `pos` never goes back.
    fn header_at(&mut self, src: &dyn ByteSource, pos: u64) -> std::io::Result<&[u8]> {
        let end = self.start + self.bytes.len() as u64;
        if pos < self.start || (pos + 7 > end && end < src.len()) {
            self.bytes = read_up_to(src, pos, WINDOW)?;
            self.start = pos;
        }
        let from = ((pos - self.start) as usize).min(self.bytes.len());
        Ok(&self.bytes[from..(from + 7).min(self.bytes.len())])
    }
}

const F: Format = Format::Aac;

/// Sample rates by ADTS sampling frequency index (13..15 are reserved).
const RATES: [u32; 13] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/// One ADTS frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AdtsHeader {
    /// MPEG-2 (true) or MPEG-4 (false) AAC.
    mpeg2: bool,
    rate_index: u8,
    /// Channel configuration: 0 = given by a program config element in the stream.
    channel_config: u8,
    /// The whole frame, header included.
    pub(super) frame_len: u32,
    /// Raw data blocks in the frame (1 to 4), each of 1024 samples.
    blocks: u8,
}

impl AdtsHeader {
    /// Parses the 7 bytes that open an ADTS frame.
    pub(super) fn parse(b: &[u8]) -> Option<Self> {
        if b.len() < 7 || b[0] != 0xFF || b[1] & 0xF6 != 0xF0 {
            return None; // no sync word, or layer bits not 00
        }
        let protection_absent = b[1] & 1 == 1;
        let rate_index = (b[2] >> 2) & 0x0F;
        if usize::from(rate_index) >= RATES.len() {
            return None;
        }
        let channel_config = ((b[2] & 1) << 2) | (b[3] >> 6);
        let frame_len = (u32::from(b[3] & 3) << 11) | (u32::from(b[4]) << 3) | (u32::from(b[5]) >> 5);
        let header_len = if protection_absent { 7 } else { 9 };
        if frame_len < header_len {
            return None;
        }
        Some(AdtsHeader { mpeg2: b[1] & 0x08 != 0, rate_index, channel_config, frame_len, blocks: (b[6] & 3) + 1 })
    }

    /// Whether `other` can follow `self` in one stream.
    fn consistent_with(&self, other: &AdtsHeader) -> bool {
        self.mpeg2 == other.mpeg2 && self.rate_index == other.rate_index && self.channel_config == other.channel_config
    }

    fn sample_rate(&self) -> u32 {
        RATES[usize::from(self.rate_index)]
    }
}

/// True when an ADTS stream starts at `pos` of the head: two consistent frame headers back
/// to back (or one frame that fills the head exactly, for a very short file).
pub(super) fn sniff_at(head: &[u8], pos: usize) -> bool {
    let Some(first) = head.get(pos..).and_then(AdtsHeader::parse) else { return false };
    let Some(next) = pos.checked_add(first.frame_len as usize) else { return false };
    match head.get(next..) {
        Some([]) => pos == 0 && head.len() < super::super::SNIFF_LEN,
        Some(rest) if rest.starts_with(b"TAG") || rest.starts_with(b"APETAGEX") => true,
        Some(rest) => AdtsHeader::parse(rest).is_some_and(|second| second.consistent_with(&first)),
        None => false,
    }
}

/// Parses an ADTS stream whose first frame starts at `start` (after any ID3v2 tags).
pub(super) fn inspect_aac(src: &dyn ByteSource, start: u64) -> Result<AssetProperties, InspectError> {
    let end = audio_end(src, start, F)?;
    if start >= end {
        return Err(corrupt(F, "it holds no ADTS frames (truncated)"));
    }
    let first = AdtsHeader::parse(&read_up_to(src, start, 7)?)
        .ok_or_else(|| corrupt(F, "no valid ADTS frame header opens the audio"))?;
    let mut pos = start;
    let mut frames = 0u64;
    let mut samples = 0u64;
    let mut window = Window { start, bytes: Vec::new() };
    while pos < end {
        step()?;
        let b = window.header_at(src, pos)?;
        let h = match AdtsHeader::parse(b) {
            Some(h) if h.consistent_with(&first) => h,
            Some(_) => {
                return Err(corrupt(
                    F,
                    format!("frame {} at byte {pos} changes the sample rate or channels", frames + 1),
                ))
            }
            None if b.len() < 7 => return Err(corrupt(F, "its last frame header is cut off (truncated)")),
            None => return Err(corrupt(F, format!("frame {} at byte {pos} has no valid ADTS header", frames + 1))),
        };
        let next = pos + u64::from(h.frame_len);
        if next > end {
            return Err(corrupt(
                F,
                format!("its last frame declares {} bytes but only {} remain (truncated)", h.frame_len, end - pos),
            ));
        }
        frames += 1;
        samples += 1024 * u64::from(h.blocks);
        pos = next;
    }
    let rate = first.sample_rate();
    let duration = samples as f64 / f64::from(rate);
    let channels = match first.channel_config {
        0 => None,
        7 => Some(8),
        c => Some(u64::from(c)),
    };
    Ok(AssetProperties {
        codec_name: Some("aac".to_string()),
        duration: Some(duration),
        bitrate: bitrate_of(end - start, duration),
        sample_rate: Some(u64::from(rate)),
        channels,
        nb_frames: Some(frames),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::CountingSource;
    use super::super::testutil::*;
    use super::super::{inspect, sniff};
    use super::*;

    // Made by ffmpeg, see fixtures/README.md.
    const AAC: &[u8] = include_bytes!("../fixtures/audio_aac.aac");

    #[test]
    fn adts_fixture() {
        let p = check(Format::Aac, AAC);
        assert_eq!(p.format.as_deref(), Some("aac"));
        assert_eq!(p.codec_name.as_deref(), Some("aac"));
        assert_eq!(p.sample_rate, Some(8000));
        assert_eq!(p.channels, Some(1));
        // Exact: 1 s of sound, plus the encoder's 1024 samples of priming, in whole frames.
        let frames = p.nb_frames.unwrap();
        assert_eq!(frames, 9);
        close(p.duration, frames as f64 * 1024.0 / 8000.0, 1e-12);
    }

    #[test]
    fn adts_behind_id3_and_before_id3v1() {
        let mut tagged = b"ID3\x04\x00\x00\x00\x00\x00\x0a".to_vec();
        tagged.extend_from_slice(&[0; 10]);
        tagged.extend_from_slice(AAC);
        let mut v1 = [0u8; 128];
        v1[..3].copy_from_slice(b"TAG");
        tagged.extend_from_slice(&v1);
        let p = check(Format::Aac, &tagged);
        assert_eq!(p.nb_frames, Some(9));
        // A tag so large that the head holds no frame: sniffed as MP3, still read as AAC.
        let mut big = b"ID3\x04\x00\x00\x00\x04\x00\x00".to_vec();
        big.resize(10 + 65536, 0);
        big.extend_from_slice(AAC);
        let p = inspect(Format::Mp3, &big).unwrap().properties;
        assert_eq!((p.format.as_deref(), p.nb_frames), (Some("aac"), Some(9)));
    }

    #[test]
    fn adts_truncated_and_lying() {
        let msg = rejected(&AAC[..AAC.len() - 20]);
        assert!(msg.contains("AAC") && msg.contains("truncated"), "{msg}");
        let msg = rejected(&AAC[..AAC.len() - 3]);
        assert!(msg.contains("truncated"), "{msg}");
        // The first frame's length made 2 bytes longer: the second header is not where it says.
        let mut lying = AAC.to_vec();
        let len = u32::from(lying[3] & 3) << 11 | u32::from(lying[4]) << 3 | u32::from(lying[5]) >> 5;
        let longer = len + 2;
        lying[3] = (lying[3] & !3) | (longer >> 11) as u8;
        lying[4] = (longer >> 3) as u8;
        lying[5] = (lying[5] & 0x1F) | ((longer & 7) << 5) as u8;
        let err = inspect(Format::Aac, &lying).unwrap_err();
        assert!(
            matches!(&err, InspectError::Rejected(r) if r.0.contains("frame 2") && r.0.contains("no valid ADTS header")),
            "{err:?}"
        );
    }

    #[test]
    fn adts_and_mp3_never_collide() {
        assert_eq!(sniff(AAC), Some(Format::Aac));
        assert!(super::super::mp3::MpegHeader::parse(AAC).is_none());
        let mp3 = include_bytes!("../fixtures/audio_cbr.mp3");
        assert!(AdtsHeader::parse(mp3).is_none());
        assert!(!sniff_at(AAC, 1));
    }

    /// A synthetic stream: `frames` ADTS frames of 48 kHz stereo, 200 bytes each.
    pub(in super::super) fn adts_frames(frames: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(frames * 200);
        for _ in 0..frames {
            let start = v.len();
            let len = 200u32;
            v.extend_from_slice(&[
                0xFF,
                0xF1,
                (1 << 6) | (3 << 2),
                (2 << 6) | (len >> 11) as u8,
                (len >> 3) as u8,
                ((len & 7) << 5) as u8 | 0x1F,
                0xFC,
            ]);
            v.resize(start + len as usize, 0x21);
        }
        v
    }

    /// Counts the reads made of a source.
    struct CountingCalls<'a>(&'a dyn ByteSource, std::sync::atomic::AtomicU64);

    impl ByteSource for CountingCalls<'_> {
        fn len(&self) -> u64 {
            self.0.len()
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.0.read_at(offset, buf)
        }
    }

    #[test]
    fn adts_large_reads_windows_not_frames() {
        let big = adts_frames(40_000); // 8 MB
        let calls = CountingCalls(&big, 0.into());
        let counting = CountingSource::new(&calls);
        let p = inspect(Format::Aac, &counting).unwrap().properties;
        assert_eq!((p.sample_rate, p.channels, p.nb_frames), (Some(48000), Some(2), Some(40_000)));
        close(p.duration, 40_000.0 * 1024.0 / 48000.0, 1e-9);
        // The file once (each window starts at a frame header, so windows overlap by less
        // than a frame), plus the head and the tags at the end; one read per window, not one
        // per frame (40,000).
        let (read, reads) = (counting.bytes_read(), calls.1.load(std::sync::atomic::Ordering::Relaxed));
        let windows = big.len() as u64 / WINDOW as u64 + 1;
        assert!(read <= big.len() as u64 + windows * 200 + 4 * WINDOW as u64, "read {read} of {}", big.len());
        assert!(reads <= windows + 16, "{reads} reads for {windows} windows");
    }

    #[test]
    fn adts_frame_cut_at_a_window_edge() {
        // Headers straddling every window edge are read whole: frames of 200 bytes put one
        // across the 64 KiB edge (65,536 = 327 × 200 + 136) and the stream still passes.
        let big = adts_frames(1_000);
        assert_eq!(check(Format::Aac, &big).nb_frames, Some(1_000));
        // And a header cut off by the end of the file is still told as truncated.
        let msg = rejected(&big[..big.len() - 197]);
        assert!(msg.contains("truncated"), "{msg}");
    }
}
