//! Tests of `image.rs`.

use super::super::test_support::{err, fixture, ok};
use super::super::CountingSource;
use super::*;
use intake_api::Kind;

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    b << 16 | a
}

/// A real RGB PNG: filter byte 0 per row, zlib with stored (uncompressed) blocks.
fn png_rgb(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0);
        for x in 0..width {
            raw.extend_from_slice(&[(x * 4) as u8, (y * 5) as u8, 128]);
        }
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    z.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = PNG_SIG.to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    for part in z.chunks(8192) {
        chunk(&mut out, b"IDAT", part);
    }
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A PNG header claiming `width` × `height`, with a token IDAT.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = PNG_SIG.to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &[0x78, 0x01, 0x01, 0, 0, 0xFF, 0xFF, 0, 0, 0, 1]);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[test]
fn sniffs_signatures_only() {
    assert_eq!(sniff(&png_rgb(1, 1)), Some(Format::Png));
    assert_eq!(sniff(&fixture("image_64x48.jpg")), Some(Format::Jpeg));
    assert_eq!(sniff(&fixture("image_64x48_lossy.webp")), Some(Format::Webp));
    assert_eq!(sniff(&fixture("image_64x48.gif")), Some(Format::Gif));
    assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
    assert_eq!(sniff(b"GIF88a"), None);
    assert_eq!(sniff(b"\x89PNG"), None);
    assert_eq!(sniff(b""), None);
}

#[test]
fn crc32_known_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn png_built_in_test() {
    let png = png_rgb(64, 48);
    let found = ok(Kind::Image, &png);
    assert_eq!(found.format, Format::Png);
    assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)));
    assert_eq!(found.properties.format.as_deref(), Some("png"));
    assert_eq!(found.properties.size, png.len() as u64);
}

#[test]
fn png_from_ffmpeg() {
    let found = ok(Kind::Avatar, &fixture("image_64x48.png"));
    assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)));
    assert_eq!(found.properties.nb_frames, None);
}

#[test]
fn apng_frame_count() {
    let found = ok(Kind::Image, &fixture("image_64x48_anim.png"));
    assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)));
    assert_eq!(found.properties.nb_frames, Some(3));
}

#[test]
fn png_truncated() {
    let png = png_rgb(64, 48);
    let msg = err(Kind::Image, &png[..png.len() - 5]);
    assert!(msg.contains("truncated"), "{msg}");
    let msg = err(Kind::Image, &png[..20]);
    assert!(msg.contains("truncated"), "{msg}");
    // A large PNG cut beyond the first 64 KiB: only the tail check can see it.
    let big = png_rgb(300, 300);
    assert!(big.len() > 2 * HEAD_LEN);
    ok(Kind::Image, &big);
    let msg = err(Kind::Image, &big[..big.len() - 1000]);
    assert!(msg.contains("IEND") && msg.contains("truncated"), "{msg}");
}

#[test]
fn png_corrupted() {
    let mut png = png_rgb(64, 48);
    png[17] ^= 0x01; // width
    assert_eq!(
        err(Kind::Image, &png),
        "the file looks like a PNG image but is damaged: the PNG header is damaged (bad IHDR checksum)"
    );
    let mut png = png_rgb(64, 48);
    png[50] ^= 0x55; // inside the IDAT data
    assert_eq!(
        err(Kind::Image, &png),
        "the file looks like a PNG image but is damaged: bad checksum in its 'IDAT' chunk"
    );
    let mut png = png_rgb(4, 4);
    png.extend_from_slice(b"junk");
    let msg = err(Kind::Image, &png);
    assert!(msg.contains("after its IEND"), "{msg}");
    let mut bad_depth = png_header_only(4, 4);
    bad_depth[24] = 3; // bit depth 3
    let crc = crc32(&bad_depth[12..29]);
    bad_depth[29..33].copy_from_slice(&crc.to_be_bytes());
    assert!(err(Kind::Image, &bad_depth).contains("bit depth 3"));
}

