use super::super::super::test_support::{err, fixture, ok};
use super::super::super::CountingSource;
use super::*;
use crate::validate::{sniff_head, validate};
use intake_api::Kind;

/// A binary little-endian PLY of `n` vertices and `n` triangles (indices 0, 1, 2).
pub fn binary_ply(n: u64) -> Vec<u8> {
    let mut out = format!(
        "ply\nformat binary_little_endian 1.0\nelement vertex {n}\nproperty float x\nproperty float y\nproperty float z\nelement face {n}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    .into_bytes();
    for i in 0..n {
        for v in [i as f32, 0.5, -1.0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let face: Vec<u8> = [&[3u8][..], &0i32.to_le_bytes(), &1i32.to_le_bytes(), &2i32.to_le_bytes()].concat();
    for _ in 0..n {
        out.extend_from_slice(&face);
    }
    out
}

#[test]
fn fixtures_are_recognised() {
    for name in ["mesh_box_binary.ply", "mesh_box_ascii.ply", "mesh_box_big.ply"] {
        let bytes = fixture(name);
        assert_eq!(sniff_head(&bytes, bytes.len() as u64), Format::Ply, "{name}");
        let p = ok(Kind::ThreeD, &bytes).properties;
        assert_eq!(p.format.as_deref(), Some("ply"));
        assert_eq!((p.vertex_count, p.face_count), (Some(8), Some(12)), "{name}");
        assert_eq!((p.has_normals, p.has_uvs), (Some(false), Some(false)), "{name}");
    }
    assert_eq!(ok(Kind::Text, &fixture("mesh_box_ascii.ply")).format, Format::Ply);
}

#[test]
fn truncated_and_lying_files_are_refused() {
    let binary = fixture("mesh_box_binary.ply");
    let reason = err(Kind::ThreeD, &binary[..binary.len() - 5]);
    assert!(reason.contains("its face data ends inside row 11 of 12 (truncated)"), "{reason}");
    let mut longer = binary.clone();
    longer.push(0);
    assert!(err(Kind::ThreeD, &longer).contains("1 bytes follow the last element"));
    let lying = String::from_utf8_lossy(&binary).replace("element face 12", "element face 14");
    let lying = [&lying.as_bytes()[..binary.len() - 12 * 13 - 96], &binary[binary.len() - 12 * 13 - 96..]].concat();
    assert!(err(Kind::ThreeD, &lying).contains("ends inside row 12 of 14"));
    let ascii = String::from_utf8(fixture("mesh_box_ascii.ply")).unwrap();
    let reason = err(Kind::ThreeD, ascii.replace("element face 12", "element face 13").as_bytes());
    assert!(reason.contains("declares 13 face rows but the file holds only 12 (truncated)"), "{reason}");
    let reason = err(Kind::ThreeD, ascii.replace("element vertex 8", "element vertex 7").as_bytes());
    assert!(reason.contains("(row 0 of face): no length for the list vertex_indices"), "{reason}");
    let short_row = ascii.replacen("3 7 5 6", "3 7 5", 1);
    assert!(err(Kind::ThreeD, short_row.as_bytes())
        .contains("line 30 (row 11 of face): the list vertex_indices holds fewer than 3 numbers"));
    assert!(err(Kind::ThreeD, b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\n")
        .contains("header ends before end_header (truncated)"));
    assert!(err(Kind::ThreeD, b"ply\nformat ascii 2.0\nend_header\n").contains("only version 1.0"));
    assert!(err(Kind::ThreeD, b"ply\nformat ascii 1.0\nproperty float x\nend_header\n").contains("before any element"));
}

#[test]
fn big_endian_and_signed_list_lengths() {
    let head = b"ply\nformat binary_big_endian 1.0\nelement face 1\nproperty list char int i\nend_header\n";
    let mut file = head.to_vec();
    file.push(0xFF); // -1
    assert!(err(Kind::ThreeD, &file).contains("negative list length"));
    let mut file = head.to_vec();
    file.push(2);
    file.extend_from_slice(&7i32.to_be_bytes());
    file.extend_from_slice(&8i32.to_be_bytes());
    assert_eq!(ok(Kind::ThreeD, &file).properties.face_count, Some(1));
    assert_eq!(list_length(&[0xFF, 0xFE], Scalar { size: 2, signed: false, float: false }, true), Some(0xFFFE));
    assert_eq!(list_length(&[0xFE, 0xFF], Scalar { size: 2, signed: true, float: false }, false), None);
}

#[test]
fn a_large_binary_file_is_judged_from_a_bounded_walk() {
    let n = 600_000; // 7.8 MB of faces, past the 4 MiB walked
    let file = binary_ply(n);
    let counting = CountingSource::new(&file);
    let found = validate(Kind::ThreeD, &counting).unwrap();
    assert_eq!(found.properties.face_count, Some(n));
    assert!(counting.bytes_read() < 5 << 20, "{} bytes read", counting.bytes_read());
    // Beyond the walk only the lower bound (a byte per remaining row) is checked…
    assert!(validate(Kind::ThreeD, &file[..file.len() - 1000].to_vec()).is_ok());
    // …a file cut below it, or inside the walk, is refused.
    assert!(err(Kind::ThreeD, &file[..file.len() / 2]).contains("(truncated)"));
    let vertices_only = &file[..file.len() - (n as usize) * 13 + 100];
    assert!(err(Kind::ThreeD, vertices_only).contains("(truncated)"));
}
