//! MPEG transport streams: 188-byte packets opening with the sync byte 0x47, or the 192-byte
//! packets of M2TS (Blu-ray, AVCHD), whose 4-byte timecode comes before the sync byte.
//!
//! What is read: the first [`HEAD`] bytes, the last [`TAIL`] bytes and one byte in each of
//! [`SAMPLES`] packets spread over the rest: never the whole file. The file's length must be
//! a whole number of packets, and every packet read (and each sampled sync byte) must open
//! with 0x47: otherwise the file was cut off or damaged.
//!
//! In the head, the program association table (PID 0) leads to the first program's map
//! table, whose stream types name the codecs (0x1B H.264, 0x24 HEVC, 0x02 MPEG-2, 0x0F AAC,
//! …); both tables must pass their CRC-32. The first video PES packets give the picture size
//! (from the H.264 or HEVC sequence parameter set, see `sps.rs`) and their timestamps the
//! frame rate (the smallest step between distinct PTS). The duration runs from the smallest
//! video PTS in the head to the largest in the tail, plus one frame. The first AAC stream's
//! first ADTS header gives the sample rate and channels. Each packet looked at is one
//! [`step`]; each table byte checksummed is one too.

use super::super::work::{step, steps};
use super::super::{read_exact_at, read_up_to, ByteSource, Format, InspectError, Rejection};
use super::sps;
use intake_api::AssetProperties;

const F: Format = Format::MpegTs;
const SYNC: u8 = 0x47;

/// Bytes read from the start: the tables, the first frames and their timestamps.
const HEAD: u64 = 1 << 20;
/// Bytes read from the end: the last timestamps.
const TAIL: u64 = 1 << 20;
/// Packets between head and tail whose sync byte is checked.
const SAMPLES: u64 = 64;
/// Most bytes of video payload gathered to find the sequence parameter set.
const MAX_VIDEO_PAYLOAD: usize = 256 << 10;
/// Most timestamps kept from the head to measure the frame step.
const MAX_PTS: usize = 4096;
/// PTS wrap around at 2^33 ticks of 90 kHz.
const PTS_WRAP: u64 = 1 << 33;

fn corrupt(what: impl std::fmt::Display) -> InspectError {
    Rejection::corrupt(F, what).into()
}

/// The packet size and the sync byte's offset in a packet: (188, 0) or (192, 4), when at
/// least three packets of the head (and every whole one up to eight) carry the sync byte
/// and the first three hold binary data (a text of `G`s every 188 bytes is not a stream:
/// tables carry zero bytes and stuffing carries 0xFF).
pub(super) fn layout(head: &[u8]) -> Option<(u64, u64)> {
    [(188usize, 0usize), (192, 4)].into_iter().find_map(|(size, at)| {
        let packets = (head.len() / size).min(8);
        let synced = packets >= 3 && (0..packets).all(|k| head[k * size + at] == SYNC);
        let binary = head.get(..3 * size)?.iter().any(|&b| b < 0x09 || b == 0xFF);
        (synced && binary).then_some((size as u64, at as u64))
    })
}

/// One transport packet's header fields and payload.
struct Packet<'a> {
    pid: u16,
    start: bool,
    payload: &'a [u8],
}

/// Parses the 188 bytes that open with the sync byte.
fn packet(p: &[u8]) -> Option<Packet<'_>> {
    let pid = (u16::from(p[1] & 0x1F) << 8) | u16::from(p[2]);
    let start = p[1] & 0x40 != 0;
    let control = (p[3] >> 4) & 3;
    let mut at = 4usize;
    if control & 2 != 0 {
        at += 1 + usize::from(p[4]);
    }
    if control & 1 == 0 || at > 188 {
        return Some(Packet { pid, start, payload: &[] }).filter(|_| at <= 188);
    }
    Some(Packet { pid, start, payload: &p[at..188] })
}

/// MPEG-2's CRC-32 (polynomial 0x04C11DB7, MSB first, start all ones, no final XOR).
fn crc32_mpeg(data: &[u8]) -> u32 {
    let mut c = u32::MAX;
    for &b in data {
        c ^= u32::from(b) << 24;
        for _ in 0..8 {
            c = if c & 0x8000_0000 != 0 { (c << 1) ^ 0x04C1_1DB7 } else { c << 1 };
        }
    }
    c
}

/// A PSI section being gathered from the packets of one PID.
#[derive(Default)]
struct Section {
    buf: Vec<u8>,
    open: bool,
}

