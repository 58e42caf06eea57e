//! ISO Base Media File Format (ISO/IEC 14496-12) files: MP4, QuickTime MOV and M4A.
//!
//! Sniffing reads the `ftyp` box (major and compatible brands): `qt  ` → MOV, `M4A `/`M4B `/
//! `M4P ` → M4A, ISO/3GPP/DASH brands → MP4; HEIF/AVIF still-image brands are left alone
//! (`image::heif` claims them first). Its box reader ([`boxes`], [`child`]) serves HEIF too.
//! A brand-less QuickTime file starting with `moov`, `mdat`, `free`, `skip`, `wide` or
//! `pnot` is a MOV. When the `moov` box lies in the first bytes, its tracks decide between
//! video and sound: an ISO file with only a sound track is an M4A.
//!
//! Inspecting walks the top-level boxes by seeking (32-bit sizes, 64-bit `largesize`, size 0
//! = to the end of the file), never reading `mdat`; a box that runs past the end of the file
//! means the file is truncated. `moov` (wherever it is, often at the end) is required and read
//! whole (at most [`MAX_MOOV`] bytes): `mvhd` gives the duration; each `trak` gives `tkhd`
//! size, `mdia/hdlr` handler (`vide`/`soun`), `mdia/mdhd` time scale and duration, and from
//! `minf/stbl`: the first `stsd` sample entry (codec, picture size, channels, sample rate,
//! `esds` object type, ALAC magic cookie) and `stts` (frame count, frame rate). Fragmented
//! files (`mvex`) have their `moof/traf/trun` sample counts and durations added up. Codecs
//! are named as ffprobe names them: `h264`, `hevc`, `vp9`, `av1`, `aac`, `mp3`, `opus`,
//! `alac`, ….
//!
//! MP4 and MOV need a video track; M4A needs a sound track. Edit lists are not applied.
//!
//! The work is linear in the bytes read: each box is parsed a bounded number of times, and
//! `trex` and `traf` boxes find their track through a map keyed by track id (not by
//! scanning every track, which made a file of many tracks and fragments quadratic).

use std::collections::HashMap;

use super::work::{step, steps};
use super::{read_exact_at, read_up_to, ByteSource, Format, InspectError, Inspection, Rejection};
use intake_api::AssetProperties;

/// The largest `moov` box read into memory.
pub const MAX_MOOV: u64 = 64 << 20;
/// The most top-level boxes walked.
const MAX_TOP_BOXES: usize = 100_000;
/// The most bytes of `moof` boxes read to add up fragment durations.
const MAX_MOOF_BYTES: u64 = 16 << 20;

