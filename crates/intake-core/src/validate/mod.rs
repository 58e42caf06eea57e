//! Validation by real content: sniff what a stored file is, check it against the upload's
//! kind, and report what was found (dimensions, duration, tensor count, …).
//!
//! Nothing here trusts the file name or the declared content type. Each format family has
//! its own module with two entry points:
//! - `sniff(head) -> Option<Format>`: recognise the format from the first bytes only;
//! - `inspect(format, src) -> Result<Inspection, Rejection>`: parse the headers (and, where a
//!   truncated file would otherwise pass, the last bytes) through [`ByteSource`] random
//!   access. Inspecting a multi-gigabyte file reads kilobytes, not the file; only `text`
//!   reads every byte, since UTF-8 validity is a property of the whole file.
//!
//! Every validator runs in time linear in the bytes it reads, with every count a file
//! declares capped before anything is allocated for it; [`work`] counts that work (tests
//! prove it grows linearly) and stops a validation at its deadline ([`validate_within`]).

pub mod digest;
pub mod source;
pub mod work;

mod archive;
mod audio;
mod bmff;
mod image;
#[cfg(test)]
mod linearity;
mod mesh;
#[cfg(test)]
mod test_support;
mod text;
mod video;
mod weights;
pub mod worst_case;

pub use source::{read_exact_at, read_up_to, ByteSource, CountingSource};
pub use weights::pickle::{
    never_allowed as pickle_import_never_allowed, PickleFindings, PicklePolicy, PicklePolicyError, PickleVerdict,
    RefusedImport, DEFAULT_ALLOWED as DEFAULT_PICKLE_IMPORTS,
};

use intake_api::{AssetProperties, Kind};
use std::time::{Duration, Instant};

/// How many leading bytes sniffing looks at.
pub const SNIFF_LEN: usize = 64 * 1024;

/// Every format intake recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Png,
    Jpeg,
    Webp,
    Gif,
    /// AV1 in HEIF (ISO-BMFF `ftyp` brand `avif`/`avis`).
    Avif,
    /// HEVC in HEIF (brands `heic`, `heix`, `heim`, `heis`, `hevc`, `hevx`).
    Heic,
    /// HEIF of another or unnamed codec (brand `mif1`/`msf1` alone).
    Heif,
    /// OpenEXR (`76 2F 31 01`).
    Exr,
    /// Radiance RGBE (`#?RADIANCE`, `#?RGBE`).
    Hdr,
    /// TIFF, classic or BigTIFF, either byte order.
    Tiff,
    /// Windows bitmap (BMP).
    Bmp,
    /// Truevision TGA (Targa).
    Tga,
    /// Adobe Photoshop document, PSD or its large variant PSB.
    Psd,
    Mp4,
    Mov,
    Webm,
    Mkv,
    Avi,
    /// MPEG transport stream: 188-byte packets, or 192-byte M2TS (Blu-ray) packets.
    MpegTs,
    Wav,
    Mp3,
    Flac,
    Ogg,
    M4a,
    /// AAC in ADTS frames (a raw `.aac` stream).
    Aac,
    /// AIFF and AIFF-C.
    Aiff,
    Glb,
    Gltf,
    Obj,
    Fbx,
    Usdz,
    /// STL, ASCII or binary.
    Stl,
    /// Stanford PLY, ASCII or binary.
    Ply,
    /// COLLADA (`.dae`), an XML document.
    Dae,
    /// 3D Manufacturing Format: a ZIP (OPC package) holding `3D/3dmodel.model`.
    ThreeMf,
    /// USD as text (`#usda 1.0`).
    Usda,
    /// USD's binary crate format (`PXR-USDC`).
    Usdc,
    Safetensors,
    /// PyTorch's zip checkpoint (`.ckpt`, `.pt`, `.bin` written by `torch.save`).
    TorchZip,
    /// A bare pickle stream (older `.ckpt`/`.bin`).
    Pickle,
    Gguf,
    /// An ONNX model (a protobuf `ModelProto`).
    Onnx,
    Zip,
    Json,
    Text,
    Pdf,
    Unknown,
}

