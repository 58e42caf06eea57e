//! Model weights: safetensors, GGUF, ONNX, PyTorch zip checkpoints and bare pickles.
//!
//! - **safetensors** (`weights/safetensors.rs`): the JSON header is parsed as a stream (never
//!   the data): every tensor's dtype, shape and data offsets are checked, the byte length must
//!   equal elements × dtype size, and the tensors must tile the data section exactly — no
//!   overlap, no gap, no bytes after the last tensor. That is the rule of the reference
//!   `safetensors` library (which refuses such files, to prevent polyglots), so a file refused
//!   here would not load anyway. Tensor names and shapes point to a Scenario LoRA family
//!   (a documented rule table; `None` when unsure, so the model becomes `custom`).
//! - **GGUF** (`weights/gguf.rs`): header, every metadata key/value (skipped by length), every
//!   tensor info; each tensor's data (size from its ggml type) must be aligned and lie inside
//!   the file, which catches truncated downloads without reading the data.
//! - **ONNX** (`weights/onnx.rs`): the protobuf `ModelProto` walked field by field, the
//!   initializers' data skipped by seeking; the model is `custom`.
//! - **PyTorch zip** (`torch.save`): the ZIP directory is verified with `archive`'s helpers
//!   (and its bomb rules) and `data.pkl` must exist; the storages under `…/data/` are counted
//!   as `tensor_count`.
//! - **bare pickle** (protocols 0 to 5, legacy `torch.save` files too).
//!
//! The pickles of both (every `*.pkl` record of a torch ZIP) are read opcode by opcode by
//! `weights/pickle/`, never executed, from [`super::validate_with`], which judges what
//! they import.

mod gguf;
mod onnx;
pub(super) mod pickle;
mod safetensors;

use std::io::{self, Read};

use super::archive;
use super::{read_exact_at, ByteSource, Format, InspectError, Inspection, Rejection, WeightsInfo};
use safetensors::MAX_HEADER;

/// Recognises weights from the first bytes:
/// - safetensors: u64 LE header length N, 2 ≤ N ≤ min(100 MiB, file − 8), then `{`;
/// - GGUF: `GGUF` + version 1..=3;
/// - PyTorch zip: a ZIP whose first entry is `data.pkl`/`*/data.pkl`, or a small stored
///   `version`/`*/version`/`*/.data/version` record holding digits;
/// - bare pickle: `0x80` (PROTO) + protocol 2..=5. Any file starting with these two bytes
///   is claimed, a real false-positive risk, accepted because this sniffer runs after every
///   image/video/audio/mesh sniffer, `0x80` cannot start UTF-8 text, and inspection then
///   reads it opcode by opcode. Pickles of protocols 0 and 1 (and `PROTO 0`/`PROTO 1`) have
///   no magic number: they are claimed when their first bytes read as pickles (see
///   [`pickle::looks_like_pickle`]), so a protocol 0 pickle, which is ASCII, is not taken
///   for text.
/// - ONNX: `ir_version` first, then `ModelProto` fields (see `onnx::sniff`), checked
///   before pickles.
pub fn sniff(head: &[u8], total_len: u64) -> Option<Format> {
    if head.len() >= 9 && head[8] == b'{' {
        let n = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
        if n >= 2 && n <= MAX_HEADER.min(total_len.saturating_sub(8)) {
            return Some(Format::Safetensors);
        }
        // A length no text could spell (not all printable bytes) before `{"`: a
        // safetensors file whose header length is broken. Claim it so the rejection can
        // say so, rather than "no format recognised".
        if head.get(9) == Some(&b'"') && !head[..8].iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return Some(Format::Safetensors);
        }
    }
    if head.len() >= 8 && head.starts_with(b"GGUF") {
        let version = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
        if (1..=3).contains(&version) {
            return Some(Format::Gguf);
        }
    }
    if is_torch_zip_head(head) {
        return Some(Format::TorchZip);
    }
    if onnx::sniff(head, total_len) {
        return Some(Format::Onnx);
    }
    if head.len() >= 2 && head[0] == 0x80 && (2..=5).contains(&head[1]) {
        return Some(Format::Pickle);
    }
    if pickle::looks_like_pickle(head, total_len) {
        return Some(Format::Pickle);
    }
    None
}

