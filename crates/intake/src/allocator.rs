//! The process's memory allocator: mimalloc for small blocks, the system's for large ones.
//!
//! The API's request path allocates many small, short-lived values on one thread and frees
//! them on another; there glibc's `malloc` took its slow, locked paths and was ~13% of the
//! server's CPU, and mimalloc cuts a request's instructions by 7-8% (BENCHMARKS.md,
//! target 5). But mimalloc keeps a block freed by another thread in its owner's heap until
//! that thread allocates again, which for the 1 MiB buffers of the part path raised the
//! server's peak RSS ingesting 4 GiB from ~71 to 112-125 MiB (target 4 bounds it at 128).
//! So blocks of [`LARGE`] bytes and more go to the system allocator (glibc: the largest are
//! mapped and unmapped, the others reused by any thread): few of them are made, each carries
//! a lot of data, and they are never on the API's hot path.

use mimalloc::MiMalloc;
use std::alloc::{GlobalAlloc, Layout, System};

/// Blocks at least this large go to the system allocator.
const LARGE: usize = 64 * 1024;

/// See the module documentation. Every block is freed by the allocator that made it: both
/// choose by the layout's size, which `dealloc` and `realloc` are given unchanged.
pub struct SplitAllocator;

fn is_large(layout: &Layout) -> bool {
    layout.size() >= LARGE
}

unsafe impl GlobalAlloc for SplitAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            System.alloc(layout)
        } else {
            MiMalloc.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_large(&layout) {
            System.alloc_zeroed(layout)
        } else {
            MiMalloc.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_large(&layout) {
            System.dealloc(ptr, layout)
        } else {
            MiMalloc.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY (of the layout): `GlobalAlloc::realloc` requires `new_size`, rounded up to
        // `layout.align()`, not to overflow `isize`, so this layout is valid.
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        match (is_large(&layout), is_large(&new_layout)) {
            (false, false) => MiMalloc.realloc(ptr, layout, new_size),
            (true, true) => System.realloc(ptr, layout, new_size),
            // Crossing the line: a new block from the other allocator, the bytes moved over.
            _ => {
                let new_ptr = self.alloc(new_layout);
                if !new_ptr.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new_ptr
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn blocks_keep_their_bytes_across_the_line() {
        // Grow a vector from small to large and shrink it back: each realloc crosses
        // `LARGE` once, and every byte written must survive.
        let mut v: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        v.reserve_exact(super::LARGE * 2);
        v.extend((1000..super::LARGE as u32 * 2).map(|i| i as u8));
        assert!(v.iter().enumerate().all(|(i, &b)| b == i as u8));
        v.truncate(500);
        v.shrink_to_fit();
        assert!(v.iter().enumerate().all(|(i, &b)| b == i as u8));
        let zeroed = vec![0u8; super::LARGE * 3];
        assert!(zeroed.iter().all(|&b| b == 0));
    }
}
