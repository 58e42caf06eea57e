//! Tests of `archive.rs`.

use super::super::test_support::fixture;
use super::testzip::{crc32, write, Entry};
use super::*;
use crate::validate::{sniff_head, validate, CountingSource, ValidateError};
use intake_api::Kind;

fn rejection(result: Result<Inspection, InspectError>) -> String {
    match result {
        Err(InspectError::Rejected(r)) => r.0,
        Err(InspectError::Io(e)) => panic!("expected a rejection, got I/O error {e}"),
        Ok(i) => panic!("expected a rejection, got {i:?}"),
    }
}

fn sample() -> Vec<u8> {
    write(
        &[
            Entry::stored("readme.txt", b"hello zip\n"),
            Entry::stored("images/a.bin", &[7u8; 300]),
            Entry::stored("images/b.bin", &[9u8; 50]),
        ],
        None,
        false,
    )
}

#[test]
fn crc32_matches_the_known_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn valid_zip_is_read() {
    let zip = sample();
    assert_eq!(sniff_head(&zip, zip.len() as u64), Format::Zip);
    let dir = read_central_directory(&zip, Format::Zip).unwrap();
    let names: Vec<&str> = dir.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["readme.txt", "images/a.bin", "images/b.bin"]);
    assert_eq!(dir.entries[1].uncompressed_size, 300);
    assert_eq!(dir.entries[1].local_header_offset, 30 + 10 + 10);
    let data = local_data_offset(&zip, Format::Zip, &dir, &dir.entries[0]).unwrap();
    assert_eq!(&zip[data as usize..data as usize + 10], b"hello zip\n");
    let inspection = inspect(Format::Zip, &zip).unwrap();
    assert_eq!(inspection.properties.format.as_deref(), Some("zip"));
    let findings = validate(Kind::Asset, &zip).unwrap();
    assert_eq!(findings.format, Format::Zip);
    assert_eq!(findings.properties.size, zip.len() as u64);
}

#[test]
fn zips_written_by_info_zip() {
    // fixtures/README.md: plain, forced ZIP64 (-fz), and streamed to a pipe (data
    // descriptors); deflated and stored entries, local extra fields longer than the
    // central ones.
    for name in ["archive_infozip.zip", "archive_infozip_zip64.zip", "archive_infozip_stream.zip"] {
        let zip = fixture(name);
        assert_eq!(sniff_head(&zip, zip.len() as u64), Format::Zip, "{name}");
        let dir = read_central_directory(&zip, Format::Zip).unwrap();
        let summary: Vec<(&str, u16, u64)> =
            dir.entries.iter().map(|e| (e.name.as_str(), e.method, e.uncompressed_size)).collect();
        assert_eq!(summary[0], ("docs/", 0, 0), "{name}");
        assert_eq!(summary[1], ("docs/readme.txt", 8, 440), "{name}");
        assert_eq!((summary[2].0, summary[2].2), ("notes.txt", 12), "{name}");
        assert_eq!(dir.entries[1].compressed_size, 29, "{name}");
        for e in &dir.entries {
            local_data_offset(&zip, Format::Zip, &dir, e).unwrap();
        }
        let findings = validate(Kind::Asset, &zip).unwrap();
        assert_eq!(findings.properties.format.as_deref(), Some("zip"));

        // Truncated by one byte, and with a damaged directory entry.
        let msg = rejection(inspect(Format::Zip, &zip[..zip.len() - 1].to_vec()));
        assert!(msg.contains("end-of-central-directory record is missing"), "{name}: {msg}");
        let mut bad = zip.clone();
        let at = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bad[at + 2] = 9;
        let msg = rejection(inspect(Format::Zip, &bad));
        assert!(msg.contains("bad signature"), "{name}: {msg}");
    }
    // The -fz archive really goes through the ZIP64 records.
    let zip = fixture("archive_infozip_zip64.zip");
    assert!(zip.windows(4).any(|w| w == b"PK\x06\x07"));
    let mut bad = zip.clone();
    let at = zip.windows(4).position(|w| w == b"PK\x06\x06").unwrap();
    bad[at] = b'X';
    let msg = rejection(inspect(Format::Zip, &bad));
    assert!(msg.contains("ZIP64 end-of-central-directory record is missing"), "{msg}");
}

#[test]
fn zip_with_a_comment_and_empty_zip() {
    let mut zip = sample();
    let n = zip.len();
    zip[n - 2..].copy_from_slice(&5u16.to_le_bytes());
    zip.extend_from_slice(b"hello");
    assert!(inspect(Format::Zip, &zip).is_ok());

    let empty = write(&[], None, false);
    assert_eq!(empty.len(), 22);
    assert_eq!(sniff(&empty), Some(Format::Zip));
    assert!(inspect(Format::Zip, &empty).is_ok());
}