const ISO_BRANDS: &[&[u8; 4]] = &[
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41", b"mp42", b"mp71",
    b"avc1", b"av01", b"dash", b"msdh", b"msix", b"cmfc", b"cmff", b"cmf2", b"3gp4", b"3gp5", b"3gp6", b"3gp7",
    b"3gp8", b"3gp9", b"3g2a", b"3g2b", b"3g2c", b"3ge6", b"3ge7", b"3gg6", b"M4V ", b"M4VH", b"M4VP", b"f4v ",
    b"XAVC", b"MSNV", b"NDAS", b"mmp4", b"dby1", b"CAEP",
];
const AUDIO_BRANDS: &[&[u8; 4]] = &[b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "];
pub(super) const IMAGE_BRANDS: &[&[u8; 4]] =
    &[b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis", b"crx ", b"jpeg"];
const QT_FIRST_BOXES: &[&[u8; 4]] = &[b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"];

fn be16(b: &[u8]) -> u64 {
    u64::from(u16::from_be_bytes([b[0], b[1]]))
}
pub(super) fn be32(b: &[u8]) -> u64 {
    u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}
fn be64(b: &[u8]) -> u64 {
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}
pub(super) fn fourcc(b: &[u8]) -> [u8; 4] {
    [b[0], b[1], b[2], b[3]]
}
pub(super) fn name(t: &[u8; 4]) -> String {
    t.iter().map(|&c| if c.is_ascii_graphic() || c == b' ' { c as char } else { '?' }).collect()
}

/// Recognises MP4, MOV and M4A from the first bytes.
pub fn sniff(head: &[u8]) -> Option<Format> {
    let by_brand = sniff_brands(head).or_else(|| sniff_quicktime(head))?;
    // When `moov` is in the head, its tracks say whether this is sound only.
    if by_brand != Format::M4a {
        if let Some((video, audio)) = tracks_in_head(head) {
            if !video && audio {
                return Some(Format::M4a);
            }
        }
    }
    Some(by_brand)
}

fn sniff_brands(head: &[u8]) -> Option<Format> {
    if head.len() < 16 || &head[4..8] != b"ftyp" {
        return None;
    }
    let size = be32(&head[0..4]) as usize;
    if size < 16 || !size.is_multiple_of(4) {
        return None;
    }
    let major = fourcc(&head[8..12]);
    let compatible: Vec<[u8; 4]> = head[16..size.min(head.len())].chunks_exact(4).map(fourcc).collect();
    let has = |list: &[&[u8; 4]], b: &[u8; 4]| list.contains(&b);
    let classify = |b: &[u8; 4]| -> Option<Format> {
        if b == b"qt  " {
            Some(Format::Mov)
        } else if has(AUDIO_BRANDS, b) {
            Some(Format::M4a)
        } else if has(ISO_BRANDS, b) {
            Some(Format::Mp4)
        } else {
            None
        }
    };
    if has(IMAGE_BRANDS, &major) {
        return None;
    }
    match classify(&major) {
        Some(Format::Mp4) if compatible.iter().any(|b| has(AUDIO_BRANDS, b)) => Some(Format::M4a),
        Some(f) => Some(f),
        None => {
            if compatible.iter().any(|b| has(IMAGE_BRANDS, b)) {
                return None;
            }
            let found: Vec<Format> = compatible.iter().filter_map(classify).collect();
            [Format::Mov, Format::M4a, Format::Mp4].into_iter().find(|f| found.contains(f))
        }
    }
}

/// A brand-less QuickTime file: a chain of known top-level boxes from byte 0.
fn sniff_quicktime(head: &[u8]) -> Option<Format> {
    let mut pos = 0usize;
    for _ in 0..4 {
        if pos + 16 > head.len() {
            return (pos > 0).then_some(Format::Mov);
        }
        let size = be32(&head[pos..pos + 4]);
        let kind = fourcc(&head[pos + 4..pos + 8]);
        if !QT_FIRST_BOXES.iter().any(|b| **b == kind) {
            return (pos > 0 && (&kind == b"ftyp" || &kind == b"uuid")).then_some(Format::Mov);
        }
        match &kind {
            b"moov" => {
                return (size >= 16 && matches!(&head[pos + 12..pos + 16], b"mvhd" | b"cmov")).then_some(Format::Mov)
            }
            b"mdat" => {
                let printable = head[pos..pos + 4].iter().all(|c| c.is_ascii_graphic() || *c == b' ');
                return (!printable && (size == 0 || size == 1 || size >= 8)).then_some(Format::Mov);
            }
            _ => {
                if !(8..1 << 20).contains(&size) {
                    return None;
                }
                pos += size as usize;
            }
        }
    }
    None
}

/// `(has video, has sound)` when a complete `moov` box lies in `head`.
fn tracks_in_head(head: &[u8]) -> Option<(bool, bool)> {
    // Top-level boxes up to the first one that does not end inside the head.
    let mut pos = 0usize;
    let moov = loop {
        let hdr = head.get(pos..pos + 8)?;
        let size = be32(&hdr[0..4]) as usize;
        if size < 8 || size > head.len() - pos {
            return None;
        }
        if &hdr[4..8] == b"moov" {
            break &head[pos + 8..pos + size];
        }
        pos += size;
    };
    let (mut video, mut audio) = (false, false);
    for (t, trak) in boxes(moov).ok()? {
        if &t != b"trak" {
            continue;
        }
        let handler = child(trak, b"mdia").ok()?.and_then(|m| child(m, b"hdlr").ok().flatten());
        match handler.filter(|h| h.len() >= 12).map(|h| fourcc(&h[8..12])) {
            Some(h) if &h == b"vide" => video = true,
            Some(h) if &h == b"soun" => audio = true,
            _ => {}
        }
    }
    Some((video, audio))
}

/// A box type and body.
pub(super) type BoxRef<'a> = ([u8; 4], &'a [u8]);

/// The boxes in `data`, as `(type, body)`, once every one of them has been checked to fit:
/// a box that runs past `data` is an error whichever box the caller looks for. They are
/// walked again rather than collected, so a parent of millions of tiny boxes costs no
/// memory.
pub(super) fn boxes(data: &[u8]) -> Result<Boxes<'_>, String> {
    let mut pos = 0;
    while let Some((_, next)) = box_at(data, pos)? {
        step()?;
        pos = next;
    }
    Ok(Boxes { data, pos: 0 })
}

/// The box at `pos` of `data` and where the next box starts; `None` at the end.
fn box_at(data: &[u8], pos: usize) -> Result<Option<(BoxRef<'_>, usize)>, String> {
    if pos >= data.len() {
        return Ok(None);
    }
    if data.len() - pos < 8 {
        return Err(format!("{} stray bytes after its last box", data.len() - pos));
    }
    let size32 = be32(&data[pos..pos + 4]);
    let kind = fourcc(&data[pos + 4..pos + 8]);
    let (size, header) = match size32 {
        0 => ((data.len() - pos) as u64, 8),
        1 => {
            if data.len() - pos < 16 {
                return Err(format!("its '{}' box runs past the end of its parent", name(&kind)));
            }
            (be64(&data[pos + 8..pos + 16]), 16)
        }
        s => (s, 8),
    };
    if size < header {
        return Err(format!("its '{}' box has an invalid size", name(&kind)));
    }
    if size > (data.len() - pos) as u64 {
        return Err(format!("its '{}' box runs past the end of its parent", name(&kind)));
    }
    let end = pos + size as usize;
    Ok(Some(((kind, &data[pos + header as usize..end]), end)))
}

/// The boxes of a parent that [`boxes`] has checked.
#[derive(Clone)]
pub(super) struct Boxes<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Boxes<'a> {
    type Item = BoxRef<'a>;

    fn next(&mut self) -> Option<BoxRef<'a>> {
        // Every box was checked by `boxes`: no error can come up here.
        let (found, next) = box_at(self.data, self.pos).ok().flatten()?;
        self.pos = next;
        Some(found)
    }
}

