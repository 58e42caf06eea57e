//! Audio validation: WAV (RIFF/WAVE), MP3 (MPEG-1/2/2.5 Layer III, behind optional ID3v2
//! tags, with Xing/Info/VBRI headers), FLAC, Ogg (Vorbis, Opus, FLAC-in-Ogg), AAC in ADTS
//! frames and AIFF/AIFF-C.
//! M4A is ISO-BMFF and belongs to `bmff.rs`.
//!
//! Each format is parsed from its headers, and where a cut-off file would otherwise pass,
//! from its last bytes: WAV chunk sizes must fit the file, the last MP3 and FLAC frames must
//! end where the file ends (FLAC: checked with the frame's CRC-16), and the last Ogg page
//! must be whole, pass its CRC and carry the end-of-stream flag. ADTS frame headers are
//! walked to the end (see `aac.rs`); AIFF's sound data must fit the file.

mod aac;
mod aiff;
mod flac;
mod mp3;
mod ogg;
mod wav;

use super::{ByteSource, Format, InspectError, Inspection, Rejection};
use mp3::{id3v2_size, MpegHeader, MAX_ZERO_PAD};
use std::io;

/// Recognises WAV, FLAC, Ogg and MP3 from the first bytes.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WAVE" {
        return Some(Format::Wav);
    }
    if head.starts_with(b"fLaC") {
        return Some(Format::Flac);
    }
    if head.len() >= 12 && &head[0..4] == b"FORM" && matches!(&head[8..12], b"AIFF" | b"AIFC") {
        return Some(Format::Aiff);
    }
    if head.len() >= 27 && head.starts_with(b"OggS") && head[4] == 0 && head[5] & 0xF8 == 0 && head[5] & 0x02 != 0 {
        return Some(Format::Ogg);
    }
    // MP3: optional ID3v2 tag(s), then two consecutive consistent Layer III frame headers.
    let mut pos = 0usize;
    let mut tagged = false;
    for _ in 0..8 {
        match id3v2_size(head.get(pos..).unwrap_or(&[])) {
            Some(n) => {
                tagged = true;
                match usize::try_from(n).ok().and_then(|n| pos.checked_add(n)) {
                    Some(p) if p < head.len() => pos = p,
                    // A well-formed ID3v2 header whose tag (cover art, …) outlasts the head:
                    // inspect looks at what follows it.
                    _ => return Some(Format::Mp3),
                }
            }
            None => break,
        }
    }
    if tagged {
        if head[pos..].starts_with(b"fLaC") {
            return Some(Format::Flac);
        }
        let zeros = head[pos..].iter().take(MAX_ZERO_PAD).take_while(|&&b| b == 0).count();
        pos += zeros;
    }
    if aac::sniff_at(head, pos) {
        return Some(Format::Aac);
    }
    let first = MpegHeader::parse(head.get(pos..)?)?;
    let next = pos.checked_add(first.frame_len as usize)?;
    let rest = head.get(next..)?;
    if rest.starts_with(b"TAG") {
        return Some(Format::Mp3);
    }
    let second = MpegHeader::parse(rest)?;
    second.consistent_with(&first).then_some(Format::Mp3)
}

/// Parses a file already sniffed as an audio `format`.
pub fn inspect(format: Format, src: &dyn ByteSource) -> Result<Inspection, InspectError> {
    let properties = match format {
        Format::Wav => wav::inspect_wav(src)?,
        Format::Flac => {
            let start = mp3::skip_id3v2(src)?;
            flac::inspect_flac(src, start, Format::Flac)?
        }
        Format::Mp3 => mp3::inspect_mp3(src)?,
        Format::Ogg => ogg::inspect_ogg(src)?,
        Format::Aac => {
            let start = mp3::skip_id3v2(src)?;
            let lead = super::read_up_to(src, start, MAX_ZERO_PAD)?;
            let zeros = if start > 0 { lead.iter().take_while(|&&b| b == 0).count() } else { 0 };
            aac::inspect_aac(src, start + zeros as u64)?
        }
        Format::Aiff => aiff::inspect_aiff(src)?,
        other => return Err(Rejection(format!("{} is not checked by the audio validator", other.described())).into()),
    };
    Ok(Inspection { properties, weights: None })
}

fn corrupt(format: Format, what: impl std::fmt::Display) -> InspectError {
    Rejection::corrupt(format, what).into()
}

fn eof() -> InspectError {
    InspectError::Io(io::ErrorKind::UnexpectedEof.into())
}

