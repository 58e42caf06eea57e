//! ZIP archives and USDZ packages (a USDZ is a constrained ZIP).
//!
//! What is checked, reading only the end of the file, the central directory and a few local
//! headers (never the entry data):
//! - the end-of-central-directory record, found by scanning the last 65,557 bytes backwards
//!   (22-byte record + the longest comment), with the ZIP64 locator and record when present;
//! - the central directory: every entry header, its ZIP64 extra field, its offsets and sizes
//!   (capped at 100,000 entries and 64 MiB of directory), entries that do not overlap and whose
//!   data ends before the directory starts, and the local header of the first entries and of
//!   the last one (signature and name must match the directory);
//! - for a ZIP: no entry name that escapes the extraction folder (absolute, drive letter or a
//!   `..` component), and no decompression bomb (see [`check_bomb`]);
//! - for a USDZ (per the USDZ specification): the first entry is the default layer (`.usd`,
//!   `.usda` or `.usdc`), every entry is stored uncompressed and unencrypted, and the data of
//!   each entry starts on a 64-byte boundary (checked for the first 1,024 entries).
//!
//! Not checked: CRC-32 of entry data and the compressed streams themselves (that would mean
//! reading and inflating the whole archive), and what the USD layers contain.
//!
//! The directory helpers are `pub(super)` so `weights` can verify PyTorch zip checkpoints.

use super::work::{step, steps};
use super::{read_exact_at, read_up_to, ByteSource, Format, InspectError, Inspection, Rejection};

const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const EOCD_LEN: usize = 22;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
/// The EOCD record (22 bytes) plus the longest possible comment (65,535 bytes).
const EOCD_SEARCH: u64 = 65_557;
/// At most this many directory entries are accepted.
pub(super) const MAX_ENTRIES: u64 = 100_000;
/// At most this many bytes of central directory are read.
pub(super) const MAX_DIRECTORY: u64 = 64 << 20;
/// Local headers checked against the directory (plus the last entry's).
const LOCAL_HEADERS_CHECKED: usize = 8;
/// USDZ entries whose data alignment is checked (each check reads one local header).
const USDZ_ALIGNMENT_CHECKED: usize = 1024;
/// Bomb rule, per entry: more than this expansion ratio…
const ENTRY_MAX_RATIO: u64 = 1000;
/// …for an entry that expands to more than this.
const ENTRY_BOMB_MIN: u64 = 100 << 20;
/// Bomb rule, whole archive: more than this expansion ratio…
const TOTAL_MAX_RATIO: u64 = 100;
/// …when all entries together expand to more than this.
const TOTAL_BOMB_MIN: u64 = 1 << 30;

/// One central-directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ZipEntry {
    /// The entry name (UTF-8, or CP437 read lossily: only ASCII matters to the checks).
    pub name: String,
    /// Length of the raw name in bytes.
    pub name_len: u16,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub local_header_offset: u64,
    /// 0 = stored, 8 = deflate, …
    pub method: u16,
    /// General-purpose flags (bit 0: encrypted).
    pub flags: u16,
}