fn is_torch_zip_head(head: &[u8]) -> bool {
    if head.len() < 30 || !head.starts_with(b"PK\x03\x04") {
        return false;
    }
    let u16_at = |at: usize| u16::from_le_bytes([head[at], head[at + 1]]) as usize;
    let method = u16_at(8);
    let size = u32::from_le_bytes(head[18..22].try_into().expect("4 bytes")) as usize;
    let (name_len, extra_len) = (u16_at(26), u16_at(28));
    let Some(name) = head.get(30..30 + name_len) else {
        return false;
    };
    if name == b"data.pkl" || name.ends_with(b"/data.pkl") {
        return true;
    }
    if name == b"version" || name.ends_with(b"/version") {
        // torch writes the format version as a few digits and a newline, stored.
        let start = 30 + name_len + extra_len;
        return method == 0
            && (1..=8).contains(&size)
            && head.get(start..start + size).is_some_and(|v| {
                let digits = v.strip_suffix(b"\n").unwrap_or(v);
                !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
            });
    }
    false
}

/// Parses a weights file already sniffed as `format`.
pub fn inspect(format: Format, src: &dyn ByteSource) -> Result<Inspection, InspectError> {
    let weights = match format {
        Format::Safetensors => safetensors::inspect(src)?,
        Format::Gguf => gguf::inspect(src)?,
        Format::TorchZip => inspect_torch_zip(src)?,
        // Every pickle is read, and judged, in `validate_with`.
        Format::Pickle => WeightsInfo::default(),
        Format::Onnx => {
            let (properties, weights) = onnx::inspect(src)?;
            return Ok(Inspection { properties, weights: Some(weights) });
        }
        _ => return Ok(Inspection::default()),
    };
    Ok(Inspection { weights: Some(weights), ..Inspection::default() })
}

/// Buffered sequential reads of `[pos, end)` of a source, with cheap skips.
struct Cursor<'a> {
    src: &'a dyn ByteSource,
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    buf_start: u64,
    chunk: usize,
}

impl<'a> Cursor<'a> {
    fn new(src: &'a dyn ByteSource, start: u64, end: u64, chunk: usize) -> Self {
        Cursor { src, pos: start, end, buf: Vec::new(), buf_start: start, chunk }
    }

    /// Index into `buf` of `pos`, if buffered.
    fn buffered(&self) -> Option<usize> {
        let off = self.pos.checked_sub(self.buf_start)?;
        (off < self.buf.len() as u64).then_some(off as usize)
    }

    fn fill(&mut self) -> io::Result<()> {
        let want = self.end.saturating_sub(self.pos).min(self.chunk as u64) as usize;
        if want == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.resize(want, 0);
        read_exact_at(self.src, self.pos, &mut self.buf)?;
        self.buf_start = self.pos;
        Ok(())
    }

    fn read_exact(&mut self, out: &mut [u8]) -> io::Result<()> {
        let mut done = 0;
        while done < out.len() {
            let at = match self.buffered() {
                Some(at) => at,
                None => {
                    self.fill()?;
                    0
                }
            };
            let n = (self.buf.len() - at).min(out.len() - done);
            out[done..done + n].copy_from_slice(&self.buf[at..at + n]);
            self.pos += n as u64;
            done += n;
        }
        Ok(())
    }

    fn skip(&mut self, n: u64) -> io::Result<()> {
        match self.pos.checked_add(n) {
            Some(p) if p <= self.end => {
                self.pos = p;
                Ok(())
            }
            _ => Err(io::ErrorKind::UnexpectedEof.into()),
        }
    }

