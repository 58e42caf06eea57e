//! Signed, expiring URLs that intake serves itself: part uploads and file downloads.
//!
//! A signature is `HMAC-SHA256(secret, purpose \n resource \n expires)` in hex, where the
//! secret is generated per install and kept in the metadata store (so every instance of a
//! deployment accepts every other's URLs). A URL is bound to its purpose, its resource
//! (upload id and part number, or asset id) and its expiry: change any and it is refused.
//!
//! The secret can be rotated (`intake signing rotate`): the newest signs, and a retired one
//! still verifies until every URL it can have signed has expired ([`Signer::with_previous`]).

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What a signed URL grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant<'a> {
    /// `PUT` of one part of one upload.
    PutPart { upload_id: &'a str, part: u32 },
    /// `GET` of the bytes of one asset or model.
    ReadFile { entity_id: &'a str },
    /// `GET` of the thumbnail of one asset.
    ReadThumbnail { asset_id: &'a str },
}

/// Why a signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the URL has no valid signature or expiry")]
    Malformed,
    #[error("the URL's signature does not match: it was altered or was issued for something else")]
    Mismatch,
    #[error("the URL expired; ask for a fresh one")]
    Expired,
}

/// Signs and checks URLs with the install-wide secret (and checks with retired ones).
#[derive(Clone)]
pub struct Signer {
    /// The HMAC already keyed with the secret: each signature clones it instead of hashing
    /// the key again (a `GET` of a pending upload signs one URL per part).
    keyed: HmacSha256,
    /// Retired secrets, each with the last unix second it still verifies at.
    previous: Vec<(HmacSha256, i64)>,
}

fn keyed(secret: &[u8]) -> HmacSha256 {
    assert!(secret.len() >= 32, "signing secrets must be at least 32 bytes");
    HmacSha256::new_from_slice(secret).expect("HMAC takes any key length")
}

impl Signer {
    /// A signer with `secret` (at least 32 bytes of randomness).
    pub fn new(secret: Vec<u8>) -> Self {
        Self { keyed: keyed(&secret), previous: Vec::new() }
    }

    /// A signer with the current `secret` that also verifies with each of `previous`
    /// (secret, last unix second it verifies at): a URL signed with a retired secret stays
    /// valid until its own expiry, as long as that comes before the secret's end.
    pub fn with_previous(secret: &[u8], previous: &[(Vec<u8>, i64)]) -> Self {
        Self { keyed: keyed(secret), previous: previous.iter().map(|(s, until)| (keyed(s), *until)).collect() }
    }

    /// The MAC of `purpose \n resource \n expires`, fed in pieces (the same bytes as one string).
    fn mac(&self, grant: Grant<'_>, expires: i64) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        let mut digits = itoa::Buffer::new();
        match grant {
            Grant::PutPart { upload_id, part } => {
                mac.update(b"put-part\n");
                mac.update(upload_id.as_bytes());
                mac.update(b"\n");
                mac.update(digits.format(part).as_bytes());
            }
            Grant::ReadFile { entity_id } => {
                mac.update(b"read-file\n");
                mac.update(entity_id.as_bytes());
            }
            Grant::ReadThumbnail { asset_id } => {
                mac.update(b"read-thumbnail\n");
                mac.update(asset_id.as_bytes());
            }
        }
        mac.update(b"\n");
        mac.update(digits.format(expires).as_bytes());
        mac
    }

    /// The hex signature for `grant` until `expires` (unix seconds).
    pub fn sign(&self, grant: Grant<'_>, expires: i64) -> String {
        let mut signature = String::with_capacity(64);
        self.sign_into(grant, expires, &mut signature);
        signature
    }

    /// [`Signer::sign`], appended to `out` (a URL being built: no string of its own).
    pub fn sign_into(&self, grant: Grant<'_>, expires: i64, out: &mut String) {
        let mut hex = [0u8; 64];
        hex::encode_to_slice(self.mac(grant, expires).finalize().into_bytes(), &mut hex).expect("32 bytes fit");
        out.push_str(std::str::from_utf8(&hex).expect("hex is ASCII"));
    }

    /// Checks `signature` for `grant` and `expires` at time `now` (unix seconds), in
    /// constant time.
    pub fn verify(&self, grant: Grant<'_>, expires: i64, signature: &str, now: i64) -> Result<(), SignatureError> {
        let bytes = hex::decode(signature).map_err(|_| SignatureError::Malformed)?;
        if self.mac(grant, expires).verify_slice(&bytes).is_err() {
            let by_previous = self.previous.iter().any(|(keyed, until)| {
                now <= *until
                    && Self { keyed: keyed.clone(), previous: Vec::new() }
                        .mac(grant, expires)
                        .verify_slice(&bytes)
                        .is_ok()
            });
            if !by_previous {
                return Err(SignatureError::Mismatch);
            }
        }
        if now > expires {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(vec![7u8; 32])
    }

    #[test]
    fn a_signature_is_bound_to_its_grant_and_expiry() {
        let s = signer();
        let grant = Grant::PutPart { upload_id: "upload_a", part: 1 };
        let sig = s.sign(grant, 1000);
        assert_eq!(s.verify(grant, 1000, &sig, 999), Ok(()));
        assert_eq!(s.verify(grant, 1000, &sig, 1001), Err(SignatureError::Expired));
        assert_eq!(s.verify(grant, 1001, &sig, 999), Err(SignatureError::Mismatch));
        assert_eq!(
            s.verify(Grant::PutPart { upload_id: "upload_a", part: 2 }, 1000, &sig, 999),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            s.verify(Grant::PutPart { upload_id: "upload_b", part: 1 }, 1000, &sig, 999),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(s.verify(Grant::ReadFile { entity_id: "upload_a" }, 1000, &sig, 999), Err(SignatureError::Mismatch));
        assert_eq!(s.verify(grant, 1000, "zz", 999), Err(SignatureError::Malformed));
        // The bytes signed are `purpose \n resource \n expires`, as documented.
        let mut reference = HmacSha256::new_from_slice(&[7u8; 32]).unwrap();
        reference.update(b"put-part\nupload_a\n1\n1000");
        assert_eq!(sig, hex::encode(reference.finalize().into_bytes()));
        let mut reference = HmacSha256::new_from_slice(&[7u8; 32]).unwrap();
        reference.update(b"read-file\nasset_b\n-5");
        assert_eq!(
            s.sign(Grant::ReadFile { entity_id: "asset_b" }, -5),
            hex::encode(reference.finalize().into_bytes())
        );
        let other = Signer::new(vec![8u8; 32]);
        assert_eq!(other.verify(grant, 1000, &sig, 999), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_retired_secret_verifies_until_its_end_and_never_signs() {
        let old = signer();
        let grant = Grant::ReadFile { entity_id: "asset_a" };
        let sig = old.sign(grant, 2000);
        let rotated = Signer::with_previous(&[8u8; 32], &[(vec![7u8; 32], 1500)]);
        assert_eq!(rotated.verify(grant, 2000, &sig, 1400), Ok(()));
        assert_eq!(rotated.verify(grant, 2000, &sig, 1501), Err(SignatureError::Mismatch), "the old secret is gone");
        assert_ne!(rotated.sign(grant, 2000), sig, "the new secret signs");
        assert_eq!(rotated.verify(grant, 2000, &rotated.sign(grant, 2000), 1999), Ok(()));
    }
}