impl ZipEntry {
    /// True when the entry is encrypted.
    pub fn encrypted(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// A checked central directory.
#[derive(Debug, Clone)]
pub(super) struct CentralDirectory {
    /// Entries in directory order.
    pub entries: Vec<ZipEntry>,
    /// Where the directory starts: every entry's data ends before this.
    pub offset: u64,
}

/// What the end records say.
struct EndRecord {
    entries: u64,
    directory_size: u64,
    directory_offset: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// An entry name as quoted in messages: escaped, and shortened past 120 characters.
pub(super) fn quoted(name: &str) -> String {
    if name.chars().count() > 120 {
        let short: String = name.chars().take(120).collect();
        format!("{:?}…", short)
    } else {
        format!("{name:?}")
    }
}

/// A byte count for people: "10.0 GiB", "1.0 KiB", "512 bytes".
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Finds and decodes the end-of-central-directory record (and its ZIP64 twin).
fn read_end_record(src: &dyn ByteSource, format: Format) -> Result<EndRecord, InspectError> {
    let len = src.len();
    if len < EOCD_LEN as u64 {
        return Err(Rejection::corrupt(format, "it is too short to hold a ZIP end-of-central-directory record").into());
    }
    let tail_len = len.min(EOCD_SEARCH);
    let tail_start = len - tail_len;
    let tail = read_up_to(src, tail_start, tail_len as usize)?;
    // Scan backwards; prefer a record whose comment ends exactly at the end of the file, but
    // accept one followed by a few stray bytes (as other readers do).
    let mut exact = None;
    let mut loose = None;
    steps(tail.len() as u64)?;
    for i in (0..=tail.len() - EOCD_LEN).rev() {
        if u32_at(&tail, i) != EOCD_SIG {
            continue;
        }
        let end = i + EOCD_LEN + u16_at(&tail, i + 20) as usize;
        if end == tail.len() {
            exact = Some(i);
            break;
        }
        if end < tail.len() && loose.is_none() {
            loose = Some(i);
        }
    }
    let Some(i) = exact.or(loose) else {
        return Err(Rejection::corrupt(
            format,
            "its end-of-central-directory record is missing (the file is truncated or is not a complete ZIP archive)",
        )
        .into());
    };
    let eocd = &tail[i..i + EOCD_LEN];
    let eocd_pos = tail_start + i as u64;
    let mut disk = u16_at(eocd, 4) as u32;
    let mut directory_disk = u16_at(eocd, 6) as u32;
    let mut entries_here = u16_at(eocd, 8) as u64;
    let mut entries = u16_at(eocd, 10) as u64;
    let mut directory_size = u32_at(eocd, 12) as u64;
    let mut directory_offset = u32_at(eocd, 16) as u64;
    // Where the directory must end: the ZIP64 record or the classic record.
    let mut directory_end = eocd_pos;

    // ZIP64: a 20-byte locator right before the classic record points to the ZIP64 record.
    if eocd_pos >= 20 {
        let mut locator = [0u8; 20];
        read_exact_at(src, eocd_pos - 20, &mut locator)?;
        if u32_at(&locator, 0) == ZIP64_LOCATOR_SIG {
            let record_pos = u64_at(&locator, 8);
            if record_pos.checked_add(56).is_none_or(|end| end > eocd_pos - 20) {
                return Err(Rejection::corrupt(
                    format,
                    "its ZIP64 end-of-central-directory locator points outside the file",
                )
                .into());
            }
            let mut record = [0u8; 56];
            read_exact_at(src, record_pos, &mut record)?;
            if u32_at(&record, 0) != ZIP64_EOCD_SIG {
                return Err(Rejection::corrupt(format, "its ZIP64 end-of-central-directory record is missing").into());
            }
            disk = u32_at(&record, 16);
            directory_disk = u32_at(&record, 20);
            entries_here = u64_at(&record, 24);
            entries = u64_at(&record, 32);
            directory_size = u64_at(&record, 40);
            directory_offset = u64_at(&record, 48);
            directory_end = record_pos;
        }
    }
    if disk != 0 || directory_disk != 0 || entries_here != entries {
        return Err(Rejection(format!(
            "the file is one part of a split (multi-part) ZIP archive, which is not supported: upload {} as a single file",
            format.described()
        ))
        .into());
    }
    if entries > MAX_ENTRIES {
        return Err(Rejection(format!(
            "the ZIP archive lists {entries} entries, more than the {MAX_ENTRIES} intake accepts"
        ))
        .into());
    }
    if directory_size > MAX_DIRECTORY {
        return Err(Rejection(format!(
            "the ZIP archive's central directory takes {}, more than the {} intake accepts",
            human(directory_size),
            human(MAX_DIRECTORY)
        ))
        .into());
    }
    if directory_offset.checked_add(directory_size).is_none_or(|end| end > directory_end) {
        return Err(Rejection::corrupt(
            format,
            "its central directory runs past the end record (the file is truncated or damaged)",
        )
        .into());
    }
    if entries.saturating_mul(CENTRAL_LEN as u64) > directory_size {
        return Err(Rejection::corrupt(format, "its central directory is too small for the entries it lists").into());
    }
    Ok(EndRecord { entries, directory_size, directory_offset })
}

/// Reads the ZIP64 extended-information extra field (id 1) of a directory entry: the values
/// that are `0xFFFFFFFF` in the fixed header follow, in order, as 64-bit numbers.
fn apply_zip64_extra(extra: &[u8], entry: &mut ZipEntry, raw: (u32, u32, u32)) -> Result<(), &'static str> {
    let mut p = 0;
    while p + 4 <= extra.len() {
        let id = u16_at(extra, p);
        let size = u16_at(extra, p + 2) as usize;
        let body = extra.get(p + 4..p + 4 + size).ok_or("an extra field runs past its entry")?;
        if id == 1 {
            let mut q = 0;
            let mut next = || -> Result<u64, &'static str> {
                let v = body.get(q..q + 8).ok_or("its ZIP64 extra field is too short")?;
                q += 8;
                Ok(u64_at(v, 0))
            };
            if raw.0 == u32::MAX {
                entry.uncompressed_size = next()?;
            }
            if raw.1 == u32::MAX {
                entry.compressed_size = next()?;
            }
            if raw.2 == u32::MAX {
                entry.local_header_offset = next()?;
            }
            return Ok(());
        }
        p += 4 + size;
    }
    Ok(())
}

/// Reads and checks the central directory of the ZIP in `src` (`format` names the file in
/// rejections: a ZIP, a USDZ or a PyTorch checkpoint).
pub(super) fn read_central_directory(src: &dyn ByteSource, format: Format) -> Result<CentralDirectory, InspectError> {
    let end = read_end_record(src, format)?;
    let mut dir = vec![0u8; end.directory_size as usize];
    read_exact_at(src, end.directory_offset, &mut dir)?;

    let damaged = |what: String| -> InspectError { Rejection::corrupt(format, what).into() };
    let mut entries = Vec::with_capacity(end.entries as usize);
    let mut p = 0usize;
    for index in 0..end.entries {
        step()?;
        let Some(header) = dir.get(p..p + CENTRAL_LEN) else {
            return Err(damaged(format!("its central directory ends before entry {} of {}", index + 1, end.entries)));
        };
        if u32_at(header, 0) != CENTRAL_SIG {
            return Err(damaged(format!("entry {} of its central directory has a bad signature", index + 1)));
        }
        let flags = u16_at(header, 8);
        let method = u16_at(header, 10);
        let raw_compressed = u32_at(header, 20);
        let raw_uncompressed = u32_at(header, 24);
        let name_len = u16_at(header, 28);
        let extra_len = u16_at(header, 30) as usize;
        let comment_len = u16_at(header, 32) as usize;
        let raw_offset = u32_at(header, 42);
        let name_start = p + CENTRAL_LEN;
        let extra_start = name_start + name_len as usize;
        let next = extra_start + extra_len + comment_len;
        if next > dir.len() {
            return Err(damaged(format!("entry {} of its central directory runs past the directory", index + 1)));
        }
        // The name is decoded and the extra fields walked: each byte looked at once.
        steps((next - name_start) as u64)?;
        let mut entry = ZipEntry {
            name: String::from_utf8_lossy(&dir[name_start..extra_start]).into_owned(),
            name_len,
            compressed_size: raw_compressed as u64,
            uncompressed_size: raw_uncompressed as u64,
            local_header_offset: raw_offset as u64,
            method,
            flags,
        };
        apply_zip64_extra(
            &dir[extra_start..extra_start + extra_len],
            &mut entry,
            (raw_uncompressed, raw_compressed, raw_offset),
        )
        .map_err(|what| damaged(format!("entry {}: {what}", quoted(&entry.name))))?;
        entries.push(entry);
        p = next;
    }
    if p != dir.len() {
        return Err(damaged("its central directory is larger than the entries it lists".to_string()));
    }

    // Every entry's local header and data must lie before the directory, without overlapping
    // another entry (overlapping entries are how some decompression bombs multiply their data).
    // Sorting: n log n comparisons, counted as n.
    steps(entries.len() as u64)?;
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| entries[i].local_header_offset);
    let mut previous: Option<(usize, u64)> = None;
    for &i in &order {
        step()?;
        let e = &entries[i];
        let data_end = e
            .local_header_offset
            .checked_add(LOCAL_LEN as u64 + e.name_len as u64)
            .and_then(|v| v.checked_add(e.compressed_size));
        match data_end {
            Some(data_end) if data_end <= end.directory_offset => {
                if let Some((j, prev_end)) = previous {
                    if e.local_header_offset < prev_end {
                        return Err(damaged(format!(
                            "entries {} and {} overlap",
                            quoted(&entries[j].name),
                            quoted(&e.name)
                        )));
                    }
                }
                previous = Some((i, data_end));
            }
            _ => {
                return Err(damaged(format!(
                    "the data of entry {} runs past the start of the central directory",
                    quoted(&e.name)
                )))
            }
        }
    }
    let directory = CentralDirectory { entries, offset: end.directory_offset };
    let n = directory.entries.len();
    for i in (0..n.min(LOCAL_HEADERS_CHECKED)).chain((n > LOCAL_HEADERS_CHECKED).then(|| n - 1)) {
        local_data_offset(src, format, &directory, &directory.entries[i])?;
    }
    Ok(directory)
}

