//! Tests of the TIFF, BMP, TGA and PSD/PSB parsers (`tiff.rs`, `bmp.rs`, `tga.rs`, `psd.rs`).

use super::super::test_support::{err, fixture, mutate_and_validate, ok};
use super::super::{sniff_head, CountingSource};
use super::*;
use intake_api::Kind;

/// Every committed fixture of the new formats: name, format, bits per channel, channels,
/// alpha, pages.
#[allow(clippy::type_complexity)]
const FIXTURES: [(&str, Format, Option<u64>, Option<u64>, Option<bool>, Option<u64>); 21] = [
    ("image_64x48.tif", Format::Tiff, Some(8), Some(3), Some(false), None),
    ("image_64x48_rgba.tif", Format::Tiff, Some(8), Some(4), Some(true), None),
    ("image_64x48_16be.tif", Format::Tiff, Some(16), Some(1), Some(false), None),
    ("image_64x48_bigtiff.tif", Format::Tiff, Some(8), Some(1), Some(false), None),
    ("image_64x48_pages.tif", Format::Tiff, Some(8), Some(1), Some(false), Some(3)),
    ("image_64x48_ffmpeg.tif", Format::Tiff, Some(8), Some(3), Some(false), None),
    ("image_64x48_tiled.tif", Format::Tiff, Some(8), Some(3), Some(false), None),
    ("image_64x48.bmp", Format::Bmp, Some(8), Some(3), Some(false), None),
    ("image_64x48_pal8.bmp", Format::Bmp, Some(8), Some(3), Some(false), None),
    ("image_64x48_rgb565.bmp", Format::Bmp, None, Some(3), Some(false), None),
    ("image_64x48_v5_alpha.bmp", Format::Bmp, Some(8), Some(4), Some(true), None),
    ("image_64x48_rle8.bmp", Format::Bmp, Some(8), Some(3), Some(false), None),
    ("image_64x48.tga", Format::Tga, Some(8), Some(3), Some(false), None),
    ("image_64x48_rle_rgba.tga", Format::Tga, Some(8), Some(4), Some(true), None),
    ("image_64x48_gray.tga", Format::Tga, Some(8), Some(1), Some(false), None),
    ("image_64x48_pal.tga", Format::Tga, Some(8), Some(3), Some(false), None),
    ("image_64x48_ffmpeg.tga", Format::Tga, Some(8), Some(3), Some(false), None),
    ("image_64x48.psd", Format::Psd, Some(8), Some(3), Some(false), None),
    ("image_64x48_rgba.psd", Format::Psd, Some(8), Some(4), Some(true), None),
    ("image_64x48_raw_gray.psd", Format::Psd, Some(8), Some(1), Some(false), None),
    ("image_64x48_16bit.psd", Format::Psd, Some(16), Some(3), Some(false), None),
];

#[test]
fn every_fixture_is_recognised_with_its_facts() {
    for (name, format, depth, channels, alpha, pages) in FIXTURES {
        let bytes = fixture(name);
        assert_eq!(sniff_head(&bytes, bytes.len() as u64), format, "{name}");
        for kind in [Kind::Image, Kind::Avatar] {
            let found = ok(kind, &bytes);
            let p = &found.properties;
            assert_eq!(found.format, format, "{name}");
            assert_eq!((p.width, p.height), (Some(64), Some(48)), "{name}");
            assert_eq!((p.bit_depth, p.channels, p.has_alpha, p.nb_frames), (depth, channels, alpha, pages), "{name}");
            assert_eq!(p.format.as_deref(), Some(format.name()), "{name}");
            assert_eq!(p.size, bytes.len() as u64);
        }
    }
}

#[test]
fn a_psb_is_a_photoshop_document_reported_as_psb() {
    let found = ok(Kind::Image, &fixture("image_64x48.psb"));
    assert_eq!(found.format, Format::Psd);
    assert_eq!(found.format.mime_type(), "image/vnd.adobe.photoshop");
    assert_eq!(found.properties.format.as_deref(), Some("psb"));
    assert_eq!(
        (found.properties.width, found.properties.height, found.properties.channels),
        (Some(64), Some(48), Some(3))
    );
}

