//! TIFF, PSD and TGA: a TIFF of thousands of one-row strips (offset and byte-count arrays
//! read in blocks) and of hundreds of pages (one directory each, walked for the page
//! count), a PSD whose run-length row table has a row per line, and a run-length TGA of
//! one-pixel packets (walked within a fixed window). BMP reads a fixed head.

use super::{accepted, assert_linear};
use intake_api::Kind;

fn entry(out: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32) {
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&value.to_le_bytes());
}

/// A little-endian TIFF, 1 × `rows` grey pixels in `rows` one-byte strips, then `pages`
/// more directories of one entry each.
fn tiff(rows: usize, pages: usize) -> Vec<u8> {
    let rows32 = rows as u32;
    let mut out = b"II*\0".to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    let entries = 9u32;
    let ifd_len = 2 + 12 * entries + 4;
    let offsets_at = 8 + ifd_len;
    let counts_at = offsets_at + 4 * rows32;
    let pixels_at = counts_at + 4 * rows32;
    let pages_at = pixels_at + rows32;
    out.extend_from_slice(&(entries as u16).to_le_bytes());
    entry(&mut out, 256, 4, 1, 1); // width
    entry(&mut out, 257, 4, 1, rows32); // height
    entry(&mut out, 258, 3, 1, 8); // bits per sample
    entry(&mut out, 259, 3, 1, 1); // no compression
    entry(&mut out, 262, 3, 1, 1); // black is zero
    entry(&mut out, 273, 4, rows32, offsets_at); // strip offsets
    entry(&mut out, 277, 3, 1, 1); // samples per pixel
    entry(&mut out, 278, 4, 1, 1); // rows per strip
    entry(&mut out, 279, 4, rows32, counts_at); // strip byte counts
    out.extend_from_slice(&if pages > 0 { pages_at } else { 0 }.to_le_bytes());
    for i in 0..rows32 {
        out.extend_from_slice(&(pixels_at + i).to_le_bytes());
    }
    for _ in 0..rows {
        out.extend_from_slice(&1u32.to_le_bytes());
    }
    out.resize(out.len() + rows, 0x80);
    for p in 0..pages as u32 {
        let next = if p + 1 < pages as u32 { pages_at + 18 * (p + 1) } else { 0 };
        out.extend_from_slice(&1u16.to_le_bytes());
        entry(&mut out, 256, 4, 1, 1);
        out.extend_from_slice(&next.to_le_bytes());
    }
    out
}

#[test]
fn a_tiff_of_many_strips_takes_linear_work() {
    assert_linear(
        "tiff strips",
        Kind::Image,
        20_000,
        |n| tiff(n, 0),
        |result| {
            accepted(result);
            assert_eq!(result.as_ref().unwrap().properties.width, Some(1));
        },
    );
}

#[test]
fn a_tiff_of_many_pages_takes_linear_work() {
    assert_linear(
        "tiff pages",
        Kind::Image,
        400,
        |n| tiff(n, n),
        |result| {
            accepted(result);
            assert!(result.as_ref().unwrap().properties.nb_frames > Some(400));
        },
    );
}

/// An 8-bit greyscale PSD, 1 × `rows` pixels, its merged image run-length encoded: a row
/// table of `rows` entries, each row one literal byte.
fn psd(rows: usize) -> Vec<u8> {
    let mut out = b"8BPS\0\x01\0\0\0\0\0\0\0\x01".to_vec();
    out.extend_from_slice(&(rows as u32).to_be_bytes());
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(&[0, 8, 0, 1]); // depth 8, greyscale
    out.extend_from_slice(&[0u8; 12]); // three empty sections
    out.extend_from_slice(&[0, 1]); // RLE
    for _ in 0..rows {
        out.extend_from_slice(&2u16.to_be_bytes());
    }
    for _ in 0..rows {
        out.extend_from_slice(&[0, 0x80]);
    }
    out
}

#[test]
fn a_psd_of_many_rows_takes_linear_work() {
    assert_linear("psd rle rows", Kind::Image, 12_000, psd, |result| {
        accepted(result);
        assert!(result.as_ref().unwrap().properties.height >= Some(12_000));
    });
}

/// A run-length TGA of `n` × 100 grey pixels, each in its own one-pixel raw packet.
fn tga(n: usize) -> Vec<u8> {
    let mut out = vec![0, 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    out.extend_from_slice(&(n as u16).to_le_bytes());
    out.extend_from_slice(&100u16.to_le_bytes());
    out.extend_from_slice(&[8, 0]);
    for _ in 0..n * 100 {
        out.extend_from_slice(&[0, 0x80]);
    }
    out
}

#[test]
fn a_tga_of_many_packets_takes_linear_work() {
    assert_linear("tga rle packets", Kind::Image, 300, tga, accepted);
}
