//! TIFF: classic (`II*\0`, `MM\0*`) and BigTIFF (`II+\0`, `MM\0+`), either byte order.
//!
//! What is read: the 8- or 16-byte header; the first image directory (IFD) whole (at most
//! [`MAX_ENTRIES`] entries); the values of the tags used below where they lie outside the
//! IFD; the strip (or tile) offset and byte-count arrays of the first image, in blocks of
//! [`BLOCK`] entries (at most [`MAX_PIECES`] entries); and, for the page count, the entry
//! count and next-IFD pointer of each following IFD (at most [`MAX_IFDS`] IFDs walked).
//! Pixel data is never read.
//!
//! Refused: a directory, a tag's values or a strip/tile of the first image that lies past
//! the end of the file (truncated); a directory chain that loops; fewer strips or tiles than
//! the picture needs; uncompressed strips too short for the pixels the header declares.
//! Reported: width, height, bits per sample (when every sample has the same), channels
//! (samples per pixel; a palette image's three colours), alpha (an `ExtraSamples` value of
//! associated or unassociated alpha) and, for a file of several pages, their count.

use super::super::work::{step, steps};
use super::{check_size, read_vec, ByteSource, Format, InspectError, Rejection};
use intake_api::AssetProperties;

const F: Format = Format::Tiff;
/// The most entries one image directory may declare.
const MAX_ENTRIES: u64 = 4096;
/// The most image directories (pages) walked to count pages.
const MAX_IFDS: u64 = 1024;
/// The most strips or tiles the first image may have.
const MAX_PIECES: u64 = 1 << 20;
/// How many array values are read at once.
const BLOCK: u64 = 8192;
/// The most samples per pixel accepted.
const MAX_SAMPLES: u64 = 64;

/// Recognises classic TIFF and BigTIFF headers in either byte order.
pub(super) fn sniff(head: &[u8]) -> Option<Format> {
    let classic = head.starts_with(b"II*\0") || head.starts_with(b"MM\0*");
    let big = head.starts_with(b"II+\0\x08\0\0\0") || head.starts_with(b"MM\0+\0\x08\0\0");
    (classic || big).then_some(F)
}

/// Byte order and offset size of the file.
#[derive(Clone, Copy)]
struct Layout {
    big_endian: bool,
    bigtiff: bool,
}

impl Layout {
    fn uint(self, b: &[u8]) -> u64 {
        let mut v = 0u64;
        if self.big_endian {
            for &x in b {
                v = v << 8 | u64::from(x);
            }
        } else {
            for &x in b.iter().rev() {
                v = v << 8 | u64::from(x);
            }
        }
        v
    }
    /// Size of an offset (and of an entry's value field).
    fn word(self) -> u64 {
        if self.bigtiff {
            8
        } else {
            4
        }
    }
    /// Size of an IFD's entry count.
    fn count_len(self) -> u64 {
        if self.bigtiff {
            8
        } else {
            2
        }
    }
    fn entry_len(self) -> u64 {
        if self.bigtiff {
            20
        } else {
            12
        }
    }
}

/// One IFD entry.
#[derive(Clone, Copy)]
struct Entry {
    tag: u16,
    kind: u16,
    count: u64,
    /// The value field: the values themselves when they fit, else their offset.
    field: [u8; 8],
}

/// Size of one value of a TIFF field type; `None` for unknown types.
fn type_size(kind: u16) -> Option<u64> {
    match kind {
        1 | 2 | 6 | 7 => Some(1),
        3 | 8 => Some(2),
        4 | 9 | 11 | 13 => Some(4),
        5 | 10 | 12 | 16 | 17 | 18 => Some(8),
        _ => None,
    }
}

fn tag_name(tag: u16) -> String {
    match tag {
        256 => "ImageWidth".into(),
        257 => "ImageLength".into(),
        258 => "BitsPerSample".into(),
        273 => "StripOffsets".into(),
        277 => "SamplesPerPixel".into(),
        279 => "StripByteCounts".into(),
        324 => "TileOffsets".into(),
        325 => "TileByteCounts".into(),
        338 => "ExtraSamples".into(),
        513 => "JPEGInterchangeFormat".into(),
        514 => "JPEGInterchangeFormatLength".into(),
        other => format!("tag {other}"),
    }
}

fn eof() -> InspectError {
    std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into()
}

/// An image directory: its entries and the offset of the next one (0 at the end).
struct Ifd {
    entries: Vec<Entry>,
    next: u64,
}

impl Ifd {
    fn get(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }
}

