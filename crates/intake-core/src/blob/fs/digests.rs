//! The SHA-256 of a multipart upload on the local disk, hashed while its parts land.
//!
//! Parts arrive in any order and in parallel, so there is no one stream to hash. Instead each
//! upload keeps a [`HashedPrefix`]: after a part lands, the parts that now continue the
//! hashed prefix (`1`, `2`, … with none missing) are read back and hashed at once, while they
//! are still in the page cache and while the disk, not the CPU, is what the upload waits on.
//! When the file is complete its digest is usually known already, and the import does not
//! read the file again ([`PrefixDigests::take`]); whatever the prefix does not cover is read
//! by the import, from the end of the prefix.
//!
//! What keeps it right:
//! - a part written again after (or while) it was hashed *spoils* the upload's prefix: it is
//!   never used, and the import reads the whole file as it always did;
//! - the prefix also records which files it read (device, inode, change time, size of each
//!   part, folded into one digest), and is handed over only if the sealed file's segments are
//!   those very files ([`Taken::matches`]): a part written by another process sharing the
//!   directory, or anything else this process did not see, makes it unused too;
//! - one part's arrival hashes at most its own size plus [`HASH_PER_ARRIVAL`] bytes before
//!   its PUT is answered (a part that joins a long run of waiting parts does not make its PUT
//!   wait on the whole file); the next arrival, or the import, goes on from there;
//! - nothing is kept on disk: after a restart the next arrival hashes from part 1 again;
//! - at most [`MAX_TRACKED`] uploads are followed (about 200 bytes each); past that a new
//!   upload is not followed and its import reads the file.

use crate::validate::digest::HashedPrefix;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Mutex;

/// The most bytes one part's arrival hashes beyond its own size before its PUT is answered.
pub const HASH_PER_ARRIVAL: u64 = 64 * 1024 * 1024;
/// The most uploads whose prefixes are followed at once.
pub const MAX_TRACKED: usize = 65_536;
/// Bytes read back at a time.
const CHUNK: usize = 1024 * 1024;

/// The hashed prefixes of the uploads whose parts are arriving.
#[derive(Default)]
pub struct PrefixDigests {
    uploads: Mutex<HashMap<String, Follower>>,
}

/// One upload's prefix and who is hashing it.
struct Follower {
    /// The state after parts `1..next`; its hasher is taken out while a part is hashed.
    prefix: HashedPrefix,
    /// Which files parts `1..next` were ([`file_identity`] of each, in order).
    files: Sha256,
    /// The first part not yet hashed.
    next: u32,
    /// The part being hashed right now, if any.
    hashing: Option<u32>,
    /// An arrival is hashing (only one at a time does).
    driving: bool,
    /// A part landed while an arrival was hashing: it looks again before it stops.
    more: bool,
    /// A part was written again after it was hashed: this prefix is never used.
    spoiled: bool,
}

impl Follower {
    fn new() -> Self {
        Self {
            prefix: HashedPrefix::empty(),
            files: Sha256::new(),
            next: 1,
            hashing: None,
            driving: false,
            more: false,
            spoiled: false,
        }
    }
}

/// A sealed upload's hashed prefix, as [`PrefixDigests::take`] hands it over.
pub struct Taken {
    pub prefix: HashedPrefix,
    /// How many parts it covers (parts `1..=parts`).
    parts: u32,
    /// The identities of their files, folded.
    files: [u8; 32],
}

impl Taken {
    /// Whether parts `1..=parts` in `object_dir` (the sealed object) are the very files that
    /// were hashed. Blocking (one `stat` per part).
    pub fn matches(&self, object_dir: &Path) -> bool {
        let mut files = Sha256::new();
        for n in 1..=self.parts {
            match std::fs::symlink_metadata(object_dir.join(n.to_string())) {
                Ok(meta) => files.update(file_identity(&meta)),
                Err(_) => return false,
            }
        }
        <[u8; 32]>::from(files.finalize()) == self.files
    }
}

/// What tells one file from another, and from itself rewritten: a part written again is a
/// new file (renamed over the old), so at least its inode or its change time differs.
fn file_identity(meta: &std::fs::Metadata) -> [u8; 40] {
    use std::os::unix::fs::MetadataExt;
    let mut id = [0u8; 40];
    for (slot, value) in
        id.chunks_exact_mut(8).zip([meta.dev(), meta.ino(), meta.ctime() as u64, meta.ctime_nsec() as u64, meta.size()])
    {
        slot.copy_from_slice(&value.to_le_bytes());
    }
    id
}

