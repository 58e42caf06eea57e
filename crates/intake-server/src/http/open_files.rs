//! The open-file limit: every connection, part being written and file being read holds a
//! descriptor, and the soft limit a shell hands out (often 1024) is far below what
//! `INTAKE_MAX_CONNECTIONS` allows. At start the soft limit is raised to the hard limit, as
//! servers such as nginx (`worker_rlimit_nofile`) and Go's runtime do.

/// Raises this process's soft `RLIMIT_NOFILE` to its hard limit; returns the limit now in
/// force (`None` where it cannot be read).
#[allow(clippy::unnecessary_cast)] // `rlim_t` is not `u64` on every platform
pub(crate) fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: plain syscalls on a struct this function owns.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            // SAFETY: as above.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
                return Some(raised.rlim_cur as u64);
            }
            tracing::warn!(soft = limit.rlim_cur, hard = limit.rlim_max, "cannot raise the open-file limit");
        }
        Some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    None
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    #[allow(clippy::unnecessary_cast)] // `rlim_t` is not `u64` on every platform
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: plain syscalls on a struct the test owns.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0);
        let hard = limit.rlim_max;
        if hard > 64 {
            // One below the hard limit: lowered far enough to see it raised, never so far
            // that another test of this process runs out.
            let lowered = libc::rlimit { rlim_cur: hard - 1, rlim_max: hard };
            // SAFETY: as above.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lowered) }, 0);
        }
        assert_eq!(super::raise_open_file_limit(), Some(hard as u64));
        // SAFETY: as above.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0);
        assert_eq!(limit.rlim_cur, hard);
    }
}
