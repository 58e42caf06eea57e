//! 3D model validation: binary glTF (GLB), glTF JSON, Wavefront OBJ and FBX (binary and
//! ASCII). USDZ is a ZIP and belongs to `archive.rs`.
//!
//! GLB and FBX are walked chunk by chunk / node by node through seeks; glTF is one JSON
//! document, parsed whole under a size cap; OBJ is text, streamed in bounded chunks.

mod fbx;
mod gltf;
mod obj;

use super::{ByteSource, Format, InspectError, Inspection, Rejection};

/// Recognises GLB, FBX, glTF and OBJ from the first bytes.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if gltf::sniff_glb(head) {
        Some(Format::Glb)
    } else if fbx::sniff(head) {
        Some(Format::Fbx)
    } else if gltf::sniff_json(head) {
        Some(Format::Gltf)
    } else if obj::sniff(head) {
        Some(Format::Obj)
    } else {
        None
    }
}

/// Parses a file already sniffed as a mesh `format`.
pub fn inspect(format: Format, src: &dyn ByteSource) -> Result<Inspection, InspectError> {
    let properties = match format {
        Format::Glb => gltf::inspect_glb(src)?,
        Format::Gltf => gltf::inspect_gltf(src)?,
        Format::Obj => obj::inspect(src)?,
        Format::Fbx => fbx::inspect(src)?,
        other => return Err(Rejection(format!("{} is not checked by the mesh validator", other.described())).into()),
    };
    Ok(Inspection { properties, weights: None })
}

fn corrupt(format: Format, what: impl std::fmt::Display) -> InspectError {
    Rejection::corrupt(format, what).into()
}

fn eof() -> InspectError {
    InspectError::Io(std::io::ErrorKind::UnexpectedEof.into())
}

#[cfg(test)]
mod tests {
    use super::super::{validate, ValidateError};
    use super::*;
    use intake_api::Kind;

    #[test]
    fn sniff_leaves_other_formats_alone() {
        assert_eq!(sniff(b"{\"name\": \"not a model\", \"asset\": 3}"), None);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), None);
        assert_eq!(sniff(b"PK\x03\x04\x14\x00\x00\x00"), None);
        assert_eq!(sniff(b"Hello world,\nthis is text.\n"), None);
        assert_eq!(sniff(b""), None);
    }

    /// No fixture of the shared directory (images, audio, video, weights) sniffs as a mesh.
    #[test]
    fn sniff_claims_no_other_fixture() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/validate/fixtures");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let head = &bytes[..bytes.len().min(super::super::SNIFF_LEN)];
            assert_eq!(sniff(head), None, "{}", path.display());
        }
    }

    #[test]
    fn hostile_mutations_never_panic() {
        let obj = b"# c\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvn 0 0 1\nf 1/1/1 2/1/1 3/1/1\n".to_vec();
        let seeds = [
            gltf::tests::triangle_glb(),
            gltf::tests::triangle_gltf(),
            fbx::tests::cube_fbx(7400),
            fbx::tests::cube_fbx(7500),
            obj,
        ];
        for seed in seeds {
            super::super::test_support::mutate_and_validate(&seed, 400);
        }
    }

    #[test]
    fn kind_mismatch_messages() {
        let obj = b"# cube\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n".to_vec();
        match validate(Kind::Audio, &obj) {
            Err(ValidateError::Rejected(r)) => {
                assert_eq!(r.0, "expected audio (WAV, MP3, FLAC, Ogg, M4A, AAC or AIFF), found a Wavefront OBJ model")
            }
            other => panic!("{other:?}"),
        }
        let glb = gltf::tests::triangle_glb();
        match validate(Kind::Image, &glb) {
            Err(ValidateError::Rejected(r)) => {
                assert_eq!(r.0, "expected an image (PNG, JPEG, WebP or GIF), found a binary glTF (GLB) model")
            }
            other => panic!("{other:?}"),
        }
        let fbx = fbx::tests::cube_fbx(7400);
        match validate(Kind::Model, &fbx) {
            Err(ValidateError::Rejected(r)) => assert_eq!(
                r.0,
                "expected model weights (safetensors, ckpt/pt/bin, GGUF or a ZIP of them), found an FBX model"
            ),
            other => panic!("{other:?}"),
        }
        let gltf = gltf::tests::triangle_gltf();
        match validate(Kind::Video, &gltf) {
            Err(ValidateError::Rejected(r)) => {
                assert_eq!(r.0, "expected a video (MP4, MOV, WebM, MKV, AVI or MPEG-TS), found a glTF model")
            }
            other => panic!("{other:?}"),
        }
        // Text uploads accept glTF and OBJ (they are UTF-8 text).
        assert!(matches!(validate(Kind::ThreeD, &obj), Ok(f) if f.format == Format::Obj));
    }
}