/// The broad families that kinds accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Image,
    Video,
    Audio,
    Mesh,
    Weights,
    Archive,
    Text,
    Document,
    Unknown,
}

impl Format {
    /// The family the format belongs to.
    pub fn family(self) -> Family {
        use Format::*;
        match self {
            Png | Jpeg | Webp | Gif | Avif | Heic | Heif | Exr | Hdr | Tiff | Bmp | Tga | Psd => Family::Image,
            Mp4 | Mov | Webm | Mkv | Avi | MpegTs => Family::Video,
            Wav | Mp3 | Flac | Ogg | M4a | Aac | Aiff => Family::Audio,
            Glb | Gltf | Obj | Fbx | Usdz | Stl | Ply | Dae | ThreeMf | Usda | Usdc => Family::Mesh,
            Safetensors | TorchZip | Pickle | Gguf | Onnx => Family::Weights,
            Zip => Family::Archive,
            Json | Text => Family::Text,
            Pdf => Family::Document,
            Unknown => Family::Unknown,
        }
    }

    /// Short lowercase name, reported as `properties.format`.
    pub fn name(self) -> &'static str {
        use Format::*;
        match self {
            Png => "png",
            Jpeg => "jpeg",
            Webp => "webp",
            Gif => "gif",
            Avif => "avif",
            Heic => "heic",
            Heif => "heif",
            Exr => "exr",
            Hdr => "hdr",
            Tiff => "tiff",
            Bmp => "bmp",
            Tga => "tga",
            Psd => "psd",
            Mp4 => "mp4",
            Mov => "mov",
            Webm => "webm",
            Mkv => "mkv",
            Avi => "avi",
            MpegTs => "mpegts",
            Wav => "wav",
            Mp3 => "mp3",
            Flac => "flac",
            Ogg => "ogg",
            M4a => "m4a",
            Aac => "aac",
            Aiff => "aiff",
            Glb => "glb",
            Gltf => "gltf",
            Obj => "obj",
            Fbx => "fbx",
            Usdz => "usdz",
            Stl => "stl",
            Ply => "ply",
            Dae => "dae",
            ThreeMf => "3mf",
            Usda => "usda",
            Usdc => "usdc",
            Safetensors => "safetensors",
            TorchZip => "pytorch",
            Pickle => "pickle",
            Gguf => "gguf",
            Onnx => "onnx",
            Zip => "zip",
            Json => "json",
            Text => "text",
            Pdf => "pdf",
            Unknown => "unknown",
        }
    }

    /// The MIME type the stored file is served with.
    pub fn mime_type(self) -> &'static str {
        use Format::*;
        match self {
            Png => "image/png",
            Jpeg => "image/jpeg",
            Webp => "image/webp",
            Gif => "image/gif",
            Avif => "image/avif",
            Heic => "image/heic",
            Heif => "image/heif",
            Exr => "image/x-exr",
            Hdr => "image/vnd.radiance",
            Tiff => "image/tiff",
            Bmp => "image/bmp",
            Tga => "image/x-tga",
            Psd => "image/vnd.adobe.photoshop",
            Mp4 => "video/mp4",
            Mov => "video/quicktime",
            Webm => "video/webm",
            Mkv => "video/x-matroska",
            Avi => "video/x-msvideo",
            MpegTs => "video/mp2t",
            Wav => "audio/wav",
            Mp3 => "audio/mpeg",
            Flac => "audio/flac",
            Ogg => "audio/ogg",
            M4a => "audio/mp4",
            Aac => "audio/aac",
            Aiff => "audio/aiff",
            Glb => "model/gltf-binary",
            Gltf => "model/gltf+json",
            Obj => "model/obj",
            Fbx => "application/octet-stream",
            Usdz => "model/vnd.usdz+zip",
            Stl => "model/stl",
            Ply | Usdc => "application/octet-stream",
            Dae => "model/vnd.collada+xml",
            ThreeMf => "model/3mf",
            Usda => "model/vnd.usda",
            Safetensors | TorchZip | Pickle | Gguf | Onnx => "application/octet-stream",
            Zip => "application/zip",
            Json => "application/json",
            Text => "text/plain; charset=utf-8",
            Pdf => "application/pdf",
            Unknown => "application/octet-stream",
        }
    }

    /// The format as a person names it, with its article: "a PNG image", "a ZIP archive".
    pub fn described(self) -> &'static str {
        use Format::*;
        match self {
            Png => "a PNG image",
            Jpeg => "a JPEG image",
            Webp => "a WebP image",
            Gif => "a GIF image",
            Avif => "an AVIF image",
            Heic => "a HEIC image",
            Heif => "a HEIF image",
            Exr => "an OpenEXR image",
            Hdr => "a Radiance HDR image",
            Tiff => "a TIFF image",
            Bmp => "a BMP image",
            Tga => "a TGA image",
            Psd => "a Photoshop (PSD) image",
            Mp4 => "an MP4 video",
            Mov => "a QuickTime (MOV) video",
            Webm => "a WebM video",
            Mkv => "a Matroska (MKV) video",
            Avi => "an AVI video",
            MpegTs => "an MPEG transport stream (TS) video",
            Wav => "a WAV audio file",
            Mp3 => "an MP3 audio file",
            Flac => "a FLAC audio file",
            Ogg => "an Ogg audio file",
            M4a => "an M4A audio file",
            Aac => "an AAC (ADTS) audio file",
            Aiff => "an AIFF audio file",
            Glb => "a binary glTF (GLB) model",
            Gltf => "a glTF model",
            Obj => "a Wavefront OBJ model",
            Fbx => "an FBX model",
            Usdz => "a USDZ model",
            Stl => "an STL model",
            Ply => "a PLY model",
            Dae => "a COLLADA (DAE) model",
            ThreeMf => "a 3MF model",
            Usda => "a USDA (text USD) model",
            Usdc => "a USDC (binary USD) model",
            Safetensors => "a safetensors weights file",
            TorchZip => "a PyTorch checkpoint",
            Pickle => "a Python pickle",
            Gguf => "a GGUF weights file",
            Onnx => "an ONNX model",
            Zip => "a ZIP archive",
            Json => "a JSON document",
            Text => "a text file",
            Pdf => "a PDF document",
            Unknown => "data of no format intake recognises",
        }
    }
}

