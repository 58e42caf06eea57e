//! Matroska and WebM (EBML) videos; AVI (`video/avi.rs`) and MPEG transport streams
//! (`video/mpegts.rs`) are sniffed here and parsed in their own modules.
//!
//! Sniffing parses the EBML header at byte 0: DocType `webm` → WebM, `matroska` → MKV.
//!
//! Inspecting checks the EBML header (versions, ID and size lengths), then walks the
//! top-level elements of the Segment by seeking (variable-length IDs and sizes, unknown
//! sizes): a Segment or element whose declared size runs past the end of the file means the
//! file is truncated. Clusters are skipped by their size, never read; a Cluster of unknown
//! size (a live recording) ends the walk. `Info` (TimestampScale, Duration) and `Tracks`
//! (TrackEntry: TrackType, CodecID, DefaultDuration, Video PixelWidth/PixelHeight, Audio
//! SamplingFrequency/Channels) are read whole (at most [`MAX_MASTER`] bytes) and their
//! CRC-32 element, when present, is checked. A video track with a picture size is required.
//! Codecs are named as ffprobe names them (`vp8`, `vp9`, `av1`, `h264`, `hevc`, `opus`, …).
//! The frame count is not reported: it would take reading every Cluster.

mod avi;
mod mpegts;
mod sps;

use super::work::{step, steps};
use super::{read_exact_at, read_up_to, ByteSource, Format, InspectError, Inspection, Rejection};
use intake_api::AssetProperties;

/// The largest `Info` or `Tracks` element read into memory.
pub const MAX_MASTER: u64 = 16 << 20;
/// The most Segment children walked.
const MAX_ELEMENTS: usize = 200_000;

const EBML: u32 = 0x1A45_DFA3;
const DOC_TYPE: u32 = 0x4282;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const CLUSTER: u32 = 0x1F43_B675;
const VOID: u32 = 0xEC;
const CRC32: u32 = 0xBF;
const TRACK_ENTRY: u32 = 0xAE;

/// Recognises AVI, MPEG-TS, and WebM and Matroska by the DocType of their EBML header.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if avi::sniff(head) {
        return Some(Format::Avi);
    }
    if mpegts::layout(head).is_some() {
        return Some(Format::MpegTs);
    }
    let (id, id_len) = read_id(head)?;
    if id != EBML {
        return None;
    }
    let (size, size_len) = read_size(head.get(id_len..)?)?;
    let start = id_len + size_len;
    let end = start.checked_add(usize::try_from(size?).ok()?)?;
    let doc_type = elements(head.get(start..end)?).ok()?.find(|(id, _)| *id == DOC_TYPE)?.1;
    format_of(doc_type)
}

fn format_of(doc_type: &[u8]) -> Option<Format> {
    match trim_nul(doc_type) {
        b"webm" => Some(Format::Webm),
        b"matroska" => Some(Format::Mkv),
        _ => None,
    }
}

fn trim_nul(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., 0] = s {
        s = rest;
    }
    s
}

/// An element ID (marker bits kept, 1 to 4 bytes) and its length.
fn read_id(b: &[u8]) -> Option<(u32, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 4 {
        return None;
    }
    let bytes = b.get(..len)?;
    Some((bytes.iter().fold(0u32, |v, &x| v << 8 | u32::from(x)), len))
}

/// An element size (None when unknown: all value bits set) and its length (1 to 8 bytes).
fn read_size(b: &[u8]) -> Option<(Option<u64>, usize)> {
    let first = *b.first()?;
    if first == 0 {
        return None;
    }
    let len = first.leading_zeros() as usize + 1;
    let bytes = b.get(..len)?;
    let mask = if len == 8 { 0 } else { 0xFFu8 >> len };
    let value = bytes[1..].iter().fold(u64::from(first & mask), |v, &x| v << 8 | u64::from(x));
    let all_ones = (1u64 << (7 * len)) - 1;
    Some(((value != all_ones).then_some(value), len))
}

/// The child elements of an in-memory master element, as `(id, body)`, once every one of
/// them has been checked to fit. They are walked again rather than collected, so a parent of
/// millions of two-byte elements costs no memory.
fn elements(data: &[u8]) -> Result<Elements<'_>, String> {
    let mut pos = 0;
    while let Some((_, next)) = element_at(data, pos)? {
        step()?;
        pos = next;
    }
    Ok(Elements { data, pos: 0 })
}