impl Section {
    /// Adds a packet's payload; the whole section once it is complete.
    fn push(&mut self, p: &Packet) -> Option<Vec<u8>> {
        if p.start {
            let pointer = usize::from(*p.payload.first()?);
            self.buf.clear();
            self.buf.extend_from_slice(p.payload.get(1 + pointer..)?);
            self.open = true;
        } else if self.open {
            self.buf.extend_from_slice(p.payload);
        }
        if !self.open || self.buf.len() < 3 {
            return None;
        }
        let len = 3 + (usize::from(self.buf[1] & 0x0F) << 8 | usize::from(self.buf[2]));
        if self.buf.len() < len {
            // A section is at most 1024 bytes: a longer claim is dropped.
            self.open = len <= 1024 + 3;
            return None;
        }
        self.open = false;
        Some(self.buf[..len].to_vec())
    }
}

/// Checks a complete section's length and CRC; its body (after the 8-byte header, before
/// the CRC).
fn section_body<'a>(s: &'a [u8], what: &str) -> Result<&'a [u8], InspectError> {
    if s.len() < 12 {
        return Err(corrupt(format!("its {what} is too short")));
    }
    steps(s.len() as u64)?;
    if crc32_mpeg(s) != 0 {
        return Err(corrupt(format!("its {what} fails its CRC-32 check")));
    }
    Ok(&s[8..s.len() - 4])
}

/// The ffprobe name of a video stream type.
fn video_codec(stream_type: u8) -> Option<&'static str> {
    Some(match stream_type {
        0x01 => "mpeg1video",
        0x02 | 0x80 => "mpeg2video",
        0x10 => "mpeg4",
        0x1B => "h264",
        0x24 => "hevc",
        0x33 => "vvc",
        0x42 => "cavs",
        0xD1 => "dirac",
        0xEA => "vc1",
        _ => return None,
    })
}

/// Sample rate and channels of the ADTS header that opens AAC stream data (stream type
/// 0x0F).
fn adts_sound(data: &[u8]) -> Option<(u64, Option<u64>)> {
    const RATES: [u64; 13] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
    if data.len() < 7 || data[0] != 0xFF || data[1] & 0xF6 != 0xF0 {
        return None;
    }
    let rate = *RATES.get(usize::from((data[2] >> 2) & 0x0F))?;
    let channels = match ((data[2] & 1) << 2) | (data[3] >> 6) {
        0 => None,
        7 => Some(8),
        c => Some(u64::from(c)),
    };
    Some((rate, channels))
}

/// The PTS of a PES packet's header, if it has one.
fn pes_pts(payload: &[u8]) -> Option<u64> {
    if payload.len() < 14 || payload[0..3] != [0, 0, 1] || payload[7] & 0x80 == 0 {
        return None;
    }
    let b = &payload[9..14];
    Some(
        (u64::from(b[0] >> 1) & 7) << 30
            | u64::from(b[1]) << 22
            | u64::from(b[2] >> 1) << 15
            | u64::from(b[3]) << 7
            | u64::from(b[4] >> 1),
    )
}

/// The elementary stream data of a PES packet (after its header).
fn pes_data(payload: &[u8]) -> &[u8] {
    match payload.get(8) {
        Some(&n) if payload[0..3] == [0, 0, 1] => payload.get(9 + usize::from(n)..).unwrap_or_default(),
        _ => &[],
    }
}

/// The 188-byte packets of `buf` (which starts on a packet boundary), sync bytes checked;
/// `first` is the index in the file of the first one, for messages.
fn packets(buf: &[u8], size: usize, at: usize, first: u64) -> Result<Vec<&[u8]>, InspectError> {
    let mut out = Vec::with_capacity(buf.len() / size);
    for (k, p) in buf.chunks_exact(size).enumerate() {
        step()?;
        if p[at] != SYNC {
            let n = first + k as u64;
            return Err(corrupt(format!(
                "packet {n} (byte {}) does not open with the sync byte 0x47",
                n * size as u64
            )));
        }
        out.push(&p[at..at + 188]);
    }
    Ok(out)
}

