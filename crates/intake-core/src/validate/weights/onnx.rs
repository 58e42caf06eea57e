//! ONNX models: a protobuf `ModelProto`, read by a small hand-written walker.
//!
//! Protobuf has no magic number. Sniffing is conservative: the file must open with
//! `ir_version` (field 1, a varint of 1 to 32: writers emit fields in number order, and
//! every ONNX writer sets it), followed by up to three fields of `ModelProto`'s numbers and
//! wire types, at least two fields in all (or the whole file). A length that runs past the
//! end of the file stops the look (the file is claimed, and refused as truncated).
//!
//! Inspection walks the message without decoding what it does not need. Length-delimited
//! fields are skipped by seeking past them, never read, so a 4 GiB model whose weights sit
//! in its initializers costs kilobytes to megabytes of reads (a 4 KiB window per field
//! header). Walked: `ModelProto` (`ir_version`, every `opset_import`), its `graph` (nodes,
//! inputs and outputs counted and skipped; every `initializer` `TensorProto` opened for
//! its `dims`, `data_type` and the length of its `raw_data`). Nested graphs (in node
//! attributes) and functions are skipped whole, so the depth is three messages at most.
//!
//! Checked: varints of at most 10 bytes that fit 64 bits, known wire types (groups are
//! refused: ONNX never uses them), field number 0 refused, every length-delimited field
//! inside its parent, every message ending exactly where its parent says, the top message
//! ending exactly at the end of the file (a cut file is truncated), `raw_data` exactly as
//! long as its tensor's shape and type say, non-negative dims. Every field walked costs a
//! step; at most 10 million fields and 64 dims a tensor.
//!
//! Reported: `irVersion`, `opsetVersion` (of the default `ai.onnx` domain), `inputCount`,
//! `outputCount` and `nodeCount` of the main graph; as weights, the initializers'
//! `tensor_count`, `parameter_count` and dtypes (in safetensors' names). Nothing in the
//! file names a Scenario model type: an ONNX model is imported as `custom`.

use std::collections::BTreeSet;

use super::super::work::step;
use super::super::{ByteSource, Format, InspectError, WeightsInfo};
use super::Cursor;
use intake_api::AssetProperties;

const F: Format = Format::Onnx;
/// Bytes read at once around a field header.
const WINDOW: usize = 4 * 1024;
const MAX_FIELDS: u64 = 10_000_000;
const MAX_DIMS: usize = 64;

fn corrupt(what: impl std::fmt::Display) -> InspectError {
    super::super::Rejection::corrupt(F, what).into()
}

/// The wire types of `ModelProto`'s fields (by field number).
fn model_wire_type(field: u64) -> Option<u8> {
    match field {
        1 | 5 => Some(0),                                // ir_version, model_version
        2 | 3 | 4 | 6 | 7 | 8 | 14 | 20 | 25 => Some(2), // strings, graph, opset_import, metadata, training, functions
        _ => None,
    }
}