/// What inspecting a file found beyond its format.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    /// Properties in the SDK's field names (`size` is filled in by [`validate`]).
    pub properties: AssetProperties,
    /// For model weights: what the tensors say.
    pub weights: Option<WeightsInfo>,
}

/// What a weights file's header tells about the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeightsInfo {
    /// Number of tensors, where the format lists them.
    pub tensor_count: Option<u64>,
    /// Total number of parameters (elements), where the header gives shapes.
    pub parameter_count: Option<u64>,
    /// Distinct dtypes, sorted (`F16`, `BF16`, …).
    pub dtypes: Vec<String>,
    /// The Scenario model type the tensor names point to (`flux.1-lora`, …), if any.
    pub model_type: Option<&'static str>,
}

/// The full result of validating a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Findings {
    pub format: Format,
    pub properties: AssetProperties,
    pub weights: Option<WeightsInfo>,
    /// For files that hold pickles: every object they import, sorted and distinct.
    pub pickle_imports: Option<Vec<String>>,
}

/// Why a file was refused: a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejection(pub String);

impl Rejection {
    /// A rejection of `format` whose structure is broken, with what was wrong.
    pub fn corrupt(format: Format, what: impl std::fmt::Display) -> Self {
        Rejection(format!("the file looks like {} but is damaged: {what}", format.described()))
    }
}

/// A failure to read the stored file (an I/O problem, not the client's fault).
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error("{0}")]
    Rejected(#[from] Rejection),
    #[error("reading the stored file failed: {0}")]
    Io(#[from] std::io::Error),
    /// The validation ran past its time limit and was stopped (see [`validate_within`]).
    #[error("validation took longer than {} and was stopped", seconds(*.0))]
    TimedOut(Duration),
}

/// A duration for people: "300 s", "0.25 s".
pub fn seconds(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} s", d.as_secs_f64())
    }
}