impl PrefixDigests {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Follower>> {
        self.uploads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Part `number` (`size` bytes) of upload `key` was just renamed into `parts_dir`: hashes
    /// the parts that now continue the prefix (at most `size` + [`HASH_PER_ARRIVAL`] bytes).
    /// Blocking: call it from a blocking thread, after the part's rename.
    pub fn part_landed(&self, key: &str, number: u32, size: u64, parts_dir: &Path) {
        {
            let mut uploads = self.lock();
            if !uploads.contains_key(key) && uploads.len() >= MAX_TRACKED {
                return;
            }
            let follower = uploads.entry(key.to_string()).or_insert_with(Follower::new);
            if number < follower.next || follower.hashing == Some(number) {
                follower.spoiled = true;
            }
            if follower.spoiled {
                return;
            }
            if follower.driving {
                follower.more = true;
                return;
            }
            follower.driving = true;
        }
        let mut budget = HASH_PER_ARRIVAL.saturating_add(size);
        loop {
            // Take the next part to hash, or stop.
            let (number, mut prefix) = {
                let mut uploads = self.lock();
                let Some(follower) = uploads.get_mut(key) else { return };
                if follower.spoiled || budget == 0 {
                    follower.driving = false;
                    return;
                }
                follower.more = false;
                follower.hashing = Some(follower.next);
                let taken = std::mem::replace(&mut follower.prefix, HashedPrefix::empty());
                (follower.next, taken)
            };
            let hashed = hash_part(&parts_dir.join(number.to_string()), &mut prefix, &mut budget);
            let mut uploads = self.lock();
            let Some(follower) = uploads.get_mut(key) else { return };
            follower.hashing = None;
            match hashed {
                Ok(Some(identity)) => {
                    follower.prefix = prefix;
                    follower.files.update(identity);
                    follower.next = number + 1;
                }
                Ok(None) => {
                    // Part `number` is not there (yet): stop, unless a part landed meanwhile.
                    follower.prefix = prefix;
                    if !follower.more {
                        follower.driving = false;
                        return;
                    }
                }
                Err(_) => {
                    // Unreadable, or changed under the read: the state may no longer be
                    // that of a run of whole parts.
                    follower.spoiled = true;
                    follower.driving = false;
                    return;
                }
            }
        }
    }

    /// The hashed prefix of upload `key`, now sealed, forgetting it; `None` if nothing is
    /// known, it was spoiled, or an arrival is still hashing it. Check it with
    /// [`Taken::matches`] before use.
    pub fn take(&self, key: &str) -> Option<Taken> {
        let mut uploads = self.lock();
        let follower = uploads.get(key)?;
        if follower.driving {
            return None;
        }
        let follower = uploads.remove(key)?;
        (!follower.spoiled).then(|| Taken {
            prefix: follower.prefix,
            parts: follower.next - 1,
            files: follower.files.finalize().into(),
        })
    }

