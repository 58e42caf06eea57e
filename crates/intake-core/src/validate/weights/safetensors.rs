//! safetensors: the JSON header parsed as a stream, every tensor checked against the data
//! section, and the LoRA family told from tensor names and shapes (see [`Evidence::classify`]).

use std::collections::BTreeSet;
use std::io;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{archive, Cursor};
use crate::validate::work::{step, steps};
use crate::validate::{read_exact_at, ByteSource, Format, InspectError, Rejection, WeightsInfo};

/// Largest JSON header accepted (the reference library's own limit).
pub(super) const MAX_HEADER: u64 = 100 << 20;
/// Most tensors accepted in a header.
const MAX_TENSORS: usize = 2_000_000;

/// Bits per element of the safetensors dtypes.
fn dtype_bits(dtype: &str) -> Option<(&'static str, u64)> {
    Some(match dtype {
        "BOOL" => ("BOOL", 8),
        "U8" => ("U8", 8),
        "I8" => ("I8", 8),
        "F8_E4M3" => ("F8_E4M3", 8),
        "F8_E5M2" => ("F8_E5M2", 8),
        "F8_E8M0" => ("F8_E8M0", 8),
        "I16" => ("I16", 16),
        "U16" => ("U16", 16),
        "F16" => ("F16", 16),
        "BF16" => ("BF16", 16),
        "I32" => ("I32", 32),
        "U32" => ("U32", 32),
        "F32" => ("F32", 32),
        "I64" => ("I64", 64),
        "U64" => ("U64", 64),
        "F64" => ("F64", 64),
        "C64" => ("C64", 64),
        "F4" => ("F4", 4),
        "F6_E2M3" => ("F6_E2M3", 6),
        "F6_E3M2" => ("F6_E3M2", 6),
        _ => return None,
    })
}

/// Longest shape accepted (and longest list kept while parsing).
const MAX_DIMS: usize = 64;