/// A varint from `bytes` at `*at`; `None` when cut short or longer than 64 bits.
fn varint_in(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..10 {
        let b = *bytes.get(*at)?;
        *at += 1;
        if i == 9 && b > 1 {
            return None;
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

pub(super) fn sniff(head: &[u8], total_len: u64) -> bool {
    let mut at = 0;
    if head.first() != Some(&0x08) {
        return false;
    }
    at += 1;
    if !varint_in(head, &mut at).is_some_and(|v| (1..=32).contains(&v)) {
        return false;
    }
    let mut fields = 1;
    while fields < 4 && at < head.len() {
        let Some(tag) = varint_in(head, &mut at) else { return false };
        let (field, wire) = (tag >> 3, (tag & 7) as u8);
        if model_wire_type(field) != Some(wire) {
            return false;
        }
        let Some(value) = varint_in(head, &mut at) else { return false };
        if wire == 2 {
            if value > total_len.saturating_sub(at as u64) {
                // A field running past the end: a cut file, which inspection refuses as
                // truncated; its header is still a `ModelProto` field's.
                return true;
            }
            at = at.saturating_add(value as usize);
        }
        fields += 1;
    }
    fields >= 2 || at as u64 == total_len
}

/// The walker: a cursor over the file and a count of the fields walked.
struct Walker<'a> {
    cur: Cursor<'a>,
    fields: u64,
}

/// A field header.
struct Field {
    number: u64,
    wire: u8,
    /// For length-delimited fields: where the payload ends.
    end: u64,
    /// For varint fields: the value.
    value: u64,
}

impl Walker<'_> {
    fn varint(&mut self) -> Result<u64, InspectError> {
        let mut value = 0u64;
        for i in 0..10 {
            let mut b = [0u8];
            self.cur.read_exact(&mut b)?;
            if i == 9 && b[0] > 1 {
                return Err(corrupt(format!("a varint at byte {} overflows 64 bits", self.cur.pos)));
            }
            value |= u64::from(b[0] & 0x7f) << (7 * i);
            if b[0] & 0x80 == 0 {
                return Ok(value);
            }
        }
        unreachable!("the tenth byte ends the varint or fails")
    }

    /// The next field of a message that ends at `end`; `None` at its end.
    fn field(&mut self, end: u64, what: &str) -> Result<Option<Field>, InspectError> {
        if self.cur.pos == end {
            return Ok(None);
        }
        if self.cur.pos > end {
            return Err(corrupt(format!("the last field of {what} runs past its end, at byte {end}")));
        }
        step()?;
        self.fields += 1;
        if self.fields > MAX_FIELDS {
            return Err(corrupt(format!("it has more than {MAX_FIELDS} protobuf fields")));
        }
        let at = self.cur.pos;
        let tag = self.varint()?;
        let (number, wire) = (tag >> 3, (tag & 7) as u8);
        if number == 0 {
            return Err(corrupt(format!("{what} has a field numbered 0 at byte {at}")));
        }
        let mut field = Field { number, wire, end: 0, value: 0 };
        let skip = match wire {
            0 => {
                field.value = self.varint()?;
                0
            }
            1 => 8,
            5 => 4,
            2 => {
                let len = self.varint()?;
                let left = end - self.cur.pos.min(end);
                if len > left {
                    let truncated = end == self.cur.end;
                    return Err(corrupt(format!(
                        "field {number} of {what} at byte {at} declares {len} bytes, but only {left} {}",
                        if truncated { "remain in the file (truncated)" } else { "remain in its message" }
                    )));
                }
                field.end = self.cur.pos + len;
                return Ok(Some(field));
            }
            3 | 4 => {
                return Err(corrupt(format!("{what} uses a protobuf group (at byte {at}), which ONNX never does")))
            }
            w => return Err(corrupt(format!("{what} has a field of unknown wire type {w} at byte {at}"))),
        };
        if skip > end - self.cur.pos.min(end) {
            return Err(corrupt(format!("field {number} of {what} at byte {at} runs past its end")));
        }
        self.cur.skip(skip)?;
        if self.cur.pos > end {
            return Err(corrupt(format!("field {number} of {what} at byte {at} runs past its end")));
        }
        Ok(Some(field))
    }

    /// Skips a length-delimited field's payload (without reading it).
    fn skip_to(&mut self, end: u64) -> Result<(), InspectError> {
        self.cur.skip(end - self.cur.pos)?;
        Ok(())
    }
}

#[derive(Default)]
struct Graph {
    nodes: u64,
    inputs: u64,
    outputs: u64,
    tensors: u64,
    parameters: u64,
    dtypes: BTreeSet<String>,
}

/// safetensors-style name and element size in bits of a `TensorProto.DataType`.
fn dtype(t: u64) -> (String, Option<u64>) {
    let (name, bits) = match t {
        1 => ("F32", 32),
        2 => ("U8", 8),
        3 => ("I8", 8),
        4 => ("U16", 16),
        5 => ("I16", 16),
        6 => ("I32", 32),
        7 => ("I64", 64),
        8 => ("STRING", 0),
        9 => ("BOOL", 8),
        10 => ("F16", 16),
        11 => ("F64", 64),
        12 => ("U32", 32),
        13 => ("U64", 64),
        14 => ("C64", 64),
        15 => ("C128", 128),
        16 => ("BF16", 16),
        17 => ("F8_E4M3", 8),
        18 => ("F8_E4M3FNUZ", 8),
        19 => ("F8_E5M2", 8),
        20 => ("F8_E5M2FNUZ", 8),
        21 => ("U4", 4),
        22 => ("I4", 4),
        23 => ("F4", 4),
        other => return (format!("TYPE{other}"), None),
    };
    (name.to_string(), (bits > 0).then_some(bits))
}

pub(super) fn inspect(src: &dyn ByteSource) -> Result<(AssetProperties, WeightsInfo), InspectError> {
    let len = src.len();
    let mut w = Walker { cur: Cursor::new(src, 0, len, WINDOW), fields: 0 };
    let mut ir_version = None;
    let mut opset = None;
    let mut graph = None;
    while let Some(field) = w.field(len, "the model")? {
        match (field.number, field.wire) {
            (1, 0) => ir_version = Some(field.value),
            (7, 2) if graph.is_none() => graph = Some(read_graph(&mut w, field.end)?),
            (8, 2) => {
                let (domain_is_default, version) = read_opset(&mut w, field.end)?;
                if domain_is_default {
                    opset = version.or(opset);
                }
            }
            (_, 2) => w.skip_to(field.end)?,
            _ => {}
        }
    }
    let ir_version = ir_version.ok_or_else(|| corrupt("it has no ir_version"))?;
    let graph = graph.ok_or_else(|| corrupt("it has no graph"))?;
    let properties = AssetProperties {
        ir_version: Some(ir_version),
        opset_version: opset,
        input_count: Some(graph.inputs),
        output_count: Some(graph.outputs),
        node_count: Some(graph.nodes),
        ..AssetProperties::default()
    };
    let weights = WeightsInfo {
        tensor_count: Some(graph.tensors),
        parameter_count: Some(graph.parameters),
        dtypes: graph.dtypes.into_iter().collect(),
        model_type: None,
    };
    Ok((properties, weights))
}

/// An `OperatorSetIdProto`: whether its domain is the default one, and its version.
fn read_opset(w: &mut Walker, end: u64) -> Result<(bool, Option<u64>), InspectError> {
    let mut default = true;
    let mut version = None;
    while let Some(field) = w.field(end, "an opset_import")? {
        match (field.number, field.wire) {
            (1, 2) => {
                let n = field.end - w.cur.pos;
                if n > 64 {
                    default = false;
                    w.skip_to(field.end)?;
                } else {
                    let mut name = vec![0u8; n as usize];
                    w.cur.read_exact(&mut name)?;
                    default = name.is_empty() || name == b"ai.onnx";
                }
            }
            (2, 0) => version = Some(field.value),
            (_, 2) => w.skip_to(field.end)?,
            _ => {}
        }
    }
    Ok((default, version))
}

fn read_graph(w: &mut Walker, end: u64) -> Result<Graph, InspectError> {
    let mut g = Graph::default();
    while let Some(field) = w.field(end, "the graph")? {
        match (field.number, field.wire) {
            (1, 2) => g.nodes += 1,
            (11, 2) => g.inputs += 1,
            (12, 2) => g.outputs += 1,
            (5, 2) => {
                read_tensor(w, field.end, g.tensors, &mut g)?;
                g.tensors += 1;
                continue;
            }
            _ => {}
        }
        if field.wire == 2 {
            w.skip_to(field.end)?;
        }
    }
    Ok(g)
}

/// An initializer `TensorProto`: its shape, type and the length of its `raw_data`.
fn read_tensor(w: &mut Walker, end: u64, index: u64, g: &mut Graph) -> Result<(), InspectError> {
    let mut dims: Vec<u64> = Vec::new();
    let mut data_type = 0u64;
    let mut raw_len = None;
    let push = |dims: &mut Vec<u64>, d: u64| {
        if d > i64::MAX as u64 {
            return Err(corrupt(format!("initializer {index} has a negative dimension")));
        }
        if dims.len() >= MAX_DIMS {
            return Err(corrupt(format!("initializer {index} has more than {MAX_DIMS} dimensions")));
        }
        dims.push(d);
        Ok(())
    };
    while let Some(field) = w.field(end, "an initializer")? {
        match (field.number, field.wire) {
            (1, 0) => push(&mut dims, field.value)?,
            (1, 2) => {
                // Packed dims.
                while w.cur.pos < field.end {
                    step()?;
                    let d = w.varint()?;
                    push(&mut dims, d)?;
                }
                if w.cur.pos != field.end {
                    return Err(corrupt(format!("the packed dims of initializer {index} overrun their field")));
                }
            }
            (2, 0) => data_type = field.value,
            (9, 2) => {
                raw_len = Some(field.end - w.cur.pos);
                w.skip_to(field.end)?;
            }
            (_, 2) => w.skip_to(field.end)?,
            _ => {}
        }
    }
    let elements = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| corrupt(format!("the shape of initializer {index} overflows")))?;
    let (name, bits) = dtype(data_type);
    if let (Some(raw), Some(bits)) = (raw_len, bits) {
        let want = elements.checked_mul(bits).map(|b| b.div_ceil(8));
        if want != Some(raw) {
            return Err(corrupt(format!(
                "initializer {index} ({name}, {elements} elements) holds {raw} bytes of raw_data, not {}",
                want.map_or("a countable number".to_string(), |w| w.to_string())
            )));
        }
    }
    g.parameters = g.parameters.saturating_add(elements);
    g.dtypes.insert(name);
    Ok(())
}

#[cfg(test)]
pub(super) mod tests;
