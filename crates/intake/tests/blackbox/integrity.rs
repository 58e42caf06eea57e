//! End-to-end integrity (issue 18 item 3), black-box on the backend `INTAKE_TEST_BACKEND`
//! names: a part PUT whose bytes differ from its `Content-MD5` answers 400 and stores
//! nothing (intake checks it on the local disk; the S3 store checks it on its presigned
//! URLs); on the local disk the same holds for `x-amz-checksum-crc32`, which the Rust SDK
//! sends on every part to intake's own URLs.

use crate::common;

use base64::Engine;
use common::{media, TestServer};
use md5::Digest;

fn content_md5(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(bytes))
}

#[tokio::test]
async fn a_part_that_differs_from_its_content_md5_is_refused_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let file = media::png(64, 64);
    let upload = server.create_ok("check.png", "image/png", file.len(), 1, "image").await;
    let id = upload["id"].as_str().unwrap();
    let url = upload["parts"][0]["url"].as_str().unwrap();
    let put = |md5: String, body: Vec<u8>| server.http.put(url).header("content-md5", md5).body(body).send();

    // One bit flipped on the way: the digest is of the bytes the client meant to send.
    let mut damaged = file.clone();
    damaged[100] ^= 1;
    let response = put(content_md5(&file), damaged).await.unwrap();
    assert_eq!(response.status(), 400);
    let (status, body) = server.complete(id).await;
    common::assert_error(status, &body, 400, "1");
    assert_eq!(server.get(id).await.1["upload"]["status"], "pending");

    // Not a digest at all.
    let response = put("not-an-md5".into(), file.clone()).await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(server.complete(id).await.0, 400, "still nothing stored");

    // The right digest: stored, and the upload goes through.
    let response = put(content_md5(&file), file.clone()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"].to_str().unwrap(), common::etag_of(&file));
    let (status, _) = server.complete(id).await;
    assert_eq!(status, 200);
    assert_eq!(server.wait_terminal(id).await["status"], "imported");
}

#[tokio::test]
async fn intake_names_the_damage_in_its_reason() {
    if common::backend::scaleout().is_some() {
        return common::backend::skip("on S3 the store itself answers the PUT");
    }
    let server = TestServer::start().await;
    let file = media::png(8, 8);
    let upload = server.create_ok("x.png", "image/png", file.len(), 1, "image").await;
    let url = upload["parts"][0]["url"].as_str().unwrap();
    let (status, body) =
        common::send(server.http.put(url).header("content-md5", content_md5(b"something else")).body(file.clone()))
            .await;
    common::assert_error(status, &body, 400, "Content-MD5");
    let (status, body) = common::send(server.http.put(url).header("content-md5", "AAAA").body(file)).await;
    common::assert_error(status, &body, 400, "16-byte MD5");
}

fn checksum_crc32(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(bytes).to_be_bytes())
}

#[tokio::test]
async fn intake_checks_a_parts_crc32_as_well() {
    if common::backend::scaleout().is_some() {
        return common::backend::skip("on S3 parts go to the store's presigned URLs, with Content-MD5");
    }
    let server = TestServer::start().await;
    let file = media::png(32, 32);
    let upload = server.create_ok("crc.png", "image/png", file.len(), 1, "image").await;
    let id = upload["id"].as_str().unwrap();
    let url = upload["parts"][0]["url"].as_str().unwrap();
    let put = |crc: String, body: Vec<u8>| server.http.put(url).header("x-amz-checksum-crc32", crc).body(body);
    let mut damaged = file.clone();
    damaged[50] ^= 0x10;
    let (status, body) = common::send(put(checksum_crc32(&file), damaged)).await;
    common::assert_error(status, &body, 400, "x-amz-checksum-crc32");
    let (status, body) = common::send(put("AAAAAAAA".into(), file.clone())).await;
    common::assert_error(status, &body, 400, "4-byte CRC-32");
    assert_eq!(server.complete(id).await.0, 400, "nothing stored");
    let (status, _) = common::send(put(checksum_crc32(&file), file.clone())).await;
    assert_eq!(status, 200);
    assert_eq!(server.complete(id).await.0, 200);
    assert_eq!(server.wait_terminal(id).await["status"], "imported");
}

#[tokio::test]
async fn the_sdk_sends_a_checksum_on_every_part() {
    // Through a proxy that records each PUT's headers.
    if common::backend::scaleout().is_some() {
        return common::backend::skip("on S3 parts go straight to the store, not through intake's URLs");
    }
    let proxy = common::faults::FaultProxy::bind().await;
    let public = proxy.base.clone();
    let server = TestServer::start_with(|c| c.public_url = Some(public)).await;
    proxy.forward_to(&server.base);
    let client = common::alice_client(&proxy.base);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two-parts.bin");
    let file = media::noise(5 * common::MIB + 1000, 7);
    std::fs::write(&path, &file).unwrap();
    let options = intake_client::UploadOptions { part_size: Some(5 * common::MIB as u64), ..Default::default() };
    let outcome = client.upload_file(&path, intake_client::Kind::Asset, options).await.unwrap();
    assert_eq!(outcome.parts, 2);
    let puts: Vec<_> = proxy.seen().into_iter().filter(|s| s.method == "PUT").collect();
    assert_eq!(puts.len(), 2, "two part PUTs through the proxy");
    // The part URLs are intake's own (the proxy is both the API and the public URL): CRC-32.
    let mut digests: Vec<String> =
        puts.iter().map(|s| s.header("x-amz-checksum-crc32").expect("a CRC-32 on every part").to_string()).collect();
    digests.sort();
    let mut expected = vec![checksum_crc32(&file[..5 * common::MIB]), checksum_crc32(&file[5 * common::MIB..])];
    expected.sort();
    assert_eq!(digests, expected);
}