/// An element's ID and body.
type ElementRef<'a> = (u32, &'a [u8]);

/// The element at `pos` of `data` and where the next one starts; `None` at the end.
fn element_at(data: &[u8], pos: usize) -> Result<Option<(ElementRef<'_>, usize)>, String> {
    if pos >= data.len() {
        return Ok(None);
    }
    let (id, id_len) =
        read_id(&data[pos..]).ok_or_else(|| format!("an unreadable element ID at byte {pos} of its parent"))?;
    let (size, size_len) = read_size(&data[pos + id_len..])
        .ok_or_else(|| format!("an unreadable element size at byte {pos} of its parent"))?;
    let size = size.ok_or_else(|| format!("element 0x{id:X} has an unknown size where one is required"))?;
    let start = pos + id_len + size_len;
    if size > (data.len() - start) as u64 {
        return Err(format!("element 0x{id:X} runs past the end of its parent"));
    }
    let end = start + size as usize;
    Ok(Some(((id, &data[start..end]), end)))
}

/// The children of a master element that [`elements`] has checked.
struct Elements<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = ElementRef<'a>;

    fn next(&mut self) -> Option<ElementRef<'a>> {
        // Every element was checked by `elements`: no error can come up here.
        let (found, next) = element_at(self.data, self.pos).ok().flatten()?;
        self.pos = next;
        Some(found)
    }
}

fn uint(b: &[u8]) -> Result<u64, String> {
    if b.len() > 8 {
        return Err("an integer element is longer than 8 bytes".into());
    }
    Ok(b.iter().fold(0u64, |v, &x| v << 8 | u64::from(x)))
}

fn float(b: &[u8]) -> Result<f64, String> {
    let v = match b.len() {
        0 => 0.0,
        4 => f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        8 => f64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        n => return Err(format!("a float element is {n} bytes long")),
    };
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err("a float element holds a negative or non-finite value".into())
    }
}

fn element_name(id: u32) -> String {
    match id {
        SEGMENT => "Segment".into(),
        0x114D_9B74 => "SeekHead".into(),
        INFO => "Info".into(),
        TRACKS => "Tracks".into(),
        CLUSTER => "Cluster".into(),
        0x1C53_BB6B => "Cues".into(),
        0x1043_A770 => "Chapters".into(),
        0x1254_C367 => "Tags".into(),
        0x1941_A469 => "Attachments".into(),
        VOID => "Void".into(),
        other => format!("0x{other:X}"),
    }
}

/// An element header read from the source: ID, size (None = unknown), body offset.
fn header_at(src: &dyn ByteSource, pos: u64) -> Result<(u32, Option<u64>, u64), InspectError> {
    let b = read_up_to(src, pos, 12)?;
    // How long a variable-length integer starting with `first` is (0 = invalid).
    let width = |first: u8| first.leading_zeros() as usize + 1;
    let eof = || InspectError::from(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
    let Some(&first) = b.first() else { return Err(eof()) };
    if width(first) > 4 {
        return Err(Rejection(format!("unreadable element ID at byte {pos}")).into());
    }
    let id_len = width(first);
    let Some(&first) = b.get(id_len) else { return Err(eof()) };
    if first == 0 {
        return Err(Rejection(format!("unreadable element size at byte {pos}")).into());
    }
    match (read_id(&b), read_size(&b[id_len..])) {
        (Some((id, id_len)), Some((size, size_len))) => Ok((id, size, pos + (id_len + size_len) as u64)),
        _ => Err(eof()),
    }
}

/// Checks the CRC-32 element that may open a master element's body.
fn check_crc(body: &[u8]) -> Result<(), String> {
    if let Some((CRC32, crc)) = elements(body)?.next() {
        if crc.len() != 4 {
            return Err("a CRC-32 element is not 4 bytes long".into());
        }
        let covered = &body[crc.as_ptr() as usize - body.as_ptr() as usize + 4..];
        steps(covered.len() as u64)?;
        if super::image::crc32(covered) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
            return Err("bad checksum".into());
        }
    }
    Ok(())
}

#[derive(Debug, Default)]
struct TrackInfo {
    kind: u64,
    codec: String,
    default_duration: u64,
    width: u64,
    height: u64,
    sample_rate: f64,
    channels: u64,
}

