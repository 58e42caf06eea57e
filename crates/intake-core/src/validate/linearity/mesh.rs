//! 3D models: a glTF of a hundred thousand accessors and bufferViews (each checked against
//! the one it names), an OBJ of long lines joined by thousands of `\` continuations after a
//! run of blanks (which made every continuation rescan the whole line), and a binary FBX of
//! hundreds of thousands of nodes.

use super::{accepted, assert_linear};
use intake_api::Kind;
use std::fmt::Write;

/// A glTF document with `n` bufferViews, `n` accessors and `n / 4` meshes of two
/// primitives, each view and accessor named with 60 characters (so the document, not its value count,
/// is what grows).
fn worst_gltf(n: usize) -> Vec<u8> {
    let name = "x".repeat(60);
    let mut json = String::with_capacity(n * 500);
    json.push_str(r#"{"asset":{"version":"2.0"},"buffers":[{"uri":"mesh.bin","byteLength":"#);
    write!(json, "{}}}],\"bufferViews\":[", 36 * n).unwrap();
    for i in 0..n {
        let sep = if i == 0 { "" } else { "," };
        write!(json, r#"{sep}{{"buffer":0,"byteOffset":{},"byteLength":36,"name":"{name}"}}"#, 36 * i).unwrap();
    }
    json.push_str("],\"accessors\":[");
    for i in 0..n {
        let sep = if i == 0 { "" } else { "," };
        write!(json, r#"{sep}{{"bufferView":{i},"componentType":5126,"count":3,"type":"VEC3","name":"{name}"}}"#)
            .unwrap();
    }
    json.push_str("],\"meshes\":[");
    for m in 0..n / 4 {
        let sep = if m == 0 { "" } else { "," };
        let (a, b) = (4 * m, 4 * m + 1);
        write!(
            json,
            r#"{sep}{{"primitives":[{{"attributes":{{"POSITION":{a},"NORMAL":{b}}}}},{{"attributes":{{"POSITION":{}}},"indices":{}}}]}}"#,
            a + 2,
            a + 3
        )
        .unwrap();
    }
    json.push_str("],\"nodes\":[");
    for m in 0..n / 4 {
        let sep = if m == 0 { "" } else { "," };
        write!(json, r#"{sep}{{"mesh":{m}}}"#).unwrap();
    }
    json.push_str("]}");
    json.into_bytes()
}

#[test]
fn a_gltf_of_many_accessors_takes_linear_work() {
    let [small, _] = assert_linear("gltf accessors", Kind::ThreeD, 50_000, worst_gltf, |result| {
        accepted(result);
        assert!(result.as_ref().unwrap().properties.vertex_count >= Some(3 * 2 * 50_000 / 4));
    });
    assert!(small.steps > 100_000, "{small:?}");
}

/// An OBJ whose 40 logical lines are each `n` blanks, then `n` lines of a lone `\`, then a
/// vertex: every continuation used to rescan the blanks that open the line.
fn worst_obj(n: usize) -> Vec<u8> {
    let mut out = b"# worst case\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n".to_vec();
    for _ in 0..40 {
        out.resize(out.len() + n, b' ');
        out.extend_from_slice(b"\\\n".repeat(n).as_slice());
        out.extend_from_slice(b"v 1 2 3\n");
    }
    out
}

#[test]
fn an_obj_of_long_continued_lines_takes_linear_work() {
    assert_linear("obj continuation lines", Kind::ThreeD, 128 << 10, worst_obj, |result| {
        accepted(result);
        assert_eq!(result.as_ref().unwrap().properties.vertex_count, Some(43));
    });
}

/// A binary FBX (7.4) node: end offset, property count and length, name, properties,
/// children, and the null record that closes a node with children.
fn fbx_node(out: &mut Vec<u8>, name: &[u8], props: &[Vec<u8>], children: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.resize(start + 13, 0);
    out.extend_from_slice(name);
    let props_start = out.len();
    for p in props {
        out.extend_from_slice(p);
    }
    let props_len = out.len() - props_start;
    let before_children = out.len();
    children(out);
    if out.len() > before_children {
        out.extend_from_slice(&[0; 13]);
    }
    let end = out.len() as u32;
    out[start..start + 4].copy_from_slice(&end.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&(props.len() as u32).to_le_bytes());
    out[start + 8..start + 12].copy_from_slice(&(props_len as u32).to_le_bytes());
    out[start + 12] = name.len() as u8;
}

/// An FBX whose `Objects` holds 10,000 models, then `n` empty top-level nodes.
fn worst_fbx(n: usize) -> Vec<u8> {
    let mut out = b"Kaydara FBX Binary  \x00\x1a\x00".to_vec();
    out.extend_from_slice(&7400u32.to_le_bytes());
    let class = |s: &[u8]| [&[b'S'][..], &(s.len() as u32).to_le_bytes(), s].concat();
    fbx_node(&mut out, b"Objects", &[], |out| {
        for _ in 0..10_000 {
            fbx_node(out, b"Model", &[class(b"Model::bone"), class(b"LimbNode")], |_| {});
        }
    });
    for _ in 0..n {
        fbx_node(&mut out, b"Documents and other top-level records of a scene", &[], |_| {});
    }
    out.extend_from_slice(&[0; 13]);
    out.extend_from_slice(&[0; 160]);
    out
}

#[test]
fn an_fbx_of_many_nodes_takes_linear_work() {
    let [small, _] = assert_linear("fbx nodes", Kind::ThreeD, 400_000, worst_fbx, |result| {
        accepted(result);
        assert_eq!(result.as_ref().unwrap().properties.has_skeleton, Some(true));
    });
    assert!(small.steps > 400_000, "{small:?}");
}
