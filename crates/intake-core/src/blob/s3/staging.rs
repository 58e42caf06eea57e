//! Staged imports on S3: the bytes intake downloads itself go into a store multipart upload
//! for the finished object's own key, so committing is one `CompleteMultipartUpload`: no byte
//! is copied and readers see either no object or all of it.
//!
//! - The multipart upload's `UploadId` is kept in a small marker object
//!   ([`MARKER_PREFIX`]`<key>`), so any instance that takes over the import finds it.
//! - Bytes are cut into parts of [`part_size`] (8 MiB, growing every 1,000 parts so 10,000
//!   parts hold far more than any import cap) and each full part is uploaded as soon as it
//!   is complete: memory stays at about one part per running import.
//! - The tail that does not fill a part yet stays in this process's memory until more bytes
//!   or the commit arrive (S3 parts other than the last must be at least 5 MiB). After a
//!   crash, or on another instance, the tail is simply not there: [`staged_len`] then reports
//!   the uploaded parts only and the download resumes from that part boundary, so at most one
//!   part is fetched twice and nothing is lost.

use super::client::CallError;
use super::S3Store;
use crate::blob::{PartBody, PartInfo};
use crate::{Error, Result};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use rusty_s3::actions::{
    AbortMultipartUpload, CompleteMultipartUpload, CreateMultipartUpload, DeleteObject, GetObject, PutObject, S3Action,
    UploadPart,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// Where the marker objects of staged imports live.
pub(super) const MARKER_PREFIX: &str = ".intake-staging/";

/// Bytes of part `number` (1-based) of a staged import: 8 MiB for parts 1-1,000, 16 MiB for
/// 1,001-2,000, …, 80 MiB for 9,001-10,000 (about 430 GiB in all).
pub(super) fn part_size(number: u32) -> usize {
    8 * 1024 * 1024 * (1 + (number.saturating_sub(1) / 1000) as usize)
}

/// Bytes received for a staged import that do not fill a part yet, held in memory.
pub(super) struct Tail {
    /// The store multipart upload they belong to.
    upload_id: String,
    /// How many parts that upload held when the tail was kept: a tail is only valid on top
    /// of exactly those parts (another instance may have moved the import on meanwhile).
    parts: u32,
    bytes: BytesMut,
}

/// The tails of the imports this process is staging.
#[derive(Default)]
pub(super) struct Tails(Mutex<HashMap<String, Tail>>);

impl Tails {
    fn take(&self, key: &str, upload_id: &str, parts: u32) -> BytesMut {
        let mut tails = self.0.lock().expect("tails lock");
        match tails.remove(key) {
            Some(t) if t.upload_id == upload_id && t.parts == parts => t.bytes,
            _ => BytesMut::new(),
        }
    }

    fn len(&self, key: &str, upload_id: &str, parts: u32) -> u64 {
        let tails = self.0.lock().expect("tails lock");
        match tails.get(key) {
            Some(t) if t.upload_id == upload_id && t.parts == parts => t.bytes.len() as u64,
            _ => 0,
        }
    }

    fn keep(&self, key: &str, upload_id: &str, parts: u32, bytes: BytesMut) {
        let tail = Tail { upload_id: upload_id.to_string(), parts, bytes };
        self.0.lock().expect("tails lock").insert(key.to_string(), tail);
    }

    fn drop_key(&self, key: &str) {
        self.0.lock().expect("tails lock").remove(key);
    }
}

impl S3Store {
    fn marker(key: &str) -> String {
        format!("{MARKER_PREFIX}{key}")
    }

    /// The `UploadId` of the staging upload of `key`, if one was started.
    async fn staging_upload(&self, key: &str) -> Result<Option<String>> {
        let marker = Self::marker(key);
        let action = GetObject::new(&self.client.bucket, Some(&self.client.credentials), &marker);
        match self.client.call(&action, None).await {
            Ok(id) if !id.trim().is_empty() => Ok(Some(id.trim().to_string())),
            Ok(_) => Ok(None),
            Err(CallError::Store(e)) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Starts the staging upload of `key` and records its `UploadId` in the marker.
    async fn start_staging(&self, key: &str) -> Result<String> {
        let action = CreateMultipartUpload::new(&self.client.bucket, Some(&self.client.credentials), key);
        let text = self.client.call(&action, None).await?;
        let created = CreateMultipartUpload::parse_response(&text)
            .map_err(|e| super::client::unreadable("CreateMultipartUpload answer", e))?;
        let upload_id = created.upload_id().to_string();
        self.put_small(&Self::marker(key), upload_id.clone().into()).await?;
        Ok(upload_id)
    }

    pub(super) async fn put_small(&self, key: &str, body: Bytes) -> Result<()> {
        let action = PutObject::new(&self.client.bucket, Some(&self.client.credentials), key);
        self.client.send(PutObject::METHOD, action.sign(super::client::CALL_TTL), &[], Some(body.into())).await?;
        Ok(())
    }

    /// Deletes object `key`; deleting what is not there is not an error.
    pub(super) async fn delete_quietly(&self, key: &str) -> Result<()> {
        let action = DeleteObject::new(&self.client.bucket, Some(&self.client.credentials), key);
        match self.client.call(&action, None).await {
            Ok(_) => Ok(()),
            Err(CallError::Store(e)) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The parts of the staging upload `upload_id`; empty when the store no longer knows it.
    async fn staged_parts(&self, key: &str, upload_id: &str) -> Result<Vec<PartInfo>> {
        Ok(self.listed_parts(key, upload_id).await?.unwrap_or_default())
    }

    async fn upload_staged_part(&self, key: &str, upload_id: &str, number: u32, bytes: Bytes) -> Result<()> {
        let number16 = u16::try_from(number)
            .ok()
            .filter(|n| *n <= 10_000)
            .ok_or_else(|| Error::internal(format!("import {key} needs more than 10,000 store parts")))?;
        let action = UploadPart::new(&self.client.bucket, Some(&self.client.credentials), key, number16, upload_id);
        self.client.send(UploadPart::METHOD, action.sign(super::client::CALL_TTL), &[], Some(bytes.into())).await?;
        Ok(())
    }

    pub(super) async fn staged_len_impl(&self, key: &str) -> Result<u64> {
        let Some(upload_id) = self.staging_upload(key).await? else { return Ok(0) };
        let parts = self.staged_parts(key, &upload_id).await?;
        let stored: u64 = parts.iter().map(|p| p.size).sum();
        Ok(stored + self.tails.len(key, &upload_id, parts.len() as u32))
    }

    pub(super) async fn append_staged_impl(&self, key: &str, mut body: PartBody) -> Result<u64> {
        let upload_id = match self.staging_upload(key).await? {
            Some(id) => id,
            None => self.start_staging(key).await?,
        };
        let parts = self.staged_parts(key, &upload_id).await?;
        let mut count = parts.len() as u32;
        let mut stored: u64 = parts.iter().map(|p| p.size).sum();
        let mut buffer = self.tails.take(key, &upload_id, count);
        let mut failure = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => buffer.extend_from_slice(&chunk),
                Err(e) => {
                    failure = Some(Error::BodyAborted(e.to_string()));
                    break;
                }
            }
            while buffer.len() >= part_size(count + 1) {
                let part = buffer.split_to(part_size(count + 1)).freeze();
                let size = part.len() as u64;
                if let Err(e) = self.upload_staged_part(key, &upload_id, count + 1, part.clone()).await {
                    // Keep what was received: the part goes first again on the next attempt.
                    let mut kept = BytesMut::from(&part[..]);
                    kept.extend_from_slice(&buffer);
                    self.tails.keep(key, &upload_id, count, kept);
                    return Err(e);
                }
                count += 1;
                stored += size;
            }
        }
        let total = stored + buffer.len() as u64;
        self.tails.keep(key, &upload_id, count, buffer);
        match failure {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }

    pub(super) async fn commit_staged_impl(&self, key: &str) -> Result<u64> {
        let Some(upload_id) = self.staging_upload(key).await? else {
            // Committed before (perhaps by a process that died before answering).
            return self.object_size(key).await?.ok_or_else(|| {
                Error::internal(format!("import {key} has nothing staged and no finished object to commit"))
            });
        };
        let Some(mut parts) = self.listed_parts(key, &upload_id).await? else {
            // The store finished the upload, and the marker outlived it.
            let size = self.object_size(key).await?.ok_or_else(|| {
                Error::internal(format!("the staging upload of import {key} is gone and left no object"))
            })?;
            self.delete_quietly(&Self::marker(key)).await?;
            return Ok(size);
        };
        let tail = self.tails.take(key, &upload_id, parts.len() as u32);
        if parts.is_empty() && tail.is_empty() {
            // An empty file: stores refuse empty parts, so it is an empty object instead.
            self.put_small(key, Bytes::new()).await?;
            self.discard_staged_impl(key).await?;
            return Ok(0);
        }
        if !tail.is_empty() {
            // The last part may be of any size.
            self.upload_staged_part(key, &upload_id, parts.len() as u32 + 1, tail.freeze()).await?;
            parts = self.staged_parts(key, &upload_id).await?;
        }
        let size: u64 = parts.iter().map(|p| p.size).sum();
        let etags: Vec<String> = parts.iter().map(|p| p.etag.clone().unwrap_or_default()).collect();
        let action = CompleteMultipartUpload::new(
            &self.client.bucket,
            Some(&self.client.credentials),
            key,
            &upload_id,
            etags.iter().map(String::as_str),
        );
        let body = action.clone().body();
        self.client.call(&action, Some(body)).await?;
        self.delete_quietly(&Self::marker(key)).await?;
        Ok(size)
    }

    pub(super) async fn discard_staged_impl(&self, key: &str) -> Result<()> {
        self.tails.drop_key(key);
        let Some(upload_id) = self.staging_upload(key).await? else { return Ok(()) };
        let action = AbortMultipartUpload::new(&self.client.bucket, Some(&self.client.credentials), key, &upload_id);
        match self.client.call(&action, None).await {
            Ok(_) => {}
            Err(CallError::Store(e)) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
        self.delete_quietly(&Self::marker(key)).await
    }
}

#[cfg(test)]
mod tests {
    use super::part_size;

    #[test]
    fn ten_thousand_parts_hold_more_than_any_import_cap() {
        let mib = 1024 * 1024;
        assert_eq!(part_size(1), 8 * mib);
        assert_eq!(part_size(1000), 8 * mib);
        assert_eq!(part_size(1001), 16 * mib);
        assert_eq!(part_size(10_000), 80 * mib);
        let total: u64 = (1..=10_000).map(|n| part_size(n) as u64).sum();
        assert!(total > 400 * 1024 * mib as u64, "{total}");
        assert!((1..=10_000).all(|n| part_size(n) >= 5 * mib), "S3's minimum part size");
    }
}
