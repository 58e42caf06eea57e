//! Thumbnails of imported images: the file is decoded once under a pixel limit and a memory
//! budget, scaled so its longest side is [`LONGEST_SIDE`] pixels (aspect kept, never scaled
//! up) with a SIMD resizer, turned upright by its EXIF orientation and encoded as PNG.
//!
//! Nothing here touches a store: [`make`] reads a [`ByteSource`] and returns the PNG bytes,
//! or the reason there is no thumbnail. An image too large for the limits is not an error:
//! the asset is imported without a thumbnail and `properties.thumbnailSkipped` says why.

mod reader;

use crate::validate::{ByteSource, Family, Format};
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};
use std::io;

/// The longest side of a thumbnail, in pixels.
pub const LONGEST_SIDE: u32 = 512;

/// How much decoding one thumbnail may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbnailLimits {
    /// Images with more pixels than this get no thumbnail (`INTAKE_THUMBNAIL_MAX_PIXELS`);
    /// 0 turns thumbnails off.
    pub max_pixels: u64,
    /// Bytes a decode may allocate, the decoded image included
    /// (`INTAKE_THUMBNAIL_MAX_MEMORY`).
    pub max_memory: u64,
}

impl Default for ThumbnailLimits {
    fn default() -> Self {
        Self { max_pixels: 100_000_000, max_memory: 256 * 1024 * 1024 }
    }
}

/// A thumbnail, encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub png: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// What [`make`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Made(Thumbnail),
    /// No thumbnail, for the reason given (a sentence for `properties.thumbnailSkipped`).
    Skipped(String),
}

/// The decoder for a validated format, where thumbnails are made for it (not Photoshop
/// documents: no maintained crate decodes them).
pub fn decodable(format: Format) -> Option<ImageFormat> {
    match format {
        Format::Png => Some(ImageFormat::Png),
        Format::Jpeg => Some(ImageFormat::Jpeg),
        Format::Webp => Some(ImageFormat::WebP),
        Format::Gif => Some(ImageFormat::Gif),
        Format::Exr => Some(ImageFormat::OpenExr),
        Format::Hdr => Some(ImageFormat::Hdr),
        Format::Tiff => Some(ImageFormat::Tiff),
        Format::Bmp => Some(ImageFormat::Bmp),
        Format::Tga => Some(ImageFormat::Tga),
        // No maintained pure-Rust AV1 or HEVC still-image decoder: AVIF and HEIC/HEIF get
        // none; nor PSD/PSB, whose merged image no maintained crate decodes.
        _ => None,
    }
}

/// Why an image of `format` gets no thumbnail at all, when no decoder here reads its format
/// (AVIF, HEIC): the sentence for `properties.thumbnailSkipped`. `None` for formats that are
/// decoded, and for files that are not images.
pub fn not_decoded(format: Format) -> Option<String> {
    (format.family() == Family::Image && decodable(format).is_none())
        .then(|| format!("intake makes no thumbnails of {}: it has no decoder for them", format.described()))
}

/// The size of a thumbnail of a `width`×`height` image: the longest side
/// [`LONGEST_SIDE`], aspect kept, never larger than the image.
pub fn fit(width: u32, height: u32) -> (u32, u32) {
    let longest = width.max(height).max(1);
    if longest <= LONGEST_SIDE {
        return (width.max(1), height.max(1));
    }
    let scale = |side: u32| {
        ((u64::from(side) * u64::from(LONGEST_SIDE) + u64::from(longest) / 2) / u64::from(longest)).max(1) as u32
    };
    (scale(width), scale(height))
}

