//! ZIP: an archive of tens of thousands of entries with long names (each decoded, checked
//! for a path that escapes, sorted by offset for the overlap check, and looked at for a
//! weights file ending).

use super::super::archive::testzip::{write, Entry};
use super::{accepted, assert_linear};
use intake_api::Kind;

/// A ZIP of `n` stored entries of 16 bytes, each named with 300 characters.
fn worst_zip(n: usize) -> Vec<u8> {
    let folder = "layers/".repeat(40);
    let entries: Vec<Entry> = (0..n)
        .map(|i| Entry::stored(&format!("{folder}{i:012}-{}.safetensors", "w".repeat(5)), b"0123456789abcdef"))
        .collect();
    write(&entries, None, false)
}

#[test]
fn a_zip_of_many_long_named_entries_takes_linear_work() {
    let [small, _] = assert_linear("zip entries", Kind::Model, 20_000, worst_zip, accepted);
    // The whole directory was read: 20,000 headers of 46 bytes and their names.
    assert!(small.bytes > 20_000 * 300, "{small:?}");
}
