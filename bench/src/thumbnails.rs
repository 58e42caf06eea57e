//! Target 8: thumbnails. `thumbnail-file` writes the images the target reads (a 24-megapixel
//! JPEG, a 4K PNG: a photo-like gradient with noise, so neither compresses to nothing);
//! `thumbnail` makes the thumbnail of a file exactly as the worker does
//! (`intake_core::thumbnail::make` with the default limits, through a file-backed
//! `ByteSource`) after timing a plain decode of the same file as the baseline, and prints
//! both times, the thumbnail's size and the process's peak RSS.

use crate::pickles::FileSource;
use anyhow::{bail, Context, Result};
use image::{ImageFormat, RgbImage};
use intake_core::thumbnail::{make, Outcome, ThumbnailLimits};
use std::path::Path;
use std::time::Instant;

/// Writes a `width`×`height` image to `path`, its format from the extension.
pub fn write(width: u32, height: u32, path: &Path) -> Result<()> {
    let format = ImageFormat::from_path(path)?;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let img = RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed & 31) as u32;
        let r = (x * 200 / width + noise) as u8;
        let g = (y * 200 / height + noise) as u8;
        let b = (((x + y) * 100 / (width + height)) + noise) as u8;
        image::Rgb([r, g, b])
    });
    img.save_with_format(path, format).with_context(|| format!("{}", path.display()))?;
    Ok(())
}

/// Times a decode, then the thumbnail; prints
/// `{decodeSeconds, thumbnailSeconds, width, height, thumbnailBytes, peakRssKib}`.
pub fn run(path: &Path) -> Result<()> {
    let format = ImageFormat::from_path(path)?;
    let start = Instant::now();
    let decoded = image::ImageReader::open(path)?.with_guessed_format()?.decode()?;
    let decode_seconds = start.elapsed().as_secs_f64();
    let (width, height) = (decoded.width(), decoded.height());
    drop(decoded);
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let source = FileSource { file, len };
    let start = Instant::now();
    let thumb = match make(&source, format, ThumbnailLimits::default())? {
        Outcome::Made(t) => t,
        Outcome::Skipped(why) => bail!("no thumbnail: {why}"),
    };
    let thumbnail_seconds = start.elapsed().as_secs_f64();
    let report = serde_json::json!({
        "decodeSeconds": decode_seconds,
        "thumbnailSeconds": thumbnail_seconds,
        "width": width,
        "height": height,
        "thumbnailWidth": thumb.width,
        "thumbnailHeight": thumb.height,
        "thumbnailBytes": thumb.png.len(),
        "peakRssKib": peak_rss_kib()?,
    });
    println!("{report}");
    Ok(())
}

/// `VmHWM` of this process, in KiB.
fn peak_rss_kib() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).context("no VmHWM")?;
    Ok(line.split_whitespace().nth(1).context("VmHWM value")?.parse()?)
}
