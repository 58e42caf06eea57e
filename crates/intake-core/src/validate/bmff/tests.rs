//! Tests of `bmff.rs`.

use super::super::test_support::{err, fixture, ok};
use super::super::{CountingSource, Findings, SNIFF_LEN};
use super::*;
use intake_api::Kind;

fn near(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 0.01)
}

/// Where the top-level box `kind` starts.
fn box_at(bytes: &[u8], kind: &[u8; 4]) -> usize {
    let mut pos = 0;
    while pos + 8 <= bytes.len() {
        if &bytes[pos + 4..pos + 8] == kind {
            return pos;
        }
        pos += be32(&bytes[pos..pos + 4]) as usize;
    }
    panic!("no {kind:?} box");
}

fn find(bytes: &[u8], what: &[u8]) -> usize {
    bytes.windows(what.len()).position(|w| w == what).unwrap()
}

fn assert_tiny_h264(found: &Findings, format: Format) {
    let p = &found.properties;
    assert_eq!(found.format, format);
    assert_eq!((p.width, p.height), (Some(64), Some(48)));
    assert_eq!(p.codec_name.as_deref(), Some("h264"));
    assert!(near(p.duration, 1.0), "{:?}", p.duration);
    assert!(near(p.frame_rate, 10.0), "{:?}", p.frame_rate);
    assert_eq!(p.nb_frames, Some(10));
    assert_eq!(p.bitrate, Some(p.size * 8));
    assert_eq!(p.format.as_deref(), Some(format.name()));
}

#[test]
fn sniffs_brands() {
    assert_eq!(sniff(&fixture("video_h264_moov_end.mp4")), Some(Format::Mp4));
    assert_eq!(sniff(&fixture("video_h264_faststart.mp4")), Some(Format::Mp4));
    assert_eq!(sniff(&fixture("video_h264_fragmented.mp4")), Some(Format::Mp4));
    assert_eq!(sniff(&fixture("video_h264.mov")), Some(Format::Mov));
    assert_eq!(sniff(&fixture("audio_aac_stereo.m4a")), Some(Format::M4a));
    // ISO brand, but the whole file (moov included) is in the head: only sound.
    assert_eq!(sniff(&fixture("audio_aac_only.mp4")), Some(Format::M4a));
    // Moov beyond the head: the brand is all the head tells.
    assert_eq!(sniff(&sound_only_moov_far()[..SNIFF_LEN]), Some(Format::Mp4));
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend_from_slice(&[0; 16]);
    assert_eq!(sniff(&heic), None);
    let mut avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf".to_vec();
    avif.extend_from_slice(&[0; 16]);
    assert_eq!(sniff(&avif), None);
    let mut m4a_compat = b"\0\0\0\x18ftypmp42\0\0\0\0isomM4A ".to_vec();
    m4a_compat.extend_from_slice(&[0; 16]);
    assert_eq!(sniff(&m4a_compat), Some(Format::M4a));
    assert_eq!(sniff(b"The free software movement began in 1983."), None);
    assert_eq!(sniff(b"\0\0\0\x08wide\0\0\x10\0mdat\0\0\0\0"), Some(Format::Mov));
    assert_eq!(sniff(b"\0\0\0\x6cmoov\0\0\0\x64mvhd\0\0\0\0"), Some(Format::Mov));
}

#[test]
fn sniffs_sound_only_when_moov_is_in_head() {
    // The sound-only MP4 rebuilt with its moov first ("faststart").
    let mp4 = fixture("audio_aac_only.mp4");
    let (moov_at, mdat_at) = (box_at(&mp4, b"moov"), box_at(&mp4, b"mdat"));
    let moov = &mp4[moov_at..];
    let mut fast = mp4[..mdat_at].to_vec();
    fast.extend_from_slice(moov);
    fast.extend_from_slice(&mp4[mdat_at..moov_at]);
    assert_eq!(sniff(&fast), Some(Format::M4a));
}

#[test]
fn mp4_moov_at_end() {
    let mp4 = fixture("video_h264_moov_end.mp4");
    assert!(box_at(&mp4, b"moov") > box_at(&mp4, b"mdat"));
    assert_tiny_h264(&ok(Kind::Video, &mp4), Format::Mp4);
}

#[test]
fn mp4_faststart() {
    let mp4 = fixture("video_h264_faststart.mp4");
    assert!(box_at(&mp4, b"moov") < box_at(&mp4, b"mdat"));
    assert_tiny_h264(&ok(Kind::Video, &mp4), Format::Mp4);
}

#[test]
fn mov_valid() {
    assert_tiny_h264(&ok(Kind::Video, &fixture("video_h264.mov")), Format::Mov);
}

#[test]
fn mov_with_sound() {
    let found = ok(Kind::Video, &fixture("video_h264_aac.mov"));
    assert_tiny_h264(&found, Format::Mov);
    assert_eq!((found.properties.channels, found.properties.sample_rate), (Some(1), Some(8000)));
}

#[test]
fn fragmented_mp4() {
    assert_tiny_h264(&ok(Kind::Video, &fixture("video_h264_fragmented.mp4")), Format::Mp4);
}