/// Recognises the format of `src` from its first bytes.
pub fn sniff(src: &dyn ByteSource) -> std::io::Result<Format> {
    let head = read_up_to(src, 0, SNIFF_LEN)?;
    Ok(sniff_head(&head, src.len()))
}

/// Recognises the format from `head`, the first bytes of a file of `total_len` bytes.
pub fn sniff_head(head: &[u8], total_len: u64) -> Format {
    if let Some(f) = image::sniff(head) {
        return f;
    }
    if let Some(f) = bmff::sniff(head) {
        return f;
    }
    if let Some(f) = video::sniff(head) {
        return f;
    }
    if let Some(f) = audio::sniff(head) {
        return f;
    }
    if let Some(f) = mesh::sniff(head, total_len) {
        return f;
    }
    if let Some(f) = weights::sniff(head, total_len) {
        return f;
    }
    if let Some(f) = archive::sniff(head) {
        return f;
    }
    if head.starts_with(b"%PDF-") {
        return Format::Pdf;
    }
    // TGA has no signature: its header fields are judged last, after every format that has one.
    if let Some(f) = image::sniff_tga(head) {
        return f;
    }
    text::sniff(head, total_len).unwrap_or(Format::Unknown)
}

/// What a kind accepts, in words, for rejections: "an image (PNG, JPEG, …)".
fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Image | Kind::Avatar => {
            "an image (PNG, JPEG, WebP, GIF, AVIF, HEIC, TIFF, BMP, TGA, PSD, OpenEXR or Radiance HDR)"
        }
        Kind::Video => "a video (MP4, MOV, WebM, MKV, AVI or MPEG-TS)",
        Kind::Audio => "audio (WAV, MP3, FLAC, Ogg, M4A, AAC or AIFF)",
        Kind::ThreeD => "a 3D model (GLB, glTF, OBJ, FBX, USDZ, STL, PLY, COLLADA, 3MF or USD)",
        Kind::Model => "model weights (safetensors, ckpt/pt/bin, GGUF, ONNX or a ZIP of them)",
        Kind::Text => "UTF-8 text",
        Kind::Asset => "any file",
    }
}

fn kind_accepts(kind: Kind, format: Format) -> bool {
    let family = format.family();
    match kind {
        Kind::Image | Kind::Avatar => family == Family::Image,
        Kind::Video => family == Family::Video,
        Kind::Audio => family == Family::Audio,
        Kind::ThreeD => family == Family::Mesh,
        Kind::Model => matches!(family, Family::Weights | Family::Archive),
        // Any UTF-8 text, including JSON, glTF, OBJ, ASCII STL and PLY, COLLADA and USDA;
        // checked byte by byte in `inspect`.
        // Unknown data is read as text too, so the reason names the first bad byte.
        Kind::Text => {
            matches!(family, Family::Text | Family::Unknown)
                || matches!(format, Format::Gltf | Format::Obj | Format::Stl | Format::Ply | Format::Dae | Format::Usda)
        }
        Kind::Asset => true,
    }
}

/// Like [`validate_with`], but stops once `limit` has gone by: reads of `src` then fail and
/// the validators' loops give up (see [`work`]), so the calling thread really comes back,
/// with [`ValidateError::TimedOut`]. A validation that finished in time keeps its answer.
pub fn validate_within(
    kind: Kind,
    src: &dyn ByteSource,
    pickles: &PicklePolicy,
    limit: Duration,
) -> Result<Findings, ValidateError> {
    let limits = work::Limits { deadline: Instant::now().checked_add(limit), max_steps: None };
    let (result, report) = work::run(limits, || validate_with(kind, src, pickles));
    match result {
        Err(_) if report.stopped => Err(ValidateError::TimedOut(limit)),
        other => other,
    }
}