/// Reads the local header of `entry` (checking its signature and name against the directory)
/// and returns where the entry's data starts.
pub(super) fn local_data_offset(
    src: &dyn ByteSource,
    format: Format,
    directory: &CentralDirectory,
    entry: &ZipEntry,
) -> Result<u64, InspectError> {
    let mut header = [0u8; LOCAL_LEN];
    read_exact_at(src, entry.local_header_offset, &mut header)?;
    if u32_at(&header, 0) != LOCAL_SIG {
        return Err(Rejection::corrupt(
            format,
            format!("the local header of entry {} is missing", quoted(&entry.name)),
        )
        .into());
    }
    let name_len = u16_at(&header, 26);
    let extra_len = u16_at(&header, 28) as u64;
    let mut name = vec![0u8; name_len as usize];
    read_exact_at(src, entry.local_header_offset + LOCAL_LEN as u64, &mut name)?;
    if name_len != entry.name_len || String::from_utf8_lossy(&name) != entry.name {
        return Err(Rejection::corrupt(
            format,
            format!("the local header of entry {} names another file", quoted(&entry.name)),
        )
        .into());
    }
    let data = entry.local_header_offset + LOCAL_LEN as u64 + name_len as u64 + extra_len;
    if data.checked_add(entry.compressed_size).is_none_or(|end| end > directory.offset) {
        return Err(Rejection::corrupt(
            format,
            format!("the data of entry {} runs past the start of the central directory", quoted(&entry.name)),
        )
        .into());
    }
    Ok(data)
}

