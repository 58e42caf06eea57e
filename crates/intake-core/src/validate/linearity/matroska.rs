//! WebM: a Tracks element of tens of thousands of track entries (read whole and parsed
//! element by element) and as many Clusters (each skipped by its size: one header read).

use super::{accepted, assert_linear};
use intake_api::Kind;

/// An element with a 1-byte size (bodies under 127 bytes).
fn small(id: &[u8], body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 127);
    [id, &[0x80 | body.len() as u8], body].concat()
}

/// An element with an 8-byte size.
fn large(id: &[u8], body: &[u8]) -> Vec<u8> {
    let mut size = (body.len() as u64).to_be_bytes();
    size[0] = 0x01;
    [id, &size, body].concat()
}

/// `n` video track entries and `n` Clusters of 300 bytes in a WebM file.
fn worst_webm(n: usize) -> Vec<u8> {
    let header = [small(&[0x42, 0x86], &[1]), small(&[0x42, 0xF7], &[1]), small(&[0x42, 0x82], b"webm")].concat();
    let info =
        [small(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]), small(&[0x44, 0x89], &1000.0f64.to_be_bytes())].concat();
    let video = [small(&[0xB0], &[64]), small(&[0xBA], &[48])].concat();
    let entry = small(
        &[0xAE],
        &[
            small(&[0x83], &[1]),
            small(&[0x86], b"V_VP9"),
            small(&[0x23, 0xE3, 0x83], &[0x05, 0xF5, 0xE1, 0x00]),
            small(&[0xE0], &video),
        ]
        .concat(),
    );
    let mut tracks = Vec::with_capacity(n * entry.len());
    for _ in 0..n {
        tracks.extend_from_slice(&entry);
    }
    let cluster = large(&[0x1F, 0x43, 0xB6, 0x75], &[0u8; 300]);
    let mut segment = [large(&[0x15, 0x49, 0xA9, 0x66], &info), large(&[0x16, 0x54, 0xAE, 0x6B], &tracks)].concat();
    segment.reserve(n * cluster.len());
    for _ in 0..n {
        segment.extend_from_slice(&cluster);
    }
    [large(&[0x1A, 0x45, 0xDF, 0xA3], &header), large(&[0x18, 0x53, 0x80, 0x67], &segment)].concat()
}

#[test]
fn many_track_entries_and_clusters_take_linear_work() {
    let [small, _] = assert_linear("webm tracks and clusters", Kind::Video, 50_000, worst_webm, |result| {
        accepted(result);
        let p = &result.as_ref().unwrap().properties;
        assert_eq!((p.width, p.height, p.codec_name.as_deref()), (Some(64), Some(48), Some("vp9")));
    });
    // 50,000 clusters walked, each its own read.
    assert!(small.reads > 50_000, "{small:?}");
}