/// A JSON value as far as the header checks need it. Composite values are walked without
/// being stored (a list keeps at most [`MAX_DIMS`] numbers), so a hostile 100 MiB header
/// cannot grow into gigabytes of `serde_json::Value`.
#[derive(Debug)]
enum Loose {
    U64(u64),
    Str(String),
    /// A list of non-negative integers (`None`: some item is not one, or too many items).
    List(Option<Vec<u64>>),
    Other,
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Loose, E> {
        Ok(Loose::Other)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Loose, E> {
        Ok(u64::try_from(v).map_or(Loose::Other, Loose::U64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Loose, E> {
        Ok(Loose::U64(v))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Loose, E> {
        Ok(Loose::Other)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Loose, E> {
        Ok(Loose::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Loose, E> {
        Ok(Loose::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Loose, E> {
        Ok(Loose::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        let mut list = Some(Vec::new());
        while let Some(item) = seq.next_element::<Loose>()? {
            step().map_err(de::Error::custom)?;
            match (item, list.as_mut()) {
                (Loose::U64(v), Some(l)) if l.len() < MAX_DIMS => l.push(v),
                _ => list = None,
            }
        }
        Ok(Loose::List(list))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Other)
    }
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

/// One value of the top-level object: a tensor entry or `__metadata__`.
#[derive(Debug, Default)]
struct Entry {
    object: bool,
    null: bool,
    /// Every member is a string (what `__metadata__` must be).
    all_strings: bool,
    dtype: Option<Loose>,
    shape: Option<Loose>,
    offsets: Option<Loose>,
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a tensor entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let mut entry = Entry { object: true, all_strings: true, ..Entry::default() };
        while let Some(key) = map.next_key::<String>()? {
            step().map_err(de::Error::custom)?;
            let value: Loose = map.next_value()?;
            entry.all_strings &= matches!(value, Loose::Str(_));
            match key.as_str() {
                "dtype" => entry.dtype = Some(value),
                "shape" => entry.shape = Some(value),
                "data_offsets" => entry.offsets = Some(value),
                _ => {}
            }
        }
        Ok(entry)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entry, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Entry::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Entry, E> {
        Ok(Entry { null: true, ..Entry::default() })
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Entry, E> {
        Ok(Entry::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Entry, E> {
        Ok(Entry::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Entry, E> {
        Ok(Entry::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Entry, E> {
        Ok(Entry::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Entry, E> {
        Ok(Entry::default())
    }
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EntryVisitor)
    }
}

/// What the header stream has gathered so far.
struct Header {
    data_len: u64,
    /// (begin, end, name) of every tensor.
    tensors: Vec<(u64, u64, String)>,
    parameters: u64,
    dtypes: BTreeSet<&'static str>,
    evidence: Evidence,
    /// The first problem found, as a sentence fragment.
    problem: Option<String>,
}

impl Header {
    fn add_tensor(&mut self, name: String, entry: Entry) -> Result<(), String> {
        let q = archive::quoted(&name);
        if !entry.object {
            return Err(format!("the entry for tensor {q} is not a JSON object"));
        }
        let Some(Loose::Str(dtype)) = entry.dtype else {
            return Err(format!("tensor {q} has no \"dtype\""));
        };
        let (dtype, bits) = dtype_bits(&dtype).ok_or_else(|| format!("tensor {q} has an unknown dtype {dtype:?}"))?;
        let Some(Loose::List(Some(shape))) = entry.shape else {
            return Err(format!(
                "tensor {q} has no valid \"shape\" (a list of at most {MAX_DIMS} non-negative integers)"
            ));
        };
        let (begin, end) = match entry.offsets {
            Some(Loose::List(Some(o))) if o.len() == 2 => (o[0], o[1]),
            _ => return Err(format!("tensor {q} has no valid \"data_offsets\" ([begin, end])")),
        };
        if begin > end {
            return Err(format!("tensor {q} has data offsets in the wrong order ({begin} > {end})"));
        }
        if end > self.data_len {
            return Err(format!(
                "tensor {q} ends at byte {end} of the data, but the file holds only {} bytes of data (it is truncated or the header is wrong)",
                self.data_len
            ));
        }
        let elements = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| format!("the shape of tensor {q} is impossibly large"))?;
        let total_bits =
            elements.checked_mul(bits).ok_or_else(|| format!("the shape of tensor {q} is impossibly large"))?;
        if total_bits % 8 != 0 {
            return Err(format!("tensor {q} ({dtype} × {elements}) does not fill a whole number of bytes"));
        }
        if end - begin != total_bits / 8 {
            return Err(format!(
                "tensor {q} should take {} bytes ({elements} × {dtype}) but its data offsets span {} bytes",
                total_bits / 8,
                end - begin
            ));
        }
        self.parameters =
            self.parameters.checked_add(elements).ok_or_else(|| "the total parameter count overflows".to_string())?;
        self.dtypes.insert(dtype);
        self.evidence.observe(&name, &shape);
        self.tensors.push((begin, end, name));
        Ok(())
    }
}

struct HeaderVisitor<'h>(&'h mut Header);

impl<'de> Visitor<'de> for HeaderVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object of tensors")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            step().map_err(de::Error::custom)?;
            let entry: Entry = map.next_value()?;
            let checked = if key == "__metadata__" {
                if entry.null || (entry.object && entry.all_strings) {
                    Ok(())
                } else {
                    Err("its \"__metadata__\" is not a map of strings to strings".to_string())
                }
            } else if self.0.tensors.len() >= MAX_TENSORS {
                Err(format!("its header lists more than {MAX_TENSORS} tensors"))
            } else {
                self.0.add_tensor(key, entry)
            };
            if let Err(problem) = checked {
                self.0.problem = Some(problem);
                return Err(de::Error::custom("invalid tensor entry"));
            }
        }
        Ok(())
    }
}

pub(super) fn inspect(src: &dyn ByteSource) -> Result<WeightsInfo, InspectError> {
    let corrupt = |what: String| -> InspectError { Rejection::corrupt(Format::Safetensors, what).into() };
    let len = src.len();
    let mut n = [0u8; 8];
    read_exact_at(src, 0, &mut n)?;
    let n = u64::from_le_bytes(n);
    if n > MAX_HEADER {
        return Err(corrupt(format!(
            "its header claims {n} bytes, more than the 100 MiB a safetensors header may take"
        )));
    }
    if n < 2 {
        return Err(corrupt(format!("its header length ({n} bytes) is too small for a JSON object")));
    }
    let Some(data_len) = len.checked_sub(8 + n) else {
        return Err(corrupt(format!(
            "its header length ({n} bytes) is larger than the file ({len} bytes): it is truncated"
        )));
    };
    let mut header = Header {
        data_len,
        tensors: Vec::new(),
        parameters: 0,
        dtypes: BTreeSet::new(),
        evidence: Evidence::default(),
        problem: None,
    };
    let mut de = serde_json::Deserializer::from_reader(Cursor::new(src, 8, 8 + n, 64 << 10));
    let parsed = (&mut de).deserialize_map(HeaderVisitor(&mut header)).and_then(|()| de.end());
    if let Some(problem) = header.problem.take() {
        return Err(corrupt(problem));
    }
    if let Err(e) = parsed {
        if e.is_io() {
            return Err(io::Error::other(e.to_string()).into());
        }
        return Err(corrupt(format!("its JSON header is not valid ({e})")));
    }

    // The tensors must tile the data section: sorted by offset, each starts where the
    // previous one ended, and the last one ends at the end of the file. (Sorting here and
    // the names below: n log n comparisons, counted as n.)
    steps(2 * header.tensors.len() as u64)?;
    header.tensors.sort_unstable_by_key(|t| (t.0, t.1));
    let mut expected = 0u64;
    let mut previous: Option<&str> = None;
    for (begin, end, name) in &header.tensors {
        if *begin < expected {
            return Err(corrupt(format!(
                "the data of tensors {} and {} overlap",
                archive::quoted(previous.unwrap_or_default()),
                archive::quoted(name)
            )));
        }
        if *begin > expected {
            return Err(corrupt(format!(
                "{} bytes before tensor {} belong to no tensor (safetensors files may not have gaps)",
                begin - expected,
                archive::quoted(name)
            )));
        }
        expected = *end;
        previous = Some(name);
    }
    if expected < data_len {
        return Err(corrupt(format!(
            "{} bytes after the last tensor belong to no tensor (safetensors files may not have trailing data)",
            data_len - expected
        )));
    }
    let mut names: Vec<&str> = header.tensors.iter().map(|t| t.2.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(corrupt(format!("tensor {} is listed twice", archive::quoted(w[0]))));
    }
    Ok(WeightsInfo {
        tensor_count: Some(header.tensors.len() as u64),
        parameter_count: Some(header.parameters),
        dtypes: header.dtypes.iter().map(|d| d.to_string()).collect(),
        model_type: header.evidence.classify(),
    })
}

// LoRA family detection

/// What tensor names and shapes say about the model a LoRA was trained for.
///
/// Names are normalised (`_` → `.`) and split into segments, so kohya
/// (`lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight`), BFL/ComfyUI
/// (`diffusion_model.double_blocks.0.img_attn.qkv.lora_A.weight`) and diffusers/PEFT
/// (`transformer.single_transformer_blocks.0.attn.to_q.lora_A.weight`) spellings match the
/// same patterns. The hidden size is the input width of a LoRA down/A matrix on an
/// attention input (`qkv`, `to_q/k/v`, `linear1`).
#[derive(Debug, Default)]
struct Evidence {
    /// Some tensor is a LoRA/LyCORIS factor.
    lora: bool,
    /// `double_blocks.N`, `single_blocks.N`, `single_transformer_blocks.N`.
    flux: bool,
    /// Flux.2-only modules: shared `double/single_stream_modulation`, `to_qkv_mlp_proj`.
    flux2: bool,
    /// Modules of look-alike models (HunyuanVideo's `mlp.fc1`, `mod.linear`, token refiner).
    not_flux: bool,
    /// `transformer_blocks.N.(img|txt)_(mlp|mod)`: Qwen-Image.
    qwen: bool,
    /// `layers.N.attention`, `noise_refiner`, `context_refiner`: Z-Image (and Lumina 2).
    zimage: bool,
    max_double: Option<u64>,
    max_single: Option<u64>,
    hidden: BTreeSet<u64>,
}

fn has_seq(segments: &[&str], seq: &[&str]) -> bool {
    segments.windows(seq.len()).any(|w| w == seq)
}

/// Indices N of `…pattern.N…` in the segments (for `transformer.blocks`, not preceded by
/// `single`).
fn block_indices<'a>(segments: &'a [&'a str], pattern: &'a [&'a str]) -> impl Iterator<Item = u64> + 'a {
    (0..segments.len().saturating_sub(pattern.len())).filter_map(move |i| {
        if segments[i..i + pattern.len()] != *pattern {
            return None;
        }
        if pattern == ["transformer", "blocks"] && i > 0 && segments[i - 1] == "single" {
            return None;
        }
        segments[i + pattern.len()].parse::<u64>().ok()
    })
}

impl Evidence {
    fn observe(&mut self, name: &str, shape: &[u64]) {
        let norm = name.replace('_', ".");
        let s: Vec<&str> = norm.split('.').filter(|p| !p.is_empty()).collect();
        // About twenty fixed-length patterns are looked for along the segments.
        let _ = steps(s.len() as u64);
        let down = has_seq(&s, &["lora", "A"]) || has_seq(&s, &["lora", "down"]);
        let factor = down
            || has_seq(&s, &["lora", "B"])
            || has_seq(&s, &["lora", "up"])
            || s.iter().any(|p| *p == "lokr" || *p == "hada");
        let kohya = s.len() > 2 && s[0] == "lora" && matches!(s[1], "unet" | "transformer");
        if !(factor || kohya) {
            return;
        }
        self.lora = true;
        let double =
            block_indices(&s, &["double", "blocks"]).chain(block_indices(&s, &["transformer", "blocks"])).max();
        let single = block_indices(&s, &["single", "blocks"])
            .chain(block_indices(&s, &["single", "transformer", "blocks"]))
            .max();
        if has_seq(&s, &["double", "blocks"]) || single.is_some() {
            self.flux = true;
        }
        if block_indices(&s, &["transformer", "blocks"]).next().is_some()
            && ["img", "txt"].iter().any(|a| ["mlp", "mod"].iter().any(|b| has_seq(&s, &[a, b])))
        {
            self.qwen = true;
        }
        if has_seq(&s, &["stream", "modulation"]) || has_seq(&s, &["qkv", "mlp", "proj"]) {
            self.flux2 = true;
        }
        if has_seq(&s, &["mlp", "fc1"])
            || has_seq(&s, &["mlp", "fc2"])
            || has_seq(&s, &["mod", "linear"])
            || has_seq(&s, &["modulation", "linear"])
            || has_seq(&s, &["token", "refiner"])
        {
            self.not_flux = true;
        }
        let layers_attention =
            s.windows(3).any(|w| w[0] == "layers" && w[1].parse::<u64>().is_ok() && w[2] == "attention");
        if layers_attention || has_seq(&s, &["noise", "refiner"]) || has_seq(&s, &["context", "refiner"]) {
            self.zimage = true;
        }
        self.max_double = self.max_double.max(double);
        self.max_single = self.max_single.max(single);
        let attention_input =
            s.iter().any(|p| *p == "qkv" || *p == "linear1") || ["q", "k", "v"].iter().any(|x| has_seq(&s, &["to", x]));
        if down && attention_input && shape.len() == 2 && self.hidden.len() < 16 {
            self.hidden.insert(shape[1]);
        }
    }

    /// The rule table. A value is returned only for LoRA factors (`lora_A/B`, `lora_down/up`,
    /// LyCORIS `lokr`/`hada`, kohya `lora_unet_*`) of exactly one family, and only when the
    /// evidence is unambiguous (one hidden size at most):
    ///
    /// - `qwen-image-lora`: `transformer_blocks.N.{img,txt}_{mlp,mod}`; hidden 3072 or unknown.
    /// - `zimage-lora`: `layers.N.attention`, `noise_refiner`, `context_refiner`; hidden 3840.
    /// - `flux.2-dev-lora`: Flux blocks; hidden 6144; double index ≤ 7, single index ≤ 47.
    /// - `flux.1-lora`: Flux blocks, no Flux.2 module (`*_stream_modulation`,
    ///   `to_qkv_mlp_proj`) nor HunyuanVideo module (`mlp.fc1/fc2`, `mod.linear`, token
    ///   refiner); double index ≤ 18, single index ≤ 37; and either hidden 3072 with double
    ///   index ≥ 8 or single index ≥ 24, or hidden unknown with double index ≥ 8.
    /// - otherwise `None` (the model becomes `custom`).
    ///
    /// "Flux blocks" = `double_blocks.N`, `single_blocks.N` or `single_transformer_blocks.N`
    /// (diffusers' double blocks are `transformer_blocks.N`). Depth tells Flux.1 (19 double,
    /// 38 single blocks) from Flux.2 dev (8/48) and klein (5/20, 8/24), and from HunyuanVideo
    /// (20/40, same hidden size); Lumina 2 shares Z-Image's names but not its 3840 width.
    fn classify(&self) -> Option<&'static str> {
        if !self.lora || self.hidden.len() > 1 {
            return None;
        }
        let hidden = self.hidden.first().copied();
        let families = [self.flux, self.qwen, self.zimage].iter().filter(|f| **f).count();
        if families != 1 {
            return None;
        }
        let double = self.max_double.unwrap_or(0);
        let single = self.max_single.unwrap_or(0);
        if self.qwen {
            return matches!(hidden, None | Some(3072)).then_some("qwen-image-lora");
        }
        if self.zimage {
            return (hidden == Some(3840)).then_some("zimage-lora");
        }
        if self.not_flux {
            return None;
        }
        if hidden == Some(6144) && double <= 7 && single <= 47 {
            return Some("flux.2-dev-lora");
        }
        if self.flux2 || double > 18 || single > 37 {
            return None;
        }
        let flux1 = match hidden {
            Some(3072) => double >= 8 || single >= 24,
            None => double >= 8,
            Some(_) => false,
        };
        flux1.then_some("flux.1-lora")
    }
}

#[cfg(test)]
mod tests;