/// The size of the first picture in H.264 or HEVC stream data: from the first sequence
/// parameter set found (at most 1 KiB of it is parsed).
fn picture_size(codec: &str, data: &[u8]) -> Option<(u64, u64)> {
    let mut i = 0;
    while i + 4 < data.len() {
        if data[i..i + 3] != [0, 0, 1] {
            i += 1;
            continue;
        }
        let nal = &data[i + 3..];
        match codec {
            "h264" if nal[0] & 0x1F == 7 => return sps::h264_size(&nal[1..nal.len().min(1024)]),
            "hevc" if (nal[0] >> 1) & 0x3F == 33 && nal.len() > 2 => {
                return sps::hevc_size(&nal[2..nal.len().min(1024)])
            }
            _ => {}
        }
        i += 3;
    }
    None
}

pub(super) fn inspect_ts(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let total = src.len();
    let head = read_up_to(src, 0, HEAD.min(total) as usize)?;
    let (size, at) = layout(&head).ok_or_else(|| corrupt("its first packets do not open with the sync byte 0x47"))?;
    if !total.is_multiple_of(size) {
        return Err(corrupt(format!(
            "its length ({total} bytes) is not a whole number of {size}-byte packets (truncated)"
        )));
    }
    let head_len = head.len() as u64 / size * size;
    let head_packets = packets(&head[..head_len as usize], size as usize, at as usize, 0)?;

    // Tables: PAT, then the first program's PMT.
    let mut pat = Section::default();
    let mut pmt = Section::default();
    let mut pmt_pid = None;
    let mut streams: Option<Vec<(u8, u16)>> = None;
    for p in head_packets.iter().filter_map(|p| packet(p)) {
        step()?;
        if p.pid == 0 && pmt_pid.is_none() {
            if let Some(s) = pat.push(&p) {
                let body = section_body(&s, "program association table (PAT)")?;
                pmt_pid = body
                    .chunks_exact(4)
                    .find(|e| u16::from_be_bytes([e[0], e[1]]) != 0)
                    .map(|e| u16::from_be_bytes([e[2] & 0x1F, e[3]]));
            }
        } else if Some(p.pid) == pmt_pid {
            if let Some(s) = pmt.push(&p) {
                let body = section_body(&s, "program map table (PMT)")?;
                if body.len() < 4 {
                    return Err(corrupt("its program map table (PMT) is too short"));
                }
                let info = usize::from(u16::from_be_bytes([body[2] & 0x0F, body[3]]));
                let mut list = Vec::new();
                let mut e = body.get(4 + info..).unwrap_or_default();
                while e.len() >= 5 {
                    step()?;
                    let es_info = usize::from(u16::from_be_bytes([e[3] & 0x0F, e[4]]));
                    list.push((e[0], u16::from_be_bytes([e[1] & 0x1F, e[2]])));
                    e = e.get(5 + es_info..).unwrap_or_default();
                }
                streams = Some(list);
                break;
            }
        }
    }
    let packets_read = head_packets.len();
    if pmt_pid.is_none() {
        return Err(corrupt(format!("no program association table (PAT) in its first {packets_read} packets")));
    }
    let streams =
        streams.ok_or_else(|| corrupt(format!("no program map table (PMT) in its first {packets_read} packets")))?;
    let Some((codec, video_pid)) = streams.iter().find_map(|&(t, pid)| Some((video_codec(t)?, pid))) else {
        let only = if streams.is_empty() { "" } else { " (it holds only sound or data)" };
        return Err(Rejection(format!("the file is {} but has no video stream{only}", F.described())).into());
    };

    // The first AAC stream's sound, from its first ADTS header.
    let aac_pid = streams.iter().find(|&&(t, _)| t == 0x0F).map(|&(_, pid)| pid);
    let sound = head_packets
        .iter()
        .filter_map(|p| packet(p))
        .filter(|p| Some(p.pid) == aac_pid && p.start)
        .find_map(|p| adts_sound(pes_data(p.payload)));

    // The video stream in the head: timestamps and the first bytes of data.
    let mut pts: Vec<u64> = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let mut started = false;
    for p in head_packets.iter().filter_map(|p| packet(p)).filter(|p| p.pid == video_pid) {
        step()?;
        if p.start {
            started = true;
            if let Some(t) = pes_pts(p.payload).filter(|_| pts.len() < MAX_PTS) {
                pts.push(t);
            }
            if data.len() < MAX_VIDEO_PAYLOAD {
                data.extend_from_slice(pes_data(p.payload));
            }
        } else if started && data.len() < MAX_VIDEO_PAYLOAD {
            data.extend_from_slice(p.payload);
        }
    }
    let first =
        *pts.iter().min().ok_or_else(|| corrupt("its video stream carries no timestamps in its first packets"))?;

    // Sync bytes sampled between head and tail, then the tail's timestamps.
    let tail_start = total.saturating_sub(TAIL).max(head_len).div_ceil(size) * size;
    let middle = tail_start.saturating_sub(head_len) / size;
    for k in 1..=SAMPLES.min(middle) {
        step()?;
        let spread = u128::from(k) * u128::from(middle) / u128::from(SAMPLES.min(middle) + 1);
        let n = head_len / size + spread as u64;
        let mut b = [0u8; 1];
        read_exact_at(src, n * size + at, &mut b)?;
        if b[0] != SYNC {
            return Err(corrupt(format!("packet {n} (byte {}) does not open with the sync byte 0x47", n * size)));
        }
    }
    let mut last = pts.iter().copied().max().unwrap_or(first);
    if tail_start < total {
        let mut tail = vec![0u8; (total - tail_start) as usize];
        read_exact_at(src, tail_start, &mut tail)?;
        let tail_packets = packets(&tail, size as usize, at as usize, tail_start / size)?;
        let tail_pts = tail_packets
            .iter()
            .filter_map(|p| packet(p))
            .filter(|p| p.pid == video_pid && p.start)
            .filter_map(|p| pes_pts(p.payload));
        if let Some(t) = tail_pts.max() {
            last = t;
        }
    }
    if last < first {
        last += PTS_WRAP; // the clock wrapped once
    }
    pts.sort_unstable();
    pts.dedup();
    steps(pts.len() as u64)?;
    let frame_ticks = pts.windows(2).map(|w| w[1] - w[0]).filter(|&d| d > 0).min();
    let frame_rate = frame_ticks.map(|d| 90_000.0 / d as f64);
    let duration = Some((last - first + frame_ticks.unwrap_or(0)) as f64 / 90_000.0).filter(|&d| d > 0.0);

    steps(data.len() as u64)?;
    let (width, height) = match picture_size(codec, &data) {
        Some((w, h)) => (Some(w), Some(h)),
        None => (None, None),
    };
    Ok(AssetProperties {
        width,
        height,
        codec_name: Some(codec.to_string()),
        duration,
        frame_rate,
        bitrate: duration.map(|d| (total as f64 * 8.0 / d).round() as u64),
        sample_rate: sound.map(|(rate, _)| rate),
        channels: sound.and_then(|(_, channels)| channels),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{err, fixture, ok};
    use super::super::super::CountingSource;
    use super::*;
    use intake_api::Kind;

    fn near(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    fn assert_tiny(p: &AssetProperties) {
        assert_eq!(p.codec_name.as_deref(), Some("h264"));
        assert_eq!((p.width, p.height), (Some(64), Some(48)));
        assert!(near(p.frame_rate, 10.0), "{:?}", p.frame_rate);
        assert!(near(p.duration, 1.0), "{:?}", p.duration);
    }

    #[test]
    fn ts_h264_aac() {
        let found = ok(Kind::Video, &fixture("video_h264_aac.ts"));
        assert_eq!(found.format, Format::MpegTs);
        assert_eq!(found.properties.format.as_deref(), Some("mpegts"));
        assert_tiny(&found.properties);
        assert_eq!((found.properties.sample_rate, found.properties.channels), (Some(8000), Some(1)));
    }

    #[test]
    fn ts_hevc() {
        let found = ok(Kind::Video, &fixture("video_hevc.ts"));
        let p = &found.properties;
        assert_eq!(p.codec_name.as_deref(), Some("hevc"));
        assert_eq!((p.width, p.height), (Some(64), Some(48)));
        assert!(near(p.frame_rate, 10.0), "{:?}", p.frame_rate);
        assert!(near(p.duration, 1.0), "{:?}", p.duration);
        assert_eq!((p.sample_rate, p.channels), (None, None));
    }

    #[test]
    fn text_of_sync_bytes_is_not_a_stream() {
        let mut text = vec![b'a'; 188 * 4];
        for k in 0..4 {
            text[k * 188] = b'G';
        }
        assert_eq!(layout(&text), None);
    }

    /// The fixture as M2TS: a 4-byte timecode before every packet.
    fn m2ts(ts: &[u8]) -> Vec<u8> {
        ts.chunks_exact(188).flat_map(|p| [&[0u8, 0, 0, 0][..], p].concat()).collect()
    }

    #[test]
    fn m2ts_192_byte_packets() {
        let found = ok(Kind::Video, &m2ts(&fixture("video_h264_aac.ts")));
        assert_eq!(found.format, Format::MpegTs);
        assert_tiny(&found.properties);
    }

    #[test]
    fn ts_truncated_and_lying() {
        let ts = fixture("video_h264_aac.ts");
        let msg = err(Kind::Video, &ts[..ts.len() - 100]);
        assert!(
            msg.contains("MPEG transport stream") && msg.contains("not a whole number of 188-byte packets"),
            "{msg}"
        );
        let mut bad = ts.clone();
        bad[188 * 30] = 0x48;
        let msg = err(Kind::Video, &bad);
        assert!(msg.contains("packet 30 (byte 5640) does not open with the sync byte"), "{msg}");
        // The PMT's section length changed: its CRC no longer holds.
        let mut bad = ts.clone();
        let pmt = 188 * 2;
        bad[pmt + 7] ^= 0x01;
        let msg = err(Kind::Video, &bad);
        assert!(msg.contains("program map table (PMT)"), "{msg}");
    }

    #[test]
    fn sound_only_is_not_a_video() {
        // The PMT lists only the AAC stream (type 0x0F) once the H.264 entry is renamed a
        // private stream; fix the CRC after the change.
        let mut ts = fixture("video_h264_aac.ts");
        for k in 0..ts.len() / 188 {
            let p = &mut ts[k * 188..(k + 1) * 188];
            if p[1] & 0x1F == 0x10 && p[2] == 0x00 && p[1] & 0x40 != 0 {
                let s = 5 + usize::from(p[4]);
                let len = 3 + (usize::from(p[s + 1] & 0x0F) << 8 | usize::from(p[s + 2]));
                let info = usize::from(p[s + 10] & 0x0F) << 8 | usize::from(p[s + 11]);
                let first = s + 12 + info;
                assert_eq!(p[first], 0x1B);
                p[first] = 0x06;
                let crc = crc32_mpeg(&p[s..s + len - 4]);
                p[s + len - 4..s + len].copy_from_slice(&crc.to_be_bytes());
            }
        }
        let msg = err(Kind::Video, &ts);
        assert_eq!(
            msg,
            "the file is an MPEG transport stream (TS) video but has no video stream (it holds only sound or data)"
        );
    }

    #[test]
    fn ts_large_reads_head_and_tail() {
        // 64 MiB of null packets (PID 0x1FFF) between the fixture's first and last halves.
        let ts = fixture("video_h264_aac.ts");
        let half = ts.len() / 188 / 2 * 188;
        let mut big = ts[..half].to_vec();
        let mut null = [0xFFu8; 188];
        null[..4].copy_from_slice(&[0x47, 0x1F, 0xFF, 0x10]);
        while big.len() < 64 << 20 {
            big.extend_from_slice(&null);
        }
        big.extend_from_slice(&ts[half..]);
        let counting = CountingSource::new(&big);
        let p = inspect_ts(&counting).unwrap();
        assert_tiny(&p);
        assert!(counting.bytes_read() < 2 * (HEAD + TAIL) + 1024, "read {}", counting.bytes_read());
        // A sync byte gone at a sampled packet between head and tail is found.
        let head = HEAD / 188;
        let middle = (big.len() as u64 - TAIL).div_ceil(188) - head;
        let n = head + middle / (SAMPLES + 1);
        let mut bad = big;
        bad[n as usize * 188] = 0;
        let msg = err(Kind::Video, &bad);
        assert!(msg.contains(&format!("packet {n} ")), "{msg}");
    }

    /// Every fixture of the shared directory: only `.ts` files sniff as MPEG-TS and only
    /// `.avi` files as AVI; the new audio fixtures as their own formats.
    #[test]
    fn sniffing_claims_only_its_own_fixtures() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/validate/fixtures");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap();
            let head = &bytes[..bytes.len().min(super::super::super::SNIFF_LEN)];
            let format = super::super::super::sniff_head(head, bytes.len() as u64);
            assert_eq!(format == Format::MpegTs, name.ends_with(".ts"), "{name}: {format:?}");
            assert_eq!(format == Format::Avi, name.ends_with(".avi"), "{name}: {format:?}");
            assert_eq!(format == Format::Aac, name.ends_with(".aac"), "{name}: {format:?}");
            assert_eq!(
                format == Format::Aiff,
                name.ends_with(".aiff") || name.ends_with(".aifc"),
                "{name}: {format:?}"
            );
        }
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        super::super::super::test_support::mutate_and_validate(&fixture("video_h264_aac.ts"), 400);
    }
}
