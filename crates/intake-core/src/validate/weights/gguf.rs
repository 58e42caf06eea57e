//! GGUF (llama.cpp): header, metadata key/values (skipped by length, never stored), tensor
//! infos; every tensor's data must be aligned, inside the file and not overlap another.

use std::collections::BTreeSet;
use std::io;

use super::archive::quoted;
use super::Cursor;
use crate::validate::work::{step, steps};
use crate::validate::{ByteSource, Format, InspectError, Rejection, WeightsInfo};

/// Sanity caps.
const MAX_TENSORS: u64 = 1_000_000;
const MAX_KV: u64 = 1_000_000;
const MAX_KEY: u64 = 65_535;
const MAX_ARRAY_DEPTH: u32 = 3;
/// Metadata values (array elements included) walked at most: a 256k-token vocabulary and
/// its merges take about 600k.
const MAX_ITEMS: u64 = 8_000_000;
/// Bytes of tensor names kept for messages.
const MAX_NAME_BYTES: usize = 16 << 20;
/// Distinct dtypes reported at most (a file may name any number of unknown ggml types).
const MAX_DTYPES: usize = 64;

/// ggml tensor types: (name, elements per block, bytes per block).
fn ggml_type(t: u32) -> Option<(&'static str, u64, u64)> {
    Some(match t {
        0 => ("F32", 1, 4),
        1 => ("F16", 1, 2),
        2 => ("Q4_0", 32, 18),
        3 => ("Q4_1", 32, 20),
        6 => ("Q5_0", 32, 22),
        7 => ("Q5_1", 32, 24),
        8 => ("Q8_0", 32, 34),
        9 => ("Q8_1", 32, 40),
        10 => ("Q2_K", 256, 84),
        11 => ("Q3_K", 256, 110),
        12 => ("Q4_K", 256, 144),
        13 => ("Q5_K", 256, 176),
        14 => ("Q6_K", 256, 210),
        15 => ("Q8_K", 256, 292),
        16 => ("IQ2_XXS", 256, 66),
        17 => ("IQ2_XS", 256, 74),
        18 => ("IQ3_XXS", 256, 98),
        19 => ("IQ1_S", 256, 50),
        20 => ("IQ4_NL", 32, 18),
        21 => ("IQ3_S", 256, 110),
        22 => ("IQ2_S", 256, 82),
        23 => ("IQ4_XS", 256, 136),
        24 => ("I8", 1, 1),
        25 => ("I16", 1, 2),
        26 => ("I32", 1, 4),
        27 => ("I64", 1, 8),
        28 => ("F64", 1, 8),
        29 => ("IQ1_M", 256, 56),
        30 => ("BF16", 1, 2),
        34 => ("TQ1_0", 256, 54),
        35 => ("TQ2_0", 256, 66),
        39 => ("MXFP4", 32, 17),
        40 => ("NVFP4", 64, 36),
        41 => ("Q1_0", 128, 18),
        _ => return None,
    })
}

struct Gguf<'a> {
    cursor: Cursor<'a>,
    v1: bool,
    items: u64,
}

fn gguf_corrupt(what: String) -> InspectError {
    Rejection::corrupt(Format::Gguf, what).into()
}

impl Gguf<'_> {
    /// A count or length: u32 in version 1, u64 after.
    fn count(&mut self) -> io::Result<u64> {
        if self.v1 {
            self.cursor.u32().map(u64::from)
        } else {
            self.cursor.u64()
        }
    }

    fn string(&mut self, cap: u64, what: &str) -> Result<Vec<u8>, InspectError> {
        let len = self.count()?;
        if len > cap {
            return Err(gguf_corrupt(format!("{what} is {len} bytes long")));
        }
        let mut s = vec![0u8; len as usize];
        self.cursor.read_exact(&mut s)?;
        Ok(s)
    }

    fn tick(&mut self) -> Result<(), InspectError> {
        step()?;
        self.items += 1;
        if self.items > MAX_ITEMS {
            return Err(gguf_corrupt(format!("its metadata holds more than {MAX_ITEMS} values")));
        }
        Ok(())
    }

    /// Skips a metadata value of type `ty`.
    fn skip_value(&mut self, ty: u32, depth: u32) -> Result<(), InspectError> {
        self.tick()?;
        match ty {
            0 | 1 | 7 => self.cursor.skip(1)?,
            2 | 3 => self.cursor.skip(2)?,
            4..=6 => self.cursor.skip(4)?,
            10..=12 => self.cursor.skip(8)?,
            8 => {
                let len = self.count()?;
                self.cursor.skip(len)?;
            }
            9 => {
                let elem = self.cursor.u32()?;
                let count = self.count()?;
                let fixed = match elem {
                    0 | 1 | 7 => Some(1u64),
                    2 | 3 => Some(2),
                    4..=6 => Some(4),
                    10..=12 => Some(8),
                    _ => None,
                };
                if let Some(size) = fixed {
                    let bytes =
                        count.checked_mul(size).ok_or_else(|| gguf_corrupt("an array is impossibly long".into()))?;
                    self.cursor.skip(bytes)?;
                } else if elem == 8 || (elem == 9 && depth < MAX_ARRAY_DEPTH) {
                    for _ in 0..count {
                        self.skip_value(elem, depth + 1)?;
                    }
                } else {
                    return Err(gguf_corrupt(format!("a metadata array has an unsupported element type ({elem})")));
                }
            }
            _ => return Err(gguf_corrupt(format!("a metadata value has an unknown type ({ty})"))),
        }
        Ok(())
    }
}

