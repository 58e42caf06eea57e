//! Images: a JPEG whose header is thousands of 64 KiB XMP segments (each read and searched
//! for a Motion Photo length), and an animated WebP of tens of thousands of frames (two
//! reads each). PNG and GIF read a fixed head and tail.

use super::{accepted, assert_linear};
use intake_api::Kind;

/// A JPEG with `n` APP1 segments of XMP that name no appended video, then a real frame
/// header, a scan and the end marker.
fn worst_jpeg(n: usize) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    let filler = b"<rdf:Description xmlns:GCamera='http://ns.google.com/photos/1.0/camera/'/> ";
    while xmp.len() + filler.len() < 65_533 {
        xmp.extend_from_slice(filler);
    }
    for _ in 0..n {
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&(xmp.len() as u16 + 2).to_be_bytes());
        out.extend_from_slice(&xmp);
    }
    // SOF0: 8 bits, 48 × 64, three components.
    out.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8, 0, 48, 0, 64, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    out.extend_from_slice(&[0xFF, 0xDA, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0]);
    out.extend_from_slice(&[0x55; 4096]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

#[test]
fn a_jpeg_of_thousands_of_xmp_segments_takes_linear_work() {
    let [small, _] = assert_linear("jpeg app1 segments", Kind::Image, 200, worst_jpeg, |result| {
        accepted(result);
        assert_eq!(result.as_ref().unwrap().properties.width, Some(64));
    });
    // Every segment was read: 200 × 64 KiB.
    assert!(small.bytes > 200 * 65_000, "{small:?}");
}

/// An animated WebP of `n` frames of 512 bytes.
fn worst_webp(n: usize) -> Vec<u8> {
    let mut chunks = Vec::new();
    // VP8X: animated, 64 × 48.
    chunks.extend_from_slice(b"VP8X");
    chunks.extend_from_slice(&10u32.to_le_bytes());
    chunks.extend_from_slice(&[0x02, 0, 0, 0, 63, 0, 0, 47, 0, 0]);
    for _ in 0..n {
        chunks.extend_from_slice(b"ANMF");
        chunks.extend_from_slice(&512u32.to_le_bytes());
        let mut frame = [0u8; 512];
        frame[12] = 40; // 40 ms
        chunks.extend_from_slice(&frame);
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(4 + chunks.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunks);
    out
}

#[test]
fn an_animated_webp_of_many_frames_takes_linear_work() {
    let [small, _] = assert_linear("webp frames", Kind::Image, 24_000, worst_webp, |result| {
        accepted(result);
        assert!(result.as_ref().unwrap().properties.nb_frames >= Some(24_000));
    });
    assert!(small.reads > 48_000, "{small:?}");
}