#[test]
fn png_zero_and_bomb_sizes() {
    let msg = err(Kind::Image, &png_header_only(0, 10));
    assert!(msg.contains("0 × 10"), "{msg}");
    assert_eq!(
        err(Kind::Image, &png_header_only(200_000, 10)),
        "the file is a PNG image of 200000 × 10 pixels, larger than intake accepts \
         (at most 100000 pixels a side and 1000000000 pixels in total)"
    );
    let msg = err(Kind::Image, &png_header_only(50_000, 50_000));
    assert!(msg.contains("larger than intake accepts"), "{msg}");
    ok(Kind::Image, &png_header_only(40_000, 25_000)); // exactly 1 gigapixel
}

#[test]
fn large_png_reads_little() {
    // A valid header, then one 8 MiB IDAT chunk: only the head and tail are read.
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&4000u32.to_be_bytes());
    ihdr.extend_from_slice(&700u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = PNG_SIG.to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &vec![0u8; 8 << 20]);
    chunk(&mut png, b"IEND", &[]);
    let counting = CountingSource::new(&png);
    let found = inspect(Format::Png, &counting).unwrap_or_else(|_| panic!("rejected"));
    assert_eq!(found.properties.width, Some(4000));
    assert!(counting.bytes_read() <= HEAD_LEN as u64 + 64, "read {}", counting.bytes_read());
}

#[test]
fn jpeg_valid() {
    for name in ["image_64x48.jpg", "image_64x48_444.jpg"] {
        let found = ok(Kind::Image, &fixture(name));
        assert_eq!(found.format, Format::Jpeg);
        assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)), "{name}");
        assert_eq!(found.properties.format.as_deref(), Some("jpeg"));
    }
    // A few padding bytes after EOI are tolerated.
    let mut padded = fixture("image_64x48.jpg");
    padded.extend_from_slice(&[0u8; 100]);
    ok(Kind::Image, &padded);
}

#[test]
fn jpeg_truncated() {
    let jpg = fixture("image_64x48.jpg");
    let msg = err(Kind::Image, &jpg[..jpg.len() - 2]);
    assert!(msg.contains("EOI") && msg.contains("truncated"), "{msg}");
    let msg = err(Kind::Image, &jpg[..jpg.len() / 2]);
    assert!(msg.contains("truncated"), "{msg}");
    let msg = err(Kind::Image, &jpg[..200]); // inside the header segments
    assert!(msg.contains("truncated"), "{msg}");
    // More than 4 KiB appended without a Motion Photo declaration hides the EOI.
    let mut long = jpg.clone();
    long.extend_from_slice(&[0x55u8; 5000]);
    assert!(err(Kind::Image, &long).contains("EOI"));
}

#[test]
fn jpeg_motion_photo() {
    // A real JPEG with an XMP segment declaring a 20000-byte video appended at the end.
    let jpg = fixture("image_64x48.jpg");
    let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><rdf:Description \
                GCamera:MicroVideo=\"1\" GCamera:MicroVideoOffset=\"20000\"/></x:xmpmeta>";
    let mut photo = jpg[..2].to_vec();
    photo.extend_from_slice(&[0xFF, 0xE1]);
    photo.extend_from_slice(&((xmp.len() + 2) as u16).to_be_bytes());
    photo.extend_from_slice(xmp);
    photo.extend_from_slice(&jpg[2..]);
    photo.extend_from_slice(&[0x42u8; 20000]);
    let found = ok(Kind::Image, &photo);
    assert_eq!(found.properties.width, Some(64));
    // The same photo cut inside the image data is still refused.
    let cut = [&photo[..photo.len() - 20000 - 300], &[0x42u8; 20000][..]].concat();
    assert!(err(Kind::Image, &cut).contains("EOI"));
}