/// True when extracting `name` could write outside the destination folder: an absolute
/// path, a Windows drive letter, or a `..` component (with `/` or `\` separators).
pub(super) fn is_unsafe_path(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.first().is_some_and(|&b| b == b'/' || b == b'\\') {
        return true;
    }
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return true;
    }
    name.split(['/', '\\']).any(|part| part == "..")
}

/// Refuses decompression bombs. The rule: an entry that expands to more than 100 MiB at more
/// than 1000 times its compressed size, or an archive whose entries together expand to more
/// than 1 GiB at more than 100 times their compressed size. Honest archives of already
/// compressed data (weights, images) stay near 1:1; text and sparse tensors compress to
/// 10–50×. (Overlapping entries, the other bomb technique, are refused by the directory check.)
pub(super) fn check_bomb(entries: &[ZipEntry]) -> Result<(), Rejection> {
    let mut total_compressed = 0u64;
    let mut total_uncompressed = 0u64;
    for e in entries {
        step()?;
        if e.uncompressed_size > ENTRY_BOMB_MIN
            && e.uncompressed_size > e.compressed_size.saturating_mul(ENTRY_MAX_RATIO)
        {
            return Err(Rejection(format!(
                "the ZIP archive looks like a decompression bomb: entry {} expands from {} to {} (more than {ENTRY_MAX_RATIO} times)",
                quoted(&e.name),
                human(e.compressed_size),
                human(e.uncompressed_size)
            )));
        }
        total_compressed = total_compressed.saturating_add(e.compressed_size);
        total_uncompressed = total_uncompressed.saturating_add(e.uncompressed_size);
    }
    if total_uncompressed > TOTAL_BOMB_MIN && total_uncompressed > total_compressed.saturating_mul(TOTAL_MAX_RATIO) {
        return Err(Rejection(format!(
            "the ZIP archive looks like a decompression bomb: its entries expand from {} to {} (more than {TOTAL_MAX_RATIO} times)",
            human(total_compressed),
            human(total_uncompressed)
        )));
    }
    Ok(())
}

