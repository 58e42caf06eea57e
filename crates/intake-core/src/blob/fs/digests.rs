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
//! - a part that lands a second time (a retry) *spoils* the upload's prefix, whenever and in
//!   whatever order the two landings happen: a spoiled prefix is never used, and the import
//!   reads the whole file as it always did. So no race between an arrival reading a part and
//!   that part being replaced can matter;
//! - the prefix also records which files it read (device, inode, change time and size of
//!   each part, folded into one digest), and is handed over only if the sealed file's
//!   segments are those very files ([`Taken::matches`]): a part written by another process
//!   sharing the directory, or anything else this process did not see, makes it unused too;
//! - one part's arrival hashes at most its own size plus [`HASH_PER_ARRIVAL`] bytes before
//!   its PUT is answered (a part that joins a long run of waiting parts does not make its PUT
//!   wait on the whole file); the next arrival, or the import, goes on from there;
//! - nothing is kept on disk: after a restart the next arrival hashes from part 1 again
//!   (a part that landed before the restart and lands again is not seen as a retry: the
//!   check of the files' identities catches it);
//! - at most [`MAX_TRACKED`] uploads are followed (a few hundred bytes each, plus a bit per
//!   part number); past that a new upload is not followed and its import reads the file.

use crate::domain::MAX_PARTS;
use crate::validate::digest::HashedPrefix;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Mutex;

/// The most bytes one part's arrival hashes beyond its own size before its PUT is answered.
pub const HASH_PER_ARRIVAL: u64 = 64 * 1024 * 1024;
/// The most uploads whose prefixes are followed at once.
pub const MAX_TRACKED: usize = 16_384;
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
    /// Which part numbers have landed (bit `n - 1`), to tell a retry.
    landed: Vec<u64>,
    /// An arrival is hashing (only one at a time does).
    driving: bool,
    /// A part landed while an arrival was hashing: it looks again before it stops.
    more: bool,
    /// A part landed twice, or a part could not be read: this prefix is never used.
    spoiled: bool,
}

impl Follower {
    fn new() -> Self {
        Self {
            prefix: HashedPrefix::empty(),
            files: Sha256::new(),
            next: 1,
            landed: Vec::new(),
            driving: false,
            more: false,
            spoiled: false,
        }
    }