#[test]
fn m4a_valid() {
    let found = ok(Kind::Audio, &fixture("audio_aac_stereo.m4a"));
    let p = &found.properties;
    assert_eq!(found.format, Format::M4a);
    assert_eq!(p.codec_name.as_deref(), Some("aac"));
    assert_eq!(p.channels, Some(2));
    assert_eq!(p.sample_rate, Some(44100));
    assert!(near(p.duration, 1.0), "{:?}", p.duration);
    assert_eq!((p.width, p.height, p.frame_rate), (None, None, None));
    assert!(p.bitrate.unwrap() > 30_000 && p.bitrate.unwrap() < 50_000);
}

#[test]
fn alac_in_m4a() {
    let m4a = fixture("audio_alac.m4a");
    let found = ok(Kind::Audio, &m4a);
    let p = &found.properties;
    assert_eq!(found.format, Format::M4a);
    assert_eq!(p.codec_name.as_deref(), Some("alac"));
    assert_eq!((p.channels, p.sample_rate), (Some(2), Some(8000)));
    assert!(near(p.duration, 0.5), "{:?}", p.duration);
    // The magic cookie, not the sample entry's 16.16 field, gives the rate: 96 kHz does not
    // fit in the entry.
    let mut hi = m4a.clone();
    let cookie = find(&hi, b"alac\0\0\0\0\0\0\x10\0");
    hi[cookie + 8 + 20..cookie + 8 + 24].copy_from_slice(&96_000u32.to_be_bytes());
    hi[cookie + 8 + 9] = 1;
    let p = ok(Kind::Audio, &hi).properties;
    assert_eq!((p.channels, p.sample_rate), (Some(1), Some(96_000)));
}

/// The sound-only MP4 with 100 KiB more media data, so that its moov (at the end) lies
/// beyond the sniffed head.
fn sound_only_moov_far() -> Vec<u8> {
    let mp4 = fixture("audio_aac_only.mp4");
    let (mdat, moov) = (box_at(&mp4, b"mdat"), box_at(&mp4, b"moov"));
    let mut far = mp4[..moov].to_vec();
    far.resize(moov + (100 << 10), 0);
    far[mdat..mdat + 4].copy_from_slice(&((moov - mdat + (100 << 10)) as u32).to_be_bytes());
    far.extend_from_slice(&mp4[moov..]);
    far
}

#[test]
fn sound_only_mp4() {
    // Moov in the head: recognised as sound.
    let found = ok(Kind::Audio, &fixture("audio_aac_only.mp4"));
    assert_eq!(found.format, Format::M4a);
    assert_eq!((found.properties.channels, found.properties.sample_rate), (Some(1), Some(44100)));
    assert!(near(found.properties.duration, 1.0));
    // Moov at the end of a larger file: taken for a video, refused as one.
    assert_eq!(
        err(Kind::Video, &sound_only_moov_far()),
        "the file is an MP4 video but has no video track (it holds only sound)"
    );
}

#[test]
fn m4a_needs_sound() {
    let mut mp4 = fixture("video_h264_faststart.mp4");
    mp4[8..12].copy_from_slice(b"M4A ");
    assert_eq!(err(Kind::Audio, &mp4), "the file is an M4A audio file but has no sound track");
}

#[test]
fn truncated() {
    for name in ["video_h264_moov_end.mp4", "video_h264_faststart.mp4", "video_h264.mov", "audio_aac_stereo.m4a"] {
        let file = fixture(name);
        let kind = if name.ends_with("m4a") { Kind::Audio } else { Kind::Video };
        for cut in [file.len() - 1, file.len() - 100, file.len() / 2, 30] {
            let msg = err(kind, &file[..cut]);
            assert!(msg.contains("truncated") || msg.contains("no moov box"), "{name} cut at {cut}: {msg}");
        }
    }
    let mp4 = fixture("video_h264_faststart.mp4");
    let moov_at = box_at(&mp4, b"moov");
    let msg = err(Kind::Video, &mp4[..mp4.len() - 10]);
    assert!(msg.ends_with("its 'mdat' box runs past the end of the file (truncated)"), "{msg}");
    // Moov at the end, cut before it: the recording was never finalized.
    let mp4 = fixture("video_h264_moov_end.mp4");
    let moov_at_end = box_at(&mp4, b"moov");
    assert!(moov_at < moov_at_end);
    assert_eq!(
        err(Kind::Video, &mp4[..moov_at_end]),
        "the file looks like an MP4 video but is damaged: no moov box: the file is incomplete or not finalized"
    );
}