/// The first child box of type `kind`.
pub(super) fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, String> {
    Ok(boxes(data)?.find(|(t, _)| t == kind).map(|(_, b)| b))
}

/// Walks the top-level boxes of `src` by seeking from header to header (one metered step
/// each, at most [`MAX_TOP_BOXES`]), calling `visit` with each box's type and the range of
/// its body. A box that runs past the end, has an unreadable type or an impossible size is
/// refused as a damaged `format`; zero padding at the very end is allowed.
pub(super) fn walk_top_boxes(
    src: &dyn ByteSource,
    format: Format,
    mut visit: impl FnMut([u8; 4], u64, u64),
) -> Result<(), InspectError> {
    let corrupt = |what: String| InspectError::from(Rejection::corrupt(format, what));
    let total = src.len();
    let mut pos = 0u64;
    let mut walked = 0usize;
    while pos < total {
        step()?;
        walked += 1;
        if walked > MAX_TOP_BOXES {
            return Err(corrupt(format!("it has more than {MAX_TOP_BOXES} top-level boxes")));
        }
        let hdr = read_up_to(src, pos, 16)?;
        if hdr.len() < 8 {
            if hdr.iter().all(|&b| b == 0) {
                break; // zero padding at the very end
            }
            return Err(corrupt(format!("it ends with {} stray bytes after its last box", hdr.len())));
        }
        let kind = fourcc(&hdr[4..8]);
        if !kind.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
            return Err(corrupt(format!("it has an unreadable box at byte {pos}")));
        }
        let (size, header) = match be32(&hdr[0..4]) {
            0 => (total - pos, 8),
            1 if hdr.len() < 16 => {
                return Err(corrupt(format!("its '{}' box header is cut short (truncated)", name(&kind))))
            }
            1 => (be64(&hdr[8..16]), 16),
            s => (s, 8),
        };
        if size < header {
            return Err(corrupt(format!("its '{}' box at byte {pos} has an invalid size", name(&kind))));
        }
        let end = pos
            .checked_add(size)
            .filter(|&e| e <= total)
            .ok_or_else(|| corrupt(format!("its '{}' box runs past the end of the file (truncated)", name(&kind))))?;
        visit(kind, pos + header, end);
        pos = end;
    }
    Ok(())
}