/// Validates `src` as a file of `kind` with the default pickle policy (see
/// [`validate_with`]).
pub fn validate(kind: Kind, src: &dyn ByteSource) -> Result<Findings, ValidateError> {
    validate_with(kind, src, &PicklePolicy::default())
}

/// Validates `src` as a file of `kind`: sniffs its format, refuses it if the kind does not
/// accept that format, then parses it and returns what was found. A model whose pickles
/// import anything `pickles` does not allow, or that cannot be read to their end, is
/// refused with what it imports and why. Reads are metered (see [`work`]); without an
/// enclosing [`work::run`] nothing limits them.
pub fn validate_with(kind: Kind, src: &dyn ByteSource, pickles: &PicklePolicy) -> Result<Findings, ValidateError> {
    let metered = work::Metered::new(src);
    let src: &dyn ByteSource = &metered;
    let size = src.len();
    if size == 0 && !matches!(kind, Kind::Asset | Kind::Text) {
        return Err(Rejection(format!(
            "expected {}, found an empty file (only kinds asset and text accept an empty file)",
            expected(kind)
        ))
        .into());
    }
    // An empty text is a text (of no characters), not a file of unknown format.
    let sniffed = if size == 0 && kind == Kind::Text { Format::Text } else { sniff(src)? };
    // A 3MF whose model part is not among the first local headers sniffs as a plain ZIP:
    // its central directory tells.
    let sniffed = if sniffed == Format::Zip && matches!(kind, Kind::ThreeD | Kind::Asset) && mesh::is_3mf(src)? {
        Format::ThreeMf
    } else {
        sniffed
    };
    // Sniffing sees only the brand; when the index sits at the end of the file a
    // sound-only MP4 looks like a video. For kind audio, judge it by its sound track.
    let mut format =
        if kind == Kind::Audio && matches!(sniffed, Format::Mp4 | Format::Mov) { Format::M4a } else { sniffed };
    let mismatch = || Rejection(format!("expected {}, found {}", expected(kind), sniffed.described()));
    if !kind_accepts(kind, format) {
        return Err(mismatch().into());
    }
    let inspection = match kind {
        Kind::Text => text::inspect(Format::Text, src),
        // An asset may be anything: text is not read through (that would read the whole
        // file) just to count its words.
        Kind::Asset if format.family() == Family::Text => Ok(Inspection::default()),
        _ => inspect(format, src),
    };
    let mut inspection = match inspection {
        Ok(i) => i,
        // For an asset (which may be anything), data that only looked like a TGA header is
        // data of no format intake recognises, not a damaged TGA.
        Err(_) if kind == Kind::Asset && format == Format::Tga => {
            format = Format::Unknown;
            Inspection::default()
        }
        Err(InspectError::Rejected(_)) if format != sniffed => return Err(mismatch().into()),
        Err(InspectError::Rejected(r)) => return Err(r.into()),
        Err(InspectError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(Rejection::corrupt(format, "it ends too early (truncated)").into());
        }
        Err(InspectError::Io(e)) => return Err(e.into()),
    };
    // Pickles are read whatever the kind (a damaged one is refused as damaged), and judged
    // for models: what they import decides.
    let found_pickles = match format {
        Format::Pickle => Some(inspected(weights::pickle::read_bare(src).map_err(InspectError::Io), format)?),
        Format::TorchZip => Some(inspected(weights::pickle::read_file(src, format), format)?.unwrap_or_default()),
        Format::Zip if kind == Kind::Model => {
            let directory = require_weights_inside(src)?;
            Some(inspected(weights::pickle::read_weights_zip(src, &directory), format)?)
        }
        _ => None,
    };
    if let Some(found) = &found_pickles {
        if kind == Kind::Model {
            if let Some(why) = pickles.judge(found).refusal() {
                return Err(Rejection(why).into());
            }
        } else if let Some(where_) = &found.unreadable {
            return Err(Rejection::corrupt(format, where_).into());
        }
    }
    inspection.properties.size = size;
    if inspection.properties.format.is_none() {
        inspection.properties.format = Some(format.name().to_string());
    }
    Ok(Findings {
        format,
        properties: inspection.properties,
        weights: inspection.weights,
        pickle_imports: found_pickles.map(|found| found.imports),
    })
}