/// The entry count of the IFD at `offset`, checked against the cap and the file length;
/// returns it with the offset of the IFD's next-IFD pointer. `which` names it in reasons.
fn ifd_extent(src: &dyn ByteSource, layout: Layout, offset: u64, which: &str) -> Result<(u64, u64), InspectError> {
    let total = src.len();
    let header = if layout.bigtiff { 16 } else { 8 };
    if offset < header {
        return Err(Rejection::corrupt(
            F,
            format!("its {which} image directory is at byte {offset}, inside the header"),
        )
        .into());
    }
    let past =
        || Rejection::corrupt(F, format!("its {which} image directory lies past the end of the file (truncated)"));
    if offset.saturating_add(layout.count_len()) > total {
        return Err(past().into());
    }
    let n = layout.uint(&read_vec(src, offset, layout.count_len() as usize)?);
    if n == 0 {
        return Err(Rejection::corrupt(F, format!("its {which} image directory is empty")).into());
    }
    if n > MAX_ENTRIES {
        return Err(Rejection::corrupt(
            F,
            format!("its {which} image directory declares {n} entries (at most {MAX_ENTRIES} are accepted)"),
        )
        .into());
    }
    let next_at = offset + layout.count_len() + n * layout.entry_len();
    if next_at + layout.word() > total {
        return Err(past().into());
    }
    Ok((n, next_at))
}

/// Reads the IFD at `offset` whole.
fn read_ifd(src: &dyn ByteSource, layout: Layout, offset: u64, which: &str) -> Result<Ifd, InspectError> {
    let (n, next_at) = ifd_extent(src, layout, offset, which)?;
    let start = offset + layout.count_len();
    let bytes = read_vec(src, start, (next_at + layout.word() - start) as usize)?;
    let mut entries = Vec::with_capacity(n as usize);
    let el = layout.entry_len() as usize;
    for e in bytes[..n as usize * el].chunks_exact(el) {
        step()?;
        let mut field = [0u8; 8];
        let w = layout.word() as usize;
        field[..w].copy_from_slice(&e[el - w..]);
        let entry = Entry {
            tag: layout.uint(&e[0..2]) as u16,
            kind: layout.uint(&e[2..4]) as u16,
            count: layout.uint(&e[4..el - w]),
            field,
        };
        // Values that do not fit in the entry lie elsewhere: inside the file.
        if let Some(size) = type_size(entry.kind) {
            let len = entry.count.saturating_mul(size);
            if len > layout.word() && layout.uint(&field[..w]).saturating_add(len) > src.len() {
                return Err(Rejection::corrupt(
                    F,
                    format!("the values of its {} lie past the end of the file (truncated)", tag_name(entry.tag)),
                )
                .into());
            }
        }
        entries.push(entry);
    }
    let next = layout.uint(&bytes[n as usize * el..]);
    Ok(Ifd { entries, next })
}

/// Reads values `from..from + n` of an integer entry (BYTE, SHORT, LONG, LONG8, IFD).
fn values(src: &dyn ByteSource, layout: Layout, e: &Entry, from: u64, n: u64) -> Result<Vec<u64>, InspectError> {
    let name = tag_name(e.tag);
    let size = match e.kind {
        1 | 3 | 4 | 13 | 16 | 18 => type_size(e.kind).unwrap_or(1),
        k => return Err(Rejection::corrupt(F, format!("its {name} has field type {k}, not an integer type")).into()),
    };
    let n = n.min(e.count.saturating_sub(from));
    let bytes = if e.count.saturating_mul(size) <= layout.word() {
        let start = (from * size) as usize;
        e.field[start..start + (n * size) as usize].to_vec()
    } else {
        let at = layout.uint(&e.field[..layout.word() as usize]);
        let end = at.checked_add(e.count.saturating_mul(size));
        if end.is_none_or(|end| end > src.len()) {
            return Err(
                Rejection::corrupt(F, format!("its {name} values lie past the end of the file (truncated)")).into()
            );
        }
        read_vec(src, at + from * size, (n * size) as usize)?
    };
    steps(n)?;
    Ok(bytes.chunks_exact(size as usize).map(|b| layout.uint(b)).collect())
}

/// The single value of an integer entry, if present.
fn scalar(src: &dyn ByteSource, layout: Layout, ifd: &Ifd, tag: u16) -> Result<Option<u64>, InspectError> {
    match ifd.get(tag) {
        None => Ok(None),
        Some(e) if e.count == 0 => Err(Rejection::corrupt(F, format!("its {} has no value", tag_name(tag))).into()),
        Some(e) => Ok(values(src, layout, e, 0, 1)?.first().copied()),
    }
}

