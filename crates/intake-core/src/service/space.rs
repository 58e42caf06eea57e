//! Free space on the disk that holds intake's own files: below the operator's floor
//! (`INTAKE_MIN_FREE_BYTES`), creates and part PUTs are refused with 507 while every read
//! keeps working, so a full disk never takes the SQLite database down with it.

use super::Service;
use crate::{Error, Result};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// How long a free-space reading is trusted.
const FRESH_FOR_MS: i64 = 1000;

/// Free bytes of one directory's file system, looked up at most once a second.
pub(super) struct FreeSpace {
    dir: Option<PathBuf>,
    bytes: AtomicU64,
    read_at_ms: AtomicI64,
}

impl FreeSpace {
    pub(super) fn new(dir: Option<PathBuf>) -> Self {
        Self { dir, bytes: AtomicU64::new(u64::MAX), read_at_ms: AtomicI64::new(i64::MIN) }
    }

    /// Free bytes now (`None`: nothing kept locally, or the file system cannot tell).
    fn free_bytes(&self) -> Option<u64> {
        let dir = self.dir.as_ref()?;
        let now = super::now_ms();
        if now.saturating_sub(self.read_at_ms.load(Ordering::Relaxed)) >= FRESH_FOR_MS {
            match available_bytes(dir) {
                Some(bytes) => self.bytes.store(bytes, Ordering::Relaxed),
                None => return None,
            }
            self.read_at_ms.store(now, Ordering::Relaxed);
        }
        Some(self.bytes.load(Ordering::Relaxed))
    }
}

/// Bytes an unprivileged writer may still use on `dir`'s file system.
#[cfg(target_os = "linux")]
fn available_bytes(dir: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string and `stats` a writable statvfs the call fills in.
    if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
        return None;
    }
    Some((stats.f_bavail as u64).saturating_mul(stats.f_frsize as u64))
}

#[cfg(not(target_os = "linux"))]
fn available_bytes(_dir: &std::path::Path) -> Option<u64> {
    None
}

impl Service {
    /// `Err` (507) while the disk that holds intake's files has less free space than
    /// `INTAKE_MIN_FREE_BYTES`.
    pub(crate) fn check_free_space(&self) -> Result<()> {
        let floor = self.config.min_free_bytes;
        match self.free_space.free_bytes() {
            Some(free) if free < floor => Err(Error::InsufficientStorage(format!(
                "the server is low on disk space ({free} bytes free, below the {floor} bytes it keeps free); new uploads and parts are refused until the operator frees space, and everything stored can still be read"
            ))),
            _ => Ok(()),
        }
    }
}