#[test]
fn names_and_mime_types() {
    for (format, name, mime, described) in [
        (Format::Tiff, "tiff", "image/tiff", "a TIFF image"),
        (Format::Bmp, "bmp", "image/bmp", "a BMP image"),
        (Format::Tga, "tga", "image/x-tga", "a TGA image"),
        (Format::Psd, "psd", "image/vnd.adobe.photoshop", "a Photoshop (PSD) image"),
    ] {
        assert_eq!((format.name(), format.mime_type(), format.described()), (name, mime, described));
    }
    assert_eq!(
        err(Kind::Video, &fixture("image_64x48.tif")),
        "expected a video (MP4, MOV, WebM, MKV, AVI or MPEG-TS), found a TIFF image"
    );
    assert_eq!(
        err(Kind::Image, &fixture("audio.flac")),
        "expected an image (PNG, JPEG, WebP, GIF, AVIF, HEIC, TIFF, BMP, TGA, PSD, OpenEXR or Radiance HDR), found a FLAC audio file"
    );
}

#[test]
fn nothing_else_sniffs_as_tga() {
    let dir = format!("{}/src/validate/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".tga") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(sniff_tga(&bytes), None, "{name}");
        assert_ne!(sniff_head(&bytes, bytes.len() as u64), Format::Tga, "{name}");
        seen += 1;
    }
    assert!(seen > 40, "{seen}");
    // Text never does: its second byte is never 0 or 1, and UTF-16 puts text where a
    // colour map's fields must be zero.
    for text in [
        &b"hello, world\n"[..],
        b"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01",
        b"{\"a\": 1}\n",
        b"A\0\n\0B\0C\0D\0E\0F\0G\0H\0I\0",
        b"\xFF\xFEh\0e\0l\0l\0o\0 \0w\0o\0r\0l\0d\0",
    ] {
        assert_eq!(sniff_tga(text), None, "{text:?}");
        assert_ne!(sniff_head(text, text.len() as u64), Format::Tga, "{text:?}");
    }
    // Of 100,000 random 18-byte headers, hardly any look like a TGA.
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let hits = (0..100_000)
        .filter(|_| {
            let mut h = [0u8; 18];
            for b in &mut h {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            sniff_tga(&h).is_some()
        })
        .count();
    assert_eq!(hits, 0);
}

#[test]
fn tga_sniffing_checks_every_header_field() {
    let good = fixture("image_64x48.tga");
    assert_eq!(sniff_tga(&good), Some(Format::Tga));
    for (at, value) in [(1, 2), (2, 4), (2, 0), (3, 1), (7, 24), (16, 12), (16, 8), (17, 0x48), (17, 0x04), (12, 0)] {
        let mut h = good[..18].to_vec();
        h[at] = value;
        if at == 12 {
            h[13] = 0; // width 0
        }
        assert_eq!(sniff_tga(&h), None, "byte {at} = {value}");
    }
    // A palette picture needs a colour map of a known entry size.
    let pal = fixture("image_64x48_pal.tga");
    assert_eq!(sniff_tga(&pal), Some(Format::Tga));
    let mut h = pal[..18].to_vec();
    h[7] = 20;
    assert_eq!(sniff_tga(&h), None);
    h[7] = 24;
    h[1] = 0;
    assert_eq!(sniff_tga(&h), None);
}

#[test]
fn truncated_files_are_refused() {
    for (name, _, _, _, _, _) in FIXTURES {
        let bytes = fixture(name);
        // Cut inside the pixel data (or, for a deflated TIFF, inside its only strip).
        for cut in [bytes.len() / 2, bytes.len() - 30] {
            let msg = err(Kind::Image, &bytes[..cut]);
            assert!(msg.contains("truncated") || msg.contains("ends too early"), "{name} cut at {cut}: {msg}");
        }
        // Cut inside the header.
        let msg = err(Kind::Image, &bytes[..20]);
        assert!(msg.contains("truncated") || msg.contains("found data of no format"), "{name}: {msg}");
    }
}

/// The value field of entry `tag` in the first IFD of a classic TIFF, as a byte range.
fn tiff_entry(tiff: &[u8], tag: u16) -> (usize, u16) {
    let be = &tiff[..2] == b"MM";
    let u16_at = |i: usize| {
        if be {
            u16::from_be_bytes([tiff[i], tiff[i + 1]])
        } else {
            u16::from_le_bytes([tiff[i], tiff[i + 1]])
        }
    };
    let u32_at = |i: usize| {
        let b = [tiff[i], tiff[i + 1], tiff[i + 2], tiff[i + 3]];
        if be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let ifd = u32_at(4) as usize;
    for i in 0..u16_at(ifd) as usize {
        let at = ifd + 2 + 12 * i;
        if u16_at(at) == tag {
            return (at, u16_at(at + 2));
        }
    }
    panic!("no tag {tag}");
}

fn set_tiff(tiff: &mut [u8], at: usize, value: u32, short: bool) {
    let be = &tiff[..2] == b"MM";
    if short {
        let v = value as u16;
        tiff[at..at + 2].copy_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
    } else {
        tiff[at..at + 4].copy_from_slice(&if be { value.to_be_bytes() } else { value.to_le_bytes() });
    }
}

#[test]
fn tiff_lying_headers_are_refused() {
    // A wider picture than the uncompressed strips hold.
    let mut t = fixture("image_64x48_16be.tif");
    let (at, kind) = tiff_entry(&t, 256);
    set_tiff(&mut t, at + 8, 128, kind == 3);
    let msg = err(Kind::Image, &t);
    assert!(msg.contains("uncompressed strips hold 6144 bytes") && msg.contains("need 12288"), "{msg}");
    // A taller picture than its strips cover (one strip of 48 rows listed).
    let mut t = fixture("image_64x48.tif");
    let (at, kind) = tiff_entry(&t, 278);
    set_tiff(&mut t, at + 8, 8, kind == 3);
    let msg = err(Kind::Image, &t);
    assert!(msg.contains("needs 6 strips but StripOffsets lists 1"), "{msg}");
    // A strip pointing past the end.
    let mut t = fixture("image_64x48.tif");
    let (at, _) = tiff_entry(&t, 273);
    set_tiff(&mut t, at + 8, 1_000_000, false);
    let msg = err(Kind::Image, &t);
    assert!(msg.contains("strip 0") && msg.contains("truncated"), "{msg}");
    // An IFD declaring 60,000 entries.
    let mut t = fixture("image_64x48.tif");
    let ifd = u32::from_le_bytes([t[4], t[5], t[6], t[7]]) as usize;
    t[ifd..ifd + 2].copy_from_slice(&60_000u16.to_le_bytes());
    assert!(err(Kind::Image, &t).contains("declares 60000 entries"));
    // The first IFD past the end of the file.
    let mut t = fixture("image_64x48.tif");
    t[4..8].copy_from_slice(&10_000_000u32.to_le_bytes());
    assert!(err(Kind::Image, &t).contains("first image directory lies past the end of the file (truncated)"));
    // A chain of directories that loops back to the first.
    let mut t = fixture("image_64x48_pages.tif");
    let first = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
    let n = u16::from_le_bytes([t[first as usize], t[first as usize + 1]]) as usize;
    let next_at = first as usize + 2 + 12 * n;
    let second = u32::from_le_bytes(t[next_at..next_at + 4].try_into().unwrap()) as usize;
    let n2 = u16::from_le_bytes([t[second], t[second + 1]]) as usize;
    let next2 = second + 2 + 12 * n2;
    t[next2..next2 + 4].copy_from_slice(&first.to_le_bytes());
    assert!(err(Kind::Image, &t).contains("form a loop"));
    // Colour pixels of one sample.
    let mut t = fixture("image_64x48.tif");
    let (at, kind) = tiff_entry(&t, 277);
    set_tiff(&mut t, at + 8, 1, kind == 3);
    assert!(err(Kind::Image, &t).contains("colour pixels of 1 samples"));
}

#[test]
fn tiff_reads_headers_only() {
    // The Pillow TIFF with 8 MiB of data appended and its strip moved to the end.
    let t = fixture("image_64x48_16be.tif");
    let mut big = t.clone();
    big.resize(t.len() + (8 << 20), 0);
    let (at, _) = tiff_entry(&big, 273);
    let strip = big.len() as u32 - 6144;
    set_tiff(&mut big, at + 8, strip, false);
    let counting = CountingSource::new(&big);
    let found = inspect(Format::Tiff, &counting).unwrap_or_else(|_| panic!("rejected"));
    assert_eq!(found.properties.width, Some(64));
    assert!(counting.bytes_read() < 1024, "read {}", counting.bytes_read());
}

#[test]
fn bmp_top_down_and_lying_headers() {
    let bmp = fixture("image_64x48.bmp");
    // Top-down: negative height, rows in the other order.
    let mut top = bmp.clone();
    top[22..26].copy_from_slice(&(-48i32).to_le_bytes());
    let found = ok(Kind::Image, &top);
    assert_eq!((found.properties.width, found.properties.height), (Some(64), Some(48)));
    // More rows than the file holds.
    let mut tall = bmp.clone();
    tall[22..26].copy_from_slice(&4800i32.to_le_bytes());
    let msg = err(Kind::Image, &tall);
    assert!(msg.contains("need 921600 bytes from byte 54") && msg.contains("truncated"), "{msg}");
    // Pixel data said to start inside the headers.
    let mut early = bmp.clone();
    early[10..14].copy_from_slice(&20u32.to_le_bytes());
    assert!(err(Kind::Image, &early).contains("inside its headers"));
    // A palette larger than 8-bit pixels can index.
    let mut pal = fixture("image_64x48_pal8.bmp");
    pal[46..50].copy_from_slice(&300u32.to_le_bytes());
    assert!(err(Kind::Image, &pal).contains("palette of 300 colours"));
    // Overlapping colour masks (RGB565: masks after the 40-byte header).
    let mut masks = fixture("image_64x48_rgb565.bmp");
    masks[58..62].copy_from_slice(&0xF800u32.to_le_bytes());
    assert!(err(Kind::Image, &masks).contains("overlap"));
    // RLE with a top-down picture, and an unknown compression.
    let mut rle = fixture("image_64x48_rle8.bmp");
    rle[22..26].copy_from_slice(&(-48i32).to_le_bytes());
    assert!(err(Kind::Image, &rle).contains("forbids"));
    let mut rle = fixture("image_64x48_rle8.bmp");
    rle[30..34].copy_from_slice(&9u32.to_le_bytes());
    assert!(err(Kind::Image, &rle).contains("compression 9"));
    // A compressed size beyond the end.
    let mut rle = fixture("image_64x48_rle8.bmp");
    rle[34..38].copy_from_slice(&100_000u32.to_le_bytes());
    assert!(err(Kind::Image, &rle).contains("truncated"));
}

#[test]
fn bmp_sniffing_needs_a_known_header() {
    assert_eq!(sniff(b"BMW is a car maker, not a bitmap."), None);
    let bmp = fixture("image_64x48.bmp");
    assert_eq!(sniff(&bmp), Some(Format::Bmp));
    let mut odd = bmp.clone();
    odd[14] = 41;
    assert_eq!(sniff(&odd), None);
}

#[test]
fn tga_lying_headers_are_refused() {
    let tga = fixture("image_64x48.tga");
    let mut wide = tga.clone();
    wide[12..14].copy_from_slice(&640u16.to_le_bytes());
    let msg = err(Kind::Image, &wide);
    assert!(msg.contains("640 × 48 pixels need 92160 bytes from byte 18"), "{msg}");
    // The footer's extension area outside the file.
    let mut foot = tga.clone();
    let at = foot.len() - 26;
    foot[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(err(Kind::Image, &foot).contains("extension area at byte 4294967295"));
    // A footer that leaves no room for the pixels.
    let mut foot = tga.clone();
    foot[at..at + 4].copy_from_slice(&100u32.to_le_bytes());
    assert!(err(Kind::Image, &foot).contains("truncated"));
    // A run-length picture whose packets stop early: the last bytes replaced by a footer-less end.
    let rle = fixture("image_64x48_ffmpeg.tga");
    let cut = [&rle[..rle.len() - 26 - 200], &rle[rle.len() - 26..]].concat();
    let msg = err(Kind::Image, &cut);
    assert!(msg.contains("stop after") && msg.contains("truncated"), "{msg}");
    // Run-length pixels that cannot fit even at the best compression.
    let mut huge = fixture("image_64x48_rle_rgba.tga");
    huge[12..16].copy_from_slice(&[0xFF, 0xFF, 0x00, 0x10]); // 65535 × 4096
    assert!(err(Kind::Image, &huge).contains("need at least"));
}

/// TGA has no signature: for kind `asset`, which takes anything, data that only looks like a
/// TGA header is data of no known format, not a damaged TGA.
#[test]
fn an_asset_that_only_looks_like_a_tga_is_accepted_as_unknown_data() {
    let mut wide = fixture("image_64x48.tga");
    wide[12..14].copy_from_slice(&640u16.to_le_bytes());
    assert!(err(Kind::Image, &wide).contains("640 × 48 pixels"));
    let found = ok(Kind::Asset, &wide);
    assert_eq!((found.format, found.properties.format.as_deref()), (Format::Unknown, Some("unknown")));
    assert_eq!(ok(Kind::Asset, &fixture("image_64x48.tga")).format, Format::Tga, "a whole TGA stays one");
}

#[test]
fn psd_lying_headers_are_refused() {
    let raw = fixture("image_64x48_raw_gray.psd");
    let mut tall = raw.clone();
    tall[14..18].copy_from_slice(&480u32.to_be_bytes());
    let msg = err(Kind::Image, &tall);
    assert!(msg.contains("raw image data needs 30720 bytes"), "{msg}");
    // A section length past the end.
    let mut section = fixture("image_64x48.psd");
    section[26..30].copy_from_slice(&0x0100_0000u32.to_be_bytes());
    assert!(err(Kind::Image, &section).contains("colour mode data section runs past the end of the file"));
    // Run-length rows longer than what is left.
    let psd = fixture("image_64x48.psd");
    let mut pos = 26usize;
    for _ in 0..3 {
        pos += 4 + u32::from_be_bytes(psd[pos..pos + 4].try_into().unwrap()) as usize;
    }
    assert_eq!(&psd[pos..pos + 2], &[0, 1], "RLE");
    let mut rows = psd.clone();
    rows[pos + 2..pos + 4].copy_from_slice(&0x7000u16.to_be_bytes());
    assert!(err(Kind::Image, &rows).contains("run-length rows hold"));
    // Unknown colour mode, depth, version limits.
    let mut mode = psd.clone();
    mode[25] = 5;
    assert!(err(Kind::Image, &mode).contains("colour mode 5"));
    let mut depth = psd.clone();
    depth[23] = 12;
    assert!(err(Kind::Image, &depth).contains("depth 12"));
    let mut wide = psd.clone();
    wide[18..22].copy_from_slice(&40_000u32.to_be_bytes());
    assert!(err(Kind::Image, &wide).contains("beyond the 30000 a side a PSD allows"));
}

#[test]
fn huge_sizes_are_refused_before_anything_else() {
    let mut bmp = fixture("image_64x48.bmp");
    bmp[18..22].copy_from_slice(&200_000i32.to_le_bytes());
    assert!(err(Kind::Image, &bmp).contains("larger than intake accepts"));
    let mut t = fixture("image_64x48.tif");
    let (at, kind) = tiff_entry(&t, 256);
    set_tiff(&mut t, at + 8, 60_000, kind == 3);
    let (at, kind) = tiff_entry(&t, 257);
    set_tiff(&mut t, at + 8, 60_000, kind == 3);
    assert!(err(Kind::Image, &t).contains("larger than intake accepts"));
}

#[test]
fn hostile_inputs_do_not_panic() {
    for (name, _, _, _, _, _) in FIXTURES {
        let seed = fixture(name);
        for cut in (0..seed.len()).step_by(97) {
            let _ = validate_cut(&seed[..cut]);
        }
        mutate_and_validate(&seed, 300);
    }
    mutate_and_validate(&fixture("image_64x48.psb"), 300);
}

fn validate_cut(bytes: &[u8]) -> Option<String> {
    super::super::validate(Kind::Image, &bytes.to_vec()).err().map(|e| e.to_string())
}
