//! The origin's `Content-Type` against what the downloaded bytes are.
//!
//! An origin's type is a claim; the bytes are the truth. [`check`] says whether the claim
//! contradicts the sniffed format in a way that matters:
//! - generic types (none, `application/octet-stream`, `binary/octet-stream`,
//!   `application/x-download`, …) and types intake cannot judge are accepted;
//! - a web page or other text (`text/html`, `application/json`, …) for an import whose kind
//!   wants a binary file, when the bytes are indeed text, means the link led to a page (a
//!   login, an error, a "click to download" page) rather than to the file;
//! - a media type (`image/*`, `video/*`, `audio/*`, `model/*`, `application/zip`,
//!   `application/pdf`) whose family differs from the recognised format of the bytes (an
//!   "image" that is a ZIP archive) means the origin sends something other than it says.
//!
//! When the bytes are text but the claim is a specific binary type, the same rule applies:
//! an origin that says `image/png` and sends a page is not serving the file.

use crate::validate::{Family, Format};
use intake_api::Kind;

/// Types that say nothing about the content: accepted whatever the bytes are.
const GENERIC: [&str; 10] = [
    "application/octet-stream",
    "binary/octet-stream",
    "application/x-download",
    "application/download",
    "application/force-download",
    "application/x-force-download",
    "application/binary",
    "application/x-binary",
    "application/unknown",
    "*/*",
];

/// The media type without parameters, lower-cased: `Text/HTML; charset=utf-8` → `text/html`.
pub fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// What a declared type claims the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// Nothing in particular, or a type intake cannot judge.
    Nothing,
    /// A web page (`text/html`, `application/xhtml+xml`).
    WebPage,
    /// Other text: plain text, JSON, XML (often an API's error answer).
    Text,
    /// A binary family: image, audio/video, 3D, archive, document.
    Media(Family),
}

fn claim(essence: &str) -> Claim {
    if essence.is_empty() || GENERIC.contains(&essence) {
        return Claim::Nothing;
    }
    let (top, sub) = essence.split_once('/').unwrap_or((essence, ""));
    match (top, sub) {
        ("text", "html") | ("application", "xhtml+xml") => Claim::WebPage,
        // SVG is an image written as XML text; intake does not sniff it, so it cannot judge.
        ("image", "svg+xml") => Claim::Nothing,
        ("text", _) => Claim::Text,
        ("application", "json" | "xml" | "problem+json" | "problem+xml" | "javascript") => Claim::Text,
        ("image", _) => Claim::Media(Family::Image),
        ("video", _) | ("audio", _) => Claim::Media(Family::Video),
        ("model", _) => Claim::Media(Family::Mesh),
        ("application", "zip" | "x-zip-compressed" | "x-zip") => Claim::Media(Family::Archive),
        ("application", "pdf") => Claim::Media(Family::Document),
        _ => Claim::Nothing,
    }
}

/// Whether bytes of `format` fit a claimed media `family`.
fn fits(family: Family, format: Format) -> bool {
    match (family, format.family()) {
        (_, Family::Unknown) => true,
        (a, b) if a == b => true,
        // Audio and video share their containers (MP4, WebM, Ogg, Matroska).
        (Family::Video, Family::Audio) => true,
        // glTF and OBJ are text; USDZ is a ZIP.
        (Family::Mesh, Family::Text) => matches!(format, Format::Gltf | Format::Obj | Format::Json),
        (Family::Mesh, Family::Archive) => true,
        // A ZIP may be a PyTorch checkpoint or a USDZ.
        (Family::Archive, Family::Weights) => format == Format::TorchZip,
        (Family::Archive, Family::Mesh) => format == Format::Usdz,
        _ => false,
    }
}

/// Whether an upload of `kind` wants a binary file (not text, not anything at all).
fn wants_binary(kind: Kind) -> bool {
    !matches!(kind, Kind::Text | Kind::Asset)
}

/// `Err(reason)` when `declared` (the origin's `Content-Type`) contradicts `sniffed` (what
/// the bytes are) for an upload of `kind`, the reason being a sentence a person can act on.
/// `what` names the download in the sentence ("the URL https://…").
pub fn check(declared: Option<&str>, sniffed: Format, kind: Kind, what: &str) -> Result<(), String> {
    let Some(declared) = declared else { return Ok(()) };
    let essence = essence(declared);
    let bytes_are_text = matches!(sniffed.family(), Family::Text | Family::Unknown);
    match claim(&essence) {
        Claim::Nothing => Ok(()),
        Claim::WebPage if bytes_are_text && wants_binary(kind) => Err(format!(
            "{what} served {essence} (a web page), not the file itself; it is probably a login, error or \
             download page. Use a direct download link to the file"
        )),
        Claim::Text if bytes_are_text && wants_binary(kind) => Err(format!(
            "{what} served {essence} ({}), not the file itself; it is probably an error answer. \
             Use a direct download link to the file",
            sniffed.described()
        )),
        Claim::WebPage | Claim::Text => Ok(()),
        Claim::Media(family) if fits(family, sniffed) => Ok(()),
        Claim::Media(_) => Err(format!(
            "{what} said it serves {essence} but sent {}; the origin is sending something other than it \
             claims. Check the link, or use a direct download link to the file",
            sniffed.described()
        )),
    }
}

