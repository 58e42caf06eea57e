//! AVIF/HEIC, OpenEXR and Radiance HDR: a HEIF `meta` of tens of thousands of items (each
//! listed, located, given a property and referenced), an OpenEXR of tens of thousands of
//! one-line chunks (every offset checked), and a Radiance file far larger than the sample
//! its body is judged by.

use super::{accepted, assert_linear};
use intake_api::Kind;

fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = (8 + body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

/// A full box: version, zero flags, then `body`.
fn full(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
    boxed(kind, &[&[version, 0, 0, 0][..], body].concat())
}

/// An AVIF whose `meta` lists `n` items, each located in `mdat`, given the size property,
/// and referenced from the primary item as a grid tile.
fn worst_heif(n: usize) -> Vec<u8> {
    let ftyp = boxed(b"ftyp", b"avif\0\0\0\0avifmif1miaf");
    let mut infes = (n as u32).to_be_bytes().to_vec();
    let mut iloc = vec![0x44, 0x00];
    iloc.extend_from_slice(&(n as u32).to_be_bytes());
    let mut ipma = (n as u32).to_be_bytes().to_vec();
    let mut tiles = Vec::new();
    for id in 1..=n as u32 {
        let kind = if id == 1 { b"grid" } else { b"av01" };
        infes.extend_from_slice(&full(b"infe", 3, &[&id.to_be_bytes()[..], &[0, 0], kind].concat()));
        // id, construction method 0, data reference 0, one extent: offset filled in below, 4 bytes.
        iloc.extend_from_slice(&id.to_be_bytes());
        iloc.extend_from_slice(&[0, 0, 0, 0, 0, 1]);
        iloc.extend_from_slice(&[0xEE; 4]);
        iloc.extend_from_slice(&4u32.to_be_bytes());
        ipma.extend_from_slice(&id.to_be_bytes());
        ipma.extend_from_slice(&[1, 0x81]);
        if id > 1 {
            tiles.push(id);
        }
    }
    let ispe = full(b"ispe", 0, &[0, 0, 0, 64, 0, 0, 0, 48]);
    let iprp = boxed(b"iprp", &[boxed(b"ipco", &ispe), full(b"ipma", 1, &ipma)].concat());
    // The tiles, 50,000 to a `dimg` box (its count is 16 bits).
    let mut dimgs = Vec::new();
    for part in tiles.chunks(50_000) {
        let mut dimg = 1u32.to_be_bytes().to_vec();
        dimg.extend_from_slice(&(part.len() as u16).to_be_bytes());
        dimg.extend(part.iter().flat_map(|id| id.to_be_bytes()));
        dimgs.extend_from_slice(&boxed(b"dimg", &dimg));
    }
    let iref = full(b"iref", 1, &dimgs);
    let meta_body = [
        full(b"hdlr", 0, &[&[0; 4][..], b"pict", &[0; 13]].concat()),
        full(b"pitm", 1, &1u32.to_be_bytes()),
        full(b"iinf", 1, &infes),
        full(b"iloc", 2, &iloc),
        iprp,
        iref,
    ]
    .concat();
    let meta = full(b"meta", 0, &meta_body);
    let mdat_at = (ftyp.len() + meta.len() + 8) as u32;
    let mut out = [ftyp, meta].concat();
    // Every extent lies in mdat.
    let mut at = 0;
    while let Some(p) = out[at..].windows(4).position(|w| w == [0xEE; 4]) {
        out[at + p..at + p + 4].copy_from_slice(&mdat_at.to_be_bytes());
        at += p + 4;
    }
    out.extend_from_slice(&boxed(b"mdat", &[0x12; 64]));
    out
}

#[test]
fn a_heif_of_many_items_takes_linear_work() {
    let [small, _] = assert_linear("heif items", Kind::Image, 40_000, worst_heif, |result| {
        accepted(result);
        let p = &result.as_ref().unwrap().properties;
        assert_eq!((p.width, p.height, p.codec_name.as_deref()), (Some(64), Some(48), Some("av1")));
    });
    assert!(small.steps > 4 * 40_000, "{small:?}");
}

/// An OpenEXR of one column and `n` lines, uncompressed: `n` chunks of one line.
fn worst_exr(n: usize) -> Vec<u8> {
    let mut out = vec![0x76, 0x2F, 0x31, 0x01, 2, 0, 0, 0];
    let mut attribute = |name: &str, kind: &str, value: &[u8]| {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(kind.as_bytes());
        out.push(0);
        out.extend_from_slice(&(value.len() as i32).to_le_bytes());
        out.extend_from_slice(value);
    };
    let mut channels = b"Y\0".to_vec();
    channels.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
    attribute("channels", "chlist", &channels);
    attribute("compression", "compression", &[0]);
    let window: Vec<u8> = [0i32, 0, 0, n as i32 - 1].iter().flat_map(|v| v.to_le_bytes()).collect();
    attribute("dataWindow", "box2i", &window);
    attribute("displayWindow", "box2i", &window);
    out.push(0);
    let first = out.len() + 8 * n;
    for y in 0..n {
        out.extend_from_slice(&((first + 12 * y) as u64).to_le_bytes());
    }
    for y in 0..n {
        out.extend_from_slice(&(y as i32).to_le_bytes());
        out.extend_from_slice(&4i32.to_le_bytes());
        out.extend_from_slice(&1.0f32.to_le_bytes());
    }
    out
}

#[test]
fn an_openexr_of_many_chunks_takes_linear_work() {
    let [small, _] = assert_linear("exr chunks", Kind::Image, 45_000, worst_exr, |result| {
        accepted(result);
        let p = &result.as_ref().unwrap().properties;
        assert_eq!((p.width, p.bit_depth), (Some(1), Some(32)));
        assert!(p.height >= Some(45_000));
    });
    assert!(small.steps >= 45_000, "{small:?}");
}

/// A Radiance file of `n` run-length encoded scan lines of 1,000 pixels.
fn worst_hdr(n: usize) -> Vec<u8> {
    let mut out = format!("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {n} +X 1000\n").into_bytes();
    let mut line = vec![2, 2, 3, 232];
    for _ in 0..4 {
        for run in [127u8; 7].iter().chain(&[111]) {
            line.extend_from_slice(&[128 + run, 100]);
        }
    }
    for _ in 0..n {
        out.extend_from_slice(&line);
    }
    out
}

#[test]
fn a_large_radiance_file_is_judged_from_a_bounded_sample() {
    let [small, large] = assert_linear("hdr scan lines", Kind::Image, 40_000, worst_hdr, accepted);
    // The sample is the same size whatever the file's.
    assert!(large.bytes <= small.bytes + 1024, "{small:?} {large:?}");
}