pub(super) fn inspect(src: &dyn ByteSource) -> Result<WeightsInfo, InspectError> {
    let len = src.len();
    let mut g = Gguf { cursor: Cursor::new(src, 0, len, 256 << 10), v1: false, items: 0 };
    let mut magic = [0u8; 4];
    g.cursor.read_exact(&mut magic)?;
    let version = g.cursor.u32()?;
    if magic != *b"GGUF" || !(1..=3).contains(&version) {
        return Err(gguf_corrupt(format!("its header announces an unsupported version ({version})")));
    }
    g.v1 = version == 1;
    let tensor_count = g.count()?;
    let kv_count = g.count()?;
    if tensor_count > MAX_TENSORS {
        return Err(gguf_corrupt(format!("it claims {tensor_count} tensors, more than {MAX_TENSORS}")));
    }
    if kv_count > MAX_KV {
        return Err(gguf_corrupt(format!("it claims {kv_count} metadata entries, more than {MAX_KV}")));
    }

    let mut alignment = 32u64;
    for _ in 0..kv_count {
        step()?;
        let key = g.string(MAX_KEY, "a metadata key")?;
        let ty = g.cursor.u32()?;
        if key == b"general.alignment" {
            if ty != 4 {
                return Err(gguf_corrupt("its general.alignment is not a 32-bit unsigned integer".into()));
            }
            let a = g.cursor.u32()? as u64;
            if a == 0 || !a.is_power_of_two() {
                return Err(gguf_corrupt(format!("its general.alignment ({a}) is not a power of two")));
            }
            alignment = a;
            continue;
        }
        g.skip_value(ty, 0)?;
    }

    // Tensor infos: (offset, size if the type is known, label).
    let mut tensors: Vec<(u64, Option<u64>, String)> = Vec::with_capacity(tensor_count.min(1 << 16) as usize);
    let mut name_bytes = 0usize;
    let mut parameters = 0u64;
    let mut dtypes = BTreeSet::new();
    for index in 0..tensor_count {
        step()?;
        let name = g.string(MAX_KEY, "a tensor name")?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let n_dims = g.cursor.u32()?;
        if n_dims > 4 {
            return Err(gguf_corrupt(format!("tensor {} has {n_dims} dimensions (at most 4)", quoted(&name))));
        }
        let mut elements = 1u64;
        let mut first = 1u64;
        for d in 0..n_dims {
            let dim = g.count()?;
            if d == 0 {
                first = dim;
            }
            elements = elements
                .checked_mul(dim)
                .ok_or_else(|| gguf_corrupt(format!("the shape of tensor {} is impossibly large", quoted(&name))))?;
        }
        let ty = g.cursor.u32()?;
        let offset = g.cursor.u64()?;
        let size =
            match ggml_type(ty) {
                Some((type_name, block, bytes)) => {
                    dtypes.insert(type_name.to_string());
                    if !first.is_multiple_of(block) {
                        return Err(gguf_corrupt(format!(
                        "tensor {} has {first} columns, not a multiple of the {block}-element blocks of {type_name}",
                        quoted(&name)
                    )));
                    }
                    Some((elements / block).checked_mul(bytes).ok_or_else(|| {
                        gguf_corrupt(format!("the size of tensor {} is impossibly large", quoted(&name)))
                    })?)
                }
                // A ggml type newer than this table: its size is not checked.
                None => {
                    if dtypes.len() < MAX_DTYPES {
                        dtypes.insert(format!("type {ty}"));
                    }
                    None
                }
            };
        parameters =
            parameters.checked_add(elements).ok_or_else(|| gguf_corrupt("the parameter count overflows".into()))?;
        name_bytes += name.len();
        let label = if name_bytes <= MAX_NAME_BYTES { name } else { format!("#{index}") };
        tensors.push((offset, size, label));
    }

    let data_start = g
        .cursor
        .pos
        .checked_next_multiple_of(alignment)
        .ok_or_else(|| gguf_corrupt("its tensor data starts past any possible file size".into()))?;
    if tensor_count > 0 && data_start > len {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    let data_len = len.saturating_sub(data_start);
    // Checking the tensors, then sorting their spans: n log n comparisons, counted as n.
    steps(2 * tensors.len() as u64)?;
    for (offset, size, label) in &tensors {
        if offset % alignment != 0 {
            return Err(gguf_corrupt(format!(
                "the data of tensor {} starts at offset {offset}, which is not a multiple of the alignment ({alignment})",
                quoted(label)
            )));
        }
        let end = offset.checked_add(size.unwrap_or(0));
        if end.is_none_or(|end| end > data_len) {
            return Err(gguf_corrupt(format!(
                "the data of tensor {} runs past the end of the file (it is truncated)",
                quoted(label)
            )));
        }
    }
    let mut spans: Vec<(u64, u64, &str)> =
        tensors.iter().filter_map(|(o, s, l)| s.filter(|s| *s > 0).map(|s| (*o, o + s, l.as_str()))).collect();
    spans.sort_unstable();
    if let Some(w) = spans.windows(2).find(|w| w[1].0 < w[0].1) {
        return Err(gguf_corrupt(format!("the data of tensors {} and {} overlap", quoted(w[0].2), quoted(w[1].2))));
    }
    Ok(WeightsInfo {
        tensor_count: Some(tensor_count),
        parameter_count: Some(parameters),
        dtypes: dtypes.into_iter().collect(),
        model_type: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{rejection, weights};
    use super::*;
    use crate::validate::{validate, CountingSource, Inspection};
    use intake_api::Kind;

    fn inspect(format: Format, src: &dyn ByteSource) -> Result<Inspection, InspectError> {
        super::super::inspect(format, src)
    }

    fn sniff(head: &[u8], total_len: u64) -> Option<Format> {
        super::super::sniff(head, total_len)
    }

    fn gguf_string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }

    /// A GGUF v3 file: a few metadata entries (string, u32, string array, f32 array) and the
    /// given tensors (name, dims, ggml type, data bytes), data aligned to 32.
    fn gguf(tensors: &[(&str, &[u64], u32, usize)]) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(tensors.len() as u64).to_le_bytes());
        out.extend_from_slice(&4u64.to_le_bytes());
        gguf_string(&mut out, "general.architecture");
        out.extend_from_slice(&8u32.to_le_bytes());
        gguf_string(&mut out, "llama");
        gguf_string(&mut out, "general.alignment");
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&32u32.to_le_bytes());
        gguf_string(&mut out, "tokenizer.ggml.tokens");
        out.extend_from_slice(&9u32.to_le_bytes());
        out.extend_from_slice(&8u32.to_le_bytes());
        out.extend_from_slice(&3u64.to_le_bytes());
        for t in ["<s>", "</s>", "hello"] {
            gguf_string(&mut out, t);
        }
        gguf_string(&mut out, "tokenizer.ggml.scores");
        out.extend_from_slice(&9u32.to_le_bytes());
        out.extend_from_slice(&6u32.to_le_bytes());
        out.extend_from_slice(&3u64.to_le_bytes());
        out.extend_from_slice(&[0; 12]);
        let mut offset = 0u64;
        let mut data = Vec::new();
        for (name, dims, ty, bytes) in tensors {
            gguf_string(&mut out, name);
            out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in *dims {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.extend_from_slice(&ty.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            data.resize(offset as usize, 0);
            data.extend(std::iter::repeat_n(0xAB, *bytes));
            offset = (offset + *bytes as u64).next_multiple_of(32);
        }
        while !out.len().is_multiple_of(32) {
            out.push(0);
        }
        out.extend_from_slice(&data);
        out
    }

    fn sample_gguf() -> Vec<u8> {
        gguf(&[("token_embd.weight", &[64, 3], 0, 64 * 3 * 4), ("blk.0.attn_q.weight", &[64, 2], 8, 2 * 2 * 34)])
    }

    #[test]
    fn valid_gguf() {
        let file = sample_gguf();
        let w = weights(&file, Format::Gguf);
        assert_eq!(w.tensor_count, Some(2));
        assert_eq!(w.parameter_count, Some(64 * 3 + 64 * 2));
        assert_eq!(w.dtypes, ["F32", "Q8_0"]);
        assert_eq!(validate(Kind::Model, &file).unwrap().format, Format::Gguf);
    }

    #[test]
    fn gguf_written_by_the_reference_library() {
        // fixtures/tiny.gguf: see fixtures/README.md.
        let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/src/validate/fixtures/tiny.gguf")).unwrap();
        let w = weights(&file, Format::Gguf);
        assert_eq!(w.tensor_count, Some(3));
        assert_eq!(w.parameter_count, Some(32 * 4 + 16 + 64 * 2));
        assert_eq!(w.dtypes, ["F16", "F32", "Q8_0"]);
    }

    #[test]
    fn truncated_gguf() {
        let file = sample_gguf();
        let msg = rejection(inspect(Format::Gguf, &file[..file.len() - 1].to_vec()));
        assert!(msg.contains("\"blk.0.attn_q.weight\" runs past the end of the file (it is truncated)"), "{msg}");
        // Cut inside the metadata: an I/O end of file, which the dispatcher words as truncated.
        let err = validate(Kind::Model, &file[..60].to_vec()).unwrap_err().to_string();
        assert_eq!(err, "the file looks like a GGUF weights file but is damaged: it ends too early (truncated)");
    }

    #[test]
    fn corrupted_gguf() {
        // Overlapping tensors.
        let mut file = sample_gguf();
        let pos = file.windows(19).position(|w| w == b"blk.0.attn_q.weight").unwrap() + 19 + 4 + 16 + 4;
        file[pos..pos + 8].copy_from_slice(&64u64.to_le_bytes());
        assert!(rejection(inspect(Format::Gguf, &file)).contains("overlap"));
        // Misaligned offset.
        file[pos..pos + 8].copy_from_slice(&1000u64.to_le_bytes());
        assert!(rejection(inspect(Format::Gguf, &file)).contains("not a multiple of the alignment"));
        // Wrong block multiple for Q8_0.
        let file = gguf(&[("x", &[48, 1], 8, 34)]);
        assert!(rejection(inspect(Format::Gguf, &file)).contains("not a multiple of the 32-element blocks of Q8_0"));
        // Unknown metadata type.
        let mut file = sample_gguf();
        let ty = 24 + 8 + "general.architecture".len();
        file[ty] = 99;
        assert!(rejection(inspect(Format::Gguf, &file)).contains("unknown type (99)"));
        // Too many tensors; unsupported version.
        let mut file = sample_gguf();
        file[8..16].copy_from_slice(&2_000_000u64.to_le_bytes());
        assert!(rejection(inspect(Format::Gguf, &file)).contains("2000000 tensors"));
        let mut file = sample_gguf();
        file[4] = 4;
        assert_eq!(sniff(&file, file.len() as u64), None);
        assert!(rejection(inspect(Format::Gguf, &file)).contains("unsupported version (4)"));
        // A huge key length.
        let mut file = sample_gguf();
        file[24..32].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(rejection(inspect(Format::Gguf, &file)).contains("a metadata key is 1099511627776 bytes long"));
    }

    #[test]
    fn gguf_version_1_uses_32_bit_counts() {
        let mut out = b"GGUF".to_vec();
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes()); // tensors
        out.extend_from_slice(&1u32.to_le_bytes()); // kv
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(b"name");
        out.extend_from_slice(&8u32.to_le_bytes());
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(b"v1");
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(b"w");
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&2u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes()); // F16
        out.extend_from_slice(&0u64.to_le_bytes());
        while !out.len().is_multiple_of(32) {
            out.push(0);
        }
        out.extend_from_slice(&[0; 16]);
        let w = weights(&out, Format::Gguf);
        assert_eq!(w.tensor_count, Some(1));
        assert_eq!(w.parameter_count, Some(8));
        assert_eq!(w.dtypes, ["F16"]);
    }

    #[test]
    fn large_gguf_reads_only_the_header() {
        let file = gguf(&[("big", &[4 << 20], 0, 16 << 20)]);
        let counting = CountingSource::new(&file);
        assert!(inspect(Format::Gguf, &counting).is_ok());
        assert!(counting.bytes_read() < 512 << 10, "read {}", counting.bytes_read());
    }

    #[test]
    fn hostile_headers_do_not_panic() {
        let file = sample_gguf();
        for i in 0..file.len() {
            for v in [0u8, 0xff, 0x80, 9] {
                let mut f = file.clone();
                f[i] = v;
                let _ = inspect(Format::Gguf, &f);
            }
            let _ = inspect(Format::Gguf, &file[..i].to_vec());
        }
    }
}
