//! Presigned part URLs in bulk. A `GET` of a pending upload hands out one presigned URL per
//! part (10,000 at most), and rusty-s3 signs each URL from scratch: it parses and formats the
//! URL, formats the dates, derives the signing key (four HMACs) and percent-encodes every
//! query parameter, for every part. Profiled, that was most of a 10,000-part `GET` (BENCHMARKS.md,
//! target 11). [`PartSigner`] does the work that is the same for every part of one upload
//! once, and per part only what differs: one SHA-256 of the canonical request (resumed
//! after its shared beginning) and one HMAC of the string to sign.
//!
//! The URLs are AWS Signature Version 4 query-string presigns, byte for byte the ones
//! rusty-s3's `UploadPart::sign_with_time` makes (a test holds the two equal).

use hmac::{Hmac, Mac};
use rusty_s3::{Bucket, Credentials};
use sha2::{Digest, Sha256};
use std::time::Duration;

type HmacSha256 = Hmac<Sha256>;

/// Appends `value` percent-encoded as rusty-s3 (and RFC 3986) does: everything but ASCII
/// letters, digits and `-._~` as `%XX`, uppercase.
fn encode_into(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Signs the part URLs of one multipart upload at one instant.
pub(super) struct PartSigner {
    /// The URL up to the part number: `{object url}?{X-Amz-* parameters}&partNumber=`.
    url_head: String,
    /// What follows the part number in the URL: `&uploadId={encoded}&X-Amz-Signature=`.
    url_tail: String,
    /// SHA-256 fed with the canonical request up to the part number.
    request_head: Sha256,
    /// The canonical request after the part number.
    request_tail: String,
    /// HMAC keyed with the signing key, fed with the string to sign up to the request hash.
    string_head: HmacSha256,
}

impl PartSigner {
    /// The signer for part URLs of `key`'s multipart upload `upload_id`, signed at `now`
    /// (unix seconds) and valid for `expires` (S3 takes 1 s to 7 days).
    pub(super) fn new(
        bucket: &Bucket,
        credentials: &Credentials,
        key: &str,
        upload_id: &str,
        expires: Duration,
        now: i64,
    ) -> Option<Self> {
        let time = chrono::DateTime::from_timestamp(now, 0)?;
        let date = time.format("%Y%m%d").to_string();
        let stamp = time.format("%Y%m%dT%H%M%SZ").to_string();
        let region = bucket.region();
        let scope = format!("{date}/{region}/s3/aws4_request");

        let mut url = bucket.object_url(key);
        url.set_query(None);
        let host = url.host_str()?;
        let host_header = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };

        // The query parameters, sorted by name as SigV4 wants (`X-Amz-*` sort before the
        // lowercase `partNumber` and `uploadId`), each percent-encoded.
        let mut query = String::with_capacity(256);
        query.push_str("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
        encode_into(&format!("{}/{scope}", credentials.key()), &mut query);
        query.push_str("&X-Amz-Date=");
        query.push_str(&stamp);
        query.push_str("&X-Amz-Expires=");
        query.push_str(&expires.as_secs().to_string());
        if let Some(token) = credentials.token().filter(|t| !t.is_empty()) {
            query.push_str("&X-Amz-Security-Token=");
            encode_into(token, &mut query);
        }
        query.push_str("&X-Amz-SignedHeaders=host&partNumber=");
        let mut upload = String::from("&uploadId=");
        encode_into(upload_id, &mut upload);

        let mut request_head = Sha256::new();
        request_head.update(format!("PUT\n{}\n{query}", url.path()));
        let request_tail = format!("{upload}\nhost:{host_header}\n\nhost\nUNSIGNED-PAYLOAD");

        let signing_key = {
            let secret = format!("AWS4{}", credentials.secret());
            let k = hmac(secret.as_bytes(), date.as_bytes());
            let k = hmac(&k, region.as_bytes());
            let k = hmac(&k, b"s3");
            hmac(&k, b"aws4_request")
        };
        let mut string_head = HmacSha256::new_from_slice(&signing_key).expect("HMAC takes any key length");
        string_head.update(format!("AWS4-HMAC-SHA256\n{stamp}\n{scope}\n").as_bytes());

        Some(Self {
            url_head: format!("{}?{query}", url.as_str()),
            url_tail: format!("{upload}&X-Amz-Signature="),
            request_head,
            request_tail,
            string_head,
        })
    }

    /// The presigned URL of part `number`.
    pub(super) fn url(&self, number: u16) -> String {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(number);
        let mut request = self.request_head.clone();
        request.update(digits.as_bytes());
        request.update(self.request_tail.as_bytes());
        let mut hash_hex = [0u8; 64];
        hex::encode_to_slice(request.finalize(), &mut hash_hex).expect("32 bytes fit");
        let mut string = self.string_head.clone();
        string.update(&hash_hex);
        let mut signature = [0u8; 64];
        hex::encode_to_slice(string.finalize().into_bytes(), &mut signature).expect("32 bytes fit");

        let mut url = String::with_capacity(self.url_head.len() + digits.len() + self.url_tail.len() + 64);
        url.push_str(&self.url_head);
        url.push_str(digits);
        url.push_str(&self.url_tail);
        url.push_str(std::str::from_utf8(&signature).expect("hex is ASCII"));
        url
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusty_s3::actions::UploadPart;
    use rusty_s3::{S3Action, UrlStyle};

    fn rusty(bucket: &Bucket, credentials: &Credentials, key: &str, id: &str, part: u16, at: i64) -> String {
        let time = jiff::Timestamp::from_second(at).expect("valid time");
        UploadPart::new(bucket, Some(credentials), key, part, id)
            .sign_with_time(Duration::from_secs(3600), &time)
            .to_string()
    }

    /// Every URL is the one rusty-s3 signs: across endpoints (port or none, path or virtual
    /// host style), session tokens, keys and upload ids that need encoding, and part numbers.
    #[test]
    fn urls_are_rusty_s3s_byte_for_byte() {
        let stores = [
            ("http://127.0.0.1:3900", UrlStyle::Path, "garage"),
            ("https://s3.eu-west-1.amazonaws.com", UrlStyle::VirtualHost, "eu-west-1"),
            ("https://minio.example:9443/base", UrlStyle::Path, "us-east-1"),
        ];
        let credentials = [
            Credentials::new("GKexamplekey", "secret/with+odd=chars"),
            Credentials::new_with_token("AKIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG", "tok/en+=="),
            Credentials::new_with_token("AKIAEXAMPLE", "s", ""),
        ];
        let keys = ["upload_0VclGhxKS1YB8Pmcnin28y", "dir/a b+c%d~e.f", "ünï"];
        let ids = ["2~ZVJk_plain-id.0", "a/b+c=d==", "VXBsb2FkIElE"];
        for (endpoint, style, region) in stores {
            let bucket = Bucket::new(endpoint.parse().unwrap(), style, "intake-test", region).unwrap();
            for credentials in &credentials {
                for (key, id) in keys.iter().zip(ids) {
                    let at = 1_764_780_000 + i64::from(key.len() as u16);
                    let signer = PartSigner::new(&bucket, credentials, key, id, Duration::from_secs(3600), at).unwrap();
                    for part in [1, 9, 10, 999, 10_000] {
                        assert_eq!(
                            signer.url(part),
                            rusty(&bucket, credentials, key, id, part, at),
                            "{endpoint} {key}"
                        );
                    }
                }
            }
        }
    }
}
