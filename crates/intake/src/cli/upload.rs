//! `intake upload FILE... --kind K`: multipart uploads of local files, concurrent, streamed
//! from disk, resumable (re-run the same command after an interruption).

use super::connect::ConnectArgs;
use super::report::Reporter;
use super::size::parse_size;
use super::{exit, fail};
use intake_client::{AssetOptions, Journal, Kind, RateLimit, Status, UploadOptions, WaitOptions};
use std::path::PathBuf;
use std::time::Duration;

/// `intake upload`.
#[derive(clap::Args)]
pub struct UploadArgs {
    /// Files to upload, one upload each (one after the other; parts of each concurrently).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// What the files are: 3d, asset, audio, avatar, image, model, text, video.
    #[arg(long, value_parser = parse_kind)]
    kind: Kind,
    /// Bytes per part (e.g. 8M, 64MiB; at least 5 MiB; raised if the file would need more
    /// than 10,000 parts) [default: 16M].
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    part_size: Option<u64>,
    /// Parts sent at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// Wait until each upload is imported or failed (exit code 1 if one failed).
    #[arg(long)]
    wait: bool,
    /// Give up waiting after this many seconds (exit code 3).
    #[arg(long, value_name = "SECONDS", requires = "wait")]
    wait_timeout: Option<u64>,
    /// Print one JSON object per upload on stdout.
    #[arg(long)]
    json: bool,
    /// No progress output on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Cap the upload bandwidth, in bytes per second, shared by all parts (e.g. 500k, 10M).
    #[arg(long, value_parser = parse_size, value_name = "RATE")]
    limit_rate: Option<u64>,
    /// Content type to declare (default: from the file extension).
    #[arg(long)]
    content_type: Option<String>,
    /// Name to record instead of the file's own (only with one file).
    #[arg(long)]
    name: Option<String>,
    /// Add the asset to these collections (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    collection: Vec<String>,
    /// Hide the asset.
    #[arg(long)]
    hide: bool,
    /// Parent asset id.
    #[arg(long, value_name = "ASSET_ID")]
    parent: Option<String>,
    /// Where resume journals are kept [env: INTAKE_STATE_DIR; default:
    /// $XDG_STATE_HOME/intake or ~/.local/state/intake].
    #[arg(long, env = "INTAKE_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Start new uploads even where an interrupted one could be continued, and keep no journal.
    #[arg(long)]
    no_resume: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Parses a `--kind`.
pub fn parse_kind(text: &str) -> Result<Kind, String> {
    text.parse().map_err(|_| {
        let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind {text:?}: use one of {}", all.join(", "))
    })
}

/// Runs the uploads; returns the exit code.
pub async fn run(args: UploadArgs) -> u8 {
    let client = match args.connect.client() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if args.name.is_some() && args.files.len() > 1 {
        eprintln!("error: --name applies to a single file");
        return exit::USAGE;
    }
    // Every file must be readable before anything is sent.
    let mut total = 0;
    for file in &args.files {
        match std::fs::metadata(file) {
            Ok(meta) if meta.is_file() => total += meta.len(),
            Ok(_) => {
                eprintln!("error: {} is not a regular file", file.display());
                return exit::USAGE;
            }
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                return exit::USAGE;
            }
        }
    }
    let journal = if args.no_resume {
        None
    } else {
        match args.state_dir.clone().map(Journal::new).or_else(Journal::default_location) {
            Some(journal) => Some(journal),
            None => {
                eprintln!("warning: no state directory (set HOME, XDG_STATE_HOME or --state-dir): uploads will not be resumable");
                None
            }
        }
    };
    let asset_options = (!args.collection.is_empty() || args.hide || args.parent.is_some()).then(|| AssetOptions {
        collection_ids: (!args.collection.is_empty()).then(|| args.collection.clone()),
        hide: args.hide.then_some(true),
        parent_id: args.parent.clone(),
    });
    let wait = args.wait.then(|| {
        let mut wait = WaitOptions::default();
        if let Some(seconds) = args.wait_timeout {
            wait.timeout = Duration::from_secs(seconds);
        }
        wait
    });
    let rate_limit = args.limit_rate.map(RateLimit::new);
    let reporter = Reporter::new(args.json, args.quiet, total, args.files.len());
    let mut codes = Vec::new();
    for file in &args.files {
        let label = file.display().to_string();
        let options = UploadOptions {
            file_name: args.name.clone(),
            content_type: args.content_type.clone(),
            asset_options: asset_options.clone(),
            part_size: args.part_size,
            concurrency: args.concurrency as usize,
            wait,
            journal: journal.clone(),
            rate_limit: rate_limit.clone(),
            observer: Some(reporter.observer(&label)),
            ..UploadOptions::default()
        };
        let code = match client.upload_file(file, args.kind, options).await {
            Ok(outcome) => {
                reporter.outcome(&label, &outcome);
                if outcome.upload.status == Status::Failed {
                    exit::FAILED
                } else {
                    exit::OK
                }
            }
            Err(error) => {
                let code = exit::code_for(&error);
                reporter.error(&label, &error, code);
                if code == exit::INCOMPLETE && journal.is_some() {
                    eprintln!("run the same command again to resume {label}");
                }
                code
            }
        };
        codes.push(code);
    }
    reporter.finish();
    exit::worst(codes)
}