#[test]
fn corrupted() {
    // A child box inside moov with a size that overruns its parent.
    let mut mp4 = fixture("video_h264_faststart.mp4");
    let tkhd = find(&mp4, b"tkhd") - 4;
    mp4[tkhd..tkhd + 4].copy_from_slice(&0x0FFF_FFFFu32.to_be_bytes());
    let msg = err(Kind::Video, &mp4);
    assert!(msg.contains("'tkhd' box runs past the end of its parent"), "{msg}");
    // A top-level box with an impossible size.
    let mut mp4 = fixture("video_h264_moov_end.mp4");
    let free = box_at(&mp4, b"free");
    mp4[free..free + 4].copy_from_slice(&3u32.to_be_bytes());
    assert!(err(Kind::Video, &mp4).contains("invalid size"));
    // Junk in place of a box header.
    let mut mov = fixture("video_h264.mov");
    let mdat = box_at(&mov, b"mdat");
    mov[mdat + 4..mdat + 8].copy_from_slice(&[0, 1, 2, 3]);
    assert!(err(Kind::Video, &mov).contains("unreadable box"));
    // No movie header.
    let mut m4a = fixture("audio_aac_stereo.m4a");
    let mvhd = find(&m4a, b"mvhd");
    m4a[mvhd..mvhd + 4].copy_from_slice(b"xxxx");
    assert!(err(Kind::Audio, &m4a).contains("no movie header"));
}

#[test]
fn large_file_reads_little() {
    // Moov at the end, after a 32 MiB mdat (with a 64-bit largesize) that is never read.
    let mp4 = fixture("video_h264_moov_end.mp4");
    let (mdat, moov) = (box_at(&mp4, b"mdat"), box_at(&mp4, b"moov"));
    let payload = &mp4[mdat + 8..moov];
    let extra = 32usize << 20;
    let mut big = mp4[..mdat].to_vec();
    big.extend_from_slice(&1u32.to_be_bytes());
    big.extend_from_slice(b"mdat");
    big.extend_from_slice(&((16 + payload.len() + extra) as u64).to_be_bytes());
    big.extend_from_slice(payload);
    big.resize(big.len() + extra, 0);
    big.extend_from_slice(&mp4[moov..]);
    let counting = CountingSource::new(&big);
    let found = inspect(Format::Mp4, &counting).unwrap_or_else(|_| panic!("rejected"));
    assert_eq!(found.properties.width, Some(64));
    assert!(counting.bytes_read() < 4096, "read {}", counting.bytes_read());
    let expected = (big.len() as f64 * 8.0 / found.properties.duration.unwrap()).round() as u64;
    assert_eq!(found.properties.bitrate, Some(expected));
}

#[test]
fn parsing_a_large_index_stops_at_the_deadline() {
    // 100,000 tracks parsed from memory: no read is left to refuse, so the parsing
    // loops themselves must give up once the deadline has passed.
    let boxed = |kind: &[u8; 4], body: &[u8]| [&(8 + body.len() as u32).to_be_bytes()[..], kind, body].concat();
    let mut moov = boxed(b"mvhd", &[0u8; 100]);
    let trak = boxed(b"trak", &boxed(b"tkhd", &[0u8; 84]));
    for _ in 0..100_000 {
        moov.extend_from_slice(&trak);
    }
    assert_eq!(parse_moov(&moov).unwrap().tracks.len(), 100_000);
    let past = super::super::work::Limits { deadline: Some(std::time::Instant::now()), max_steps: None };
    let (parsed, report) = super::super::work::run(past, || parse_moov(&moov));
    assert!(parsed.is_err() && report.stopped);
    assert!(report.work.steps < 10_000, "{:?}", report.work);
}

#[test]
fn size_zero_box_runs_to_the_end() {
    let mp4 = fixture("video_h264_faststart.mp4");
    let mdat = box_at(&mp4, b"mdat");
    let mut open = mp4.clone();
    open[mdat..mdat + 4].copy_from_slice(&0u32.to_be_bytes());
    open.extend_from_slice(&[7u8; 1000]);
    assert_tiny_h264(&ok(Kind::Video, &open), Format::Mp4);
}

#[test]
fn kind_mismatch() {
    assert_eq!(
        err(Kind::Image, &fixture("video_h264_faststart.mp4")),
        "expected an image (PNG, JPEG, WebP, GIF, AVIF, HEIC, TIFF, BMP, TGA, PSD, OpenEXR or Radiance HDR), found an MP4 video"
    );
    assert_eq!(
        err(Kind::Audio, &fixture("video_h264.mov")),
        "expected audio (WAV, MP3, FLAC, Ogg, M4A, AAC or AIFF), found a QuickTime (MOV) video"
    );
    assert_eq!(
        err(Kind::Video, &fixture("audio_aac_stereo.m4a")),
        "expected a video (MP4, MOV, WebM, MKV, AVI or MPEG-TS), found an M4A audio file"
    );
}

#[test]
fn hostile_inputs_do_not_panic() {
    for name in ["video_h264_faststart.mp4", "video_h264_fragmented.mp4", "audio_aac_stereo.m4a", "video_h264.mov"] {
        let seed = fixture(name);
        let format = sniff(&seed).unwrap();
        for cut in (0..seed.len()).step_by(5) {
            let _ = inspect(format, &seed[..cut].to_vec());
            let _ = sniff(&seed[..cut]);
        }
        let mut state = 0x9E37_79B9u32;
        for _ in 0..500 {
            let mut bytes = seed.clone();
            for _ in 0..3 {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let at = (state as usize >> 3) % bytes.len();
                bytes[at] = (state >> 24) as u8;
            }
            let _ = sniff(&bytes);
            let _ = inspect(format, &bytes);
        }
    }
}
