//! MP4: many tracks, many `trex` defaults and many fragments (`traf`), each of which has
//! to find its track. Looking tracks up by scanning made this quadratic: a 29 MiB file kept
//! a worker busy for a minute.

use super::{accepted, assert_linear};
use crate::validate::worst_case::worst_mp4;
use intake_api::Kind;

#[test]
fn many_tracks_defaults_and_fragments_take_linear_work() {
    let [small, _] = assert_linear("mp4 tracks × trex × traf", Kind::Video, 100_000, worst_mp4, |result| {
        accepted(result);
        let p = &result.as_ref().unwrap().properties;
        assert_eq!((p.width, p.height), (Some(64), Some(48)));
        // The fragments of the video track were found: 10 samples, then 2 per fragment.
        assert!(p.nb_frames.is_some_and(|frames| frames >= 10 + 100_000), "{:?}", p.nb_frames);
    });
    // Every box was walked: 100,000 tracks, 100,000 trex and 100,000 fragments at least.
    assert!(small.steps > 300_000, "{small:?}");
}
