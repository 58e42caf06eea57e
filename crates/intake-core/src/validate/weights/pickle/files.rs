//! Every pickle in a file, wherever the file keeps them:
//! - a bare pickle file: pickles back to back to the end of the file; a legacy (pre-1.6)
//!   `torch.save` file, recognised by the magic number its first pickle holds, is five
//!   pickles (magic, protocol version, system info, the object, the storage keys) followed by
//!   raw storage bytes that no loader unpickles, so reading stops after the fifth;
//! - a `torch.save` ZIP: every `*.pkl` record, not only `data.pkl`;
//! - a ZIP of weights: every record that is a pickle (by its first bytes, or named `.pkl` /
//!   `.pickle`), and the `*.pkl` records of a PyTorch checkpoint stored inside it.
//!
//! Stored records are read in place; deflated ones through the decompressor, never past the
//! size the directory declares (which `archive`'s bomb rules have bounded).

use std::collections::HashSet;
use std::io::{self, Read};

use flate2::read::DeflateDecoder;

use super::super::archive::{self, CentralDirectory, ZipEntry};
use super::super::Cursor;
use super::input::{Input, RangeInput, StreamInput};
use super::machine::{Fault, Imports, Machine};
use crate::validate::{read_up_to, sniff_head, ByteSource, Format, InspectError};

/// How many pickles a legacy `torch.save` file holds before its raw storage bytes.
const LEGACY_PICKLES: u64 = 5;
/// How many leading bytes of a ZIP record decide whether it is a pickle.
const RECORD_HEAD: u64 = 4096;
/// Read size through a record's decompressor.
const INFLATE_CHUNK: usize = 64 * 1024;
/// File name endings that `torch.load` opens directly.
const TORCH_ENDINGS: [&str; 4] = [".pt", ".pth", ".ckpt", ".bin"];

/// What reading a file's pickles found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PickleFindings {
    /// Every object the pickles import, as sorted, distinct `module.name` strings.
    pub imports: Vec<String>,
    /// Where and why reading stopped before the end, in words ("its record
    /// \"archive/data.pkl\" cannot be read to its end: at byte 57, …"); `None` when every
    /// pickle was read to its `STOP`.
    pub unreadable: Option<String>,
    /// How many pickles were read to their end.
    pub pickles: u64,
}

/// Reads pickles and gathers what they import, across the records of one file.
#[derive(Default)]
pub(super) struct Reader {
    machine: Machine,
    imports: Imports,
    pickles: u64,
    unreadable: Option<String>,
}

impl Reader {
    pub fn finish(self) -> PickleFindings {
        PickleFindings {
            imports: self.imports.names.into_iter().collect(),
            unreadable: self.unreadable,
            pickles: self.pickles,
        }
    }

    /// The pickles of a whole file, back to back.
    pub fn bare(&mut self, src: &dyn ByteSource) -> io::Result<()> {
        let mut input = RangeInput::new(src, 0, src.len());
        self.sequence(&mut input, &Place::File, false)
    }

    /// Every `*.pkl` record of a `torch.save` ZIP (`inside`: the record of an outer ZIP that
    /// holds it).
    pub fn torch_zip(
        &mut self,
        src: &dyn ByteSource,
        directory: &CentralDirectory,
        inside: Option<&str>,
    ) -> Result<(), InspectError> {
        for entry in &directory.entries {
            if self.unreadable.is_some() {
                break;
            }
            if entry.name.to_ascii_lowercase().ends_with(".pkl") {
                let place = Place::Record { name: &entry.name, inside };
                self.record(src, directory, entry, Format::TorchZip, &place, false)?;
            }
        }
        Ok(())
    }

