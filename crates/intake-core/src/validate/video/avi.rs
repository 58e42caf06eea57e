//! AVI: a RIFF file of form `AVI `, little-endian, with OpenDML (AVI 2.0) `RIFF AVIX`
//! extensions after it for files over 1 GiB.
//!
//! What is read: the chunk headers of the top level (the `RIFF AVI ` form and every `AVIX`
//! form after it) and of the first form's children, by seeking, at most [`MAX_CHUNKS`] in
//! all, each one [`step`]; and the `hdrl` list, whole (at most [`MAX_HDRL`] bytes). The
//! `movi` list (the frames) and `idx1` are never read, but their declared sizes, like every
//! chunk's, must lie inside the file: one that runs past its end means the file was cut off.
//!
//! `hdrl/avih` gives the frame count, microseconds per frame and picture size; each
//! `hdrl/strl` gives a stream header (`strh`: type, scale, rate, length) and format (`strf`:
//! a BITMAPINFOHEADER, whose compression four-cc is the video codec, or a WAVEFORMATEX).
//! The video stream's `strh` length over its rate/scale is the duration when present (the
//! `avih` count only covers the first RIFF form; OpenDML's `odml/dmlh` gives the real total),
//! otherwise frames × µs per frame. A video stream with a picture size is required.

use super::super::work::step;
use super::super::{read_exact_at, read_up_to, ByteSource, Format, InspectError, Rejection};
use intake_api::AssetProperties;

const F: Format = Format::Avi;

/// The most chunk headers walked, top level and first form together.
const MAX_CHUNKS: usize = 100_000;
/// The largest `hdrl` list read into memory.
const MAX_HDRL: u64 = 1 << 20;
/// The most streams looked at in `hdrl`.
const MAX_STREAMS: usize = 64;

fn corrupt(what: impl std::fmt::Display) -> InspectError {
    Rejection::corrupt(F, what).into()
}

fn u16le(b: &[u8]) -> u64 {
    u64::from(u16::from_le_bytes([b[0], b[1]]))
}
fn u32le(b: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}
fn name(id: &[u8]) -> String {
    id.iter().map(|&c| if c.is_ascii_graphic() || c == b' ' { c as char } else { '?' }).collect()
}

/// Recognises an AVI's RIFF header.
pub(super) fn sniff(head: &[u8]) -> bool {
    head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"AVI "
}

/// A chunk's id and body.
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// The chunks of an in-memory list body, as `(id, body)`; a chunk that runs past the list
/// is an error.
fn chunks(data: &[u8]) -> Result<Vec<Chunk<'_>>, InspectError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 8 <= data.len() {
        step()?;
        let id = [data[pos], data[pos + 1], data[pos + 2], data[pos + 3]];
        let size = u32le(&data[pos + 4..pos + 8]) as usize;
        let body = pos + 8;
        if size > data.len() - body {
            return Err(corrupt(format!("its {:?} chunk runs past the end of the header list", name(&id))));
        }
        out.push((id, &data[body..body + size]));
        pos = body + size + (size & 1);
    }
    Ok(out)
}

/// What a `strl` list says about one stream.
#[derive(Debug, Default)]
struct Stream {
    kind: [u8; 4],
    handler: [u8; 4],
    scale: u64,
    rate: u64,
    length: u64,
    /// The BITMAPINFOHEADER's compression four-cc.
    compression: [u8; 4],
    width: u64,
    height: u64,
    channels: u64,
    sample_rate: u64,
}