/// File name endings that hold model weights inside a ZIP.
const WEIGHTS_ENDINGS: [&str; 8] = [".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx", ".pkl"];

/// The result of a parser, with a file that ends too early told as truncated.
fn inspected<T>(result: Result<T, InspectError>, format: Format) -> Result<T, ValidateError> {
    match result {
        Ok(t) => Ok(t),
        Err(InspectError::Rejected(r)) => Err(r.into()),
        Err(InspectError::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(Rejection::corrupt(format, "it ends too early (truncated)").into())
        }
        Err(InspectError::Io(e)) => Err(e.into()),
    }
}

/// Reads `src` as a bare pickle stream, whatever its format sniffs as (every pickle back to
/// back, a legacy `torch.save` file's five): what they import and where reading stopped.
/// For fuzzing and tools; validation reads pickles where each format keeps them.
pub fn read_pickle_stream(src: &dyn ByteSource) -> std::io::Result<PickleFindings> {
    weights::pickle::read_bare(src)
}

/// What `policy` makes of the pickles in a stored file (for `intake models scan`): `None`
/// when the file's format holds no pickles. A file too damaged to be read is a verdict with
/// `unreadable` set, not an error; errors are failures to read the stored bytes.
pub fn audit_pickles(src: &dyn ByteSource, policy: &PicklePolicy) -> Result<Option<PickleVerdict>, ValidateError> {
    let format = sniff(src)?;
    match inspected(weights::pickle::read_file(src, format), format) {
        Ok(found) => Ok(found.map(|f| policy.judge(&f))),
        Err(ValidateError::Rejected(r)) => Ok(Some(PickleVerdict {
            imports: Vec::new(),
            refused: Vec::new(),
            unreadable: Some(format!("the file cannot be read: {r}")),
        })),
        Err(e) => Err(e),
    }
}

/// A ZIP uploaded as `kind: model` must hold at least one weights file; returns its
/// directory.
fn require_weights_inside(src: &dyn ByteSource) -> Result<archive::CentralDirectory, ValidateError> {
    let directory = inspected(archive::read_central_directory(src, Format::Zip), Format::Zip)?;
    let has_weights = directory.entries.iter().any(|e| {
        let name = e.name.to_ascii_lowercase();
        WEIGHTS_ENDINGS.iter().any(|ending| name.ends_with(ending))
    });
    if has_weights {
        Ok(directory)
    } else {
        Err(Rejection(format!(
            "expected {}, found a ZIP archive with no weights file in it (none of its {} files ends in {})",
            expected(Kind::Model),
            directory.entries.len(),
            WEIGHTS_ENDINGS.join(", ")
        ))
        .into())
    }
}

/// Errors of the per-family `inspect` functions.
#[derive(Debug)]
pub enum InspectError {
    Rejected(Rejection),
    Io(std::io::Error),
}

impl From<Rejection> for InspectError {
    fn from(r: Rejection) -> Self {
        InspectError::Rejected(r)
    }
}

impl From<std::io::Error> for InspectError {
    fn from(e: std::io::Error) -> Self {
        InspectError::Io(e)
    }
}