/// Parses a file already sniffed as WebM, MKV, AVI or MPEG-TS.
pub fn inspect(format: Format, src: &dyn ByteSource) -> Result<Inspection, InspectError> {
    match format {
        Format::Avi => return Ok(Inspection { properties: avi::inspect_avi(src)?, weights: None }),
        Format::MpegTs => return Ok(Inspection { properties: mpegts::inspect_ts(src)?, weights: None }),
        _ => {}
    }
    let corrupt = |what: String| InspectError::from(Rejection::corrupt(format, what));
    let rename = |e: InspectError| match e {
        InspectError::Rejected(Rejection(what)) => corrupt(what),
        other => other,
    };
    let total = src.len();

    // EBML header.
    let (id, size, body) = header_at(src, 0).map_err(rename)?;
    let size = size.filter(|&s| id == EBML && s <= 4096).ok_or_else(|| corrupt("its EBML header is damaged".into()))?;
    let header = read_vec(src, body, size)?;
    let fields = elements(&header).map_err(|e| corrupt(format!("its EBML header is damaged ({e})")))?;
    for (id, value) in fields {
        let bad = match id {
            0x4286 | 0x42F7 => uint(value).map_err(corrupt)? != 1, // EBML (read) version
            0x42F2 => !(1..=4).contains(&uint(value).map_err(corrupt)?), // max ID length
            0x42F3 => !(1..=8).contains(&uint(value).map_err(corrupt)?), // max size length
            DOC_TYPE => format_of(value) != Some(format),
            _ => false,
        };
        if bad {
            return Err(corrupt(format!("its EBML header is damaged (element 0x{id:X})")));
        }
    }

    // The Segment, after any Void elements.
    let mut pos = body + size;
    let (seg_start, seg_end) = loop {
        step()?;
        let (id, size, body) = header_at(src, pos).map_err(rename)?;
        match (id, size) {
            (SEGMENT, None) => break (body, total),
            (SEGMENT, Some(size)) => match body.checked_add(size).filter(|&e| e <= total) {
                Some(end) => break (body, end),
                None => return Err(corrupt("its Segment runs past the end of the file (truncated)".into())),
            },
            (VOID | CRC32, Some(size)) if pos < 4096 => pos = body.saturating_add(size),
            _ => return Err(corrupt("no Segment follows its EBML header".into())),
        }
    };

    // Segment children: read Info and Tracks, skip the rest by size.
    let mut info: Option<Vec<u8>> = None;
    let mut tracks: Option<Vec<u8>> = None;
    let mut pos = seg_start;
    let mut walked = 0;
    while pos < seg_end {
        step()?;
        walked += 1;
        if walked > MAX_ELEMENTS {
            break;
        }
        let (id, size, body) = header_at(src, pos).map_err(rename)?;
        let Some(size) = size else {
            if id == CLUSTER {
                break; // a live recording: clusters up to the end of the file
            }
            return Err(corrupt(format!("its {} element has an unknown size", element_name(id))));
        };
        let end = body.saturating_add(size);
        if end > seg_end {
            let past = if end > total { "the file (truncated)" } else { "its Segment" };
            return Err(corrupt(format!("its {} element runs past the end of {past}", element_name(id))));
        }
        if (id == INFO && info.is_none()) || (id == TRACKS && tracks.is_none()) {
            if size > MAX_MASTER {
                return Err(corrupt(format!(
                    "its {} element is larger than {} MiB",
                    element_name(id),
                    MAX_MASTER >> 20
                )));
            }
            let data = read_vec(src, body, size)?;
            check_crc(&data).map_err(|e| corrupt(format!("{e} in its {} element", element_name(id))))?;
            if id == INFO {
                info = Some(data);
            } else {
                tracks = Some(data);
            }
        }
        pos = end;
    }

    let info = info.ok_or_else(|| corrupt("it has no Info element".into()))?;
    let tracks = tracks.ok_or_else(|| corrupt("it has no Tracks element".into()))?;
    let (mut scale, mut duration) = (1_000_000u64, None);
    for (id, value) in elements(&info).map_err(&corrupt)? {
        match id {
            0x2A_D7B1 => scale = uint(value).map_err(corrupt)?,
            0x4489 => duration = Some(float(value).map_err(corrupt)?),
            _ => {}
        }
    }
    if scale == 0 {
        return Err(corrupt("its TimestampScale is 0".into()));
    }
    let entries = parse_tracks(&tracks).map_err(&corrupt)?;

    let mut p = AssetProperties::default();
    p.duration = duration.map(|d| d * scale as f64 / 1e9).filter(|&d| d > 0.0);
    p.bitrate = p.duration.map(|d| (total as f64 * 8.0 / d).round() as u64);
    if let Some(a) = entries.iter().find(|t| t.kind == 2) {
        p.channels = Some(a.channels);
        p.sample_rate = (a.sample_rate > 0.0).then(|| a.sample_rate.round() as u64);
    }
    let Some(v) = entries.iter().find(|t| t.kind == 1) else {
        let only = if entries.iter().any(|t| t.kind == 2) { " (it holds only sound)" } else { "" };
        return Err(Rejection(format!("the file is {} but has no video track{only}", format.described())).into());
    };
    if v.width == 0 || v.height == 0 {
        return Err(corrupt("its video track has no picture size".into()));
    }
    p.width = Some(v.width);
    p.height = Some(v.height);
    p.codec_name = Some(codec_name(&v.codec));
    p.frame_rate = (v.default_duration > 0).then(|| 1e9 / v.default_duration as f64);
    Ok(Inspection { properties: p, weights: None })
}