    /// Forgets upload `key` (aborted, expired, deleted).
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// How many uploads are followed.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Hashes the part file at `path` into `prefix`: `Ok(Some(its identity))` once it is hashed
/// whole, `Ok(None)` when there is no such part. A part larger than what is left of `budget`
/// is not started (`Ok(None)` as well, with `budget` set to 0, so the caller stops).
fn hash_part(path: &Path, prefix: &mut HashedPrefix, budget: &mut u64) -> io::Result<Option<[u8; 40]>> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    let size = meta.len();
    if size > *budget {
        *budget = 0;
        return Ok(None);
    }
    let mut buf = vec![0u8; CHUNK.min(size as usize).max(1)];
    let mut read = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        prefix.hasher.update(&buf[..n]);
        read += n as u64;
    }
    if read != size {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "the part changed size while it was hashed"));
    }
    prefix.len += read;
    *budget -= read;
    Ok(Some(file_identity(&meta)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn land(digests: &PrefixDigests, dir: &Path, number: u32, bytes: &[u8]) {
        std::fs::write(dir.join(number.to_string()), bytes).unwrap();
        digests.part_landed("u", number, bytes.len() as u64, dir);
    }

    /// The digest handed over for `dir`'s parts, checked as the store checks it.
    fn whole(digests: &PrefixDigests, dir: &Path, file: &[u8]) -> Option<String> {
        let taken = digests.take("u")?;
        assert!(taken.matches(dir), "the files hashed are the ones in place");
        taken.prefix.digest_of_whole(file.len() as u64)
    }

    fn parts() -> Vec<Vec<u8>> {
        (0..5u8).map(|i| vec![i; 1000 + i as usize]).collect()
    }

    fn expected(parts: &[Vec<u8>]) -> (Vec<u8>, String) {
        let file = parts.concat();
        let hex = hex::encode(Sha256::digest(&file));
        (file, hex)
    }

    #[test]
    fn parts_in_any_order_give_the_files_digest() {
        let parts = parts();
        let (file, hex) = expected(&parts);
        for order in [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1], [2, 4, 1, 5, 3]] {
            let dir = tempfile::tempdir().unwrap();
            let digests = PrefixDigests::default();
            for n in order {
                land(&digests, dir.path(), n, &parts[n as usize - 1]);
            }
            assert_eq!(whole(&digests, dir.path(), &file), Some(hex.clone()), "order {order:?}");
            assert_eq!(digests.len(), 0, "taking forgets");
        }
    }

    #[test]
    fn a_missing_part_leaves_a_prefix_the_import_continues() {
        let parts = parts();
        let (file, hex) = expected(&parts);
        let dir = tempfile::tempdir().unwrap();
        let digests = PrefixDigests::default();
        for n in [1, 2, 4, 5] {
            land(&digests, dir.path(), n, &parts[n as usize - 1]);
        }
        let prefix = digests.take("u").unwrap().prefix;
        assert_eq!(prefix.len, 2001, "parts 1 and 2");
        assert_eq!(crate::validate::digest::sha256_after(&file, prefix).unwrap(), hex);
    }

    #[test]
    fn a_part_written_again_after_it_was_hashed_spoils_the_prefix() {
        let parts = parts();
        let dir = tempfile::tempdir().unwrap();
        let digests = PrefixDigests::default();
        for n in [1, 2, 3] {
            land(&digests, dir.path(), n, &parts[n as usize - 1]);
        }
        land(&digests, dir.path(), 2, b"other bytes");
        for n in [4, 5] {
            land(&digests, dir.path(), n, &parts[n as usize - 1]);
        }
        assert!(digests.take("u").is_none(), "a spoiled prefix is never used");
        // A part written again before the prefix reached it is simply read as it is now.
        let digests = PrefixDigests::default();
        let dir = tempfile::tempdir().unwrap();
        land(&digests, dir.path(), 3, b"first try");
        land(&digests, dir.path(), 3, &parts[2]);
        for n in [1, 2, 4, 5] {
            land(&digests, dir.path(), n, &parts[n as usize - 1]);
        }
        let (file, hex) = expected(&parts);
        assert_eq!(whole(&digests, dir.path(), &file), Some(hex));
    }

    #[test]
    fn a_part_rewritten_unseen_makes_the_prefix_unused() {
        // Another process sharing the directory writes part 2 again: this one never hears
        // of it, and the check of the files finds it.
        let parts = parts();
        let dir = tempfile::tempdir().unwrap();
        let digests = PrefixDigests::default();
        for n in 1..=5 {
            land(&digests, dir.path(), n, &parts[n as usize - 1]);
        }
        let rewritten = dir.path().join("tmp-2");
        std::fs::write(&rewritten, &parts[1]).unwrap();
        std::fs::rename(&rewritten, dir.path().join("2")).unwrap();
        let taken = digests.take("u").unwrap();
        assert!(!taken.matches(dir.path()), "same bytes, but not the file that was hashed");
        // A part removed since is noticed as well.
        let dir = tempfile::tempdir().unwrap();
        let digests = PrefixDigests::default();
        for n in 1..=5 {
            land(&digests, dir.path(), n, &parts[n as usize - 1]);
        }
        std::fs::remove_file(dir.path().join("5")).unwrap();
        assert!(!digests.take("u").unwrap().matches(dir.path()));
    }

    #[test]
    fn one_arrival_hashes_a_bounded_amount() {
        // Parts 2 and 3 wait for part 1, which is larger than the budget beyond its own
        // size: its arrival hashes part 1 and stops; the import reads the rest.
        let big = (HASH_PER_ARRIVAL + 1) as usize;
        let parts = vec![vec![1u8; big], vec![2u8; big], vec![3u8; 10]];
        let (file, hex) = expected(&parts);
        let dir = tempfile::tempdir().unwrap();
        let digests = PrefixDigests::default();
        land(&digests, dir.path(), 2, &parts[1]);
        land(&digests, dir.path(), 3, &parts[2]);
        land(&digests, dir.path(), 1, &parts[0]);
        let prefix = digests.take("u").unwrap().prefix;
        assert_eq!(prefix.len, big as u64, "part 1 only");
        assert_eq!(crate::validate::digest::sha256_after(&file, prefix).unwrap(), hex);
    }

    #[test]
    fn forgotten_and_untracked_uploads_have_no_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let digests = PrefixDigests::default();
        land(&digests, dir.path(), 1, b"abc");
        digests.forget("u");
        assert!(digests.take("u").is_none());
        assert!(digests.take("never seen").is_none());
    }
}