/// Parses a file already sniffed as MP4, MOV or M4A.
pub fn inspect(format: Format, src: &dyn ByteSource) -> Result<Inspection, InspectError> {
    let corrupt = |what: String| InspectError::from(Rejection::corrupt(format, what));
    let total = src.len();

    // Top-level boxes, by seeking from header to header.
    let mut moov = None;
    let mut mdat = false;
    let mut moofs = Vec::new();
    walk_top_boxes(src, format, |kind, start, end| match &kind {
        b"moov" if moov.is_none() => moov = Some((start, end)),
        b"mdat" => mdat = true,
        b"moof" if moofs.len() < MAX_TOP_BOXES => moofs.push((start, end)),
        _ => {}
    })?;
    let Some((moov_start, moov_end)) = moov else {
        return Err(corrupt("no moov box: the file is incomplete or not finalized".into()));
    };
    if !mdat {
        return Err(corrupt("no mdat box: the file holds no media data".into()));
    }
    if moov_end - moov_start > MAX_MOOV {
        return Err(Rejection(format!(
            "the file's index (moov box) is {} MiB, more than intake reads ({} MiB)",
            (moov_end - moov_start) >> 20,
            MAX_MOOV >> 20
        ))
        .into());
    }
    let mut moov = vec![0u8; (moov_end - moov_start) as usize];
    read_exact_at(src, moov_start, &mut moov)?;
    let mut movie = parse_moov(&moov).map_err(corrupt)?;

    // Fragments: add up the samples of each track.
    if movie.fragmented {
        let mut budget = MAX_MOOF_BYTES;
        for (start, end) in moofs {
            let len = end - start;
            if len > budget {
                break;
            }
            budget -= len;
            let mut moof = vec![0u8; len as usize];
            read_exact_at(src, start, &mut moof)?;
            add_fragment(&mut movie, &moof).map_err(corrupt)?;
        }
    }
    properties(format, &movie, total).map(|properties| Inspection { properties, weights: None })
}

#[derive(Debug, Default)]
struct Movie {
    timescale: u64,
    duration: u64,
    fragment_duration: u64,
    fragmented: bool,
    tracks: Vec<Track>,
    /// Index in `tracks` of the first track with each id.
    track_by_id: HashMap<u64, usize>,
}

impl Movie {
    fn add_track(&mut self, track: Track) {
        self.track_by_id.entry(track.id).or_insert(self.tracks.len());
        self.tracks.push(track);
    }

    /// The first track (of those parsed so far) whose id is `id`.
    fn track_mut(&mut self, id: u64) -> Option<&mut Track> {
        let index = *self.track_by_id.get(&id)?;
        self.tracks.get_mut(index)
    }
}

