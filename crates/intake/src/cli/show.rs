//! `intake get`, `intake wait`, `intake asset`, `intake model`: read what the server has,
//! as JSON on stdout.

use super::connect::ConnectArgs;
use super::{exit, fail};
use intake_client::{Status, WaitOptions};
use std::path::PathBuf;
use std::time::Duration;

/// An id to read.
#[derive(clap::Args)]
pub struct GetArgs {
    /// The id (`upload_…`, `asset_…`, `model_…`).
    id: String,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// `intake wait`.
#[derive(clap::Args)]
pub struct WaitArgs {
    /// The upload id.
    id: String,
    /// Give up after this many seconds (exit code 3).
    #[arg(long)]
    timeout: Option<u64>,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// `intake asset`.
#[derive(clap::Args)]
pub struct AssetArgs {
    /// The asset id.
    id: String,
    /// Also download the asset's file to this path.
    #[arg(long, value_name = "PATH")]
    download: Option<PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
}

fn print_json(value: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(value).expect("wire types serialize"));
}

/// `intake get ID`: the upload; exit 1 when there is no such upload.
pub async fn get(args: GetArgs) -> u8 {
    let client = match args.connect.client() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    match client.get_upload(&args.id).await {
        Ok(upload) => {
            print_json(&upload);
            exit::OK
        }
        Err(e) => fail(&e),
    }
}

/// `intake wait ID`: 0 once imported, 1 once failed (with its `errorMessage` on stderr).
pub async fn wait(args: WaitArgs) -> u8 {
    let client = match args.connect.client() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let mut options = WaitOptions::default();
    if let Some(seconds) = args.timeout {
        options.timeout = Duration::from_secs(seconds);
    }
    match client.wait(&args.id, options, |_| {}).await {
        Ok(upload) => {
            print_json(&upload);
            if upload.status == Status::Imported {
                exit::OK
            } else {
                eprintln!(
                    "error: upload {} failed: {}",
                    upload.id,
                    upload.error_message.as_deref().unwrap_or("no reason given")
                );
                exit::FAILED
            }
        }
        Err(e) => fail(&e),
    }
}

/// `intake asset ID [--download PATH]`.
pub async fn asset(args: AssetArgs) -> u8 {
    let client = match args.connect.client() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let asset = match client.get_asset(&args.id).await {
        Ok(asset) => asset,
        Err(e) => return fail(&e),
    };
    print_json(&asset);
    if let Some(path) = args.download {
        match client.download(&asset.url, &path).await {
            Ok(bytes) => eprintln!("saved {bytes} bytes to {}", path.display()),
            Err(e) => return fail(&e),
        }
    }
    exit::OK
}

/// `intake model ID`.
pub async fn model(args: GetArgs) -> u8 {
    let client = match args.connect.client() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    match client.get_model(&args.id).await {
        Ok(model) => {
            print_json(&model);
            exit::OK
        }
        Err(e) => fail(&e),
    }
}
