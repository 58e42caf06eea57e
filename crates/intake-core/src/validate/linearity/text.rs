//! Text: the one validator that reads every byte. A file of tens of MiB of one-letter words
//! and multi-byte characters (the most characters and words per byte).

use super::{accepted, assert_linear};
use intake_api::Kind;

/// `n` bytes of "a é 語 " repeated, ending on a whole character.
fn worst_text(n: usize) -> Vec<u8> {
    let unit = "a é 語\n".as_bytes();
    let mut out = Vec::with_capacity(n);
    while out.len() + unit.len() <= n {
        out.extend_from_slice(unit);
    }
    out
}

#[test]
fn a_text_of_many_short_words_takes_linear_work() {
    let [small, _] = assert_linear("text words", Kind::Text, 16 << 20, worst_text, |result| {
        accepted(result);
        assert!(result.as_ref().unwrap().properties.word_count > Some(5 << 20));
    });
    assert!(small.bytes >= (16 << 20) - 16, "{small:?}");
}
