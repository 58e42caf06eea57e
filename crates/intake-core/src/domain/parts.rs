//! The part-size rules every backend enforces alike (the S3 rule): every part but the last
//! is at least 5 MiB, every part at most 5 GiB, 1 to 10,000 parts. A single-part upload may
//! be any size up to 5 GiB. The numbers are the contract's (`intake_api::limits`); the
//! checks are here.

pub use intake_api::limits::{MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE};

/// A 1-based part number, at most [`MAX_PARTS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartNumber(u32);

impl PartNumber {
    /// Parses a part number; `None` outside 1..=10,000.
    pub fn new(n: u32) -> Option<Self> {
        (1..=MAX_PARTS).contains(&n).then_some(PartNumber(n))
    }

    /// The number as an integer.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Why a file size, part count or part size breaks the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartPlanError {
    #[error("parts must be a whole number from 1 to {MAX_PARTS}, got {0}")]
    PartsOutOfRange(u64),
    #[error("fileSize {file_size} cannot be split into {parts} parts: every part but the last must be at least 5 MiB ({MIN_PART_SIZE} bytes), so {parts} parts need at least {min} bytes; use at most {max_parts} parts")]
    TooManyParts { file_size: u64, parts: u32, min: u64, max_parts: u64 },
    #[error("fileSize {file_size} cannot be split into {parts} parts: a part may be at most 5 GiB ({MAX_PART_SIZE} bytes), so use at least {min_parts} parts")]
    TooFewParts { file_size: u64, parts: u32, min_parts: u64 },
    #[error("part {number} is {size} bytes: every part but the last must be at least 5 MiB ({MIN_PART_SIZE} bytes)")]
    PartTooSmall { number: u32, size: u64 },
    #[error("part {number} is {size} bytes: a part may be at most 5 GiB ({MAX_PART_SIZE} bytes)")]
    PartTooLarge { number: u32, size: u64 },
    #[error("part {number} is {size} bytes, more than the whole file's fileSize of {file_size} bytes")]
    PartLargerThanFile { number: u32, size: u64, file_size: u64 },
}

/// Checks that a file of `file_size` bytes can be sent in `parts` parts.
pub fn check_plan(file_size: u64, parts: u32) -> Result<(), PartPlanError> {
    if parts == 0 || parts > MAX_PARTS {
        return Err(PartPlanError::PartsOutOfRange(parts as u64));
    }
    // Every part holds at least one byte, and all but the last at least MIN_PART_SIZE.
    let min = if parts == 1 { 0 } else { (parts as u64 - 1) * MIN_PART_SIZE + 1 };
    if file_size < min {
        let max_parts = if file_size <= MIN_PART_SIZE { 1 } else { (file_size - 1) / MIN_PART_SIZE + 1 };
        return Err(PartPlanError::TooManyParts { file_size, parts, min, max_parts });
    }
    if file_size > parts as u64 * MAX_PART_SIZE {
        let min_parts = file_size.div_ceil(MAX_PART_SIZE);
        return Err(PartPlanError::TooFewParts { file_size, parts, min_parts });
    }
    Ok(())
}

/// Checks one part of `size` bytes as it arrives, for an upload of `file_size` in `parts`.
pub fn check_part(number: PartNumber, size: u64, parts: u32, file_size: u64) -> Result<(), PartPlanError> {
    let n = number.get();
    if size > MAX_PART_SIZE {
        return Err(PartPlanError::PartTooLarge { number: n, size });
    }
    if size > file_size {
        return Err(PartPlanError::PartLargerThanFile { number: n, size, file_size });
    }
    if n < parts && size < MIN_PART_SIZE {
        return Err(PartPlanError::PartTooSmall { number: n, size });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn part_numbers_are_1_to_10000() {
        assert!(PartNumber::new(0).is_none());
        assert_eq!(PartNumber::new(1).unwrap().get(), 1);
        assert!(PartNumber::new(10_000).is_some());
        assert!(PartNumber::new(10_001).is_none());
    }

    #[test]
    fn plans_follow_the_s3_rule() {
        assert!(check_plan(0, 1).is_ok());
        assert!(check_plan(10, 1).is_ok());
        assert!(check_plan(5 * MIB + 1, 2).is_ok());
        assert!(matches!(check_plan(5 * MIB, 2), Err(PartPlanError::TooManyParts { max_parts: 1, .. })));
        assert!(matches!(check_plan(10, 2), Err(PartPlanError::TooManyParts { .. })));
        assert!(check_plan(MAX_PART_SIZE, 1).is_ok());
        assert!(matches!(check_plan(MAX_PART_SIZE + 1, 1), Err(PartPlanError::TooFewParts { min_parts: 2, .. })));
        assert!(matches!(check_plan(10, 0), Err(PartPlanError::PartsOutOfRange(0))));
        assert!(matches!(check_plan(u64::MAX, 10_001), Err(PartPlanError::PartsOutOfRange(10_001))));
        assert!(check_plan(10_000 * MAX_PART_SIZE, 10_000).is_ok());
    }

    #[test]
    fn the_reason_says_how_many_parts_fit() {
        let err = check_plan(12 * MIB, 4).unwrap_err().to_string();
        assert!(err.contains("use at most 3 parts"), "{err}");
    }

    #[test]
    fn parts_are_checked_as_they_arrive() {
        let p = |n| PartNumber::new(n).unwrap();
        assert!(check_part(p(1), 5 * MIB, 3, 11 * MIB).is_ok());
        assert!(matches!(
            check_part(p(1), 5 * MIB - 1, 3, 11 * MIB),
            Err(PartPlanError::PartTooSmall { number: 1, .. })
        ));
        assert!(check_part(p(3), 1, 3, 11 * MIB).is_ok(), "the last part may be small");
        assert!(matches!(check_part(p(1), 12 * MIB, 1, 11 * MIB), Err(PartPlanError::PartLargerThanFile { .. })));
        assert!(matches!(check_part(p(1), MAX_PART_SIZE + 1, 2, u64::MAX), Err(PartPlanError::PartTooLarge { .. })));
    }
}