    fn u32(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

impl Read for Cursor<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() || self.pos >= self.end {
            return Ok(0);
        }
        let at = match self.buffered() {
            Some(at) => at,
            None => {
                self.fill()?;
                0
            }
        };
        let n = (self.buf.len() - at).min(out.len());
        out[..n].copy_from_slice(&self.buf[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

// PyTorch zip checkpoints and pickles

fn inspect_torch_zip(src: &dyn ByteSource) -> Result<WeightsInfo, InspectError> {
    let format = Format::TorchZip;
    let directory = archive::read_central_directory(src, format)?;
    archive::check_bomb(&directory.entries)?;
    let Some(data_pkl) = directory
        .entries
        .iter()
        .find(|e| e.name == "data.pkl" || (e.name.ends_with("/data.pkl") && e.name.matches('/').count() == 1))
    else {
        return Err(Rejection::corrupt(format, "it has no data.pkl record").into());
    };
    let prefix = &data_pkl.name[..data_pkl.name.len() - "data.pkl".len()];
    let storages = directory
        .entries
        .iter()
        .filter(|e| {
            e.name
                .strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix("data/"))
                .is_some_and(|key| !key.is_empty() && !key.ends_with('/'))
        })
        .count() as u64;
    Ok(WeightsInfo { tensor_count: Some(storages), ..WeightsInfo::default() })
}

#[cfg(test)]
mod tests {
    use super::super::archive::testzip::{self, Entry};
    use super::*;
    use crate::validate::{sniff_head, validate};
    use intake_api::Kind;

    pub(super) fn rejection(result: Result<Inspection, InspectError>) -> String {
        match result {
            Err(InspectError::Rejected(r)) => r.0,
            Err(InspectError::Io(e)) => panic!("expected a rejection, got I/O error {e}"),
            Ok(i) => panic!("expected a rejection, got {i:?}"),
        }
    }

    /// Sniffs `bytes` through the dispatcher (expecting `format`) and inspects them.
    pub(super) fn weights(bytes: &[u8], format: Format) -> WeightsInfo {
        assert_eq!(sniff_head(bytes, bytes.len() as u64), format);
        inspect(format, &bytes.to_vec()).unwrap().weights.unwrap()
    }

    const DATA_PKL: &[u8] = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.";

    /// The layout `torch.save` writes (records 64-byte aligned with an "FB" extra field).
    fn torch_zip(records: &[(&str, &[u8])]) -> Vec<u8> {
        let entries: Vec<Entry> = records.iter().map(|(n, d)| Entry::stored(n, d)).collect();
        testzip::write(&entries, Some(64), false)
    }

    fn sample_torch() -> Vec<u8> {
        torch_zip(&[
            ("archive/data.pkl", DATA_PKL),
            ("archive/.format_version", b"1"),
            ("archive/.storage_alignment", b"64"),
            ("archive/byteorder", b"little"),
            ("archive/data/0", &[0u8; 64]),
            ("archive/data/1", &[0u8; 16]),
            ("archive/version", b"3\n"),
            ("archive/.data/serialization_id", b"1234567890"),
        ])
    }

    #[test]
    fn valid_torch_zip() {
        let file = sample_torch();
        let w = weights(&file, Format::TorchZip);
        assert_eq!(w.tensor_count, Some(2));
        assert_eq!(validate(Kind::Model, &file).unwrap().properties.format.as_deref(), Some("pytorch"));
        // A version record first (older writers) is recognised too; a plain ZIP is not.
        let file = torch_zip(&[("model/version", b"3\n"), ("model/data.pkl", DATA_PKL), ("model/data/0", &[1; 8])]);
        assert_eq!(weights(&file, Format::TorchZip).tensor_count, Some(1));
        let file = torch_zip(&[("notes/version", b"v2 draft"), ("notes/a.txt", b"x")]);
        assert_eq!(sniff_head(&file, file.len() as u64), Format::Zip);
        assert_eq!(sniff(&file, file.len() as u64), None);
    }

    #[test]
    fn truncated_and_corrupted_torch_zip() {
        let file = sample_torch();
        let err = validate(Kind::Model, &file[..file.len() - 100].to_vec()).unwrap_err().to_string();
        assert!(
            err.starts_with("the file looks like a PyTorch checkpoint but is damaged: its end-of-central-directory"),
            "{err}"
        );

        let file = torch_zip(&[("archive/version", b"3\n"), ("archive/data/0", &[0; 8])]);
        assert!(rejection(inspect(Format::TorchZip, &file)).contains("no data.pkl record"));

        let mut file = sample_torch();
        let at = file.windows(DATA_PKL.len()).position(|w| w == DATA_PKL).unwrap();
        file[at + DATA_PKL.len() - 1] = b's';
        let err = validate(Kind::Model, &file).unwrap_err().to_string();
        assert!(err.starts_with("the file could not be proven safe: its record \"archive/data.pkl\""), "{err}");
        let err = validate(Kind::Asset, &file).unwrap_err().to_string();
        assert!(err.starts_with("the file looks like a PyTorch checkpoint but is damaged: its record"), "{err}");
    }

    #[test]
    fn pickles() {
        let pickle = b"\x80\x04\x95\n\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.";
        assert_eq!(weights(pickle, Format::Pickle), WeightsInfo::default());
        let found = pickle::read_bare(&pickle.to_vec()).unwrap();
        assert_eq!((found.imports.len(), found.unreadable, found.pickles), (0, None, 1));
        assert_eq!(validate(Kind::Model, &pickle.to_vec()).unwrap().pickle_imports, Some(vec![]));
        let legacy = pickle::testpickle::legacy_torch(None);
        let found = pickle::read_bare(&legacy).unwrap();
        assert_eq!((found.unreadable, found.pickles), (None, 5));
        let cut = pickle[..pickle.len() - 2].to_vec();
        let found = pickle::read_bare(&cut).unwrap();
        assert!(found.unreadable.unwrap().contains("the file is truncated"));
        let msg = validate(Kind::Model, &cut).unwrap_err().to_string();
        assert!(msg.starts_with("the file could not be proven safe: its pickle cannot be read to its end"), "{msg}");
        assert_eq!(sniff(b"\x80\x01abc", 5), None);
        assert_eq!(sniff(b"\x80\x06abc", 5), None);
    }

    #[test]
    fn kind_mismatch_messages() {
        let mut safetensors = 16u64.to_le_bytes().to_vec();
        safetensors.extend_from_slice(b"{}              ");
        let err = validate(Kind::Image, &safetensors).unwrap_err().to_string();
        assert_eq!(err, "expected an image (PNG, JPEG, WebP, GIF, AVIF, HEIC, TIFF, BMP, TGA, PSD, OpenEXR or Radiance HDR), found a safetensors weights file");
        let mut gguf = b"GGUF".to_vec();
        gguf.extend_from_slice(&[3, 0, 0, 0]);
        gguf.extend_from_slice(&[0; 16]);
        let err = validate(Kind::Audio, &gguf).unwrap_err().to_string();
        assert_eq!(err, "expected audio (WAV, MP3, FLAC, Ogg, M4A, AAC or AIFF), found a GGUF weights file");
        let err = validate(Kind::Text, &sample_torch()).unwrap_err().to_string();
        assert_eq!(err, "expected UTF-8 text, found a PyTorch checkpoint");
        let err = validate(Kind::Video, &b"\x80\x04K\x01.".to_vec()).unwrap_err().to_string();
        assert_eq!(err, "expected a video (MP4, MOV, WebM, MKV, AVI or MPEG-TS), found a Python pickle");
        // An empty safetensors file and an empty GGUF are valid weights files.
        assert_eq!(validate(Kind::Model, &safetensors).unwrap().weights.unwrap().tensor_count, Some(0));
        assert_eq!(validate(Kind::Model, &gguf).unwrap().weights.unwrap().tensor_count, Some(0));
    }

    #[test]
    fn hostile_torch_zips_do_not_panic() {
        let file = sample_torch();
        for i in (0..file.len()).step_by(3) {
            for v in [0u8, 0xff, 0x80] {
                let mut f = file.clone();
                f[i] = v;
                let _ = inspect(Format::TorchZip, &f);
                let _ = inspect(Format::Pickle, &f);
            }
            let _ = inspect(Format::TorchZip, &file[..i].to_vec());
            let _ = inspect(Format::Pickle, &file[..i].to_vec());
        }
    }
}
