//! Thumbnails of imported images: the file is decoded once under a pixel limit and a memory
//! budget, scaled so its longest side is [`LONGEST_SIDE`] pixels (aspect kept, never scaled
//! up) with a SIMD resizer, turned upright by its EXIF orientation and encoded as PNG.
//!
//! Nothing here touches a store: [`make`] reads a [`ByteSource`] and returns the PNG bytes,
//! or the reason there is no thumbnail. An image too large for the limits is not an error:
//! the asset is imported without a thumbnail and `properties.thumbnailSkipped` says why.

mod reader;

use crate::validate::{ByteSource, Format};
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
        Format::Tiff => Some(ImageFormat::Tiff),
        Format::Bmp => Some(ImageFormat::Bmp),
        Format::Tga => Some(ImageFormat::Tga),
        // PSD/PSB: no maintained decoder of the merged image in pure Rust.
        _ => None,
    }
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
    // the decoder's own buffers get what remains.
    if let Err(e) = decode_limits.reserve(decoder.total_bytes()).and_then(|()| decoder.set_limits(decode_limits)) {
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
    // PNG holds 8- and 16-bit pixels; anything else (floats) becomes 8-bit RGBA.
    let small = match small {
        DynamicImage::ImageRgb32F(_) | DynamicImage::ImageRgba32F(_) => DynamicImage::ImageRgba8(small.to_rgba8()),
        other => other,
    };
    let mut png = io::Cursor::new(Vec::new());
    if let Err(e) = small.write_to(&mut png, ImageFormat::Png) {
        return Ok(Outcome::Skipped(format!("the thumbnail could not be encoded: {e}")));
    }
    Ok(Outcome::Made(Thumbnail { png: png.into_inner(), width: small.width(), height: small.height() }))
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