#[test]
fn jpeg_corrupted() {
    let mut jpg = fixture("image_64x48.jpg");
    jpg[38] = 0x12; // the DQT marker's 0xFF
    let msg = err(Kind::Image, &jpg);
    assert_eq!(msg, "the file looks like a JPEG image but is damaged: expected a JPEG marker at byte 38, found 0x12");
    let mut jpg = fixture("image_64x48.jpg");
    jpg[289 + 4 + 5] = 0; // SOF0 components: 3 → 0
    assert!(err(Kind::Image, &jpg).contains("0 components"));
    let mut jpg = fixture("image_64x48.jpg");
    jpg[289 + 4 + 3] = 0; // SOF0 width: 64 → 0
    jpg[289 + 4 + 4] = 0;
    assert!(err(Kind::Image, &jpg).contains("48 × 0") || err(Kind::Image, &jpg).contains("0 × 48"));
    let mut jpg = fixture("image_64x48.jpg");
    jpg[289 + 1] = 0xC4; // SOF0 → DHT: no frame header before the scan
    assert!(err(Kind::Image, &jpg).contains("no SOF marker"));
}

#[test]
fn large_jpeg_reads_little() {
    let jpg = fixture("image_64x48.jpg");
    let mut big = jpg[..jpg.len() - 2].to_vec();
    big.resize(big.len() + (16 << 20), 0x5A); // stands for entropy-coded data
    big.extend_from_slice(&[0xFF, 0xD9]);
    let counting = CountingSource::new(&big);
    assert!(inspect(Format::Jpeg, &counting).is_ok());
    assert!(counting.bytes_read() <= (HEAD_LEN as u64) + JPEG_TAIL, "read {}", counting.bytes_read());
}

#[test]
fn webp_valid() {
    for name in ["image_64x48_lossy.webp", "image_64x48_lossless.webp"] {
        let found = ok(Kind::Image, &fixture(name));
        assert_eq!(found.format, Format::Webp);
        assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)), "{name}");
        assert_eq!(found.properties.nb_frames, None);
    }
    let found = ok(Kind::Image, &fixture("image_64x48_anim.webp"));
    assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)));
    assert_eq!(found.properties.nb_frames, Some(3));
    let duration = found.properties.duration.unwrap();
    assert!((duration - 0.6).abs() < 0.01, "{duration}");
}

#[test]
fn webp_truncated_and_padded() {
    for name in ["image_64x48_lossy.webp", "image_64x48_anim.webp"] {
        let w = fixture(name);
        let msg = err(Kind::Image, &w[..w.len() - 10]);
        assert!(msg.contains("truncated"), "{msg}");
        let mut longer = w.clone();
        longer.extend_from_slice(b"garbage!");
        assert!(err(Kind::Image, &longer).contains("8 bytes after the end of its RIFF data"));
    }
}

#[test]
fn webp_corrupted() {
    let mut w = fixture("image_64x48_lossy.webp");
    w[23] = 0; // the VP8 start code 9D 01 2A
    assert_eq!(
        err(Kind::Image, &w),
        "the file looks like a WebP image but is damaged: its VP8 bitstream header is damaged"
    );
    let mut w = fixture("image_64x48_lossless.webp");
    w[20] = 0x2E;
    assert!(err(Kind::Image, &w).contains("VP8L bitstream header is damaged"));
    let mut w = fixture("image_64x48_anim.webp");
    w[12..16].copy_from_slice(b"VP9X");
    assert!(err(Kind::Image, &w).contains("not a VP8, VP8L or VP8X"));
    let mut w = fixture("image_64x48_anim.webp");
    w[34..38].copy_from_slice(&0x7000u32.to_le_bytes()); // ANIM chunk size
    assert!(err(Kind::Image, &w).contains("'ANIM' chunk runs past the end"));
}