#[derive(Debug, Default)]
struct Track {
    id: u64,
    handler: [u8; 4],
    width: u64,
    height: u64,
    timescale: u64,
    duration: u64,
    codec: Option<String>,
    channels: Option<u64>,
    sample_rate: Option<u64>,
    samples: u64,
    /// Σ count × delta of `stts`, plus fragment durations, in `timescale` units.
    sample_ticks: u64,
    /// `stts` has one entry: every sample lasts `delta`.
    constant_delta: Option<u64>,
    default_duration: u64,
}

fn parse_moov(moov: &[u8]) -> Result<Movie, String> {
    let mut movie = Movie::default();
    let mut seen_mvhd = false;
    for (kind, body) in boxes(moov)? {
        match &kind {
            b"mvhd" if !seen_mvhd => {
                seen_mvhd = true;
                let (ts, dur) = time_fields(body).ok_or("its movie header (mvhd) is too short")?;
                movie.timescale = ts;
                movie.duration = dur;
            }
            b"trak" => movie.add_track(parse_trak(body)?),
            b"mvex" => {
                movie.fragmented = true;
                for (k, b) in boxes(body)? {
                    if &k == b"mehd" && b.len() >= 8 {
                        movie.fragment_duration =
                            if b[0] == 1 && b.len() >= 12 { be64(&b[4..12]) } else { be32(&b[4..8]) };
                    } else if &k == b"trex" && b.len() >= 16 {
                        if let Some(t) = movie.track_mut(be32(&b[4..8])) {
                            t.default_duration = be32(&b[12..16]);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if !seen_mvhd {
        return Err("its moov box has no movie header (mvhd)".into());
    }
    Ok(movie)
}

/// `(timescale, duration)` of an `mvhd` or `mdhd` body (versions 0 and 1).
fn time_fields(b: &[u8]) -> Option<(u64, u64)> {
    let (ts, dur) = if b.first()? == &1 {
        (be32(b.get(20..24)?), be64(b.get(24..32)?))
    } else {
        (be32(b.get(12..16)?), be32(b.get(16..20)?))
    };
    // All ones: duration unknown.
    let unknown = dur == u64::MAX || (b[0] != 1 && dur == u64::from(u32::MAX));
    Some((ts, if unknown { 0 } else { dur }))
}

fn parse_trak(trak: &[u8]) -> Result<Track, String> {
    let mut t = Track::default();
    let tkhd = child(trak, b"tkhd")?.ok_or("a track has no header (tkhd)")?;
    let v1 = tkhd.first() == Some(&1);
    let (id_at, size_at) = if v1 { (20, 88) } else { (12, 76) };
    if tkhd.len() < size_at + 8 {
        return Err("a track header (tkhd) is too short".into());
    }
    t.id = be32(&tkhd[id_at..id_at + 4]);
    t.width = be32(&tkhd[size_at..size_at + 4]) >> 16;
    t.height = be32(&tkhd[size_at + 4..size_at + 8]) >> 16;

    let Some(mdia) = child(trak, b"mdia")? else { return Ok(t) };
    if let Some(hdlr) = child(mdia, b"hdlr")? {
        if hdlr.len() >= 12 {
            t.handler = fourcc(&hdlr[8..12]);
        }
    }
    if let Some(mdhd) = child(mdia, b"mdhd")? {
        let (ts, dur) = time_fields(mdhd).ok_or("a media header (mdhd) is too short")?;
        t.timescale = ts;
        t.duration = dur;
    }
    let stbl = match child(mdia, b"minf")? {
        Some(minf) => child(minf, b"stbl")?,
        None => None,
    };
    let Some(stbl) = stbl else { return Ok(t) };
    if let Some(stsd) = child(stbl, b"stsd")? {
        if stsd.len() >= 8 && be32(&stsd[4..8]) > 0 {
            let (fmt, entry) = boxes(&stsd[8..])?.next().ok_or("a sample description (stsd) is empty")?;
            sample_entry(&mut t, &fmt, entry);
        }
    }
    if let Some(stts) = child(stbl, b"stts")? {
        if stts.len() < 8 {
            return Err("a sample time table (stts) is too short".into());
        }
        let count = be32(&stts[4..8]) as usize;
        if count.saturating_mul(8) > stts.len() - 8 {
            return Err("a sample time table (stts) is cut short".into());
        }
        for e in stts[8..8 + count * 8].chunks_exact(8) {
            step()?;
            let (n, delta) = (be32(&e[0..4]), be32(&e[4..8]));
            t.samples = t.samples.saturating_add(n);
            t.sample_ticks = t.sample_ticks.saturating_add(n.saturating_mul(delta));
        }
        if count == 1 {
            t.constant_delta = Some(be32(&stts[12..16]));
        }
    }
    Ok(t)
}

/// Reads the first sample entry of `stsd`: codec, picture size, channels, sample rate.
fn sample_entry(t: &mut Track, fmt: &[u8; 4], e: &[u8]) {
    let mut codec = codec_name(fmt);
    match &t.handler {
        b"vide" if e.len() >= 28 && (t.width == 0 || t.height == 0) => {
            t.width = be16(&e[24..26]);
            t.height = be16(&e[26..28]);
        }
        b"soun" if e.len() >= 28 => {
            let version = be16(&e[8..10]);
            let (channels, rate, children_at) = match version {
                2 if e.len() >= 64 => {
                    let rate = f64::from_bits(be64(&e[32..40]));
                    let rate = if rate.is_finite() && rate > 0.0 && rate < 1e7 { rate.round() as u64 } else { 0 };
                    (be32(&e[40..44]), rate, 64)
                }
                1 => (be16(&e[16..18]), be32(&e[24..28]) >> 16, 44),
                _ => (be16(&e[16..18]), be32(&e[24..28]) >> 16, 28),
            };
            t.channels = (channels > 0).then_some(channels);
            t.sample_rate = if rate > 0 { Some(rate) } else { (t.timescale > 0).then_some(t.timescale) };
            if fmt == b"mp4a" {
                let esds = e.get(children_at..).and_then(|c| child(c, b"esds").ok().flatten());
                if let Some((name, channels)) = esds.and_then(esds_codec) {
                    codec = name.to_string();
                    t.channels = channels.or(t.channels);
                }
            }
            if fmt == b"alac" {
                // The ALAC magic cookie (ALACSpecificConfig in an `alac` full box) holds
                // the real channel count and rate (the entry's 16.16 rate tops at 65535 Hz).
                let cookie = e.get(children_at..).and_then(|c| child(c, b"alac").ok().flatten());
                if let Some(c) = cookie.and_then(|c| c.get(4..28)) {
                    t.channels = Some(u64::from(c[9])).filter(|&n| n > 0).or(t.channels);
                    t.sample_rate = Some(be32(&c[20..24])).filter(|&r| r > 0).or(t.sample_rate);
                }
            }
        }
        _ => {}
    }
    t.codec = Some(codec);
}

/// Steps over a descriptor tag and its length (1 to 4 bytes of 7 bits); true if the tag is `want`.
fn descriptor(d: &mut &[u8], want: u8) -> Option<()> {
    let tag = *d.first()?;
    let mut i = 1;
    for _ in 0..4 {
        let b = *d.get(i)?;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    *d = d.get(i..)?;
    (tag == want).then_some(())
}

/// The codec an `esds` box's decoder configuration names, and the channel count of its
/// AAC AudioSpecificConfig (the sample entry of an MP4 always says 2).
fn esds_codec(esds: &[u8]) -> Option<(&'static str, Option<u64>)> {
    let mut d = esds.get(4..)?;
    descriptor(&mut d, 0x03)?;
    let flags = *d.get(2)?;
    let mut skip = 3;
    if flags & 0x80 != 0 {
        skip += 2;
    }
    if flags & 0x40 != 0 {
        skip += 1 + usize::from(*d.get(skip)?);
    }
    if flags & 0x20 != 0 {
        skip += 2;
    }
    d = d.get(skip..)?;
    descriptor(&mut d, 0x04)?;
    let codec = match *d.first()? {
        0x40 | 0x66 | 0x67 | 0x68 => "aac",
        0x69 | 0x6B => "mp3",
        0xA5 => "ac3",
        0xA6 => "eac3",
        0xA9 => "dts",
        0xAD => "opus",
        0xDD => "vorbis",
        _ => return None,
    };
    let mut channels = None;
    if codec == "aac" {
        let mut asc = d.get(13..).unwrap_or_default();
        if descriptor(&mut asc, 0x05).is_some() {
            channels = aac_channels(asc);
        }
    }
    Some((codec, channels))
}

/// The channel count of an AAC AudioSpecificConfig (None when a program config element
/// defines it).
fn aac_channels(asc: &[u8]) -> Option<u64> {
    let mut bits = 0u64;
    for (i, &b) in asc.iter().take(8).enumerate() {
        bits |= u64::from(b) << (56 - 8 * i);
    }
    let mut at = 0;
    let mut take = |n: u32| {
        let v = (bits << at) >> (64 - n);
        at += n;
        v
    };
    if take(5) == 31 {
        take(6);
    }
    if take(4) == 15 {
        take(24);
    }
    match take(4) {
        c @ 1..=6 => Some(c),
        7 => Some(8),
        _ => None,
    }
}

/// The ffprobe name of a sample entry four-cc (the four-cc itself when unknown).
fn codec_name(fmt: &[u8; 4]) -> String {
    let known = match fmt {
        b"avc1" | b"avc2" | b"avc3" | b"avc4" => "h264",
        b"hvc1" | b"hev1" | b"dvh1" | b"dvhe" => "hevc",
        b"vp08" => "vp8",
        b"vp09" => "vp9",
        b"av01" => "av1",
        b"mp4v" => "mpeg4",
        b"jpeg" | b"mjpa" | b"mjpb" => "mjpeg",
        b"apcn" | b"apch" | b"apcs" | b"apco" | b"ap4h" | b"ap4x" => "prores",
        b"s263" | b"h263" => "h263",
        b"mp4a" => "aac",
        b".mp3" | b"ms\0U" => "mp3",
        b"Opus" => "opus",
        b"fLaC" => "flac",
        b"alac" => "alac",
        b"ac-3" => "ac3",
        b"ec-3" => "eac3",
        b"samr" => "amr_nb",
        b"sawb" => "amr_wb",
        b"sowt" => "pcm_s16le",
        b"twos" => "pcm_s16be",
        b"in24" => "pcm_s24be",
        b"fl32" => "pcm_f32be",
        b"lpcm" => "pcm",
        _ => return name(fmt).trim().to_string(),
    };
    known.to_string()
}

/// Adds the samples of one `moof` box to the movie's tracks.
fn add_fragment(movie: &mut Movie, moof: &[u8]) -> Result<(), String> {
    for (kind, traf) in boxes(moof)? {
        if &kind != b"traf" {
            continue;
        }
        let children = boxes(traf)?;
        let Some((_, tfhd)) = children.clone().find(|(t, _)| t == b"tfhd") else { continue };
        if tfhd.len() < 8 {
            return Err("a track fragment header (tfhd) is too short".into());
        }
        let flags = be32(&tfhd[0..4]) & 0xFF_FFFF;
        let Some(track) = movie.track_mut(be32(&tfhd[4..8])) else { continue };
        let mut at = 8;
        if flags & 0x01 != 0 {
            at += 8;
        }
        if flags & 0x02 != 0 {
            at += 4;
        }
        let default = if flags & 0x08 != 0 {
            be32(tfhd.get(at..at + 4).ok_or("a track fragment header (tfhd) is too short")?)
        } else {
            track.default_duration
        };
        for (_, trun) in children.filter(|(t, _)| t == b"trun") {
            if trun.len() < 8 {
                return Err("a track run (trun) is too short".into());
            }
            let flags = be32(&trun[0..4]) & 0xFF_FFFF;
            let count = be32(&trun[4..8]);
            let mut at = 8 + if flags & 0x01 != 0 { 4 } else { 0 } + if flags & 0x04 != 0 { 4 } else { 0 };
            let per_sample = [0x100, 0x200, 0x400, 0x800].iter().filter(|&&f| flags & f != 0).count() * 4;
            if per_sample > 0 && (count as usize).saturating_mul(per_sample) > trun.len().saturating_sub(at) {
                return Err("a track run (trun) is cut short".into());
            }
            track.samples = track.samples.saturating_add(count);
            if flags & 0x100 != 0 {
                steps(count)?;
                for _ in 0..count {
                    track.sample_ticks = track.sample_ticks.saturating_add(be32(&trun[at..at + 4]));
                    at += per_sample;
                }
            } else {
                track.sample_ticks = track.sample_ticks.saturating_add(count.saturating_mul(default));
            }
        }
    }
    Ok(())
}

fn properties(format: Format, movie: &Movie, total: u64) -> Result<AssetProperties, InspectError> {
    let seconds = |ticks: u64, scale: u64| (scale > 0 && ticks > 0).then(|| ticks as f64 / scale as f64);
    let track_seconds = |t: &Track| {
        let ticks = if movie.fragmented { t.sample_ticks } else { t.duration };
        seconds(ticks, t.timescale)
    };
    let video = movie.tracks.iter().find(|t| &t.handler == b"vide");
    let audio = movie.tracks.iter().find(|t| &t.handler == b"soun");

    let mut p = AssetProperties::default();
    let mut duration = seconds(movie.duration, movie.timescale);
    if movie.fragmented {
        let longest = movie.tracks.iter().filter_map(track_seconds).fold(0.0, f64::max);
        let declared = seconds(movie.fragment_duration, movie.timescale).unwrap_or(0.0);
        duration = Some(duration.unwrap_or(0.0).max(longest).max(declared)).filter(|&d| d > 0.0);
    } else if duration.is_none() {
        duration = movie.tracks.iter().filter_map(track_seconds).reduce(f64::max);
    }
    p.duration = duration;
    p.bitrate = duration.map(|d| (total as f64 * 8.0 / d).round() as u64);

    if let Some(a) = audio {
        p.channels = a.channels;
        p.sample_rate = a.sample_rate;
        p.codec_name = a.codec.clone();
    }
    match format {
        Format::M4a => {
            if audio.is_none() {
                return Err(Rejection(format!("the file is {} but has no sound track", format.described())).into());
            }
        }
        _ => {
            let Some(v) = video else {
                let only = if audio.is_some() { " (it holds only sound)" } else { "" };
                return Err(
                    Rejection(format!("the file is {} but has no video track{only}", format.described())).into()
                );
            };
            if v.width == 0 || v.height == 0 {
                return Err(Rejection::corrupt(format, "its video track has no picture size").into());
            }
            p.width = Some(v.width);
            p.height = Some(v.height);
            p.codec_name = v.codec.clone();
            p.nb_frames = (v.samples > 0).then_some(v.samples);
            p.frame_rate = match (v.constant_delta, track_seconds(v)) {
                (Some(delta), _) if delta > 0 && v.timescale > 0 && !movie.fragmented => {
                    Some(v.timescale as f64 / delta as f64)
                }
                (_, Some(secs)) if v.samples > 0 => Some(v.samples as f64 / secs),
                _ => None,
            };
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests;
