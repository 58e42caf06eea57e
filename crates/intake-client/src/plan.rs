//! Choosing how a file is cut into parts, under the S3 rules the API enforces
//! (`intake_api::limits`): every part but the last at least 5 MiB and at most 5 GiB, at most
//! 10,000 parts, files up to 5 TiB.

use crate::error::{Error, Result};

pub use intake_api::limits::{MAX_FILE_SIZE, MAX_PART_SIZE, MIN_PART_SIZE};

/// Most parts in one upload ([`intake_api::MAX_PARTS`], as a byte-count type).
pub const MAX_PARTS: u64 = intake_api::MAX_PARTS as u64;

const MIB: u64 = 1024 * 1024;
/// Part size when none is asked for (grown as needed to stay within 10,000 parts).
pub const DEFAULT_PART_SIZE: u64 = 16 * MIB;

/// How a file of `file_size` bytes is cut: `parts` parts of `part_size` bytes, the last one
/// shorter (or the only one, of any size, possibly empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartPlan {
    pub file_size: u64,
    pub part_size: u64,
    pub parts: u32,
}

impl PartPlan {
    /// Plans `file_size` bytes with `requested` bytes per part (default
    /// [`DEFAULT_PART_SIZE`]). A requested size below 5 MiB or above 5 GiB is an error; one
    /// that would need more than 10,000 parts is raised to the smallest whole MiB that fits.
    pub fn new(file_size: u64, requested: Option<u64>) -> Result<Self> {
        if file_size > MAX_FILE_SIZE {
            return Err(Error::Invalid(format!(
                "the file is {file_size} bytes: the largest upload is 5 TiB ({MAX_FILE_SIZE} bytes)"
            )));
        }
        if let Some(size) = requested {
            if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&size) {
                return Err(Error::Invalid(format!(
                    "part size {size} bytes is outside the allowed range: 5 MiB ({MIN_PART_SIZE}) to 5 GiB ({MAX_PART_SIZE})"
                )));
            }
        }
        let wanted = requested.unwrap_or(DEFAULT_PART_SIZE);
        let smallest_fitting = file_size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
        let part_size = wanted.max(smallest_fitting);
        let parts = file_size.div_ceil(part_size).max(1);
        Ok(Self { file_size, part_size, parts: parts as u32 })
    }

    /// A plan that an existing upload was created with (`fileSize` and `partsCount`), for
    /// resuming it: the part size is the one that cuts the file into exactly that many parts.
    pub fn for_existing(file_size: u64, parts: u32, part_size: u64) -> Option<Self> {
        let plan = Self { file_size, part_size, parts };
        let fits = parts >= 1
            && (parts == 1 && part_size >= file_size
                || part_size >= MIN_PART_SIZE && file_size.div_ceil(part_size) == parts as u64);
        fits.then_some(plan)
    }

    /// Byte offset and length of part `number` (1-based).
    pub fn range(&self, number: u32) -> (u64, u64) {
        let start = (number as u64 - 1) * self.part_size;
        let end = (start + self.part_size).min(self.file_size);
        (start, end.saturating_sub(start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_go_in_one_part_even_when_empty() {
        assert_eq!(PartPlan::new(0, None).unwrap().parts, 1);
        assert_eq!(PartPlan::new(0, None).unwrap().range(1), (0, 0));
        let plan = PartPlan::new(3 * MIB, Some(5 * MIB)).unwrap();
        assert_eq!((plan.parts, plan.range(1)), (1, (0, 3 * MIB)));
    }

    #[test]
    fn parts_cover_the_file_exactly() {
        let plan = PartPlan::new(12 * MIB + 7, Some(5 * MIB)).unwrap();
        assert_eq!(plan.parts, 3);
        assert_eq!(plan.range(1), (0, 5 * MIB));
        assert_eq!(plan.range(3), (10 * MIB, 2 * MIB + 7));
        let total: u64 = (1..=plan.parts).map(|n| plan.range(n).1).sum();
        assert_eq!(total, plan.file_size);
    }

    #[test]
    fn the_part_size_grows_to_stay_within_ten_thousand_parts() {
        let plan = PartPlan::new(MAX_FILE_SIZE, None).unwrap();
        assert!(plan.parts as u64 <= MAX_PARTS, "{plan:?}");
        assert!(plan.part_size <= MAX_PART_SIZE);
        assert_eq!(plan.part_size % MIB, 0);
        let plan = PartPlan::new(200 * 1024 * MIB, Some(5 * MIB)).unwrap();
        assert!(plan.parts as u64 <= MAX_PARTS && plan.part_size > 5 * MIB, "{plan:?}");
    }

    #[test]
    fn impossible_requests_are_refused_with_the_rule() {
        let err = PartPlan::new(10 * MIB, Some(MIB)).unwrap_err().to_string();
        assert!(err.contains("5 MiB"), "{err}");
        assert!(PartPlan::new(MAX_FILE_SIZE + 1, None).unwrap_err().to_string().contains("5 TiB"));
    }

    #[test]
    fn existing_uploads_are_checked_against_the_file() {
        assert!(PartPlan::for_existing(12 * MIB, 3, 5 * MIB).is_some());
        assert!(PartPlan::for_existing(12 * MIB, 2, 5 * MIB).is_none());
        assert!(PartPlan::for_existing(100, 1, 16 * MIB).is_some());
    }
}