#[test]
fn large_webp_reads_little() {
    // The animated WebP with a 16 MiB unknown chunk appended inside its RIFF data.
    let mut w = fixture("image_64x48_anim.webp");
    let extra = 16u32 << 20;
    w.extend_from_slice(b"JUNK");
    w.extend_from_slice(&extra.to_le_bytes());
    w.resize(w.len() + extra as usize, 0);
    let riff = (w.len() - 8) as u32;
    w[4..8].copy_from_slice(&riff.to_le_bytes());
    let counting = CountingSource::new(&w);
    let found = inspect(Format::Webp, &counting).unwrap_or_else(|_| panic!("rejected"));
    assert_eq!(found.properties.nb_frames, Some(3));
    assert!(counting.bytes_read() < 1024, "read {}", counting.bytes_read());
}

#[test]
fn gif_valid() {
    let found = ok(Kind::Image, &fixture("image_64x48.gif"));
    assert_eq!(found.format, Format::Gif);
    assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)));
}

#[test]
fn gif_truncated_and_corrupted() {
    let g = fixture("image_64x48.gif");
    let msg = err(Kind::Image, &g[..g.len() - 1]);
    assert!(msg.contains("truncated"), "{msg}");
    let msg = err(Kind::Image, &g[..g.len() / 2]);
    assert!(msg.contains("truncated"), "{msg}");
    let mut g2 = g.clone();
    g2.extend_from_slice(b"xx;");
    assert!(err(Kind::Image, &g2).contains("after its trailer"));
    let mut g3 = g.clone();
    g3[6] = 0;
    g3[7] = 0; // width 0
    assert!(err(Kind::Image, &g3).contains("0 × 48"));
    let mut g4 = g.clone();
    let table_end = 13 + (3 << ((g[10] & 7) + 1));
    g4[table_end] = 0x99;
    assert!(err(Kind::Image, &g4).contains("unexpected byte 0x99"));
}

#[test]
fn large_gif_reads_little() {
    let g = fixture("image_64x48.gif");
    // Header and colour table, a huge run of 255-byte data sub-blocks, then the end.
    let table_end = 13 + (3 << ((g[10] & 7) + 1));
    let mut big = g[..table_end].to_vec();
    big.extend_from_slice(&[0x2C, 0, 0, 0, 0, 64, 0, 48, 0, 0, 8]);
    for _ in 0..40_000 {
        big.push(255);
        big.extend_from_slice(&[0u8; 255]);
    }
    big.extend_from_slice(&[0, 0x3B]);
    let counting = CountingSource::new(&big);
    assert!(inspect(Format::Gif, &counting).is_ok());
    assert!(counting.bytes_read() <= HEAD_LEN as u64 + 1);
}

#[test]
fn kind_mismatch() {
    assert_eq!(
        err(Kind::Video, &png_rgb(2, 2)),
        "expected a video (MP4, MOV, WebM, MKV, AVI or MPEG-TS), found a PNG image"
    );
    assert_eq!(
        err(Kind::Audio, &fixture("image_64x48.jpg")),
        "expected audio (WAV, MP3, FLAC, Ogg, M4A, AAC or AIFF), found a JPEG image"
    );
    assert_eq!(
        err(Kind::ThreeD, &fixture("image_64x48.gif")),
        "expected a 3D model (GLB, glTF, OBJ, FBX, USDZ, STL, PLY, COLLADA, 3MF or USD), found a GIF image"
    );
    assert!(err(Kind::Model, &fixture("image_64x48_lossy.webp")).ends_with("found a WebP image"));
}

#[test]
fn hostile_inputs_do_not_panic() {
    let seeds =
        [png_rgb(3, 3), fixture("image_64x48.jpg"), fixture("image_64x48_anim.webp"), fixture("image_64x48.gif")];
    for seed in &seeds {
        let format = sniff(seed).unwrap();
        for cut in (0..seed.len()).step_by(7) {
            let _ = inspect(format, &seed[..cut].to_vec());
        }
        let mut state = 0x1234_5678u32;
        for _ in 0..300 {
            let mut bytes = seed.clone();
            for _ in 0..4 {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let at = (state as usize >> 4) % bytes.len();
                bytes[at] = (state >> 24) as u8;
            }
            let _ = inspect(format, &bytes);
        }
    }
}