/// The type to record for a downloaded file: what the bytes are when they are recognised,
/// else what the origin said (else `application/octet-stream`).
pub fn recorded(declared: Option<&str>, sniffed: Format) -> String {
    match sniffed {
        Format::Unknown => declared.map(str::to_string).unwrap_or_else(|| Format::Unknown.mime_type().to_string()),
        f => f.mime_type().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHAT: &str = "the URL https://example.com/x";

    #[test]
    fn generic_and_missing_types_are_accepted_whatever_the_bytes() {
        for declared in [
            None,
            Some(""),
            Some("application/octet-stream"),
            Some("Binary/Octet-Stream"),
            Some("application/x-download; name=x"),
            Some("application/force-download"),
        ] {
            for format in [Format::Png, Format::Zip, Format::Text, Format::Safetensors, Format::Unknown] {
                assert_eq!(check(declared, format, Kind::Image, WHAT), Ok(()), "{declared:?} {format:?}");
            }
        }
    }

    #[test]
    fn a_web_page_for_a_binary_kind_is_refused_with_what_to_do() {
        let err = check(Some("text/html; charset=utf-8"), Format::Text, Kind::Image, WHAT).unwrap_err();
        assert!(err.contains("served text/html (a web page), not the file itself"), "{err}");
        assert!(err.contains("direct download link"), "{err}");
        assert!(err.starts_with(WHAT), "{err}");
        assert!(check(Some("text/html"), Format::Unknown, Kind::Model, WHAT).is_err());
        let err = check(Some("application/json"), Format::Json, Kind::Model, WHAT).unwrap_err();
        assert!(err.contains("served application/json (a JSON document)"), "{err}");
    }

    #[test]
    fn a_web_page_is_fine_when_text_is_wanted_or_the_bytes_are_the_file() {
        assert_eq!(check(Some("text/html"), Format::Text, Kind::Text, WHAT), Ok(()));
        assert_eq!(check(Some("text/html"), Format::Text, Kind::Asset, WHAT), Ok(()));
        // A mislabelled PNG is still a PNG: the bytes win.
        assert_eq!(check(Some("text/plain"), Format::Png, Kind::Image, WHAT), Ok(()));
        assert_eq!(check(Some("text/html"), Format::Safetensors, Kind::Model, WHAT), Ok(()));
    }

    #[test]
    fn a_media_type_that_contradicts_the_bytes_is_refused() {
        let err = check(Some("image/png"), Format::Zip, Kind::Asset, WHAT).unwrap_err();
        assert!(err.contains("said it serves image/png but sent a ZIP archive"), "{err}");
        assert!(check(Some("image/jpeg"), Format::Text, Kind::Image, WHAT).is_err());
        assert!(check(Some("video/mp4"), Format::Png, Kind::Video, WHAT).is_err());
        assert!(check(Some("application/pdf"), Format::Zip, Kind::Asset, WHAT).is_err());
    }

    #[test]
    fn related_media_types_fit() {
        assert_eq!(check(Some("image/jpeg"), Format::Png, Kind::Image, WHAT), Ok(()));
        assert_eq!(check(Some("video/mp4"), Format::M4a, Kind::Audio, WHAT), Ok(()));
        assert_eq!(check(Some("audio/webm"), Format::Webm, Kind::Audio, WHAT), Ok(()));
        assert_eq!(check(Some("model/gltf+json"), Format::Gltf, Kind::ThreeD, WHAT), Ok(()));
        assert_eq!(check(Some("model/vnd.usdz+zip"), Format::Zip, Kind::ThreeD, WHAT), Ok(()));
        assert_eq!(check(Some("application/zip"), Format::TorchZip, Kind::Model, WHAT), Ok(()));
        assert_eq!(check(Some("application/zip"), Format::Usdz, Kind::ThreeD, WHAT), Ok(()));
        assert_eq!(check(Some("image/svg+xml"), Format::Text, Kind::Asset, WHAT), Ok(()));
        // Formats intake does not recognise (BMP, TIFF, …) cannot contradict anything.
        assert_eq!(check(Some("image/bmp"), Format::Unknown, Kind::Asset, WHAT), Ok(()));
        assert_eq!(check(Some("application/vnd.example"), Format::Png, Kind::Image, WHAT), Ok(()));
    }

    #[test]
    fn the_recorded_type_is_the_sniffed_one() {
        assert_eq!(recorded(Some("application/octet-stream"), Format::Png), "image/png");
        assert_eq!(recorded(Some("text/plain"), Format::Safetensors), "application/octet-stream");
        assert_eq!(recorded(Some("image/bmp"), Format::Unknown), "image/bmp");
        assert_eq!(recorded(None, Format::Unknown), "application/octet-stream");
    }
}
