//! Receiving a part through an intake-signed part URL.

use super::Service;
use crate::blob::{PartBody, PartDelivery, PartDigests, PartInfo};
use crate::domain::ids::{looks_like, IdKind};
use crate::domain::parts::{check_part, PartNumber, MAX_PART_SIZE};
use crate::signing::{Grant, SignatureError};
use crate::{Error, Result};
use intake_api::Status;

/// The signed parts of a part URL, as they arrived.
#[derive(Debug, Clone)]
pub struct PartRequest<'a> {
    pub upload_id: &'a str,
    pub part_number: &'a str,
    pub expires: Option<&'a str>,
    pub signature: Option<&'a str>,
    /// The request's `Content-Length`, when it has one.
    pub content_length: Option<u64>,
    /// The request's `Content-MD5` (base64 of the part's MD5, as S3 takes it), when it has one.
    pub content_md5: Option<&'a str>,
    /// The request's `x-amz-checksum-crc32` (base64 of the part's CRC-32, big-endian, as S3
    /// takes it), when it has one.
    pub checksum_crc32: Option<&'a str>,
}

/// A `Content-MD5` header as lowercase hex, or why it is not one.
fn content_md5_hex(header: &str) -> Result<String> {
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(header.trim()) {
        Ok(digest) if digest.len() == 16 => Ok(hex::encode(digest)),
        _ => Err(Error::BadRequest(format!(
            "Content-MD5 {header:?} is not the base64 of a 16-byte MD5 digest; send the part's MD5 in base64, or no Content-MD5"
        ))),
    }
}

/// An `x-amz-checksum-crc32` header as the CRC-32 it carries, or why it is not one.
fn checksum_crc32(header: &str) -> Result<u32> {
    use base64::Engine;
    match base64::engine::general_purpose::STANDARD.decode(header.trim()) {
        Ok(digest) if digest.len() == 4 => Ok(u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])),
        _ => Err(Error::BadRequest(format!(
            "x-amz-checksum-crc32 {header:?} is not the base64 of a 4-byte CRC-32; send the part's CRC-32 \
             (big-endian, in base64), or no x-amz-checksum-crc32"
        ))),
    }
}

/// The answer to a part PUT sent to intake for an upload whose parts go to the store.
fn presigned_elsewhere() -> Error {
    Error::BadRequest(
        "this intake keeps files in S3-compatible storage: PUT each part to the presigned URL in the upload's parts \
         list (GET /v1/uploads/{id} hands out fresh ones), not to intake"
            .into(),
    )
}

impl Service {
    /// `PUT <part url>`: checks the signature before anything else, then streams the part
    /// to the blob store. Nothing is written for a URL that is tampered with, expired or
    /// issued for another upload or part, nor for a part that breaks the size rules.
    pub async fn put_part(&self, req: PartRequest<'_>, body: PartBody) -> Result<PartInfo> {
        if self.blobs.part_receiver().is_none() {
            return Err(presigned_elsewhere());
        }
        let number: u32 = req.part_number.parse().map_err(|_| SignatureError::Malformed)?;
        let expected_md5 = req.content_md5.map(content_md5_hex).transpose()?;
        let expected_crc32 = req.checksum_crc32.map(checksum_crc32).transpose()?;
        let expires: i64 = req.expires.and_then(|e| e.parse().ok()).ok_or(SignatureError::Malformed)?;
        let signature = req.signature.ok_or(SignatureError::Malformed)?;
        if !looks_like(IdKind::Upload, req.upload_id) {
            return Err(SignatureError::Malformed.into());
        }
        self.signer().verify(
            Grant::PutPart { upload_id: req.upload_id, part: number },
            expires,
            signature,
            chrono::Utc::now().timestamp(),
        )?;
        let part = PartNumber::new(number).ok_or(SignatureError::Malformed)?;

        let upload = self
            .meta
            .upload(req.upload_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no upload {:?}", req.upload_id)))?;
        if self.expire_if_due(&upload).await? {
            return Err(Error::Conflict(self.expiry_message()));
        }
        if upload.status != Status::Pending {
            return Err(Error::Conflict(format!(
                "upload {} is {}: it no longer accepts parts",
                upload.id, upload.status
            )));
        }
        let (parts_count, file_size) = (upload.parts_count.unwrap_or(1), upload.file_size.unwrap_or(0));
        let PartDelivery::ThroughIntake(receiver) = self.blobs.part_delivery(file_size) else {
            return Err(presigned_elsewhere());
        };
        if number > parts_count {
            return Err(Error::BadRequest(format!("part {number} is beyond the upload's {parts_count} parts")));
        }
        if let Some(len) = req.content_length {
            check_part(part, len, parts_count, file_size)?;
        }
        self.check_free_space()?;
        let max_size = MAX_PART_SIZE.min(file_size);
        let check = move |size: u64, digests: &PartDigests| {
            check_part(part, size, parts_count, file_size)?;
            if let Some(expected) = expected_md5.as_ref().filter(|e| **e != digests.md5_hex) {
                return Err(Error::BadRequest(format!(
                    "part {number} arrived damaged: its MD5 is {} but Content-MD5 says {expected}; nothing was \
                     stored, send the part again",
                    digests.md5_hex
                )));
            }
            if let Some(expected) = expected_crc32.filter(|e| *e != digests.crc32) {
                return Err(Error::BadRequest(format!(
                    "part {number} arrived damaged: its CRC-32 is {:08x} but x-amz-checksum-crc32 says {expected:08x}; \
                     nothing was stored, send the part again",
                    digests.crc32
                )));
            }
            Ok(())
        };
        receiver.put_part(&upload.id, part, body, max_size, &check).await
    }
}