    /// Every pickle in a ZIP of weights; `depth` 0 for the uploaded file, 1 for a ZIP
    /// stored in it (not followed deeper).
    pub fn weights_zip(
        &mut self,
        src: &dyn ByteSource,
        directory: &CentralDirectory,
        inside: Option<&str>,
        depth: u8,
    ) -> Result<(), InspectError> {
        // `<prefix>data.pkl` marks an unpacked torch.save folder: its `<prefix>data/<key>`
        // records are raw storage bytes, never unpickled, whatever their first bytes are.
        let checkpoint_prefixes: HashSet<&str> =
            directory.entries.iter().filter_map(|e| e.name.strip_suffix("data.pkl")).collect();
        for entry in &directory.entries {
            if self.unreadable.is_some() {
                break;
            }
            if entry.name.ends_with('/') || entry.uncompressed_size == 0 {
                continue;
            }
            let is_storage = entry.name.rsplit_once('/').is_some_and(|(dir, key)| {
                !key.is_empty() && dir.strip_suffix("data").is_some_and(|prefix| checkpoint_prefixes.contains(prefix))
            });
            if is_storage {
                continue;
            }
            let lower = entry.name.to_ascii_lowercase();
            let named_pickle = lower.ends_with(".pkl") || lower.ends_with(".pickle");
            let torch_named = TORCH_ENDINGS.iter().any(|e| lower.ends_with(e));
            let place = Place::Record { name: &entry.name, inside };
            if entry.encrypted() || !matches!(entry.method, 0 | 8) {
                if named_pickle || torch_named {
                    let how = if entry.encrypted() {
                        "is encrypted".to_string()
                    } else {
                        format!("is compressed with method {}, which intake cannot read", entry.method)
                    };
                    self.unreadable = Some(format!("{place} {how}, so what it holds cannot be checked"));
                }
                continue;
            }
            let start = archive::local_data_offset(src, Format::Zip, directory, entry)?;
            let Some(head) = record_head(src, entry, start)? else {
                if named_pickle || torch_named {
                    self.unreadable = Some(format!("{place} cannot be read: its compressed data is damaged"));
                }
                continue;
            };
            match sniff_head(&head, entry.uncompressed_size) {
                Format::Pickle => self.record(src, directory, entry, Format::Zip, &place, false)?,
                found @ (Format::TorchZip | Format::Zip) if entry.method == 0 && depth == 0 => {
                    self.nested_zip(src, entry, start, found, &place)?;
                }
                found @ (Format::TorchZip | Format::Zip) if torch_named || found == Format::TorchZip => {
                    self.unreadable = Some(format!(
                        "{place} is a PyTorch checkpoint (a ZIP) that intake cannot open where it lies ({}): store it uncompressed in the ZIP (zip -0), or upload it on its own",
                        if entry.method == 0 { "a ZIP inside a ZIP inside the upload" } else { "it is compressed" }
                    ));
                }
                _ if named_pickle => self.record(src, directory, entry, Format::Zip, &place, false)?,
                // `torch.load` unpickles any file that is not a ZIP, whatever else it looks
                // like: read it as a pickle, unless it breaks at once where Python would too.
                _ if torch_named => {
                    self.record(src, directory, entry, Format::Zip, &place, true)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A ZIP stored (uncompressed) as record `entry` of an outer ZIP, read in place.
    fn nested_zip(
        &mut self,
        src: &dyn ByteSource,
        entry: &ZipEntry,
        start: u64,
        format: Format,
        place: &Place,
    ) -> Result<(), InspectError> {
        let window = Window { inner: src, start, len: entry.compressed_size };
        let directory = match archive::read_central_directory(&window, format) {
            Ok(d) => d,
            Err(InspectError::Rejected(r)) => {
                self.unreadable = Some(format!("{place} is a ZIP that cannot be read: {r}"));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if let Err(r) = archive::check_bomb(&directory.entries) {
            self.unreadable = Some(format!("{place} cannot be read: {r}"));
            return Ok(());
        }
        if format == Format::TorchZip {
            self.torch_zip(&window, &directory, Some(&entry.name))
        } else {
            self.weights_zip(&window, &directory, Some(&entry.name), 1)
        }
    }

    /// The pickles of one ZIP record, stored or deflated. With `probe`, a record whose first
    /// pickle breaks where Python's unpickler would break too, before importing anything, is
    /// taken for what it is, not a pickle (a raw `.bin`): loading it runs nothing.
    fn record(
        &mut self,
        src: &dyn ByteSource,
        directory: &CentralDirectory,
        entry: &ZipEntry,
        format: Format,
        place: &Place,
        probe: bool,
    ) -> Result<(), InspectError> {
        if entry.encrypted() {
            self.unreadable = Some(format!("{place} is encrypted, so its pickle cannot be read"));
            return Ok(());
        }
        let start = archive::local_data_offset(src, format, directory, entry)?;
        match entry.method {
            0 => {
                let mut input = RangeInput::new(src, start, start + entry.compressed_size);
                self.sequence(&mut input, place, probe)?;
            }
            8 => {
                let compressed = Cursor::new(src, start, start + entry.compressed_size, INFLATE_CHUNK);
                let mut input = StreamInput::new(DeflateDecoder::new(compressed), entry.uncompressed_size);
                self.sequence(&mut input, place, probe)?;
            }
            method => {
                self.unreadable = Some(format!("{place} is compressed with method {method}, which intake cannot read"));
            }
        }
        Ok(())
    }

    /// Reads pickles back to back from `input`: five for a legacy `torch.save` file, else
    /// until the input ends. A pickle that cannot be read to its end stops the reading. With
    /// `probe`, see [`Reader::record`].
    fn sequence<I: Input>(&mut self, input: &mut I, place: &Place, probe: bool) -> io::Result<()> {
        let mut legacy = false;
        let mut number = 0u64;
        let imports_before = self.imports.recorded;
        loop {
            number += 1;
            match self.machine.run(input, &mut self.imports) {
                Ok(ending) => {
                    self.pickles += 1;
                    legacy |= number == 1 && ending.torch_magic;
                    let more = if legacy { number < LEGACY_PICKLES } else { input.remaining() > 0 };
                    if !more {
                        return Ok(());
                    }
                }
                Err(Fault::Io(e)) => return Err(e),
                Err(Fault::Unreadable { .. } | Fault::Truncated { .. })
                    if probe && number == 1 && self.imports.recorded == imports_before =>
                {
                    return Ok(());
                }
                Err(
                    Fault::Unreadable { at, what } | Fault::Truncated { at, what } | Fault::Unfollowable { at, what },
                ) => {
                    self.unreadable =
                        Some(format!("{} cannot be read to its end: at byte {at}, {what}", place.pickle(number)));
                    return Ok(());
                }
                Err(Fault::Limit(what)) => {
                    self.unreadable = Some(format!("{} is more than intake reads: {what}", place.pickle(number)));
                    return Ok(());
                }
            }
        }
    }
}

/// The first bytes of a record (through its decompressor when deflated); `None` when the
/// compressed data is damaged.
fn record_head(src: &dyn ByteSource, entry: &ZipEntry, start: u64) -> io::Result<Option<Vec<u8>>> {
    let want = entry.uncompressed_size.min(RECORD_HEAD) as usize;
    if entry.method == 0 {
        return read_up_to(src, start, want.min(entry.compressed_size as usize)).map(Some);
    }
    let compressed = Cursor::new(src, start, start + entry.compressed_size, INFLATE_CHUNK);
    let mut head = Vec::with_capacity(want);
    match DeflateDecoder::new(compressed).take(want as u64).read_to_end(&mut head) {
        Ok(_) => Ok(Some(head)),
        Err(e) if matches!(e.kind(), io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Where a pickle is, for messages.
enum Place<'a> {
    /// The uploaded file itself.
    File,
    /// A ZIP record, possibly of a ZIP stored as record `inside` of the upload.
    Record { name: &'a str, inside: Option<&'a str> },
}

impl Place<'_> {
    /// Names pickle number `number` of this place.
    fn pickle(&self, number: u64) -> String {
        match (self, number) {
            (Place::File, 1) => "its pickle".to_string(),
            (Place::File, n) => format!("its pickle number {n}"),
            (record, 1) => record.to_string(),
            (record, n) => format!("pickle number {n} of {record}"),
        }
    }
}

impl std::fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::File => write!(f, "the file"),
            Place::Record { name, inside: None } => write!(f, "its record {}", archive::quoted(name)),
            Place::Record { name, inside: Some(outer) } => {
                write!(f, "its record {} inside {}", archive::quoted(name), archive::quoted(outer))
            }
        }
    }
}

/// The bytes `[start, start + len)` of another source, as a source of their own (a ZIP
/// stored inside a ZIP).
struct Window<'a> {
    inner: &'a dyn ByteSource,
    start: u64,
    len: u64,
}

impl ByteSource for Window<'_> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let n = (self.len - offset).min(buf.len() as u64) as usize;
        self.inner.read_at(self.start + offset, &mut buf[..n])
    }
}