#[test]
fn zip64_end_records_are_followed() {
    let zip = write(&[Entry::stored("a.txt", b"abc"), Entry::stored("b.txt", b"defg")], None, true);
    let dir = read_central_directory(&zip, Format::Zip).unwrap();
    assert_eq!(dir.entries.len(), 2);
    assert_eq!(dir.entries[1].name, "b.txt");
    assert!(inspect(Format::Zip, &zip).is_ok());
}

#[test]
fn truncated_zip_is_refused() {
    let zip = sample();
    let cut = zip[..zip.len() - 30].to_vec();
    let msg = rejection(inspect(Format::Zip, &cut));
    assert!(msg.contains("end-of-central-directory record is missing"), "{msg}");
    // Through the dispatcher, as a model upload.
    let err = validate(Kind::Model, &cut).unwrap_err();
    assert!(err.to_string().contains("looks like a ZIP archive but is damaged"), "{err}");
    // Bytes lost in the middle: the directory offset now points past the directory.
    let mut shifted = zip[..40].to_vec();
    shifted.extend_from_slice(&zip[60..]);
    let msg = rejection(inspect(Format::Zip, &shifted));
    assert!(msg.contains("central directory runs past the end record"), "{msg}");
}

#[test]
fn corrupted_central_directory_is_refused() {
    let mut zip = sample();
    let cd = u32_at(&zip, zip.len() - 6) as usize;
    zip[cd] = b'X';
    let msg = rejection(inspect(Format::Zip, &zip));
    assert!(msg.contains("bad signature"), "{msg}");

    // A damaged local header.
    let mut zip = sample();
    zip[1] = b'X';
    let msg = rejection(inspect(Format::Zip, &zip));
    assert!(msg.contains("local header of entry \"readme.txt\" is missing"), "{msg}");
}

#[test]
fn overlapping_entries_are_refused() {
    let mut zip = sample();
    let cd = u32_at(&zip, zip.len() - 6) as usize;
    // Point the third entry's header inside the second entry's data.
    let third = cd + 2 * 46 + 10 + 12;
    assert_eq!(u32_at(&zip, third), CENTRAL_SIG);
    zip[third + 42..third + 46].copy_from_slice(&100u32.to_le_bytes());
    let msg = rejection(inspect(Format::Zip, &zip));
    assert!(msg.contains("overlap"), "{msg}");
}

#[test]
fn path_traversal_is_refused() {
    for evil in ["../evil", "a/../../evil", "/etc/passwd", "C:\\Windows\\evil", "a\\..\\..\\x"] {
        let zip = write(&[Entry::stored("ok.txt", b"ok"), Entry::stored(evil, b"x")], None, false);
        let msg = rejection(inspect(Format::Zip, &zip));
        assert!(msg.contains("unsafe path"), "{evil}: {msg}");
        assert!(msg.starts_with("A ZIP archive holds an entry"), "{msg}");
    }
    assert!(!is_unsafe_path("a/..b/c..d/x"));
    let err = validate(Kind::Model, &write(&[Entry::stored("../evil", b"x")], None, false)).unwrap_err();
    assert!(err.to_string().contains("\"../evil\""), "{err}");
}

#[test]
fn zip_bomb_is_refused() {
    // 1 KiB of "deflate" data declared to expand to 10 GiB (ZIP64 extra in the directory).
    let bomb =
        Entry { name: "bomb.bin".into(), data: vec![0u8; 1024], method: 8, declared_uncompressed: Some(10 << 30) };
    let zip = write(&[Entry::stored("ok.txt", b"ok"), bomb], None, false);
    let dir = read_central_directory(&zip, Format::Zip).unwrap();
    assert_eq!(dir.entries[1].uncompressed_size, 10 << 30);
    let msg = rejection(inspect(Format::Zip, &zip));
    assert!(msg.contains("decompression bomb"), "{msg}");
    assert!(msg.contains("1.0 KiB to 10.0 GiB"), "{msg}");

    // Many entries, each under the per-entry rule, together over the archive rule.
    let entries: Vec<Entry> = (0..20)
        .map(|i| Entry {
            name: format!("part{i}.bin"),
            data: vec![0u8; 200 << 10],
            method: 8,
            declared_uncompressed: Some(100 << 20),
        })
        .collect();
    let zip = write(&entries, None, false);
    let msg = rejection(inspect(Format::Zip, &zip));
    assert!(msg.contains("its entries expand from 3.9 MiB to 2.0 GiB"), "{msg}");
}