/// Checks that apply to every entry of a ZIP or USDZ: safe names, and stored entries whose two
/// sizes agree.
fn check_entries(format: Format, entries: &[ZipEntry]) -> Result<(), Rejection> {
    for e in entries {
        steps(1 + e.name.len() as u64)?;
        if is_unsafe_path(&e.name) {
            return Err(Rejection(format!(
                "{} holds an entry with an unsafe path, {}: entry names must be relative and must not climb out of the archive with \"..\"",
                capitalized(format.described()),
                quoted(&e.name)
            )));
        }
        if e.method == 0 && !e.encrypted() && e.compressed_size != e.uncompressed_size {
            return Err(Rejection::corrupt(
                format,
                format!("entry {} is stored uncompressed but lists two different sizes", quoted(&e.name)),
            ));
        }
    }
    Ok(())
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn is_usd_layer(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".usd") || lower.ends_with(".usda") || lower.ends_with(".usdc")
}

/// `PK\x03\x04` (a local file header) or `PK\x05\x06` (an empty archive) → ZIP, or USDZ
/// when the first entry is a USD layer.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.len() >= EOCD_LEN && head.starts_with(b"PK\x05\x06") {
        return Some(Format::Zip);
    }
    if head.len() < LOCAL_LEN || !head.starts_with(b"PK\x03\x04") {
        return None;
    }
    let name_len = u16_at(head, 26) as usize;
    match head.get(LOCAL_LEN..LOCAL_LEN + name_len) {
        Some(name) if is_usd_layer(&String::from_utf8_lossy(name)) => Some(Format::Usdz),
        _ => Some(Format::Zip),
    }
}

/// Checks a ZIP archive or a USDZ package (see the module documentation).
pub fn inspect(format: Format, src: &dyn ByteSource) -> Result<Inspection, InspectError> {
    if !matches!(format, Format::Zip | Format::Usdz) {
        return Ok(Inspection::default());
    }
    let directory = read_central_directory(src, format)?;
    check_entries(format, &directory.entries)?;
    if format == Format::Zip {
        check_bomb(&directory.entries)?;
    } else {
        check_usdz(src, &directory)?;
    }
    let mut inspection = Inspection::default();
    inspection.properties.format = Some(format.name().to_string());
    Ok(inspection)
}

/// The USDZ rules: default layer first, entries stored and unencrypted, data 64-byte aligned.
fn check_usdz(src: &dyn ByteSource, directory: &CentralDirectory) -> Result<(), InspectError> {
    let invalid = |what: String| -> InspectError {
        Rejection(format!("the USDZ package is not valid: {what} (re-export it with usdzip or another USD tool)"))
            .into()
    };
    let Some(first) = directory.entries.first() else {
        return Err(invalid("it is empty, but a USDZ must hold a USD layer".to_string()));
    };
    if !is_usd_layer(&first.name) {
        return Err(invalid(format!(
            "its first file, {}, is not a USD layer (.usd, .usda or .usdc)",
            quoted(&first.name)
        )));
    }
    for e in &directory.entries {
        step()?;
        if e.encrypted() {
            return Err(invalid(format!("{} is encrypted, which USDZ forbids", quoted(&e.name))));
        }
        if e.method != 0 {
            return Err(invalid(format!(
                "{} is compressed, but USDZ requires every file to be stored uncompressed",
                quoted(&e.name)
            )));
        }
    }
    for e in directory.entries.iter().take(USDZ_ALIGNMENT_CHECKED) {
        step()?;
        let data = local_data_offset(src, Format::Usdz, directory, e)?;
        if data % 64 != 0 {
            return Err(invalid(format!(
                "the data of {} starts at byte {data}, not on the 64-byte boundary USDZ requires",
                quoted(&e.name)
            )));
        }
    }
    Ok(())
}

/// A tiny ZIP writer for tests (here and in `weights`): stored entries with correct CRC-32,
/// optional 64-byte data alignment (padding in the extra field, as USD and PyTorch writers
/// do), optional ZIP64 end records, and free-form size overrides to build hostile archives.
#[cfg(test)]
pub(super) mod testzip {
    /// CRC-32 (IEEE), bit by bit: tests only.
    pub fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    /// One entry to write.
    pub struct Entry {
        pub name: String,
        pub data: Vec<u8>,
        /// Compression method written in the headers (the data is written as given).
        pub method: u16,
        /// Declared uncompressed size, if not `data.len()` (written as a ZIP64 extra field
        /// in the directory when it does not fit 32 bits).
        pub declared_uncompressed: Option<u64>,
    }

    impl Entry {
        pub fn stored(name: &str, data: &[u8]) -> Self {
            Entry { name: name.to_string(), data: data.to_vec(), method: 0, declared_uncompressed: None }
        }

