//! 3D model validation: binary glTF (GLB), glTF JSON, Wavefront OBJ, FBX (binary and
//! ASCII), STL (binary and ASCII), PLY (ASCII and binary), COLLADA, 3MF, USDA and USDC.
//! USDZ is a ZIP and belongs to `archive.rs`.
//!
//! GLB and FBX are walked chunk by chunk / node by node through seeks; glTF is one JSON
//! document, parsed whole under a size cap; OBJ, ASCII STL, ASCII PLY and USDA are text,
//! streamed in bounded chunks; binary STL and USDC are judged from their headers and size,
//! binary PLY from its header, size and a bounded walk of its lists; COLLADA and a 3MF's
//! model part are streamed through a bounded XML tag scanner (`mesh/xml.rs`).

mod dae;
mod fbx;
mod gltf;
mod lines;
mod obj;
mod ply;
mod stl;
mod threemf;
mod usd;
mod xml;

use super::{ByteSource, Format, InspectError, Inspection, Rejection};

/// Recognises GLB, FBX, glTF, OBJ, STL, PLY, COLLADA, 3MF and USDA/USDC from the first
/// bytes of a file of `total_len` bytes (binary STL has no magic number: its size tells).
pub fn sniff(head: &[u8], total_len: u64) -> Option<Format> {
    if let Some(f) = usd::sniff(head) {
        Some(f)
    } else if ply::sniff(head) {
        Some(Format::Ply)
    } else if threemf::sniff(head) {
        Some(Format::ThreeMf)
    } else if dae::sniff(head) {
        Some(Format::Dae)
    } else if gltf::sniff_glb(head) {
        Some(Format::Glb)
    } else if fbx::sniff(head) {
        Some(Format::Fbx)
    } else if gltf::sniff_json(head) {
        Some(Format::Gltf)
    } else if obj::sniff(head) {
        Some(Format::Obj)
    } else if stl::sniff(head, total_len) {
        Some(Format::Stl)
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
        Format::Stl => stl::inspect(src)?,
        Format::Ply => ply::inspect(src)?,
        Format::Dae => dae::inspect(src)?,
        Format::ThreeMf => threemf::inspect(src)?,
        Format::Usda | Format::Usdc => usd::inspect(format, src)?,
        other => return Err(Rejection(format!("{} is not checked by the mesh validator", other.described())).into()),
    };
    Ok(Inspection { properties, weights: None })
}

/// True when `src`, a ZIP, is a 3MF package (its model part is listed in the central
/// directory): see `mesh/threemf.rs`.
pub fn is_3mf(src: &dyn ByteSource) -> std::io::Result<bool> {
    threemf::is_package(src)
}

/// `[start, end)` of a source as a `Read`, in reads of at most 64 KiB.
struct SourceReader<'a> {
    src: &'a dyn ByteSource,
    pos: u64,
    end: u64,
}

impl<'a> SourceReader<'a> {
    fn new(src: &'a dyn ByteSource, start: u64, end: u64) -> Self {
        SourceReader { src, pos: start, end: end.min(src.len()) }
    }
}

impl std::io::Read for SourceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = self.end.saturating_sub(self.pos).min(buf.len().min(64 * 1024) as u64) as usize;
        if want == 0 {
            return Ok(0);
        }
        super::read_exact_at(self.src, self.pos, &mut buf[..want])?;
        self.pos += want as u64;
        Ok(want)
    }
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
        assert_eq!(sniff(b"{\"name\": \"not a model\", \"asset\": 3}", 30), None);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 100), None);
        assert_eq!(sniff(b"PK\x03\x04\x14\x00\x00\x00", 100), None);
        assert_eq!(sniff(b"Hello world,\nthis is text.\n", 100), None);
        assert_eq!(sniff(b"", 100), None);
    }

    /// No fixture of the shared directory (images, audio, video, weights) sniffs as a mesh,
    /// except the `mesh_*` ones, each as its own format.
    #[test]
    fn sniff_claims_no_other_fixture() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/validate/fixtures");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap();
            let head = &bytes[..bytes.len().min(super::super::SNIFF_LEN)];
            let expected = match name.rsplit('.').next().unwrap() {
                _ if !name.starts_with("mesh_") => None,
                "stl" => Some(Format::Stl),
                "ply" => Some(Format::Ply),
                "dae" => Some(Format::Dae),
                "3mf" => Some(Format::ThreeMf),
                "usda" => Some(Format::Usda),
                "usdc" => Some(Format::Usdc),
                _ => panic!("unexpected mesh fixture {name}"),
            };
            assert_eq!(sniff(head, bytes.len() as u64), expected, "{}", path.display());
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
    fn hostile_mutations_of_the_new_formats_never_panic() {
        for name in [
            "mesh_box_binary.stl",
            "mesh_box_ascii.stl",
            "mesh_box_binary.ply",
            "mesh_box_ascii.ply",
            "mesh_box_big.ply",
            "mesh_box.dae",
            "mesh_box.3mf",
            "mesh_box.usda",
            "mesh_box.usdc",
            "tiny.onnx",
        ] {
            let seed = super::super::test_support::fixture(name);
            super::super::test_support::mutate_and_validate(&seed, 300);
            for kind in [Kind::ThreeD, Kind::Model, Kind::Text] {
                for cut in 0..seed.len().min(600) {
                    let _ = validate(kind, &seed[..cut].to_vec());
                }
            }
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
                assert_eq!(r.0, "expected an image (PNG, JPEG, WebP, GIF, AVIF, HEIC, TIFF, BMP, TGA, PSD, OpenEXR or Radiance HDR), found a binary glTF (GLB) model")
            }
            other => panic!("{other:?}"),
        }
        let fbx = fbx::tests::cube_fbx(7400);
        match validate(Kind::Model, &fbx) {
            Err(ValidateError::Rejected(r)) => assert_eq!(
                r.0,
                "expected model weights (safetensors, ckpt/pt/bin, GGUF, ONNX or a ZIP of them), found an FBX model"
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
