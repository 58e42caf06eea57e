//! STL, PLY, COLLADA, 3MF, USDA and ONNX: an ASCII STL of many facets, binary and ASCII
//! PLYs of many list rows (long lists in ASCII), a COLLADA of many sources and
//! float_arrays in one mesh, a 3MF whose deflated model part holds many vertices and
//! triangles (its work follows the inflated bytes, at most 256 MiB), a USDA of deeply nested brackets and many strings, and an ONNX model of many
//! nodes and initializers.

use super::super::archive::testzip::{self, Entry};
use super::{accepted, assert_linear};
use intake_api::Kind;
use std::fmt::Write;

fn ascii_stl(n: usize) -> Vec<u8> {
    let mut s = String::from("solid worst\n");
    for i in 0..n {
        write!(
            s,
            "facet normal 0 0 1\nouter loop\nvertex {i} 0 0\nvertex 1 {i} 0\nvertex 0 1 {i}\nendloop\nendfacet\n"
        )
        .unwrap();
    }
    s.push_str("endsolid worst\n");
    s.into_bytes()
}

#[test]
fn an_ascii_stl_of_many_facets_takes_linear_work() {
    assert_linear("stl facets", Kind::ThreeD, 40_000, ascii_stl, |result| {
        accepted(result);
        assert!(result.as_ref().unwrap().properties.face_count >= Some(40_000));
    });
}

/// A binary PLY of `n` faces of 8 indices each (walked within the budget).
fn binary_ply(n: usize) -> Vec<u8> {
    let mut out = format!(
        "ply\nformat binary_little_endian 1.0\nelement vertex 8\nproperty float x\nproperty float y\nproperty float z\nelement face {n}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    .into_bytes();
    out.resize(out.len() + 8 * 12, 0);
    for _ in 0..n {
        out.push(8);
        out.extend_from_slice(&[0; 32]);
    }
    out
}

#[test]
fn a_binary_ply_of_many_list_rows_takes_linear_work() {
    assert_linear("ply binary rows", Kind::ThreeD, 60_000, binary_ply, |result| {
        accepted(result);
    });
}

/// An ASCII PLY of `n` faces of 200 indices each.
fn ascii_ply(n: usize) -> Vec<u8> {
    let mut s = format!(
        "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face {n}\nproperty list uint int vertex_indices\nend_header\n0 0 0\n1 0 0\n0 1 0\n"
    );
    let row = format!("200{}\n", " 1".repeat(200));
    for _ in 0..n {
        s.push_str(&row);
    }
    s.into_bytes()
}

#[test]
fn an_ascii_ply_of_long_lists_takes_linear_work() {
    assert_linear("ply ascii lists", Kind::ThreeD, 5_000, ascii_ply, |result| {
        accepted(result);
        assert!(result.as_ref().unwrap().properties.face_count >= Some(5_000));
    });
}

/// A COLLADA document of one mesh with `n` sources (each a float_array and an accessor),
/// `n` vertices elements naming them, and `n` triangles.
fn collada(n: usize) -> Vec<u8> {
    let mut s =
        String::from("<?xml version=\"1.0\"?>\n<COLLADA version=\"1.4.1\"><library_geometries><geometry><mesh>");
    for i in 0..n {
        write!(
            s,
            "<source id=\"s{i}\"><float_array id=\"a{i}\" count=\"6\">0 1 2 3 4 5</float_array><technique_common><accessor source=\"#a{i}\" count=\"2\" stride=\"3\"/></technique_common></source>"
        )
        .unwrap();
    }
    for i in 0..n {
        write!(s, "<vertices id=\"v{i}\"><input semantic=\"POSITION\" source=\"#s{i}\"/></vertices><triangles count=\"1\"><p>0 1 0</p></triangles>").unwrap();
    }
    s.push_str("</mesh></geometry></library_geometries></COLLADA>\n");
    s.into_bytes()
}

#[test]
fn a_collada_of_many_sources_takes_linear_work() {
    assert_linear("collada sources", Kind::ThreeD, 8_000, collada, |result| {
        accepted(result);
        assert!(result.as_ref().unwrap().properties.face_count >= Some(8_000));
    });
}

/// A 3MF whose deflated model part holds `n` vertices and `n` triangles.
fn three_mf(n: usize) -> Vec<u8> {
    let mut s = String::from("<?xml version=\"1.0\"?><model xmlns=\"http://schemas.microsoft.com/3dmanufacturing/core/2015/02\"><resources><object id=\"1\"><mesh><vertices>");
    // Coordinates of pseudo-random digits, as real meshes have: the part deflates about
    // three to one, as real model parts do (its work follows the inflated bytes).
    let mut x = 0x9E37_79B9u64;
    for _ in 0..n {
        let mut coordinate = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{}.{:06}", x % 1000, (x >> 20) % 1_000_000)
        };
        write!(s, "<vertex x=\"{}\" y=\"{}\" z=\"{}\"/>", coordinate(), coordinate(), coordinate()).unwrap();
    }
    s.push_str("</vertices><triangles>");
    for i in 0..n {
        write!(s, "<triangle v1=\"{}\" v2=\"{}\" v3=\"{i}\"/>", i / 2, i / 3).unwrap();
    }
    s.push_str("</triangles></mesh></object></resources><build><item objectid=\"1\"/></build></model>");
    testzip::write(
        &[Entry::stored("[Content_Types].xml", b"<Types/>"), Entry::deflated("3D/3dmodel.model", s.as_bytes())],
        None,
        false,
    )
}

#[test]
fn a_3mf_of_many_vertices_takes_linear_work() {
    assert_linear("3mf vertices", Kind::ThreeD, 100_000, three_mf, |result| {
        accepted(result);
        assert_eq!(result.as_ref().unwrap().properties.vertex_count.map(|v| v >= 100_000), Some(true));
    });
}

/// A USDA of `n` prims, each nesting brackets 100 deep around strings and asset paths.
fn usda(n: usize) -> Vec<u8> {
    let mut s = String::from("#usda 1.0\n");
    let nest = format!("{}\"s\" @a@ '''t''' {}", "([{".repeat(33), "}])".repeat(33));
    for i in 0..n {
        writeln!(s, "def X \"p{i}\" {{ {nest} }} # comment (").unwrap();
    }
    s.into_bytes()
}

#[test]
fn a_usda_of_nested_brackets_takes_linear_work() {
    assert_linear("usda brackets", Kind::ThreeD, 20_000, usda, accepted);
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field(out: &mut Vec<u8>, number: u64, payload: &[u8]) {
    varint(out, number << 3 | 2);
    varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// An ONNX model of `n` nodes and `n` initializers of 4 packed dims.
fn onnx(n: usize) -> Vec<u8> {
    let mut graph = Vec::new();
    for _ in 0..n {
        field(&mut graph, 1, b"\x0a\x01x\x12\x01y\x22\x04Relu");
    }
    for _ in 0..n {
        // dims [1, 2, 1, 2] packed, FLOAT, 16 bytes of raw_data.
        let mut t = Vec::new();
        field(&mut t, 1, &[1, 2, 1, 2]);
        t.extend_from_slice(&[0x10, 0x01]);
        field(&mut t, 9, &[0; 16]);
        field(&mut graph, 5, &t);
    }
    let mut out = vec![0x08, 0x08];
    field(&mut out, 7, &graph);
    out
}

#[test]
fn an_onnx_model_of_many_nodes_takes_linear_work() {
    assert_linear("onnx nodes and initializers", Kind::Model, 100_000, onnx, |result| {
        accepted(result);
        assert!(result.as_ref().unwrap().properties.node_count >= Some(100_000));
    });
}