/// Parses a file already sniffed as TIFF.
pub(super) fn inspect(src: &dyn ByteSource) -> Result<AssetProperties, InspectError> {
    let total = src.len();
    if total < 8 {
        return Err(eof());
    }
    let hdr = read_vec(src, 0, 16.min(total) as usize)?;
    let layout = Layout { big_endian: hdr[0] == b'M', bigtiff: hdr[2] == b'+' || hdr[3] == b'+' };
    let first = if layout.bigtiff {
        if hdr.len() < 16 {
            return Err(eof());
        }
        layout.uint(&hdr[8..16])
    } else {
        layout.uint(&hdr[4..8])
    };
    if first == 0 {
        return Err(Rejection::corrupt(F, "it has no image (its first image directory offset is 0)").into());
    }
    let ifd = read_ifd(src, layout, first, "first")?;

    let width = scalar(src, layout, &ifd, 256)?;
    let height = scalar(src, layout, &ifd, 257)?;
    let (Some(width), Some(height)) = (width, height) else {
        return Err(Rejection::corrupt(F, "its first image directory gives no ImageWidth or ImageLength").into());
    };
    check_size(F, width, height)?;
    let samples = scalar(src, layout, &ifd, 277)?.unwrap_or(1);
    if samples == 0 || samples > MAX_SAMPLES {
        return Err(Rejection::corrupt(F, format!("it declares {samples} samples per pixel")).into());
    }
    let bits = match ifd.get(258) {
        Some(e) => values(src, layout, e, 0, samples)?,
        None => vec![1],
    };
    if bits.is_empty() || bits.iter().any(|&b| b == 0 || b > 64) {
        return Err(Rejection::corrupt(F, format!("it declares {bits:?} bits per sample")).into());
    }
    let compression = scalar(src, layout, &ifd, 259)?.unwrap_or(1);
    let photometric = scalar(src, layout, &ifd, 262)?;
    if matches!(photometric, Some(2 | 6)) && samples < 3 {
        return Err(Rejection::corrupt(F, format!("it declares colour pixels of {samples} samples")).into());
    }
    let extra = match ifd.get(338) {
        Some(e) if e.count > samples => {
            return Err(Rejection::corrupt(
                F,
                format!("it declares {} extra samples in pixels of {samples} samples", e.count),
            )
            .into())
        }
        Some(e) => values(src, layout, e, 0, samples)?,
        None => Vec::new(),
    };
    let planar = scalar(src, layout, &ifd, 284)?.unwrap_or(1);
    if !matches!(planar, 1 | 2) {
        return Err(Rejection::corrupt(F, format!("it declares planar configuration {planar}")).into());
    }

    // The first image's pieces (strips or tiles) must lie inside the file.
    let planes = if planar == 2 { samples } else { 1 };
    let sample_bits = |plane: u64| -> u64 {
        if planar == 2 {
            bits.get(plane as usize).or(bits.last()).copied().unwrap_or(1)
        } else {
            let listed: u64 = bits.iter().sum();
            // BitsPerSample may list one value for all samples.
            if bits.len() == 1 {
                listed * samples
            } else {
                listed
            }
        }
    };
    let tiled = ifd.get(324).is_some() || ifd.get(322).is_some();
    let (what, offsets_tag, counts_tag, per_plane, piece_w, piece_h) = if tiled {
        let tw = scalar(src, layout, &ifd, 322)?.unwrap_or(0);
        let th = scalar(src, layout, &ifd, 323)?.unwrap_or(0);
        if tw == 0 || th == 0 || tw > 1 << 24 || th > 1 << 24 {
            return Err(Rejection::corrupt(F, format!("it declares tiles of {tw} × {th} pixels")).into());
        }
        ("tile", 324, 325, width.div_ceil(tw) * height.div_ceil(th), tw, th)
    } else {
        let rows = scalar(src, layout, &ifd, 278)?.unwrap_or(u64::from(u32::MAX)).min(height);
        if rows == 0 {
            return Err(Rejection::corrupt(F, "it declares strips of 0 rows").into());
        }
        ("strip", 273, 279, height.div_ceil(rows), width, rows)
    };
    let needed = per_plane.saturating_mul(planes);
    if needed > MAX_PIECES {
        return Err(Rejection::corrupt(
            F,
            format!("its first image is cut into {needed} {what}s (at most {MAX_PIECES} are accepted)"),
        )
        .into());
    }
    let Some(offsets) = ifd.get(offsets_tag) else {
        return Err(Rejection::corrupt(F, format!("its first image has no {what} offsets (no image data)")).into());
    };
    if offsets.count < needed {
        return Err(Rejection::corrupt(
            F,
            format!("its first image needs {needed} {what}s but {} lists {}", tag_name(offsets_tag), offsets.count),
        )
        .into());
    }
    let counts = ifd.get(counts_tag);
    if let Some(c) = counts.filter(|c| c.count < needed) {
        return Err(Rejection::corrupt(
            F,
            format!("its first image needs {needed} {what}s but {} lists {}", tag_name(counts_tag), c.count),
        )
        .into());
    }
    // Bytes an uncompressed piece of each plane holds (rows of whole bytes).
    let raw_piece = |plane: u64| piece_h.saturating_mul(piece_w.saturating_mul(sample_bits(plane)).div_ceil(8));
    if counts.is_none() && compression != 1 {
        return Err(Rejection::corrupt(F, format!("it does not say how long its compressed {what}s are")).into());
    }
    let stored = pieces_inside(src, layout, offsets, needed, what, "", |from, n| match counts {
        Some(c) => values(src, layout, c, from, n),
        None => Ok((from..from + n).map(|i| raw_piece(i / per_plane)).collect()),
    })?;
    // Uncompressed (and not subsampled) pixels: the pieces must hold them all. The last
    // strip may stop at the picture's bottom; tiles are whole.
    if compression == 1 && photometric != Some(6) {
        let minimum = (0..planes)
            .map(|p| {
                if tiled {
                    per_plane.saturating_mul(raw_piece(p))
                } else {
                    height.saturating_mul(width.saturating_mul(sample_bits(p)).div_ceil(8))
                }
            })
            .fold(0u64, u64::saturating_add);
        if stored < minimum {
            return Err(Rejection::corrupt(
                F,
                format!(
                    "its uncompressed {what}s hold {stored} bytes, but its {width} × {height} pixels need {minimum}"
                ),
            )
            .into());
        }
    }

    let pages = count_pages(src, layout, first, ifd.next)?;
    let alpha = extra.iter().any(|&e| e == 1 || e == 2);
    let channels = if photometric == Some(3) { 3 + u64::from(alpha) } else { samples };
    let uniform = bits.iter().all(|&b| b == bits[0]);
    Ok(AssetProperties {
        width: Some(width),
        height: Some(height),
        bit_depth: uniform.then_some(bits[0]),
        channels: Some(channels),
        has_alpha: Some(alpha),
        nb_frames: pages.filter(|&p| p > 1),
        ..Default::default()
    })
}

