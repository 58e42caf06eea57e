//! Thumbnails (issue 18 item 2), black-box through the real server on the backend
//! `INTAKE_TEST_BACKEND` names: every imported image gets a PNG whose longest side is 512
//! px behind a signed URL, and a decompression bomb neither gets one nor takes the server
//! (the real binary, its peak RSS read from `/proc`) past 512 MiB.

use crate::common;

use common::media;
use common::process::IntakeProcess;
use common::{alice_client, TestServer};
use intake_client::{Kind, UploadOptions, WaitOptions};
use serde_json::Value;
use std::io::Write;
use std::time::Duration;

/// A checked-in fixture made by ffmpeg (see the fixtures' README).
fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../intake-core/src/validate/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Width and height from a PNG's IHDR, checking the signature.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    assert_eq!(&png[12..16], b"IHDR");
    (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()))
}

/// The asset an upload became.
async fn asset_of(server: &TestServer, upload: &Value) -> Value {
    assert_eq!(upload["status"], "imported", "{upload}");
    let (status, body) = common::send(
        server.alice(reqwest::Method::GET, &format!("/v1/assets/{}", upload["entityId"].as_str().unwrap())),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["asset"].clone()
}

#[tokio::test]
async fn every_image_gets_a_signed_512_px_png_thumbnail() {
    let server = TestServer::start().await;
    let big = media::png(1200, 800);
    let upload = server.upload_and_wait("wide.png", "image/png", &big, "image").await;
    let asset = asset_of(&server, &upload).await;
    let thumb = &asset["thumbnail"];
    assert_eq!(thumb["assetId"], asset["id"], "{asset}");
    let url = thumb["url"].as_str().unwrap();
    assert!(url.contains("expires=") && url.contains("signature="), "{url}");
    let response = server.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    let png = response.bytes().await.unwrap();
    assert_eq!(png_size(&png), (512, 341));
    assert!(asset["properties"].get("thumbnailSkipped").is_none(), "{asset}");

    // The URL is bound to its asset and signature.
    let (status, _) = server.download(&url.replace("signature=", "signature=0")).await;
    assert_eq!(status, 403);
    let other = url.replace(asset["id"].as_str().unwrap(), "asset_0000000000000000000000");
    assert_eq!(server.download(&other).await.0, 403);
    // The file URL's signature does not open the thumbnail, nor the other way round.
    let file_url = asset["url"].as_str().unwrap();
    let query = file_url.split_once('?').unwrap().1;
    let forged = format!("{}?{query}", url.split_once('?').unwrap().0);
    assert_eq!(server.download(&forged).await.0, 403);

    // Each decodable format, as ffmpeg wrote it; small images keep their size. An avatar too.
    for (name, mime, kind) in [
        ("image_64x48.jpg", "image/jpeg", "image"),
        ("image_64x48_lossy.webp", "image/webp", "image"),
        ("image_64x48_anim.webp", "image/webp", "avatar"),
        ("image_64x48.gif", "image/gif", "image"),
        ("image_64x48.png", "image/png", "avatar"),
    ] {
        let upload = server.upload_and_wait(name, mime, &fixture(name), kind).await;
        let asset = asset_of(&server, &upload).await;
        let (status, png) = server.download(asset["thumbnail"]["url"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{name}");
        assert_eq!(png_size(&png), (64, 48), "{name}");
    }

    // Not an image: no thumbnail and nothing to explain.
    let upload = server.upload_and_wait("beep.wav", "audio/wav", &media::wav(8000, 1), "audio").await;
    let asset = asset_of(&server, &upload).await;
    assert!(asset.get("thumbnail").is_none() && asset["properties"].get("thumbnailSkipped").is_none(), "{asset}");
}

/// A 20000×20000 RGB PNG of zeros: about 1.2 MB on disk, 1.2 GB decoded.
fn png_bomb() -> Vec<u8> {
    const SIDE: u32 = 20_000;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = SIDE.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&SIDE.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; 1 + 3 * SIDE as usize];
    for _ in 0..SIDE {
        z.write_all(&row).unwrap();
    }
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc_input);
    out.extend_from_slice(&media::crc32(&crc_input).to_be_bytes());
}

/// The peak resident set of a process, from `/proc/<pid>/status` (`VmHWM`), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc status");
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// Uploads `file` to the real binary and waits for the end.
async fn upload_to(process: &IntakeProcess, name: &str, file: &[u8]) -> Value {
    let client = alice_client(&process.base);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, file).unwrap();
    let options = UploadOptions { content_type: Some("image/png".into()), ..UploadOptions::default() };
    let outcome = client.upload_file(&path, Kind::Image, options).await.unwrap();
    let wait = WaitOptions {
        timeout: Duration::from_secs(120),
        min_interval: Duration::from_millis(100),
        max_interval: Duration::from_millis(200),
    };
    let upload = client.wait(&outcome.upload.id, wait, |_| {}).await.unwrap();
    let upload = serde_json::to_value(upload).unwrap();
    assert_eq!(upload["status"], "imported", "{upload}");
    let asset = client.get_asset(upload["entityId"].as_str().unwrap()).await.unwrap();
    serde_json::to_value(asset).unwrap()
}