    /// Records that part `number` landed; `false` if it had landed before (or is out of range).
    fn first_landing(&mut self, number: u32) -> bool {
        if number == 0 || number > MAX_PARTS {
            return false;
        }
        let (word, bit) = (((number - 1) / 64) as usize, (number - 1) % 64);
        if self.landed.len() <= word {
            self.landed.resize(word + 1, 0);
        }
        let before = self.landed[word];
        self.landed[word] |= 1 << bit;
        before & (1 << bit) == 0
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
            if !follower.first_landing(number) {
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
                let taken = std::mem::replace(&mut follower.prefix, HashedPrefix::empty());
                (follower.next, taken)
            };
            let hashed = hash_part(&parts_dir.join(number.to_string()), &mut prefix, &mut budget);
            let mut uploads = self.lock();
            let Some(follower) = uploads.get_mut(key) else { return };
            follower.prefix = prefix;
            match hashed {
                Ok(Some(identity)) => {
                    follower.files.update(identity);
                    follower.next = number + 1;
                }
                // Part `number` is not there (yet): stop, unless a part landed meanwhile.
                Ok(None) if follower.more => {}
                Ok(None) => {
                    follower.driving = false;
                    return;
                }
                // Unreadable, or changed under the read.
                Err(_) => {
                    follower.spoiled = true;
                    follower.driving = false;
                    return;
                }
            }
        }
    }

    /// The hashed prefix of upload `key`, now sealed, forgetting it; `None` if nothing is
    /// known, it was spoiled, or an arrival is still hashing it (a `complete` that did not
    /// wait for its PUTs: that arrival stops, and the import reads the file). Check it with
    /// [`Taken::matches`] before use.
    pub fn take(&self, key: &str) -> Option<Taken> {
        let follower = self.lock().remove(key)?;
        (!follower.spoiled && !follower.driving).then(|| Taken {
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

    /// Lands `parts` from eight threads at once, in a scrambled order; `rewrites` of
    /// (part, bytes) are landed too, racing the others. Parts are written as the server
    /// writes them: to a temp file renamed into place.
    fn land_concurrently(digests: &PrefixDigests, dir: &Path, parts: &[Vec<u8>], rewrites: &[(u32, Vec<u8>)]) {
        let mut work: Vec<(u32, Vec<u8>)> =
            parts.iter().enumerate().map(|(i, bytes)| (i as u32 + 1, bytes.clone())).collect();
        work.extend(rewrites.iter().cloned());
        let next = std::sync::atomic::AtomicUsize::new(0);
        let order: Vec<usize> = (0..work.len()).map(|i| (i * 7 + 3) % work.len()).collect();
        std::thread::scope(|scope| {
            for t in 0..8 {
                let (work, order, next) = (&work, &order, &next);
                scope.spawn(move || loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(&index) = order.get(i) else { break };
                    let (number, bytes) = &work[index];
                    let tmp = dir.join(format!("tmp-{t}"));
                    std::fs::write(&tmp, bytes).unwrap();
                    std::fs::rename(&tmp, dir.join(number.to_string())).unwrap();
                    digests.part_landed("u", *number, bytes.len() as u64, dir);
                });
            }
        });
    }

    #[test]
    fn parts_landing_at_once_from_many_threads_give_the_files_digest() {
        let parts: Vec<Vec<u8>> = (0..32u32).map(|i| vec![i as u8; 64 * 1024 + i as usize]).collect();
        let (file, hex) = expected(&parts);
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let digests = PrefixDigests::default();
            land_concurrently(&digests, dir.path(), &parts, &[]);
            assert_eq!(whole(&digests, dir.path(), &file), Some(hex.clone()), "round {round}");
        }
    }

    #[test]
    fn parts_written_again_while_others_land_never_give_a_wrong_digest() {
        let parts: Vec<Vec<u8>> = (0..16u32).map(|i| vec![i as u8; 32 * 1024]).collect();
        for round in 0..20u32 {
            let dir = tempfile::tempdir().unwrap();
            let digests = PrefixDigests::default();
            let rewrites = [(1 + round % 16, vec![0xAA; 1000]), (1 + (round * 5) % 16, vec![0xBB; 2000])];
            land_concurrently(&digests, dir.path(), &parts, &rewrites);
            // Whatever won each race, a digest handed over is the digest of the files in place.
            let in_place: Vec<u8> =
                (1..=16).flat_map(|n| std::fs::read(dir.path().join(n.to_string())).unwrap()).collect();
            if let Some(taken) = digests.take("u") {
                if taken.matches(dir.path()) {
                    let hex = taken.prefix.digest_of_whole(in_place.len() as u64);
                    assert_eq!(hex, Some(hex::encode(Sha256::digest(&in_place))), "round {round}");
                }
            }
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
    fn a_part_sent_twice_spoils_the_prefix() {
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
        // Before the prefix reached it as well: a retry is rare, and never worth a doubt.
        let digests = PrefixDigests::default();
        let dir = tempfile::tempdir().unwrap();
        land(&digests, dir.path(), 3, b"first try");
        land(&digests, dir.path(), 3, &parts[2]);
        for n in [1, 2, 4, 5] {
            land(&digests, dir.path(), n, &parts[n as usize - 1]);
        }
        assert!(digests.take("u").is_none());
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
    fn a_prefix_taken_while_an_arrival_hashes_is_not_handed_over_nor_kept() {
        let dir = tempfile::tempdir().unwrap();
        let digests = PrefixDigests::default();
        land(&digests, dir.path(), 1, b"abc");
        digests.lock().get_mut("u").unwrap().driving = true; // (as if a PUT were hashing)
        assert!(digests.take("u").is_none());
        assert_eq!(digests.len(), 0, "forgotten all the same: nothing is left behind");
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