fn parse_strl(strl: &[u8]) -> Result<Stream, InspectError> {
    let mut s = Stream::default();
    for (id, body) in chunks(strl)? {
        match &id {
            b"strh" => {
                if body.len() < 36 {
                    return Err(corrupt("a stream header (strh) is too short"));
                }
                s.kind.copy_from_slice(&body[0..4]);
                s.handler.copy_from_slice(&body[4..8]);
                s.scale = u32le(&body[20..24]);
                s.rate = u32le(&body[24..28]);
                s.length = u32le(&body[32..36]);
            }
            b"strf" if &s.kind == b"vids" && body.len() >= 20 => {
                s.width = u32le(&body[4..8]);
                // Negative for top-down pictures.
                s.height = u64::from(i32::from_le_bytes([body[8], body[9], body[10], body[11]]).unsigned_abs());
                s.compression.copy_from_slice(&body[16..20]);
            }
            b"strf" if &s.kind == b"auds" && body.len() >= 8 => {
                s.channels = u16le(&body[2..4]);
                s.sample_rate = u32le(&body[4..8]);
            }
            _ => {}
        }
    }
    Ok(s)
}

/// The ffprobe name of a video four-cc (the four-cc itself, lower-cased, when unknown).
fn video_codec(fourcc: &[u8; 4]) -> String {
    let upper: Vec<u8> = fourcc.iter().map(u8::to_ascii_uppercase).collect();
    let known = match upper.as_slice() {
        b"FMP4" | b"XVID" | b"DIVX" | b"DX50" | b"MP4V" | b"M4S2" | b"3IV2" => "mpeg4",
        b"MJPG" | b"AVRN" | b"LJPG" | b"JPGL" => "mjpeg",
        b"H264" | b"X264" | b"AVC1" | b"DAVC" => "h264",
        b"HEVC" | b"H265" | b"HVC1" => "hevc",
        b"MPG1" => "mpeg1video",
        b"MPG2" | b"MPEG" => "mpeg2video",
        b"DIV3" | b"MP43" => "msmpeg4v3",
        b"MP42" => "msmpeg4v2",
        b"WMV1" => "wmv1",
        b"WMV2" => "wmv2",
        b"WMV3" => "wmv3",
        b"WVC1" => "vc1",
        b"VP80" => "vp8",
        b"VP90" => "vp9",
        b"AV01" => "av1",
        b"CVID" => "cinepak",
        b"HFYU" => "huffyuv",
        b"FFV1" => "ffv1",
        b"DVSD" => "dvvideo",
        b"MSVC" | b"CRAM" => "msvideo1",
        b"\0\0\0\0" | b"RAW " | b"DIB " => "rawvideo",
        _ => return name(fourcc).trim().to_ascii_lowercase(),
    };
    known.to_string()
}

