//! `intake models scan`: reads every stored model whose file holds pickles with today's
//! rules (the default list plus `INTAKE_PICKLE_ALLOW`) and lists those an upload would now
//! refuse: model id, project, the imports that fail. It reads the same stores as
//! `intake serve` (the same settings: `--data-dir`, `INTAKE_DATABASE_URL`, `INTAKE_S3_*`,
//! `--config`) and changes nothing.
//!
//! Exit status: 0 none refused; 1 some refused; 2 bad settings; 3 some files could not be
//! read (or the stores could not be opened).

use super::exit;
use intake_core::service::{scan_stored_models, ModelScanReport};
use intake_server::SettingsArgs;
use serde_json::json;

/// `intake models`.
#[derive(clap::Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(clap::Subcommand)]
enum ModelsCommand {
    /// List stored models whose pickles today's rules refuse (exit status 1 when any).
    Scan(ScanArgs),
}

/// `intake models scan`.
#[derive(clap::Args)]
struct ScanArgs {
    /// Print one JSON object instead of lines.
    #[arg(long)]
    json: bool,
    /// The settings of `intake serve`: the stores and the pickle rules are read from them.
    #[command(flatten, next_help_heading = "Settings (as for intake serve)")]
    settings: SettingsArgs,
}

impl ModelsArgs {
    /// The settings file given, if any.
    pub fn config_file(&self) -> Option<std::path::PathBuf> {
        match &self.command {
            ModelsCommand::Scan(args) => args.settings.config_file.clone(),
        }
    }
}

/// Runs `intake models …`; returns the exit status.
pub async fn run(args: ModelsArgs) -> u8 {
    match args.command {
        ModelsCommand::Scan(args) => scan(args).await,
    }
}

async fn scan(args: ScanArgs) -> u8 {
    let config = match args.settings.settings.into_config() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e:#}");
            return exit::USAGE;
        }
    };
    if config.database_url.is_none() && !config.data_dir.join("intake.db").is_file() {
        eprintln!(
            "error: no intake database in {} (give the --data-dir of `intake serve`, or INTAKE_DATABASE_URL)",
            config.data_dir.display()
        );
        return exit::USAGE;
    }
    let policy = config.pickle_policy.clone();
    let (meta, blobs) = match intake_server::open_stores(&config).await {
        Ok(stores) => stores,
        Err(e) => {
            eprintln!("error: opening the stores: {e:#}");
            return exit::INCOMPLETE;
        }
    };
    let report = match scan_stored_models(meta.as_ref(), blobs.as_ref(), &policy, |_| {}).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: reading the models: {e}");
            return exit::INCOMPLETE;
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&as_json(&report)).expect("JSON values serialize"));
    } else {
        print_lines(&report);
    }
    let refused = if report.refused.is_empty() { exit::OK } else { exit::FAILED };
    let unread = if report.unread.is_empty() { exit::OK } else { exit::INCOMPLETE };
    exit::worst([refused, unread])
}

fn as_json(report: &ModelScanReport) -> serde_json::Value {
    json!({
        "scanned": report.scanned,
        "skipped": report.skipped,
        "refused": report.refused.iter().map(|m| json!({
            "modelId": m.model_id,
            "projectId": m.project_id,
            "fileName": m.file_name,
            "refusedImports": m.refused_imports,
            "reason": m.reason,
        })).collect::<Vec<_>>(),
        "unread": report.unread.iter().map(|m| json!({
            "modelId": m.model_id,
            "projectId": m.project_id,
            "error": m.error,
        })).collect::<Vec<_>>(),
    })
}

/// One line a refused model (id, project, what fails), then a summary on stderr.
fn print_lines(report: &ModelScanReport) {
    for m in &report.refused {
        let fails = if m.refused_imports.is_empty() { m.reason.clone() } else { m.refused_imports.join(", ") };
        println!("{}\t{}\t{}\t{}", m.model_id, m.project_id, m.file_name, fails);
    }
    for m in &report.unread {
        eprintln!("could not read model {} (project {}): {}", m.model_id, m.project_id, m.error);
    }
    eprintln!(
        "{} pickle-based models read ({} others have no pickles): {} refused by today's rules, {} unreadable",
        report.scanned,
        report.skipped,
        report.refused.len(),
        report.unread.len()
    );
}
