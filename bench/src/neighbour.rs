//! Target 8: project A's upload, create → `imported`, on an idle server and beside project B
//! making all the noise of [`crate::noise`] (trickling imports and part PUTs, slowloris
//! connections, worst-case MP4s). Prints one JSON object with every run's seconds.

use crate::noise::{self, Plan};
use crate::{poll_until_imported, UploadOptions};
use anyhow::{Context, Result};
use intake_client::{Client, Kind};
use std::path::Path;
use std::time::{Duration, Instant};

/// How much noise B makes (the figures).
pub struct Amounts {
    pub trickling_imports: usize,
    pub trickling_puts: usize,
    pub slowloris: usize,
    pub mp4_tracks: usize,
}

/// A's round: the CLI's way of uploading `file` as an asset, then polling until imported.
async fn round(client: &Client, file: &Path) -> Result<f64> {
    let start = Instant::now();
    let options = UploadOptions { content_type: Some("application/octet-stream".into()), ..UploadOptions::default() };
    let outcome = client.upload_file(file, Kind::Asset, options).await?;
    poll_until_imported(client, &outcome.upload.id).await?;
    Ok(start.elapsed().as_secs_f64())
}

/// Times `runs` rounds of A idle, starts B's noise (B's key in `INTAKE_NOISY_API_KEY`,
/// `INTAKE_NOISY_API_SECRET`, `INTAKE_NOISY_PROJECT`), waits `settle` for it to take hold,
/// and times `runs` rounds again.
pub async fn run(file: &Path, runs: usize, settle: Duration, amounts: Amounts, scratch: &Path) -> Result<()> {
    let client = Client::from_env()?;
    let mut idle = Vec::new();
    for _ in 0..runs {
        idle.push(round(&client, file).await?);
    }
    let var = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
    let plan = Plan {
        base: client.base_url().to_string(),
        api_key: var("INTAKE_NOISY_API_KEY")?,
        api_secret: var("INTAKE_NOISY_API_SECRET")?,
        project: var("INTAKE_NOISY_PROJECT")?,
        trickling_imports: amounts.trickling_imports,
        trickling_puts: amounts.trickling_puts,
        slowloris: amounts.slowloris,
        mp4_tracks: amounts.mp4_tracks,
        scratch: scratch.to_path_buf(),
    };
    let noise = noise::start(plan).await.map_err(anyhow::Error::msg)?;
    tokio::time::sleep(settle).await;
    let mut noisy = Vec::new();
    for _ in 0..runs {
        noisy.push(round(&client, file).await?);
    }
    let stats = &noise.stats;
    let report = serde_json::json!({
        "idleSeconds": idle,
        "noisySeconds": noisy,
        "noiseImports": stats.imports.load(std::sync::atomic::Ordering::Relaxed),
        "noisePutsTrickling": stats.puts_trickling.load(std::sync::atomic::Ordering::Relaxed),
        "noiseSlowlorisOpened": stats.slowloris_opened.load(std::sync::atomic::Ordering::Relaxed),
        "noiseMp4sCompleted": stats.mp4s_completed.load(std::sync::atomic::Ordering::Relaxed),
    });
    drop(noise);
    println!("{report}");
    Ok(())
}