/// Checks that the first `n` pieces (strips or tiles) whose offsets `offsets` lists, and
/// whose lengths `lengths(from, count)` gives, lie inside the file; returns their total
/// length. Reads [`BLOCK`] values at a time.
fn pieces_inside(
    src: &dyn ByteSource,
    layout: Layout,
    offsets: &Entry,
    n: u64,
    what: &str,
    page: &str,
    lengths: impl Fn(u64, u64) -> Result<Vec<u64>, InspectError>,
) -> Result<u64, InspectError> {
    let total = src.len();
    let mut stored = 0u64;
    let mut from = 0u64;
    while from < n {
        let count = BLOCK.min(n - from);
        let offs = values(src, layout, offsets, from, count)?;
        let lens = lengths(from, count)?;
        for (i, (&off, &len)) in offs.iter().zip(&lens).enumerate() {
            let end = off.saturating_add(len);
            if end > total {
                return Err(Rejection::corrupt(
                    F,
                    format!(
                        "its {what} {}{page} (bytes {off}..{end}) runs past the end of the file ({total} bytes): \
                         truncated",
                        from + i as u64
                    ),
                )
                .into());
            }
            stored = stored.saturating_add(len);
        }
        from += count;
    }
    Ok(stored)
}

/// Walks the IFD chain after the first (at most [`MAX_IFDS`]), checking that the strips,
/// tiles or JPEG stream each page lists lie inside the file: the page count, or `None` when
/// there are more pages than the walk looks at. A chain that loops or leaves the file is
/// refused.
fn count_pages(src: &dyn ByteSource, layout: Layout, first: u64, mut next: u64) -> Result<Option<u64>, InspectError> {
    let mut seen = vec![first];
    while next != 0 {
        step()?;
        if seen.len() as u64 >= MAX_IFDS {
            return Ok(None);
        }
        // Offsets seen so far are few (at most MAX_IFDS), and kept sorted.
        match seen.binary_search(&next) {
            Ok(_) => return Err(Rejection::corrupt(F, "its image directories form a loop").into()),
            Err(at) => seen.insert(at, next),
        }
        let ifd = read_ifd(src, layout, next, "next")?;
        let page = format!(" of page {}", seen.len());
        for (what, offsets, counts) in [("strip", 273, 279), ("tile", 324, 325), ("JPEG stream", 513, 514)] {
            let (Some(offsets), Some(counts)) = (ifd.get(offsets), ifd.get(counts)) else { continue };
            let n = offsets.count.min(counts.count);
            if n > MAX_PIECES {
                return Err(Rejection::corrupt(
                    F,
                    format!("its page {} is cut into {n} {what}s (at most {MAX_PIECES} are accepted)", seen.len()),
                )
                .into());
            }
            pieces_inside(src, layout, offsets, n, what, &page, |from, n| values(src, layout, counts, from, n))?;
        }
        next = ifd.next;
    }
    Ok(Some(seen.len() as u64))
}