pub(super) fn inspect_avi(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let total = src.len();
    let mut head = [0u8; 12];
    read_exact_at(src, 0, &mut head)?;
    let riff_end = 8 + u32le(&head[4..8]);
    if riff_end < 12 {
        return Err(corrupt("the RIFF header declares an impossible size"));
    }
    if riff_end > total {
        return Err(corrupt(format!(
            "the RIFF header declares {riff_end} bytes but the file has only {total} (truncated)"
        )));
    }

    // The first form's children: hdrl (read), movi and idx1 (sizes checked).
    let mut walked = 0usize;
    let mut count = || {
        walked += 1;
        if walked > MAX_CHUNKS {
            return Err(corrupt(format!("it holds more than {MAX_CHUNKS} chunks")));
        }
        step().map_err(InspectError::from)
    };
    let mut hdrl: Option<Vec<u8>> = None;
    let mut movi = false;
    let mut pos = 12u64;
    while pos + 8 <= riff_end {
        count()?;
        let h = read_up_to(src, pos, 12)?;
        let n = h.len();
        let size = u32le(&h[4..8]);
        let end = pos + 8 + size;
        let id = [h[0], h[1], h[2], h[3]];
        let list = if &id == b"LIST" && n >= 12 { Some([h[8], h[9], h[10], h[11]]) } else { None };
        let what = match &list {
            Some(l) => format!("{:?} list", name(l)),
            None => format!("{:?} chunk", name(&id)),
        };
        if end > riff_end {
            return Err(corrupt(format!("its {what} declares {size} bytes but the file ends before them (truncated)")));
        }
        match list.as_ref() {
            Some(b"hdrl") if hdrl.is_none() => {
                if size > MAX_HDRL {
                    return Err(Rejection(format!(
                        "the file's header list (hdrl) is {size} bytes, more than intake reads ({MAX_HDRL})"
                    ))
                    .into());
                }
                let mut body = vec![0u8; size.saturating_sub(4) as usize];
                read_exact_at(src, pos + 12, &mut body)?;
                hdrl = Some(body);
            }
            Some(b"movi") => movi = true,
            _ => {}
        }
        pos = end + (size & 1);
    }
    let hdrl = hdrl.ok_or_else(|| corrupt("it has no header list (hdrl)"))?;
    if !movi {
        return Err(corrupt("it has no movi list: the file holds no frames"));
    }

    // OpenDML: further RIFF AVIX forms, each of which must fit in the file.
    let mut pos = riff_end + (riff_end & 1);
    while pos + 12 <= total {
        count()?;
        let mut h = [0u8; 12];
        read_exact_at(src, pos, &mut h)?;
        if &h[0..4] != b"RIFF" {
            break; // trailing junk after the last form: tolerated, as players do
        }
        let end = pos + 8 + u32le(&h[4..8]);
        if end > total {
            return Err(corrupt(format!(
                "its {:?} extension form declares {} bytes but the file ends before them (truncated)",
                name(&h[8..12]),
                end - pos - 8
            )));
        }
        pos = end + (end & 1);
    }

    // The header list.
    let mut avih: Option<&[u8]> = None;
    let mut streams = Vec::new();
    let mut odml_frames = None;
    for (id, body) in chunks(&hdrl)? {
        match &id {
            b"avih" => avih = Some(body),
            b"LIST" if body.len() >= 4 && &body[0..4] == b"strl" && streams.len() < MAX_STREAMS => {
                streams.push(parse_strl(&body[4..])?)
            }
            b"LIST" if body.len() >= 4 && &body[0..4] == b"odml" => {
                for (id, dmlh) in chunks(&body[4..])? {
                    if &id == b"dmlh" && dmlh.len() >= 4 {
                        odml_frames = Some(u32le(&dmlh[0..4])).filter(|&n| n > 0);
                    }
                }
            }
            _ => {}
        }
    }
    let avih = avih.ok_or_else(|| corrupt("its header list has no main header (avih)"))?;
    if avih.len() < 40 {
        return Err(corrupt("its main header (avih) is too short"));
    }
    let us_per_frame = u32le(&avih[0..4]);
    let avih_frames = u32le(&avih[16..20]);
    let (avih_width, avih_height) = (u32le(&avih[32..36]), u32le(&avih[36..40]));

    let video = streams.iter().find(|s| &s.kind == b"vids");
    let audio = streams.iter().find(|s| &s.kind == b"auds");
    let Some(video) = video else {
        let only = if audio.is_some() { " (it holds only sound)" } else { "" };
        return Err(Rejection(format!("the file is {} but has no video stream{only}", F.described())).into());
    };
    let width = if video.width > 0 { video.width } else { avih_width };
    let height = if video.height > 0 { video.height } else { avih_height };
    if width == 0 || height == 0 {
        return Err(corrupt("its video stream has no picture size"));
    }
    let frames = odml_frames.or(Some(video.length).filter(|&n| n > 0)).unwrap_or(avih_frames);
    let frame_rate = if video.rate > 0 && video.scale > 0 {
        Some(video.rate as f64 / video.scale as f64)
    } else if us_per_frame > 0 {
        Some(1e6 / us_per_frame as f64)
    } else {
        None
    };
    let duration = frame_rate.filter(|_| frames > 0).map(|fps| frames as f64 / fps);
    let codec = if video.compression != [0; 4] || video.handler == [0; 4] {
        video_codec(&video.compression)
    } else {
        video_codec(&video.handler)
    };
    Ok(AssetProperties {
        width: Some(width),
        height: Some(height),
        codec_name: Some(codec),
        duration,
        frame_rate,
        nb_frames: (frames > 0).then_some(frames),
        bitrate: duration.filter(|&d| d > 0.0).map(|d| (total as f64 * 8.0 / d).round() as u64),
        sample_rate: audio.map(|a| a.sample_rate).filter(|&r| r > 0),
        channels: audio.map(|a| a.channels).filter(|&c| c > 0),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{err, fixture, ok};
    use super::super::super::CountingSource;
    use super::*;
    use intake_api::Kind;

    fn find(bytes: &[u8], what: &[u8]) -> usize {
        bytes.windows(what.len()).position(|w| w == what).unwrap()
    }

    fn near(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn avi_mpeg4_and_mjpeg() {
        for (name, codec, frames) in [("video_mpeg4.avi", "mpeg4", 10), ("video_mjpeg.avi", "mjpeg", 5)] {
            let found = ok(Kind::Video, &fixture(name));
            let p = &found.properties;
            assert_eq!(found.format, Format::Avi, "{name}");
            assert_eq!(p.format.as_deref(), Some("avi"));
            assert_eq!(p.codec_name.as_deref(), Some(codec), "{name}");
            assert_eq!((p.width, p.height), (Some(64), Some(48)), "{name}");
            assert!(near(p.frame_rate, 10.0), "{name}: {:?}", p.frame_rate);
            assert_eq!(p.nb_frames, Some(frames), "{name}");
            assert!(near(p.duration, frames as f64 / 10.0), "{name}: {:?}", p.duration);
        }
    }

    #[test]
    fn avi_truncated_and_lying() {
        let avi = fixture("video_mpeg4.avi");
        let msg = err(Kind::Video, &avi[..avi.len() - 50]);
        assert!(msg.contains("AVI") && msg.contains("truncated"), "{msg}");
        // RIFF size patched to the cut file: the movi list's own size now lies.
        let movi = find(&avi, b"movi") - 8;
        let mut cut = avi[..movi + 300].to_vec();
        let riff = (cut.len() - 8) as u32;
        cut[4..8].copy_from_slice(&riff.to_le_bytes());
        let msg = err(Kind::Video, &cut);
        assert!(msg.contains("\"movi\" list declares") && msg.contains("truncated"), "{msg}");
        // No video stream header: the stream is called sound.
        let mut sound = avi.clone();
        let vids = find(&sound, b"vids");
        sound[vids..vids + 4].copy_from_slice(b"auds");
        let msg = err(Kind::Video, &sound);
        assert_eq!(msg, "the file is an AVI video but has no video stream (it holds only sound)");
        // A RIFF AVIX extension that runs past the end.
        let mut ext = avi.clone();
        ext.extend_from_slice(b"RIFF\xff\xff\0\0AVIXLIST");
        let msg = err(Kind::Video, &ext);
        assert!(msg.contains("\"AVIX\" extension form declares 65535 bytes"), "{msg}");
    }

    #[test]
    fn avi_extension_forms_are_walked() {
        let mut avi = fixture("video_mpeg4.avi");
        for _ in 0..3 {
            avi.extend_from_slice(b"RIFF\x0c\0\0\0AVIXLIST\0\0\0\0");
        }
        assert_eq!(ok(Kind::Video, &avi).properties.nb_frames, Some(10));
    }

    #[test]
    fn avi_large_reads_little() {
        // 64 MiB of frames in movi, declared and present.
        let avi = fixture("video_mpeg4.avi");
        let movi = find(&avi, b"movi") - 8;
        let mut big = avi[..movi].to_vec();
        let body = 64u32 << 20;
        big.extend_from_slice(b"LIST");
        big.extend_from_slice(&(body + 4).to_le_bytes());
        big.extend_from_slice(b"movi");
        big.resize(big.len() + body as usize, 0);
        let riff = (big.len() - 8) as u32;
        big[4..8].copy_from_slice(&riff.to_le_bytes());
        let counting = CountingSource::new(&big);
        let p = inspect_avi(&counting).unwrap();
        assert_eq!((p.width, p.height), (Some(64), Some(48)));
        assert!(counting.bytes_read() < 16 * 1024, "read {}", counting.bytes_read());
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        super::super::super::test_support::mutate_and_validate(&fixture("video_mpeg4.avi"), 400);
    }
}
