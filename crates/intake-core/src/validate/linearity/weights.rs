//! Weights: a safetensors header of a hundred thousand LoRA tensors (each parsed, checked,
//! matched against the LoRA name patterns, then sorted for the tiling and duplicate checks)
//! and a GGUF of a vocabulary of strings and as many tensor infos.

use super::{accepted, assert_linear};
use intake_api::Kind;
use std::fmt::Write;

/// A safetensors file of `n` F16 4 × 4 LoRA tensors named as kohya names Flux blocks.
fn worst_safetensors(n: usize) -> Vec<u8> {
    let mut header = String::with_capacity(n * 130);
    header.push_str(r#"{"__metadata__":{"format":"pt"}"#);
    for i in 0..n {
        let (begin, end) = (32 * i, 32 * i + 32);
        write!(
            header,
            r#","lora_unet_double_blocks_{i}_img_attn_qkv.lora_down.weight":{{"dtype":"F16","shape":[4,4],"data_offsets":[{begin},{end}]}}"#
        )
        .unwrap();
    }
    header.push('}');
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.resize(out.len() + 32 * n, 0x3C);
    out
}

#[test]
fn a_safetensors_header_of_many_tensors_takes_linear_work() {
    assert_linear("safetensors tensors", Kind::Model, 100_000, worst_safetensors, |result| {
        accepted(result);
        assert!(result.as_ref().unwrap().weights.as_ref().unwrap().tensor_count >= Some(100_000));
    });
}

fn gguf_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s);
}

/// A GGUF (version 3) with a vocabulary of `n` tokens and `n` F32 tensors of 8 elements.
fn worst_gguf(n: usize) -> Vec<u8> {
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(n as u64).to_le_bytes());
    out.extend_from_slice(&2u64.to_le_bytes());
    gguf_string(&mut out, b"general.architecture");
    out.extend_from_slice(&8u32.to_le_bytes());
    gguf_string(&mut out, b"llama");
    gguf_string(&mut out, b"tokenizer.ggml.tokens");
    out.extend_from_slice(&9u32.to_le_bytes());
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&(n as u64).to_le_bytes());
    for i in 0..n {
        gguf_string(&mut out, format!("token-{i:012}-piece").as_bytes());
    }
    for i in 0..n {
        gguf_string(&mut out, format!("blk.{i}.attn_q.weight").as_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&8u64.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(32 * i as u64).to_le_bytes());
    }
    out.resize(out.len().next_multiple_of(32) + 32 * n, 0);
    out
}

#[test]
fn a_gguf_of_many_tokens_and_tensors_takes_linear_work() {
    assert_linear("gguf tokens and tensors", Kind::Model, 150_000, worst_gguf, |result| {
        accepted(result);
        assert!(result.as_ref().unwrap().weights.as_ref().unwrap().tensor_count >= Some(150_000));
    });
}
