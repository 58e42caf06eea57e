//! Tests of `safetensors.rs`.

use super::super::tests::{rejection, weights};
use super::*;
use crate::validate::{validate, CountingSource, Inspection};
use intake_api::Kind;
use serde_json::json;

fn inspect(format: Format, src: &dyn ByteSource) -> Result<Inspection, InspectError> {
    super::super::inspect(format, src)
}

fn sniff(head: &[u8], total_len: u64) -> Option<Format> {
    super::super::sniff(head, total_len)
}

fn safetensors(header: &serde_json::Value, data: &[u8]) -> Vec<u8> {
    let mut json = serde_json::to_vec(header).unwrap();
    while !json.len().is_multiple_of(8) {
        json.push(b' ');
    }
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&json);
    out.extend_from_slice(data);
    out
}

fn sample_safetensors() -> Vec<u8> {
    let header = json!({
        "__metadata__": {"format": "pt"},
        "bias": {"dtype": "BF16", "shape": [4], "data_offsets": [24, 32]},
        "weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
    });
    safetensors(&header, &[1u8; 32])
}

#[test]
fn valid_safetensors() {
    let file = sample_safetensors();
    let w = weights(&file, Format::Safetensors);
    assert_eq!(w.tensor_count, Some(2));
    assert_eq!(w.parameter_count, Some(10));
    assert_eq!(w.dtypes, ["BF16", "F32"]);
    assert_eq!(w.model_type, None);
    let findings = validate(Kind::Model, &file).unwrap();
    assert_eq!(findings.format, Format::Safetensors);
    assert_eq!(findings.properties.format.as_deref(), Some("safetensors"));
    assert_eq!(findings.weights.unwrap().tensor_count, Some(2));
}

#[test]
fn safetensors_written_by_the_reference_library() {
    // fixtures/tiny.safetensors: see fixtures/README.md.
    let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/src/validate/fixtures/tiny.safetensors")).unwrap();
    let w = weights(&file, Format::Safetensors);
    assert_eq!(w.tensor_count, Some(3));
    assert_eq!(w.parameter_count, Some(6 + 3 + 4));
    assert_eq!(w.dtypes, ["F16", "F32", "I64"]);
}

#[test]
fn sub_byte_and_empty_tensors() {
    let header = json!({
        "a": {"dtype": "F4", "shape": [2, 3], "data_offsets": [0, 3]},
        "b": {"dtype": "F32", "shape": [0, 5], "data_offsets": [3, 3]},
        "c": {"dtype": "I8", "shape": [], "data_offsets": [3, 4]},
    });
    let w = weights(&safetensors(&header, &[0; 4]), Format::Safetensors);
    assert_eq!(w.tensor_count, Some(3));
    assert_eq!(w.parameter_count, Some(7));
    let header = json!({"a": {"dtype": "F4", "shape": [3], "data_offsets": [0, 1]}});
    let msg = rejection(inspect(Format::Safetensors, &safetensors(&header, &[0; 1])));
    assert!(msg.contains("does not fill a whole number of bytes"), "{msg}");
}

#[test]
fn truncated_safetensors() {
    let file = sample_safetensors();
    // Cut in the data: the last tensor now ends past the data.
    let msg = rejection(inspect(Format::Safetensors, &file[..file.len() - 4].to_vec()));
    assert!(msg.contains("\"bias\" ends at byte 32 of the data, but the file holds only 28 bytes"), "{msg}");
    // Cut in the header: the header length is larger than the file.
    let cut = &file[..40];
    let msg = rejection(inspect(Format::Safetensors, &cut.to_vec()));
    assert!(msg.contains("is larger than the file (40 bytes): it is truncated"), "{msg}");
    let err = validate(Kind::Model, &cut.to_vec()).unwrap_err().to_string();
    // Still recognised by its binary length before `{"`, so the reason says truncated.
    assert!(err.contains("safetensors") && err.contains("truncated"), "{err}");
}