#[tokio::test]
async fn a_png_bomb_is_imported_without_a_thumbnail_and_the_server_stays_under_512_mib() {
    let bomb = png_bomb();
    assert!(bomb.len() < 4 * 1024 * 1024, "the bomb is small on disk ({} bytes)", bomb.len());
    const LIMIT: u64 = 512 * 1024 * 1024;

    // Default limits: 400 megapixels is over the 100-megapixel limit, nothing is decoded.
    let data_dir = tempfile::tempdir().unwrap();
    let server = IntakeProcess::start(data_dir.path(), &[], false);
    let asset = upload_to(&server, "bomb.png", &bomb).await;
    assert!(asset.get("thumbnail").is_none(), "{asset}");
    let why = asset["properties"]["thumbnailSkipped"].as_str().unwrap();
    assert!(why.contains("20000×20000") && why.contains("INTAKE_THUMBNAIL_MAX_PIXELS"), "{why}");
    assert_eq!(
        (asset["properties"]["width"].as_u64(), asset["properties"]["height"].as_u64()),
        (Some(20000), Some(20000))
    );
    let peak = peak_rss(server.child.id());
    assert!(peak < LIMIT, "peak RSS {} MiB", peak >> 20);

    // The pixel limit lifted: the memory budget (256 MiB by default) stops the decode.
    let data_dir = tempfile::tempdir().unwrap();
    let server = IntakeProcess::start(data_dir.path(), &[("INTAKE_THUMBNAIL_MAX_PIXELS", "1000000000")], false);
    let asset = upload_to(&server, "bomb.png", &bomb).await;
    assert!(asset.get("thumbnail").is_none(), "{asset}");
    let why = asset["properties"]["thumbnailSkipped"].as_str().unwrap();
    assert!(why.contains("INTAKE_THUMBNAIL_MAX_MEMORY"), "{why}");
    let peak = peak_rss(server.child.id());
    assert!(peak < LIMIT, "peak RSS {} MiB", peak >> 20);
    eprintln!("peak RSS of the server after the bomb: {} MiB", peak >> 20);
}

#[tokio::test]
async fn the_orphan_sweep_keeps_a_thumbnail_with_its_file_and_removes_one_without() {
    let mut server = TestServer::start().await;
    let upload = server.upload_and_wait("kept.png", "image/png", &media::png(600, 400), "image").await;
    let asset_id = asset_of(&server, &upload).await["id"].as_str().unwrap().to_string();
    // A thumbnail whose upload does not exist (on the local disk, where the test can plant one).
    let objects = server.data_dir.path().join("blobs").join("objects");
    let planted = objects.join("upload_0000000000000000000000-thumb");
    let local = objects.is_dir();
    if local {
        std::fs::create_dir_all(&planted).unwrap();
        std::fs::write(planted.join("1"), b"not a thumbnail of anything").unwrap();
    }
    // Restarting runs the sweep with no grace period.
    server.restart().await;
    let (status, asset) = common::send(server.alice(reqwest::Method::GET, &format!("/v1/assets/{asset_id}"))).await;
    assert_eq!(status, 200);
    let (status, png) = server.download(asset["asset"]["thumbnail"]["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(png_size(&png), (512, 341));
    if local {
        assert!(!planted.exists(), "the orphaned thumbnail was removed");
    }
}
