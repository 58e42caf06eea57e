//! Audio and video formats walked chunk by chunk or frame by frame: an ADTS stream of the
//! smallest frames (every header is walked), an AIFF of many chunks before its sound, an AVI
//! of many chunks and OpenDML extension forms, and an MPEG-TS whose packets all open video
//! PES packets with timestamps (its head and tail are read whole, the rest sampled).

use super::{accepted, assert_linear};
use crate::validate::test_support::fixture;
use intake_api::Kind;

/// `n` ADTS frames of 7 bytes (a header and no data), 48 kHz stereo.
fn worst_adts(n: usize) -> Vec<u8> {
    let frame = [0xFF, 0xF1, 0x4C, 0x80, 0x00, 0xFF, 0xFC];
    frame.repeat(n)
}

#[test]
fn an_adts_stream_of_tiny_frames_takes_linear_work() {
    let [small, _] = assert_linear("adts of 7-byte frames", Kind::Audio, 200_000, worst_adts, |result| {
        accepted(result);
        assert!(result.as_ref().unwrap().properties.nb_frames.is_some_and(|n| n >= 200_000));
    });
    // Every frame is walked (a step each), its header read through 64 KiB windows.
    assert!(small.steps >= 200_000 && small.reads < 1_000, "{small:?}");
}

/// The AIFF fixture with `n` empty `APPL` chunks before its COMM chunk.
fn worst_aiff(n: usize) -> Vec<u8> {
    let aiff = fixture("audio_s16.aiff");
    let mut out = aiff[..12].to_vec();
    for _ in 0..n {
        out.extend_from_slice(b"APPL\0\0\0\0");
    }
    out.extend_from_slice(&aiff[12..]);
    let form = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&form.to_be_bytes());
    out
}

#[test]
fn an_aiff_of_many_chunks_takes_linear_work() {
    assert_linear("aiff of many chunks", Kind::Audio, 4_000, worst_aiff, accepted);
}

/// The AVI fixture with `n` JUNK chunks before its movi list and `n` empty AVIX forms after.
fn worst_avi(n: usize) -> Vec<u8> {
    let avi = fixture("video_mpeg4.avi");
    let movi = avi.windows(4).position(|w| w == b"movi").unwrap() - 8;
    let mut out = avi[..movi].to_vec();
    for _ in 0..n {
        out.extend_from_slice(b"JUNK\x04\0\0\0junk");
    }
    out.extend_from_slice(&avi[movi..]);
    let riff = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    for _ in 0..n {
        out.extend_from_slice(b"RIFF\x04\0\0\0AVIX");
    }
    out
}

#[test]
fn an_avi_of_many_chunks_and_forms_takes_linear_work() {
    let [small, _] = assert_linear("avi chunks and AVIX forms", Kind::Video, 20_000, worst_avi, accepted);
    assert!(small.reads >= 40_000, "{small:?}");
}

/// The TS fixture's tables, then `n` packets each opening a video PES packet with a PTS,
/// then the fixture again (for its last timestamps).
fn worst_ts(n: usize) -> Vec<u8> {
    let ts = fixture("video_h264_aac.ts");
    let mut out = ts[..3 * 188].to_vec();
    let mut p = [0xFFu8; 188];
    p[..4].copy_from_slice(&[0x47, 0x41, 0x00, 0x10]);
    p[4..18].copy_from_slice(&[0, 0, 1, 0xE0, 0, 0, 0x80, 0x80, 5, 0x21, 0, 0x01, 0, 0x01]);
    for i in 0..n {
        p[17] = (i as u8) << 1 | 1;
        out.extend_from_slice(&p);
    }
    out.extend_from_slice(&ts);
    out
}

#[test]
fn a_ts_of_timestamped_packets_takes_linear_work() {
    assert_linear("ts of PES packets", Kind::Video, 20_000, worst_ts, accepted);
}