fn read_vec(src: &dyn ByteSource, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len as usize];
    read_exact_at(src, offset, &mut buf)?;
    Ok(buf)
}

fn parse_tracks(tracks: &[u8]) -> Result<Vec<TrackInfo>, String> {
    let mut out = Vec::new();
    for (id, entry) in elements(tracks)? {
        if id != TRACK_ENTRY {
            continue;
        }
        let mut t = TrackInfo { channels: 1, ..Default::default() };
        for (id, value) in elements(entry)? {
            match id {
                0x83 => t.kind = uint(value)?,
                0x86 => t.codec = String::from_utf8_lossy(trim_nul(value)).into_owned(),
                0x23_E383 => t.default_duration = uint(value)?,
                0xE0 => {
                    for (id, value) in elements(value)? {
                        match id {
                            0xB0 => t.width = uint(value)?,
                            0xBA => t.height = uint(value)?,
                            _ => {}
                        }
                    }
                }
                0xE1 => {
                    for (id, value) in elements(value)? {
                        match id {
                            0xB5 => t.sample_rate = float(value)?,
                            0x9F => t.channels = uint(value)?,
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        out.push(t);
    }
    Ok(out)
}

/// The ffprobe name of a Matroska CodecID (the CodecID itself when unknown).
fn codec_name(id: &str) -> String {
    let known = match id {
        "V_VP8" => "vp8",
        "V_VP9" => "vp9",
        "V_AV1" => "av1",
        "V_MPEG4/ISO/AVC" => "h264",
        "V_MPEGH/ISO/HEVC" => "hevc",
        "V_THEORA" => "theora",
        "V_MJPEG" => "mjpeg",
        "V_PRORES" => "prores",
        "V_FFV1" => "ffv1",
        "V_MPEG1" => "mpeg1video",
        "V_MPEG2" => "mpeg2video",
        "V_DIRAC" => "dirac",
        "V_QUICKTIME" => "quicktime",
        "V_UNCOMPRESSED" => "rawvideo",
        _ if id.starts_with("V_MPEG4/ISO/") => "mpeg4",
        _ if id.starts_with("V_REAL/") => "rv",
        _ => return id.to_string(),
    };
    known.to_string()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{err, fixture, ok};
    use super::super::{CountingSource, Findings};
    use super::*;
    use intake_api::Kind;

    fn find(bytes: &[u8], what: &[u8]) -> usize {
        bytes.windows(what.len()).position(|w| w == what).unwrap()
    }

    fn assert_tiny(found: &Findings, format: Format, codec: &str) {
        let p = &found.properties;
        assert_eq!(found.format, format);
        assert_eq!((p.width, p.height), (Some(64), Some(48)));
        assert_eq!(p.codec_name.as_deref(), Some(codec));
        assert!(p.duration.is_some_and(|d| (d - 1.0).abs() < 0.01), "{:?}", p.duration);
        assert!(p.frame_rate.is_some_and(|r| (r - 10.0).abs() < 0.001), "{:?}", p.frame_rate);
        assert_eq!(p.bitrate, Some(p.size * 8));
        assert_eq!(p.nb_frames, None);
        assert_eq!(p.format.as_deref(), Some(format.name()));
    }

    #[test]
    fn sniffs_doc_type() {
        assert_eq!(sniff(&fixture("video_vp9.webm")), Some(Format::Webm));
        assert_eq!(sniff(&fixture("video_h264.mkv")), Some(Format::Mkv));
        let mut other = fixture("video_vp9.webm");
        other[24..28].copy_from_slice(b"webx");
        assert_eq!(sniff(&other), None);
        assert_eq!(sniff(&[0x1A, 0x45, 0xDF, 0xA3]), None);
        assert_eq!(sniff(b"\x1aE\xdf\xa3\x84\x42\x82\x81"), None);
        assert_eq!(sniff(b"not ebml"), None);
    }

    #[test]
    fn vint_sizes() {
        assert_eq!(read_size(&[0x81]), Some((Some(1), 1)));
        assert_eq!(read_size(&[0x40, 0x02]), Some((Some(2), 2)));
        assert_eq!(read_size(&[0xFF]), Some((None, 1)));
        assert_eq!(read_size(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), Some((None, 8)));
        assert_eq!(read_size(&[0x01, 0, 0, 0, 0, 0, 0x0B, 0xED]), Some((Some(0xBED), 8)));
        assert_eq!(read_size(&[0x00, 1]), None);
        assert_eq!(read_id(&[0x1A, 0x45, 0xDF, 0xA3]), Some((EBML, 4)));
        assert_eq!(read_id(&[0x08, 0, 0, 0, 0]), None);
    }

    #[test]
    fn webm_vp9() {
        assert_tiny(&ok(Kind::Video, &fixture("video_vp9.webm")), Format::Webm, "vp9");
    }

    #[test]
    fn webm_vp8() {
        assert_tiny(&ok(Kind::Video, &fixture("video_vp8.webm")), Format::Webm, "vp8");
    }

    #[test]
    fn webm_live_unknown_sizes() {
        // Written to a pipe: the Segment has an unknown size.
        let live = fixture("video_vp9_live.webm");
        assert_tiny(&ok(Kind::Video, &live), Format::Webm, "vp9");
        // A Cluster of unknown size (as browsers record) ends the walk.
        let mut open = live.clone();
        let cluster = find(&open, &[0x1F, 0x43, 0xB6, 0x75]);
        assert_eq!(open[cluster + 4..cluster + 6], [0x4A, 0x21]);
        open[cluster + 4..cluster + 6].copy_from_slice(&[0x7F, 0xFF]);
        assert_tiny(&ok(Kind::Video, &open), Format::Webm, "vp9");
        // A known-size Cluster cut short in an unknown-size Segment is truncation.
        let msg = err(Kind::Video, &live[..live.len() - 100]);
        assert!(msg.ends_with("its Cluster element runs past the end of the file (truncated)"), "{msg}");
    }

    #[test]
    fn mkv_h264() {
        assert_tiny(&ok(Kind::Video, &fixture("video_h264.mkv")), Format::Mkv, "h264");
    }

    #[test]
    fn truncated() {
        for name in ["video_vp9.webm", "video_vp8.webm", "video_h264.mkv"] {
            let file = fixture(name);
            for cut in [file.len() - 1, file.len() / 2, 300, 44] {
                let msg = err(Kind::Video, &file[..cut]);
                assert!(msg.contains("truncated"), "{name} cut at {cut}: {msg}");
            }
            // Cut inside the EBML header: sniffing fails, inspecting says truncated.
            let cut = inspect(sniff(&file).unwrap(), &file[..20].to_vec());
            assert!(matches!(cut, Err(InspectError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof));
            assert_eq!(
                err(Kind::Video, &file[..file.len() - 1]),
                format!(
                    "the file looks like {} but is damaged: its Segment runs past the end of the file (truncated)",
                    sniff(&file).unwrap().described()
                )
            );
        }
    }

    #[test]
    fn corrupted() {
        // A damaged byte in the Tracks element of an MKV: its CRC-32 no longer matches.
        let mut mkv = fixture("video_h264.mkv");
        let codec = find(&mkv, b"V_MPEG4/ISO/AVC");
        mkv[codec + 2] = b'N';
        assert_eq!(
            err(Kind::Video, &mkv),
            "the file looks like a Matroska (MKV) video but is damaged: bad checksum in its Tracks element"
        );
        // An element ID that is not a valid variable-length integer.
        let mut webm = fixture("video_vp9.webm");
        let info = webm.windows(4).rposition(|w| w == [0x15, 0x49, 0xA9, 0x66]).unwrap(); // not the SeekHead's copy
        assert_eq!(info, 209);
        webm[info] = 0x00;
        assert_eq!(
            err(Kind::Video, &webm),
            format!("the file looks like a WebM video but is damaged: unreadable element ID at byte {info}")
        );
        // An element that overruns its parent inside Tracks.
        let mut webm = fixture("video_vp9.webm");
        let video = find(&webm, &[0xE0, 0x94, 0xB0]);
        webm[video + 1] = 0xB0;
        assert!(err(Kind::Video, &webm).contains("runs past the end of its parent"));
        // A broken EBML header.
        let mut webm = fixture("video_vp9.webm");
        webm[20] = 9; // EBMLMaxSizeLength
        assert!(err(Kind::Video, &webm).contains("its EBML header is damaged"));
        // No picture size.
        let mut webm = fixture("video_vp9.webm");
        let width = find(&webm, &[0xB0, 0x81, 0x40]);
        webm[width + 2] = 0;
        assert!(err(Kind::Video, &webm).ends_with("its video track has no picture size"));
    }

    #[test]
    fn sound_only_webm_has_no_video_track() {
        assert_eq!(
            err(Kind::Video, &fixture("audio_opus_only.webm")),
            "the file is a WebM video but has no video track (it holds only sound)"
        );
    }

    #[test]
    fn large_file_reads_little() {
        // A 32 MiB Cluster (made of one Void element) before the real one, never read.
        let webm = fixture("video_vp9.webm");
        let cluster = find(&webm, &[0x1F, 0x43, 0xB6, 0x75]);
        let pad = 32u64 << 20;
        let mut big = webm[..cluster].to_vec();
        big.extend_from_slice(&[0x1F, 0x43, 0xB6, 0x75, 0x01]);
        big.extend_from_slice(&(pad + 9).to_be_bytes()[1..]);
        big.extend_from_slice(&[0xEC, 0x01]);
        big.extend_from_slice(&pad.to_be_bytes()[1..]);
        big.resize(big.len() + pad as usize, 0);
        big.extend_from_slice(&webm[cluster..]);
        let segment_size = (big.len() - 48) as u64;
        big[40] = 0x01;
        big[41..48].copy_from_slice(&segment_size.to_be_bytes()[1..]);
        let counting = CountingSource::new(&big);
        let found = inspect(Format::Webm, &counting).unwrap_or_else(|_| panic!("rejected"));
        assert_eq!(found.properties.width, Some(64));
        assert!(counting.bytes_read() < 4096, "read {}", counting.bytes_read());
    }

    #[test]
    fn kind_mismatch() {
        assert_eq!(
            err(Kind::Image, &fixture("video_vp9.webm")),
            "expected an image (PNG, JPEG, WebP, GIF, AVIF, HEIC, TIFF, BMP, TGA, PSD, OpenEXR or Radiance HDR), found a WebM video"
        );
        assert_eq!(
            err(Kind::Audio, &fixture("video_h264.mkv")),
            "expected audio (WAV, MP3, FLAC, Ogg, M4A, AAC or AIFF), found a Matroska (MKV) video"
        );
        assert_eq!(err(Kind::Text, &fixture("video_vp8.webm")), "expected UTF-8 text, found a WebM video");
    }

    #[test]
    fn hostile_inputs_do_not_panic() {
        for name in ["video_vp9.webm", "video_h264.mkv", "video_vp9_live.webm"] {
            let seed = fixture(name);
            let format = sniff(&seed).unwrap();
            for cut in (0..seed.len()).step_by(3) {
                let _ = inspect(format, &seed[..cut].to_vec());
                let _ = sniff(&seed[..cut]);
            }
            let mut state = 0x2545_F491u32;
            for _ in 0..500 {
                let mut bytes = seed.clone();
                for _ in 0..3 {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let at = (state as usize >> 4) % bytes.len();
                    bytes[at] = (state >> 24) as u8;
                }
                let _ = sniff(&bytes);
                let _ = inspect(format, &bytes);
            }
        }
    }
}