#[test]
fn stored_entry_with_two_sizes_is_refused() {
    let mut zip = write(&[Entry::stored("a.txt", b"abcd")], None, false);
    let cd = u32_at(&zip, zip.len() - 6) as usize;
    zip[cd + 24] = 9;
    let msg = rejection(inspect(Format::Zip, &zip));
    assert!(msg.contains("two different sizes"), "{msg}");
}

#[test]
fn split_archives_and_huge_directories_are_refused() {
    let mut zip = sample();
    let n = zip.len();
    zip[n - 22 + 4] = 1; // disk number
    let msg = rejection(inspect(Format::Zip, &zip));
    assert!(msg.contains("split (multi-part) ZIP"), "{msg}");

    let mut zip = sample();
    zip[n - 22 + 8..n - 22 + 12].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
    zip[n - 22 + 12..n - 22 + 16].copy_from_slice(&(1u32 << 30).to_le_bytes());
    let msg = rejection(inspect(Format::Zip, &zip));
    assert!(msg.contains("central directory takes 1.0 GiB"), "{msg}");
}

fn usdz(align: bool, first: &str) -> Vec<u8> {
    write(
        &[
            Entry::stored(first, b"#usda 1.0\n(\n    defaultPrim = \"root\"\n)\ndef Xform \"root\" {}\n"),
            Entry::stored("textures/albedo.png", &[0x89, b'P', b'N', b'G', 1, 2, 3]),
        ],
        align.then_some(64),
        false,
    )
}

#[test]
fn valid_usdz_is_accepted() {
    let file = usdz(true, "scene.usda");
    assert_eq!(sniff_head(&file, file.len() as u64), Format::Usdz);
    let inspection = inspect(Format::Usdz, &file).unwrap();
    assert_eq!(inspection.properties.format.as_deref(), Some("usdz"));
    let findings = validate(Kind::ThreeD, &file).unwrap();
    assert_eq!(findings.format, Format::Usdz);
    let dir = read_central_directory(&file, Format::Usdz).unwrap();
    for e in &dir.entries {
        assert_eq!(local_data_offset(&file, Format::Usdz, &dir, e).unwrap() % 64, 0);
    }
}

#[test]
fn misaligned_or_compressed_usdz_is_refused() {
    let file = usdz(false, "scene.usdc");
    let msg = rejection(inspect(Format::Usdz, &file));
    assert!(msg.contains("not on the 64-byte boundary"), "{msg}");

    let mut entries = vec![Entry::stored("scene.usd", b"PXR-USDC")];
    entries.push(Entry { name: "tex.png".into(), data: vec![1; 10], method: 8, declared_uncompressed: Some(40) });
    let file = write(&entries, Some(64), false);
    let msg = rejection(inspect(Format::Usdz, &file));
    assert!(msg.contains("\"tex.png\" is compressed"), "{msg}");

    // Truncated: the end records are gone.
    let file = usdz(true, "scene.usda");
    let cut = &file[..file.len() - 10];
    let err = validate(Kind::ThreeD, &cut.to_vec()).unwrap_err();
    assert!(err.to_string().contains("looks like a USDZ model but is damaged"), "{err}");
}

#[test]
fn kind_mismatch_messages() {
    let zip = sample();
    let err = validate(Kind::Image, &zip).unwrap_err();
    assert!(matches!(err, ValidateError::Rejected(_)));
    assert_eq!(
        err.to_string(),
        "expected an image (PNG, JPEG, WebP, GIF, AVIF, HEIC, TIFF, BMP, TGA, PSD, OpenEXR or Radiance HDR), found a ZIP archive"
    );
    let file = usdz(true, "scene.usda");
    let err = validate(Kind::Model, &file).unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected model weights (safetensors, ckpt/pt/bin, GGUF, ONNX or a ZIP of them), found a USDZ model"
    );
}

#[test]
fn large_archive_reads_only_the_directory() {
    let big = vec![0u8; 16 << 20];
    let zip = write(&[Entry::stored("big.bin", &big), Entry::stored("small.txt", b"hi")], None, false);
    let counting = CountingSource::new(&zip);
    assert!(inspect(Format::Zip, &counting).is_ok());
    assert!(counting.bytes_read() < 80 * 1024, "read {} bytes", counting.bytes_read());
}

#[test]
fn hostile_directories_do_not_panic() {
    let zip = sample();
    for i in 0..zip.len() {
        for v in [0x00u8, 0xff, 0x7f] {
            let mut z = zip.clone();
            z[i] = v;
            let _ = inspect(Format::Zip, &z);
            let _ = inspect(Format::Usdz, &z);
        }
    }
    for n in 0..zip.len() {
        let _ = inspect(Format::Zip, &zip[..n].to_vec());
        let _ = sniff(&zip[..n]);
    }
}
