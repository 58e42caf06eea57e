use super::super::super::test_support::{err, fixture, ok};
use super::super::super::CountingSource;
use super::*;
use crate::validate::{sniff_head, validate};
use intake_api::Kind;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(out: &mut Vec<u8>, number: u64, payload: &[u8]) {
    varint(out, number << 3 | 2);
    varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

fn varint_field(out: &mut Vec<u8>, number: u64, v: u64) {
    varint(out, number << 3);
    varint(out, v);
}

/// A float tensor of shape `dims` with `raw` bytes of raw_data.
pub fn tensor(dims: &[u64], raw: usize) -> Vec<u8> {
    let mut t = Vec::new();
    for &d in dims {
        varint_field(&mut t, 1, d);
    }
    varint_field(&mut t, 2, 1);
    bytes_field(&mut t, 8, b"w");
    bytes_field(&mut t, 9, &vec![0u8; raw]);
    t
}

/// A model of IR 9, opset 18 (and a custom domain's 1), with `nodes` nodes and
/// `initializers`, one input and two outputs.
pub fn model(nodes: usize, initializers: &[Vec<u8>]) -> Vec<u8> {
    let mut graph = Vec::new();
    for i in 0..nodes {
        let mut node = Vec::new();
        bytes_field(&mut node, 1, b"x");
        bytes_field(&mut node, 2, format!("y{i}").as_bytes());
        bytes_field(&mut node, 4, b"Relu");
        bytes_field(&mut graph, 1, &node);
    }
    bytes_field(&mut graph, 2, b"g");
    for t in initializers {
        bytes_field(&mut graph, 5, t);
    }
    bytes_field(&mut graph, 11, b"\x0a\x01x");
    bytes_field(&mut graph, 12, b"\x0a\x01y");
    bytes_field(&mut graph, 12, b"\x0a\x01z");
    let mut out = Vec::new();
    varint_field(&mut out, 1, 9);
    bytes_field(&mut out, 2, b"hand");
    bytes_field(&mut out, 7, &graph);
    let mut opset = Vec::new();
    bytes_field(&mut opset, 1, b"com.example");
    varint_field(&mut opset, 2, 1);
    bytes_field(&mut out, 8, &opset);
    let mut opset = Vec::new();
    bytes_field(&mut opset, 1, b"");
    varint_field(&mut opset, 2, 18);
    bytes_field(&mut out, 8, &opset);
    out
}

#[test]
fn the_fixture_is_recognised() {
    let bytes = fixture("tiny.onnx");
    assert_eq!(sniff_head(&bytes, bytes.len() as u64), Format::Onnx);
    let found = ok(Kind::Model, &bytes);
    let p = &found.properties;
    assert_eq!(p.format.as_deref(), Some("onnx"));
    assert_eq!((p.ir_version, p.opset_version), (Some(8), Some(17)));
    assert_eq!((p.input_count, p.output_count, p.node_count), (Some(1), Some(1), Some(2)));
    let w = found.weights.unwrap();
    assert_eq!(
        (w.tensor_count, w.parameter_count, w.dtypes, w.model_type),
        (Some(2), Some(9), vec!["F32".into()], None)
    );
    assert_eq!(found.pickle_imports, None);
    // Not a 3D model, not text.
    assert!(err(Kind::ThreeD, &bytes).ends_with("found an ONNX model"));
}

#[test]
fn built_models() {
    let file = model(3, &[tensor(&[2, 3], 24), tensor(&[4], 16)]);
    assert_eq!(sniff_head(&file, file.len() as u64), Format::Onnx);
    let found = ok(Kind::Model, &file);
    assert_eq!((found.properties.ir_version, found.properties.opset_version), (Some(9), Some(18)));
    assert_eq!(
        (found.properties.input_count, found.properties.output_count, found.properties.node_count),
        (Some(1), Some(2), Some(3))
    );
    assert_eq!(found.weights.unwrap().parameter_count, Some(10));
}

#[test]
fn truncated_and_lying_models_are_refused() {
    let file = fixture("tiny.onnx");
    for cut in [file.len() - 1, file.len() / 2, 30] {
        let reason = err(Kind::Model, &file[..cut]);
        assert!(reason.contains("an ONNX model but is damaged") && reason.contains("truncated"), "{cut}: {reason}");
    }
    let reason = err(Kind::Model, &model(1, &[tensor(&[2, 4], 24)]));
    assert!(reason.contains("initializer 0 (F32, 8 elements) holds 24 bytes of raw_data, not 32"), "{reason}");
    let reason = err(Kind::Model, &model(1, &[tensor(&[u64::MAX], 4)]));
    assert!(reason.contains("negative dimension"), "{reason}");
    let reason = err(Kind::Model, &model(1, &[tensor(&[1 << 40, 1 << 40], 4)]));
    assert!(reason.contains("overflows"), "{reason}");
    let mut trailing = model(1, &[]);
    trailing.extend_from_slice(&[0x0b]); // field 1, wire type 3 (a group)
    assert!(err(Kind::Model, &trailing).contains("protobuf group"));
    let mut overlong = model(1, &[]);
    overlong.extend_from_slice(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    assert!(err(Kind::Model, &overlong).contains("overflows 64 bits"));
}

#[test]
fn sniffing_is_conservative() {
    assert!(!sniff(b"\x08\x00\x12\x01a", 5)); // ir_version 0
    assert!(!sniff(b"\x08\x07\x50\x01", 4)); // field 10 is not ModelProto's
    assert!(sniff(b"\x08\x07\x12\x40abc", 6)); // producer_name longer than the file: cut
    assert!(!sniff(b"\x08\x07\x12\x02ab\x50\x01", 8)); // then field 10
    assert!(!sniff(b"\x08\x07", 100)); // one field of a longer file
    assert!(sniff(b"\x08\x07", 2));
    assert!(!sniff(b"hello", 5));
    // The shared fixtures of other formats are not taken for ONNX.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/validate/fixtures");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let onnx = path.extension().is_some_and(|e| e == "onnx");
        assert_eq!(sniff(&bytes[..bytes.len().min(65536)], bytes.len() as u64), onnx, "{}", path.display());
    }
}

/// A model whose 2 GiB initializer is skipped, not read: validation reads the sniffed
/// head and a few windows, not the tensor.
#[test]
fn huge_initializers_are_skipped_not_read() {
    struct Sparse {
        head: Vec<u8>,
        len: u64,
        tail: Vec<u8>,
    }
    impl ByteSource for Sparse {
        fn len(&self) -> u64 {
            self.len
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            let tail_at = self.len - self.tail.len() as u64;
            if offset < self.head.len() as u64 {
                self.head.read_at(offset, buf)
            } else if offset >= tail_at {
                self.tail.read_at(offset - tail_at, buf)
            } else {
                // Tensor data: zeros (sniffing reads the first 64 KiB).
                let n = buf.len().min((tail_at - offset) as usize);
                buf[..n].fill(0);
                Ok(n)
            }
        }
    }
    let big: u64 = 2 << 30;
    // Graph: one node, then an initializer whose raw_data is `big` bytes, then the outputs.
    let mut t = Vec::new();
    varint_field(&mut t, 1, big / 4);
    varint_field(&mut t, 2, 1);
    varint(&mut t, 9 << 3 | 2);
    varint(&mut t, big);
    let t_len = t.len() as u64 + big;
    let mut node = Vec::new();
    bytes_field(&mut node, 4, b"Relu");
    let mut graph_head = Vec::new();
    bytes_field(&mut graph_head, 1, &node);
    varint(&mut graph_head, 5 << 3 | 2);
    varint(&mut graph_head, t_len);
    graph_head.extend_from_slice(&t);
    let mut tail = Vec::new();
    bytes_field(&mut tail, 12, b"\x0a\x01y");
    let graph_len = graph_head.len() as u64 + big + tail.len() as u64;
    let mut head = Vec::new();
    varint_field(&mut head, 1, 10);
    varint(&mut head, 7 << 3 | 2);
    varint(&mut head, graph_len);
    head.extend_from_slice(&graph_head);
    let len = head.len() as u64 + big + tail.len() as u64;
    let src = Sparse { head, len, tail };
    let counting = CountingSource::new(&src);
    let found = validate(Kind::Model, &counting).unwrap();
    assert_eq!(found.properties.output_count, Some(1));
    assert_eq!(found.weights.unwrap().parameter_count, Some(big / 4));
    assert!(counting.bytes_read() < 128 * 1024, "{} bytes read", counting.bytes_read());
}

/// `.onnx` stays among the weights a model ZIP may hold.
#[test]
fn a_zip_holding_an_onnx_model_is_still_model_weights() {
    use super::super::super::archive::testzip::{self, Entry};
    let zip = testzip::write(&[Entry::deflated("export/model.onnx", &fixture("tiny.onnx"))], None, false);
    let found = ok(Kind::Model, &zip);
    assert_eq!(found.format, Format::Zip);
    assert_eq!(found.pickle_imports, Some(vec![]));
}