#[test]
fn corrupted_safetensors() {
    let cases: Vec<(serde_json::Value, usize, &str)> = vec![
        (
            json!({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                   "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}),
            12,
            "the data of tensors \"a\" and \"b\" overlap",
        ),
        (json!({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}), 4, "ends at byte 8 of the data"),
        (json!({"a": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 1]}}), 1, "unknown dtype \"Q4\""),
        (json!({"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 8]}}), 8, "should take 4 bytes"),
        (json!({"a": {"dtype": "F16", "shape": [2], "data_offsets": [4, 0]}}), 8, "wrong order"),
        (json!({"a": {"dtype": "F16", "shape": [-2], "data_offsets": [0, 4]}}), 4, "no valid \"shape\""),
        (json!({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0]}}), 2, "no valid \"data_offsets\""),
        (json!({"a": {"shape": [2], "data_offsets": [0, 2]}}), 2, "no \"dtype\""),
        (json!({"a": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}}), 4, "2 bytes before tensor \"a\""),
        (json!({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}}), 5, "3 bytes after the last tensor"),
        (json!({"a": 5}), 0, "not a JSON object"),
        (json!({"__metadata__": {"n": 1}}), 0, "\"__metadata__\" is not a map of strings"),
        (
            json!({"a": {"dtype": "U8", "shape": [4294967296u64, 4294967296u64], "data_offsets": [0, 0]}}),
            0,
            "impossibly large",
        ),
        (json!([1, 2]), 0, "its JSON header is not valid"),
    ];
    for (header, data_len, expected) in cases {
        let file = safetensors(&header, &vec![0u8; data_len]);
        let msg = rejection(inspect(Format::Safetensors, &file));
        assert!(msg.contains(expected), "{header}: {msg}");
        assert!(msg.starts_with("the file looks like a safetensors weights file but is damaged"), "{msg}");
    }
    // Duplicate names and broken JSON, written by hand.
    for (json, expected) in [
        (&br#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#[..], "listed twice"),
        (&br#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}"#[..], "not valid (EOF while parsing"),
        (&br#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}} x"#[..], "trailing characters"),
    ] {
        let mut file = (json.len() as u64).to_le_bytes().to_vec();
        file.extend_from_slice(json);
        file.extend_from_slice(&[0, 0]);
        let msg = rejection(inspect(Format::Safetensors, &file));
        assert!(msg.contains(expected), "{msg}");
    }
}

#[test]
fn safetensors_sniffing_is_strict() {
    let file = sample_safetensors();
    // Header length larger than the file: still claimed (a binary length before `{"`),
    // so inspection can say the header is broken...
    let mut big = file.clone();
    big[..8].copy_from_slice(&(file.len() as u64).to_le_bytes());
    assert_eq!(sniff(&big, big.len() as u64), Some(Format::Safetensors));
    // ...but eight printable characters before `{"` are text, not a length.
    let text = b"12345678{\"a\": 1}".to_vec();
    assert_eq!(sniff(&text, text.len() as u64), None);
    // Not followed by '{'.
    let mut other = file.clone();
    other[8] = b'[';
    assert_eq!(sniff(&other, other.len() as u64), None);
    // A header length over the cap is refused at inspection.
    let mut huge = file;
    huge[..8].copy_from_slice(&(MAX_HEADER + 1).to_le_bytes());
    assert!(rejection(inspect(Format::Safetensors, &huge)).contains("more than the 100 MiB"));
}

#[test]
fn large_safetensors_reads_only_the_header() {
    let size = 16u64 << 20;
    let header = json!({"big": {"dtype": "U8", "shape": [size], "data_offsets": [0, size]}});
    let file = safetensors(&header, &vec![0u8; size as usize]);
    let counting = CountingSource::new(&file);
    let w = inspect(Format::Safetensors, &counting).unwrap().weights.unwrap();
    assert_eq!(w.parameter_count, Some(size));
    assert!(counting.bytes_read() < 1024, "read {}", counting.bytes_read());
}

/// A LoRA file with rank-1 factors of the given (name, input width, output width).
fn lora_file(tensors: &[(&str, u64, u64)]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut offset = 0u64;
    for (name, width, out) in tensors {
        for (suffix, shape) in [("lora_A.weight", [1, *width]), ("lora_B.weight", [*out, 1])] {
            let len = shape[0] * shape[1] * 2;
            header.insert(
                format!("{name}.{suffix}"),
                json!({"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + len]}),
            );
            offset += len;
        }
    }
    safetensors(&serde_json::Value::Object(header), &vec![0u8; offset as usize])
}

#[test]
fn flux_lora_is_recognised_end_to_end() {
    let file = lora_file(&[
        ("transformer.transformer_blocks.18.attn.to_q", 3072, 3072),
        ("transformer.single_transformer_blocks.37.attn.to_k", 3072, 3072),
    ]);
    let w = weights(&file, Format::Safetensors);
    assert_eq!(w.model_type, Some("flux.1-lora"));
    assert_eq!(w.tensor_count, Some(4));
    assert_eq!(w.parameter_count, Some(4 * 3072));
    assert_eq!(validate(Kind::Model, &file).unwrap().weights.unwrap().model_type, Some("flux.1-lora"));
}

fn classify(names: &[(&str, &[u64])]) -> Option<&'static str> {
    let mut e = Evidence::default();
    for (name, shape) in names {
        e.observe(name, shape);
    }
    e.classify()
}

#[test]
fn lora_rule_table() {
    // kohya Flux.1.
    assert_eq!(
        classify(&[
            ("lora_unet_double_blocks_18_img_attn_qkv.lora_down.weight", &[16, 3072]),
            ("lora_unet_double_blocks_18_img_attn_qkv.lora_up.weight", &[9216, 16]),
            ("lora_unet_double_blocks_18_img_attn_qkv.alpha", &[]),
            ("lora_unet_single_blocks_37_linear1.lora_down.weight", &[16, 3072]),
        ]),
        Some("flux.1-lora")
    );
    // BFL/ComfyUI Flux.1 without an attention factor: depth alone.
    assert_eq!(
        classify(&[("diffusion_model.double_blocks.12.img_mlp.0.lora_A.weight", &[16, 3072])]),
        Some("flux.1-lora")
    );
    // Shallow Flux-style LoRA of hidden 3072: Flux.1 or Flux.2 klein, so no guess.
    assert_eq!(classify(&[("diffusion_model.double_blocks.3.img_attn.qkv.lora_A.weight", &[16, 3072])]), None);
    // Flux.2 dev: width 6144.
    assert_eq!(
        classify(&[
            ("diffusion_model.double_blocks.7.img_attn.qkv.lora_A.weight", &[16, 6144]),
            ("diffusion_model.single_blocks.47.linear1.lora_A.weight", &[16, 6144]),
        ]),
        Some("flux.2-dev-lora")
    );
    // HunyuanVideo (Flux-like names, 20 double blocks, fc1 MLPs): not Flux.
    assert_eq!(
        classify(&[
            ("diffusion_model.double_blocks.19.img_attn_qkv.lora_A.weight", &[16, 3072]),
            ("diffusion_model.double_blocks.0.img_mlp.fc1.lora_A.weight", &[16, 3072]),
        ]),
        None
    );
    // Qwen-Image, diffusers and ComfyUI spellings.
    assert_eq!(
        classify(&[
            ("transformer.transformer_blocks.59.img_mlp.net.0.proj.lora_A.weight", &[16, 3072]),
            ("transformer.transformer_blocks.59.attn.to_q.lora_A.weight", &[16, 3072]),
        ]),
        Some("qwen-image-lora")
    );
    assert_eq!(
        classify(&[("diffusion_model.transformer_blocks.0.img_mod.1.lora_down.weight", &[16, 3072])]),
        Some("qwen-image-lora")
    );
    // Z-Image: width 3840; Lumina 2 (2304) with the same names is not claimed.
    assert_eq!(
        classify(&[("diffusion_model.layers.29.attention.to_q.lora_A.weight", &[32, 3840])]),
        Some("zimage-lora")
    );
    assert_eq!(classify(&[("diffusion_model.layers.25.attention.qkv.lora_A.weight", &[32, 2304])]), None);
    // Not a LoRA: a full Flux checkpoint.
    assert_eq!(classify(&[("double_blocks.18.img_attn.qkv.weight", &[9216, 3072])]), None);
    // SD 1.5 LoRA: nothing we know.
    assert_eq!(classify(&[("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", &[4, 320])]), None);
    // Conflicting widths.
    assert_eq!(
        classify(&[
            ("lora_unet_double_blocks_18_img_attn_qkv.lora_down.weight", &[16, 3072]),
            ("lora_unet_double_blocks_17_img_attn_qkv.lora_down.weight", &[16, 6144]),
        ]),
        None
    );
}

#[test]
fn hostile_headers_do_not_panic() {
    let file = sample_safetensors();
    for i in 0..file.len() {
        for v in [0u8, 0xff, b'"', b'[', b'{', b'9'] {
            let mut f = file.clone();
            f[i] = v;
            let _ = inspect(Format::Safetensors, &f);
        }
        let _ = inspect(Format::Safetensors, &file[..i].to_vec());
    }
}

#[test]
fn huge_lists_are_not_stored() {
    // A shape of a million dimensions and deep metadata: refused without building them.
    let mut json = br#"{"a":{"dtype":"U8","shape":["#.to_vec();
    for _ in 0..1_000_000 {
        json.extend_from_slice(b"1,");
    }
    json.extend_from_slice(br#"1],"data_offsets":[0,1]}}"#);
    let mut file = (json.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(&json);
    file.push(0);
    let msg = rejection(inspect(Format::Safetensors, &file));
    assert!(msg.contains("no valid \"shape\" (a list of at most 64"), "{msg}");
}
