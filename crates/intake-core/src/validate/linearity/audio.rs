//! Audio: the tails that are checksummed. A FLAC tail packed with frame headers, each of
//! which used to have its CRC-16 computed up to the end (quadratic in the tail, which the
//! file's STREAMINFO sizes up to 1 MiB), and an Ogg tail packed with false page headers,
//! each a checksum over up to 64 KiB. WAV, MP3 and the heads are walked under fixed caps.

use super::{accepted, assert_linear, refused_with};
use intake_api::Kind;

/// MSB-first CRC with a zero start and no final XOR, bit by bit (FLAC's CRC-8 and CRC-16,
/// Ogg's CRC-32 are all of this kind).
fn crc(data: &[u8], width: u32, poly: u64) -> u64 {
    let top = 1u64 << (width - 1);
    let mask = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
    let mut c = 0u64;
    for &b in data {
        c ^= u64::from(b) << (width - 8);
        for _ in 0..8 {
            c = if c & top != 0 { (c << 1) ^ poly } else { c << 1 } & mask;
        }
    }
    c
}

fn crc16(data: &[u8]) -> u16 {
    crc(data, 16, 0x8005) as u16
}

/// A FLAC frame header: fixed 4096-sample blocks at 44.1 kHz, mono, 16 bits, frame `number`.
fn frame_header(number: u8) -> [u8; 6] {
    let mut h = [0xFF, 0xF8, 0xC9, 0x08, number, 0];
    h[5] = crc(&h[..5], 8, 0x07) as u8;
    h
}

/// CRC-16 of `data[i..]` for every i, by the identity crc(b ‖ s) = crc(b)·x^(8|s|) ⊕ crc(s).
fn suffix_crcs(data: &[u8]) -> Vec<u16> {
    let times_x = |r: u16| (r << 1) ^ if r & 0x8000 != 0 { 0x8005 } else { 0 };
    let mul = |a: u16, b: u16| (0..16).rev().fold(0u16, |r, bit| times_x(r) ^ if a >> bit & 1 != 0 { b } else { 0 });
    let mut out = vec![0u16; data.len() + 1];
    let mut shift = 1u16;
    for i in (0..data.len()).rev() {
        out[i] = out[i + 1] ^ mul(crc16(&[data[i]]), shift);
        shift = (0..8).fold(shift, |r, _| times_x(r));
    }
    out
}

/// A FLAC file of 32 × `n` bytes whose STREAMINFO sets the tail searched for the last frame
/// to `n` bytes, packed with frame headers every 32 bytes. Only the header at the start of
/// the tail is the real last frame (its CRC-16 closes the file).
fn worst_flac(n: usize) -> Vec<u8> {
    let mut tail = vec![0u8; n];
    for at in (6..n - 8).step_by(32) {
        tail[at..at + 6].copy_from_slice(&frame_header(0));
        // A frame header has an even number of set bits (its CRC-8 sees to it), and so has
        // a CRC-16 over whole headers: one odd byte per header keeps the candidates' CRCs
        // from taking every value the real last frame's CRC could have.
        tail[at + 6] = 1;
    }
    // A last-frame number whose CRC-16 no other header's suffix shares by chance.
    let suffixes = suffix_crcs(&tail[..n - 2]);
    let taken: std::collections::HashSet<u16> = (6..n - 2).filter(|&i| tail[i] == 0xFF).map(|i| suffixes[i]).collect();
    let (number, stored) = (1..128u8)
        .map(|number| {
            tail[..6].copy_from_slice(&frame_header(number));
            (number, crc16(&tail[..n - 2]))
        })
        .find(|(_, stored)| !taken.contains(stored))
        .expect("a free CRC value");
    tail[..6].copy_from_slice(&frame_header(number));
    tail[n - 2..].copy_from_slice(&stored.to_be_bytes());

    let max_frame = (n as u64 - 64) / 2;
    let total_samples = (u64::from(number) + 1) * 4096;
    let mut info = [0u8; 34];
    info[0..2].copy_from_slice(&4096u16.to_be_bytes());
    info[2..4].copy_from_slice(&4096u16.to_be_bytes());
    info[7..10].copy_from_slice(&max_frame.to_be_bytes()[5..8]);
    let packed = (44_100u64 << 44) | (15 << 36) | total_samples;
    info[10..18].copy_from_slice(&packed.to_be_bytes());
    let mut out = b"fLaC".to_vec();
    out.extend_from_slice(&[0x80, 0, 0, 34]);
    out.extend_from_slice(&info);
    out.extend_from_slice(&frame_header(0));
    out.resize(32 * n - tail.len(), 0);
    out.extend_from_slice(&tail);
    out
}

#[test]
fn a_flac_tail_packed_with_frame_headers_takes_linear_work() {
    assert_linear("flac tail of frame headers", Kind::Audio, 512 << 10, worst_flac, accepted);
}

/// An Ogg page: flags, granule, serial, sequence number and one packet per lacing value.
fn ogg_page(flags: u8, granule: u64, serial: u32, sequence: u32, body: &[u8]) -> Vec<u8> {
    let mut page = b"OggS\0".to_vec();
    page.push(flags);
    page.extend_from_slice(&granule.to_le_bytes());
    page.extend_from_slice(&serial.to_le_bytes());
    page.extend_from_slice(&sequence.to_le_bytes());
    page.extend_from_slice(&[0; 4]);
    let mut lacing = vec![255u8; body.len() / 255];
    lacing.push((body.len() % 255) as u8);
    page.push(lacing.len() as u8);
    page.extend_from_slice(&lacing);
    page.extend_from_slice(body);
    let sum = crc(&page, 32, 0x04C1_1DB7) as u32;
    page[22..26].copy_from_slice(&sum.to_le_bytes());
    page
}

/// A Vorbis stream of `n` bytes whose last 128 KiB hold a false page header every 32 bytes
/// (each announcing about 50 KiB of body with a wrong checksum), before one real last page of
/// another stream.
fn worst_ogg(n: usize) -> Vec<u8> {
    let mut id = b"\x01vorbis".to_vec();
    id.extend_from_slice(&0u32.to_le_bytes());
    id.push(1);
    id.extend_from_slice(&8000u32.to_le_bytes());
    id.extend_from_slice(&[0; 12]);
    id.extend_from_slice(&[0xB8, 1]);
    let mut out = ogg_page(0x02, 0, 7, 0, &id);
    let last = ogg_page(0x04, 8000, 8, 0, &[1; 100]);
    let tail_start = n - (128 << 10);
    out.resize(tail_start, 0);
    let mut false_header = [0xFFu8; 32];
    false_header[..6].copy_from_slice(b"OggS\0\0");
    while out.len() + 32 <= n - last.len() {
        out.extend_from_slice(&false_header);
    }
    out.resize(n - last.len(), 0xFF);
    out.extend_from_slice(&last);
    out
}

#[test]
fn an_ogg_tail_packed_with_false_pages_takes_bounded_work() {
    assert_linear(
        "ogg tail of false pages",
        Kind::Audio,
        16 << 20,
        worst_ogg,
        refused_with("its last pages cannot be found among the damaged page headers"),
    );
}