        /// `plain`, deflated for real (method 8).
        pub fn deflated(name: &str, plain: &[u8]) -> Self {
            use std::io::Write;
            let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(plain).expect("in memory");
            let data = encoder.finish().expect("in memory");
            Entry { name: name.to_string(), data, method: 8, declared_uncompressed: Some(plain.len() as u64) }
        }

        /// CRC-32 of the entry's uncompressed bytes (of `data` itself when it does not inflate).
        fn crc(&self) -> u32 {
            use std::io::Read;
            let mut plain = Vec::new();
            if self.method == 8 && flate2::read::DeflateDecoder::new(&self.data[..]).read_to_end(&mut plain).is_ok() {
                return crc32(&plain);
            }
            crc32(&self.data)
        }
    }

    /// Writes a ZIP archive of `entries`; `align` pads so each entry's data starts on a
    /// multiple of that many bytes; `zip64` adds the ZIP64 end record and locator.
    pub fn write(entries: &[Entry], align: Option<u64>, zip64: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for e in entries {
            let offset = out.len() as u64;
            let crc = e.crc();
            let mut extra = Vec::new();
            if let Some(a) = align {
                let base = offset + 30 + e.name.len() as u64 + 4;
                let pad = (a - base % a) % a;
                extra.extend_from_slice(&0x4246u16.to_le_bytes()); // "FB", as PyTorch writes
                extra.extend_from_slice(&(pad as u16).to_le_bytes());
                extra.extend(std::iter::repeat_n(b'Z', pad as usize));
            }
            let uncompressed = e.declared_uncompressed.unwrap_or(e.data.len() as u64);
            let small_uncompressed = u32::try_from(uncompressed).unwrap_or(u32::MAX);
            out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            out.extend_from_slice(&20u16.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(&e.method.to_le_bytes());
            out.extend_from_slice(&[0; 4]); // time, date
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&small_uncompressed.to_le_bytes());
            out.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            out.extend_from_slice(&(extra.len() as u16).to_le_bytes());
            out.extend_from_slice(e.name.as_bytes());
            out.extend_from_slice(&extra);
            out.extend_from_slice(&e.data);

            let mut cextra = Vec::new();
            if small_uncompressed == u32::MAX {
                cextra.extend_from_slice(&1u16.to_le_bytes());
                cextra.extend_from_slice(&8u16.to_le_bytes());
                cextra.extend_from_slice(&uncompressed.to_le_bytes());
            }
            central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            central.extend_from_slice(&20u16.to_le_bytes());
            central.extend_from_slice(&20u16.to_le_bytes());
            central.extend_from_slice(&0u16.to_le_bytes());
            central.extend_from_slice(&e.method.to_le_bytes());
            central.extend_from_slice(&[0; 4]);
            central.extend_from_slice(&crc.to_le_bytes());
            central.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
            central.extend_from_slice(&small_uncompressed.to_le_bytes());
            central.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            central.extend_from_slice(&(cextra.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 8]); // comment len, disk, internal attrs, part of external
            central.extend_from_slice(&[0; 2]); // rest of external attrs
            central.extend_from_slice(&(offset as u32).to_le_bytes());
            central.extend_from_slice(e.name.as_bytes());
            central.extend_from_slice(&cextra);
        }
        let cd_offset = out.len() as u64;
        out.extend_from_slice(&central);
        let n = entries.len() as u64;
        if zip64 {
            let record = out.len() as u64;
            out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
            out.extend_from_slice(&44u64.to_le_bytes());
            out.extend_from_slice(&45u16.to_le_bytes());
            out.extend_from_slice(&45u16.to_le_bytes());
            out.extend_from_slice(&[0; 8]);
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(&n.to_le_bytes());
            out.extend_from_slice(&(central.len() as u64).to_le_bytes());
            out.extend_from_slice(&cd_offset.to_le_bytes());
            out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&record.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
        }
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        let (n16, size32, off32) =
            if zip64 { (u16::MAX, u32::MAX, u32::MAX) } else { (n as u16, central.len() as u32, cd_offset as u32) };
        out.extend_from_slice(&n16.to_le_bytes());
        out.extend_from_slice(&n16.to_le_bytes());
        out.extend_from_slice(&size32.to_le_bytes());
        out.extend_from_slice(&off32.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }
}

#[cfg(test)]
mod tests;