/// Parses a file already sniffed as `format`.
fn inspect(format: Format, src: &dyn ByteSource) -> Result<Inspection, InspectError> {
    match format.family() {
        Family::Image => image::inspect(format, src),
        Family::Video if matches!(format, Format::Mp4 | Format::Mov) => bmff::inspect(format, src),
        Family::Audio if format == Format::M4a => bmff::inspect(format, src),
        Family::Video => video::inspect(format, src),
        Family::Audio => audio::inspect(format, src),
        Family::Mesh if format == Format::Usdz => archive::inspect(format, src),
        Family::Mesh => mesh::inspect(format, src),
        Family::Weights => weights::inspect(format, src),
        Family::Archive => archive::inspect(format, src),
        Family::Text => text::inspect(format, src),
        Family::Document | Family::Unknown => Ok(Inspection::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_zip_must_hold_weights() {
        let weights =
            archive::testzip::write(&[archive::testzip::Entry::stored("unet/model.safetensors", b"{}")], None, false);
        assert!(validate(Kind::Model, &weights).is_ok());
        let documents =
            archive::testzip::write(&[archive::testzip::Entry::stored("word/document.xml", b"<w/>")], None, false);
        let err = validate(Kind::Model, &documents).unwrap_err().to_string();
        assert!(err.contains("found a ZIP archive with no weights file in it"), "{err}");
        // The same archive is fine as a plain asset.
        assert!(validate(Kind::Asset, &documents).is_ok());
    }

    #[test]
    fn an_mp4_uploaded_as_audio_is_judged_by_its_sound() {
        let sound_only = include_bytes!("fixtures/audio_aac_only.mp4").to_vec();
        let findings = validate(Kind::Audio, &sound_only).unwrap();
        assert_eq!(findings.format, Format::M4a);
        let video_only = include_bytes!("fixtures/video_h264_moov_end.mp4").to_vec();
        let err = validate(Kind::Audio, &video_only).unwrap_err().to_string();
        assert_eq!(err, "expected audio (WAV, MP3, FLAC, Ogg, M4A, AAC or AIFF), found an MP4 video");
    }

    /// A stored file that takes `delay` per read, as a slow store would; counts its reads.
    struct SlowSource {
        bytes: Vec<u8>,
        delay: Duration,
        reads: std::sync::atomic::AtomicU64,
    }

    impl ByteSource for SlowSource {
        fn len(&self) -> u64 {
            self.bytes.len() as u64
        }

        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
            std::thread::sleep(self.delay);
            self.reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.bytes.read_at(offset, buf)
        }
    }

    #[test]
    fn a_validation_stops_at_its_time_limit_and_says_so() {
        // An MP4 of 20,000 small boxes before its index: walking them takes a read each,
        // 40 s at 2 ms a read.
        let mp4 = include_bytes!("fixtures/video_h264_moov_end.mp4");
        let mut bytes = mp4[..32].to_vec();
        for _ in 0..20_000 {
            bytes.extend_from_slice(b"\0\0\0\x08free");
        }
        bytes.extend_from_slice(&mp4[32..]);
        let slow = SlowSource { bytes, delay: Duration::from_millis(2), reads: 0.into() };
        let limit = Duration::from_millis(100);
        match validate_within(Kind::Video, &slow, &PicklePolicy::default(), limit) {
            Err(e @ ValidateError::TimedOut(_)) => {
                assert_eq!(e.to_string(), "validation took longer than 0.1 s and was stopped")
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
        // The validation really stopped: it did not go on reading the other boxes.
        let reads = slow.reads.load(std::sync::atomic::Ordering::Relaxed);
        assert!(reads < 1000, "{reads} reads after the deadline");
        // In time, the same file is fine.
        let fast = SlowSource { delay: Duration::ZERO, ..slow };
        assert_eq!(
            validate_within(Kind::Video, &fast, &PicklePolicy::default(), Duration::from_secs(3600)).unwrap().format,
            Format::Mp4
        );
    }

    #[test]
    fn empty_files_are_refused_except_as_assets_and_texts() {
        let empty: Vec<u8> = Vec::new();
        for kind in [Kind::Image, Kind::Avatar, Kind::Video, Kind::Audio, Kind::ThreeD, Kind::Model] {
            let reason = validate(kind, &empty).unwrap_err().to_string();
            assert!(reason.contains("found an empty file") && reason.contains("asset and text"), "{kind}: {reason}");
        }
        assert_eq!(validate(Kind::Asset, &empty).unwrap().properties.size, 0);
        let text = validate(Kind::Text, &empty).unwrap();
        assert_eq!(text.format, Format::Text);
        assert_eq!(
            (text.properties.size, text.properties.char_count, text.properties.word_count),
            (0, Some(0), Some(0))
        );
    }
}