/// Makes the thumbnail of `source`, an image of `format` already validated. `Err` is a read
/// error of the store (worth a retry); everything about the file itself is an [`Outcome`].
pub fn make(source: &dyn ByteSource, format: ImageFormat, limits: ThumbnailLimits) -> io::Result<Outcome> {
    let mut reader = ImageReader::with_format(reader::buffered(source), format);
    let mut decode_limits = image::Limits::default();
    decode_limits.max_alloc = Some(limits.max_memory);
    reader.limits(decode_limits.clone());
    let mut decoder = match reader.into_decoder() {
        Ok(d) => d,
        Err(e) => return skipped(e, limits),
    };
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Ok(Outcome::Skipped(format!(
            "the image is {width}×{height} ({:.1} megapixels), over this server's thumbnail limit of {:.1} \
             megapixels (INTAKE_THUMBNAIL_MAX_PIXELS)",
            pixels as f64 / 1e6,
            limits.max_pixels as f64 / 1e6
        )));
    }
    // As `ImageReader::decode` does: the decoded image is reserved from the budget first,
    // the decoder's own buffers get what remains. The OpenEXR decoder fills a buffer of its
    // own, as large as the image (f32 samples: 12 or 16 bytes a pixel), then copies it, and
    // does not count it: it is reserved here too.
    let copies = if format == ImageFormat::OpenExr { 2 } else { 1 };
    let reserved = decoder.total_bytes().saturating_mul(copies);
    if let Err(e) = decode_limits.reserve(reserved).and_then(|()| decoder.set_limits(decode_limits)) {
        return skipped(e, limits);
    }
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let image = match DynamicImage::from_decoder(decoder) {
        Ok(i) => i,
        Err(e) => return skipped(e, limits),
    };
    let (w, h) = fit(width, height);
    let mut small = if (w, h) == (width, height) {
        image
    } else {
        let mut small = DynamicImage::new(w, h, image.color());
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
        if let Err(e) = Resizer::new().resize(&image, &mut small, &options) {
            return Ok(Outcome::Skipped(format!("the image could not be scaled down: {e}")));
        }
        drop(image);
        small
    };
    small.apply_orientation(orientation);
    // PNG holds 8- and 16-bit pixels; floats (OpenEXR, Radiance HDR: linear light, any
    // range) are clamped to [0, 1] and encoded with the sRGB curve into 8-bit RGBA.
    let small = match small {
        DynamicImage::ImageRgb32F(_) | DynamicImage::ImageRgba32F(_) => DynamicImage::ImageRgba8(tone_map(&small)),
        other => other,
    };
    let mut png = io::Cursor::new(Vec::new());
    if let Err(e) = small.write_to(&mut png, ImageFormat::Png) {
        return Ok(Outcome::Skipped(format!("the thumbnail could not be encoded: {e}")));
    }
    Ok(Outcome::Made(Thumbnail { png: png.into_inner(), width: small.width(), height: small.height() }))
}

/// Linear floating-point pixels as 8-bit sRGB: each colour clamped to [0, 1] and encoded with
/// the sRGB transfer curve (highlights above 1 clip; no exposure is guessed); alpha clamped.
fn tone_map(image: &DynamicImage) -> image::RgbaImage {
    let mut out = image.to_rgba32f();
    for pixel in out.pixels_mut() {
        for c in &mut pixel.0[..3] {
            let v = if c.is_nan() { 0.0 } else { c.clamp(0.0, 1.0) };
            *c = if v <= 0.003_130_8 { 12.92 * v } else { 1.055 * v.powf(1.0 / 2.4) - 0.055 };
        }
    }
    DynamicImage::ImageRgba32F(out).to_rgba8()
}

/// The outcome of a decoder error: limits and undecodable files skip the thumbnail, a
/// store that failed to read is an error.
fn skipped(e: ImageError, limits: ThumbnailLimits) -> io::Result<Outcome> {
    match e {
        ImageError::Limits(_) => Ok(Outcome::Skipped(format!(
            "decoding the image would take more than this server's thumbnail memory budget of {} MiB \
             (INTAKE_THUMBNAIL_MAX_MEMORY)",
            limits.max_memory / (1024 * 1024)
        ))),
        ImageError::IoError(e) if e.kind() != io::ErrorKind::UnexpectedEof && reader::is_store_error(&e) => Err(e),
        other => Ok(Outcome::Skipped(format!("the image could not be decoded for a thumbnail: {other}"))),
    }
}

#[cfg(test)]
mod tests;
