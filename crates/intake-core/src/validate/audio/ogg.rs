//! Ogg: the first page (capture pattern, version, beginning-of-stream flag and CRC) and its
//! first packet, the codec's identification header: Vorbis, Opus (`OpusHead`, 48 kHz output,
//! pre-skip) or FLAC-in-Ogg. The last pages are found by scanning the tail backwards for
//! `OggS`: the last page must be whole and pass its CRC, the stream's last page must carry
//! the end-of-stream flag, and its granule position gives the duration.
//!
//! Every `OggS` found in the tail may be a page whose checksum must be computed over up to
//! 64 KiB; a crafted tail packed with false capture patterns would make that quadratic, so
//! the checksummed bytes are capped at [`OGG_CRC_BUDGET`] (real files use at most the tail
//! once: their pages do not overlap).

use super::super::work::steps;
use super::super::{read_up_to, ByteSource, Format, InspectError, Rejection};
use super::flac::parse_streaminfo;
use super::{bitrate_of, corrupt, eof, u16le, u32le, u64le};
use intake_api::AssetProperties;

const fn ogg_crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u32) << 24;
        let mut k = 0;
        while k < 8 {
            c = if c & 0x8000_0000 != 0 { (c << 1) ^ 0x04C1_1DB7 } else { c << 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static OGG_CRC: [u32; 256] = ogg_crc_table();

/// The Ogg page checksum of `page` (whose own CRC field is taken as zero).
fn ogg_crc(page: &[u8]) -> u32 {
    page.iter().enumerate().fold(0u32, |c, (i, &b)| {
        let b = if (22..26).contains(&i) { 0 } else { b };
        (c << 8) ^ OGG_CRC[((c >> 24) as u8 ^ b) as usize]
    })
}

/// An Ogg page header at the start of `b`: (flags, granule, serial, header length, page length).
fn ogg_page(b: &[u8]) -> Option<(u8, u64, u32, usize, usize)> {
    if b.len() < 27 || &b[0..4] != b"OggS" || b[4] != 0 || b[5] & 0xF8 != 0 {
        return None;
    }
    let nsegs = b[26] as usize;
    let lacing = b.get(27..27 + nsegs)?;
    let body: usize = lacing.iter().map(|&l| l as usize).sum();
    Some((b[5], u64le(&b[6..14]), u32le(&b[14..18]), 27 + nsegs, 27 + nsegs + body))
}

/// Bytes read from the end of an Ogg file to find its last pages (a page is < 64 KiB).
const OGG_TAIL: u64 = 128 * 1024;
/// Most bytes checksummed while looking for the last pages.
const OGG_CRC_BUDGET: u64 = 4 * OGG_TAIL;

enum OggCodec {
    Vorbis { rate: u32 },
    Opus { pre_skip: u16 },
    Flac { rate: u32 },
}

pub(super) fn inspect_ogg(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    const F: Format = Format::Ogg;
    let len = src.len();
    let head = read_up_to(src, 0, 27 + 255)?;
    if head.len() < 27 {
        return Err(eof());
    }
    let (flags, _, serial, hlen, plen) =
        ogg_page(&head).ok_or_else(|| corrupt(F, "the first page header is damaged"))?;
    if flags & 0x02 == 0 {
        return Err(corrupt(F, "the first page does not begin a stream"));
    }
    let page = read_up_to(src, 0, plen)?;
    if page.len() < plen {
        return Err(corrupt(F, "its first page is cut off (truncated)"));
    }
    if ogg_crc(&page) != u32le(&page[22..26]) {
        return Err(corrupt(F, "the first page is damaged (bad checksum)"));
    }
    let lacing = &page[27..hlen];
    let packet_len: usize = lacing.iter().take_while(|&&l| l == 255).map(|_| 255).sum::<usize>()
        + lacing.iter().find(|&&l| l < 255).map_or(0, |&l| l as usize);
    let packet = &page[hlen..hlen + packet_len];

    let (codec, channels, sample_rate, codec_name) = if packet.starts_with(b"\x01vorbis") {
        if packet.len() < 30 || u32le(&packet[7..11]) != 0 {
            return Err(corrupt(F, "the Vorbis identification header is damaged"));
        }
        let channels = u32::from(packet[11]);
        let rate = u32le(&packet[12..16]);
        let (bs0, bs1) = (packet[28] & 0x0F, packet[28] >> 4);
        if channels == 0 || rate == 0 || !(6..=13).contains(&bs0) || !(bs0..=13).contains(&bs1) || packet[29] & 1 == 0 {
            return Err(corrupt(F, "the Vorbis identification header is damaged"));
        }
        (OggCodec::Vorbis { rate }, channels, rate, "vorbis")
    } else if packet.starts_with(b"OpusHead") {
        if packet.len() < 19 || packet[8] >> 4 != 0 {
            return Err(corrupt(F, "the OpusHead header is damaged"));
        }
        let channels = u32::from(packet[9]);
        if channels == 0 || (packet[18] == 0 && channels > 2) {
            return Err(corrupt(F, format!("the OpusHead header declares an impossible {channels} channels")));
        }
        (OggCodec::Opus { pre_skip: u16le(&packet[10..12]) }, channels, 48_000, "opus")
    } else if packet.starts_with(b"\x7fFLAC") {
        if packet.len() < 51 || packet[5] != 1 || &packet[9..13] != b"fLaC" || packet[13] & 0x7F != 0 {
            return Err(corrupt(F, "the Ogg FLAC header is damaged"));
        }
        let info = parse_streaminfo(&packet[17..51], F)?;
        (OggCodec::Flac { rate: info.sample_rate }, info.channels, info.sample_rate, "flac")
    } else if packet.starts_with(b"\x80theora") {
        return Err(Rejection(
            "the file is an Ogg container holding Theora video, not audio (Vorbis, Opus or FLAC)".into(),
        )
        .into());
    } else {
        return Err(Rejection(
            "the file is an Ogg container but its first stream is not Vorbis, Opus or FLAC audio".into(),
        )
        .into());
    };

    // The last pages: scan the tail backwards for capture patterns.
    let tail_start = len.saturating_sub(OGG_TAIL);
    let tail = read_up_to(src, tail_start, (len - tail_start) as usize)?;
    let mut seen_last = false;
    let mut last_of_stream: Option<(u8, u64)> = None;
    let mut granule = None;
    let mut checksummed = 0u64;
    steps(tail.len() as u64)?;
    let mut i = tail.len().saturating_sub(4);
    loop {
        if &tail[i..i + 4] == b"OggS" {
            let at = &tail[i..];
            let whole_header = at.len() >= 27 && at.len() >= 27 + at[26] as usize;
            let plausible = at.len() >= 6 && at[4] == 0 && at[5] & 0xF8 == 0;
            if plausible && !whole_header && !seen_last {
                return Err(corrupt(F, "its last page is cut off (truncated)"));
            }
            if let Some((pflags, pgran, pserial, _, plen)) = ogg_page(at) {
                if plen > at.len() {
                    if !seen_last {
                        return Err(corrupt(F, "its last page is cut off (truncated)"));
                    }
                } else if !within_budget(&mut checksummed, plen)? {
                    return Err(corrupt(F, "its last pages cannot be found among the damaged page headers of its end"));
                } else if ogg_crc(&at[..plen]) == u32le(&at[22..26]) {
                    seen_last = true;
                    if pserial == serial {
                        if last_of_stream.is_none() {
                            last_of_stream = Some((pflags, pgran));
                        }
                        if pgran != u64::MAX {
                            granule = Some(pgran);
                            break;
                        }
                    }
                } else if !seen_last {
                    return Err(corrupt(F, "its last page is damaged (bad checksum)"));
                }
            }
        }
        if i == 0 {
            break;
        }
        i -= 1;
    }
    if let Some((pflags, _)) = last_of_stream {
        if pflags & 0x04 == 0 {
            return Err(corrupt(F, "the stream has no end-of-stream page (truncated)"));
        }
    }
    let duration = granule.map(|g| match codec {
        OggCodec::Vorbis { rate } | OggCodec::Flac { rate } => g as f64 / f64::from(rate),
        OggCodec::Opus { pre_skip } => g.saturating_sub(u64::from(pre_skip)) as f64 / 48_000.0,
    });
    Ok(AssetProperties {
        codec_name: Some(codec_name.to_string()),
        duration,
        bitrate: duration.and_then(|d| bitrate_of(len, d)),
        sample_rate: Some(u64::from(sample_rate)),
        channels: Some(u64::from(channels)),
        ..Default::default()
    })
}

/// Counts `len` more bytes to checksum; false once that passes [`OGG_CRC_BUDGET`].
fn within_budget(checksummed: &mut u64, len: usize) -> Result<bool, InspectError> {
    steps(len as u64)?;
    *checksummed += len as u64;
    Ok(*checksummed <= OGG_CRC_BUDGET)
}

#[cfg(test)]
mod tests {
    use super::super::super::CountingSource;
    use super::super::testutil::*;
    use super::super::{inspect, sniff};
    use super::*;

    // Made by ffmpeg, see fixtures/README.md.
    const VORBIS: &[u8] = include_bytes!("../fixtures/audio_vorbis.ogg");
    const OPUS: &[u8] = include_bytes!("../fixtures/audio_opus.opus");

    #[test]
    fn ogg_vorbis_valid() {
        let p = check(Format::Ogg, VORBIS);
        assert_eq!(p.codec_name.as_deref(), Some("vorbis"));
        assert_eq!(p.sample_rate, Some(8000));
        assert_eq!(p.channels, Some(1));
        close(p.duration, 1.0, 0.05);
    }

    #[test]
    fn ogg_opus_valid() {
        let p = check(Format::Ogg, OPUS);
        assert_eq!(p.codec_name.as_deref(), Some("opus"));
        assert_eq!(p.sample_rate, Some(48_000));
        assert_eq!(p.channels, Some(1));
        close(p.duration, 1.0, 0.05);
    }

    #[test]
    fn ogg_truncated_and_corrupt() {
        for file in [VORBIS, OPUS] {
            let msg = rejected(&file[..file.len() - 10]);
            assert!(msg.contains("Ogg") && msg.contains("truncated"), "{msg}");
            let mut bad = file.to_vec();
            bad[40] ^= 1; // inside the first page
            assert!(rejected(&bad).contains("first page is damaged (bad checksum)"));
            let mut bad = file.to_vec();
            let n = bad.len();
            bad[n - 5] ^= 1; // inside the last page
            assert!(rejected(&bad).contains("last page is damaged"));
        }
        // Cut exactly at a page boundary: the end-of-stream page is missing.
        let last = VORBIS.windows(4).rposition(|w| w == b"OggS").unwrap();
        let msg = rejected(&VORBIS[..last]);
        assert!(msg.contains("end-of-stream"), "{msg}");
    }

    #[test]
    fn ogg_large_reads_little() {
        // Between the header pages and the last page, 130 filler pages of ~64 KiB.
        let second = 1 + VORBIS[1..].windows(4).position(|w| w == b"OggS").unwrap();
        let last = VORBIS.windows(4).rposition(|w| w == b"OggS").unwrap();
        let mut big = VORBIS[..last].to_vec();
        let serial = u32le(&VORBIS[14..18]);
        for seq in 0..130u32 {
            let mut page = b"OggS\x00\x00".to_vec();
            page.extend_from_slice(&u64::MAX.to_le_bytes());
            page.extend_from_slice(&serial.to_le_bytes());
            page.extend_from_slice(&(1000 + seq).to_le_bytes());
            page.extend_from_slice(&[0; 4]);
            page.push(255);
            page.extend_from_slice(&[255; 255]);
            page.resize(page.len() + 255 * 255, 0xA5);
            let crc = ogg_crc(&page);
            page[22..26].copy_from_slice(&crc.to_le_bytes());
            big.extend_from_slice(&page);
        }
        big.extend_from_slice(&VORBIS[last..]);
        assert!(second < last && big.len() > 8 * 1024 * 1024);
        let counting = CountingSource::new(&big);
        let p = inspect(Format::Ogg, &counting).unwrap().properties;
        close(p.duration, 1.0, 0.05);
        assert!(counting.bytes_read() < 160 * 1024, "read {}", counting.bytes_read());
    }

    #[test]
    fn ogg_theora_is_refused() {
        let mut page = b"OggS\x00\x02".to_vec();
        page.extend_from_slice(&0u64.to_le_bytes());
        page.extend_from_slice(&7u32.to_le_bytes());
        page.extend_from_slice(&0u32.to_le_bytes());
        page.extend_from_slice(&[0; 4]);
        page.push(1);
        page.push(42);
        page.extend_from_slice(b"\x80theora");
        page.resize(27 + 1 + 42, 0);
        let crc = ogg_crc(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(sniff(&page), Some(Format::Ogg));
        assert!(rejected(&page).contains("Theora video"));
    }
}