fn u16le(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}
fn u32le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}
fn u64le(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}
fn u16be(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}
fn u24be(b: &[u8]) -> u32 {
    (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2])
}
fn u32be(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Where the audio that starts at `start` ends: before a trailing ID3v1 tag and an APEv2
/// tag, if present (MP3 and FLAC files carry them).
fn audio_end(src: &dyn ByteSource, start: u64, f: Format) -> Result<u64, InspectError> {
    let mut end = src.len();
    if end >= start + 128 && super::read_up_to(src, end - 128, 3)? == b"TAG" {
        end -= 128;
    }
    if end >= start + 32 {
        let footer = super::read_up_to(src, end - 32, 32)?;
        if &footer[0..8] == b"APETAGEX" {
            let size = u64::from(u32le(&footer[12..16]));
            let header = if u32le(&footer[20..24]) & 0x8000_0000 != 0 { 32 } else { 0 };
            match (size + header <= end - start).then(|| end - size - header) {
                Some(e) => end = e,
                None => return Err(corrupt(f, "its APE tag declares more bytes than the file has")),
            }
        }
    }
    Ok(end)
}

/// Bits per second from a byte count and a duration, when both make sense.
fn bitrate_of(bytes: u64, duration: f64) -> Option<u64> {
    (duration > 0.0 && bytes > 0).then(|| (bytes as f64 * 8.0 / duration).round() as u64)
}

#[cfg(test)]
mod testutil {
    use super::super::{validate, ValidateError};
    use super::*;
    use intake_api::{AssetProperties, Kind};

    pub(super) fn check(format: Format, bytes: &[u8]) -> AssetProperties {
        assert_eq!(sniff(bytes), Some(format), "sniff");
        let found = validate(Kind::Audio, &bytes.to_vec()).unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(found.format, format);
        assert_eq!(found.properties.size, bytes.len() as u64);
        found.properties
    }

    pub(super) fn rejected(bytes: &[u8]) -> String {
        match validate(Kind::Audio, &bytes.to_vec()) {
            Err(ValidateError::Rejected(r)) => r.0,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    pub(super) fn close(a: Option<f64>, b: f64, tol: f64) {
        let a = a.expect("a duration");
        assert!((a - b).abs() <= tol, "{a} is not within {tol} of {b}");
    }
}

#[cfg(test)]
mod tests {
    use super::super::{validate, ValidateError};
    use super::*;
    use intake_api::Kind;

    const CBR_MP3: &[u8] = include_bytes!("fixtures/audio_cbr.mp3");
    const FLAC: &[u8] = include_bytes!("fixtures/audio.flac");
    const VORBIS: &[u8] = include_bytes!("fixtures/audio_vorbis.ogg");
    const OPUS: &[u8] = include_bytes!("fixtures/audio_opus.opus");

    /// Every fixture in the shared directory (other modules' too): the audio sniffer claims
    /// exactly the audio files it owns, never an M4A, a WebM, an image, a video or weights.
    #[test]
    fn sniff_claims_only_its_own_fixtures() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/validate/fixtures");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap();
            let head = &bytes[..bytes.len().min(super::super::SNIFF_LEN)];
            let expected = match name.as_str() {
                "audio_cbr.mp3" | "audio_vbr.mp3" => Some(Format::Mp3),
                "audio.flac" => Some(Format::Flac),
                "audio_vorbis.ogg" | "audio_opus.opus" => Some(Format::Ogg),
                "audio_aac.aac" => Some(Format::Aac),
                "audio_s16.aiff" | "audio_sowt.aifc" => Some(Format::Aiff),
                _ => None,
            };
            assert_eq!(sniff(head), expected, "{name}");
            seen += 1;
        }
        assert!(seen >= 5);
    }

    #[test]
    fn hostile_mutations_never_panic() {
        for seed in [CBR_MP3, FLAC, VORBIS, OPUS, &wav::tests::wav(8000, 1, 64)] {
            super::super::test_support::mutate_and_validate(seed, 400);
        }
    }

    #[test]
    fn kind_mismatch_messages() {
        let cases: [(&[u8], &str); 4] = [
            (CBR_MP3, "an MP3 audio file"),
            (FLAC, "a FLAC audio file"),
            (VORBIS, "an Ogg audio file"),
            (OPUS, "an Ogg audio file"),
        ];
        for (bytes, described) in cases {
            match validate(Kind::Image, &bytes.to_vec()) {
                Err(ValidateError::Rejected(r)) => {
                    assert_eq!(r.0, format!("expected an image (PNG, JPEG, WebP, GIF, AVIF, HEIC, TIFF, BMP, TGA, PSD, OpenEXR or Radiance HDR), found {described}"))
                }
                other => panic!("{other:?}"),
            }
        }
        match validate(Kind::ThreeD, &wav::tests::wav(8000, 1, 100)) {
            Err(ValidateError::Rejected(r)) => {
                assert_eq!(r.0, "expected a 3D model (GLB, glTF, OBJ, FBX, USDZ, STL, PLY, COLLADA, 3MF or USD), found a WAV audio file")
            }
            other => panic!("{other:?}"),
        }
    }
}
