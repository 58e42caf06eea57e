//! The `intake` binary: `intake serve` runs the Uploads API service (with no configuration
//! it keeps everything under `./intake-data`); the other commands are its client, and work
//! against Scenario's cloud too.
//!
//! Exit codes of the client commands: 0 success, 1 failed (an upload ended `failed` or the
//! server refused a request), 2 usage error, 3 could not finish (network or server errors
//! after retries; run the same command again to resume).

mod allocator;
mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: allocator::SplitAllocator = allocator::SplitAllocator;

const AFTER_HELP: &str = "\
Client commands read the server and credentials from INTAKE_URL, INTAKE_API_KEY and
INTAKE_API_SECRET, or from Scenario's names SCENARIO_BASE_URL, SCENARIO_API_KEY and
SCENARIO_API_SECRET (intake's names win).

Exit codes: 0 success; 1 failed (an upload ended `failed`, or the server refused a request);
2 usage error (bad arguments, missing credentials, unreadable file); 3 could not finish
(server unreachable or erroring after retries, timeout: run the same command again to resume).";

#[derive(Parser)]
#[command(name = "intake", version, about = "A self-hostable Scenario Uploads API service, and its client", after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (HTTP API and background workers).
    Serve(Box<intake_server::SettingsArgs>),
    /// Upload files (multipart, concurrent, resumable) and optionally wait until imported.
    Upload(cli::upload::UploadArgs),
    /// Have the server download a file from a URL.
    ImportUrl(cli::import::ImportUrlArgs),
    /// Import a model from Hugging Face (OWNER/NAME[@REVISION]).
    ImportHf(cli::import::ImportHfArgs),
    /// Import a model from Civitai (https://civitai.com/models/ID[?modelVersionId=V]).
    ImportCivitai(cli::import::ImportCivitaiArgs),
    /// Print an upload (JSON).
    Get(cli::show::GetArgs),
    /// Wait until an upload is imported or failed; print it (JSON).
    Wait(cli::show::WaitArgs),
    /// Print an asset (JSON), and optionally download its file.
    Asset(cli::show::AssetArgs),
    /// Print a model (JSON).
    Model(cli::show::GetArgs),
    /// Work on the stored models (reads the server's stores directly, like `serve`).
    Models(Box<cli::models::ModelsArgs>),
    /// Apply the database migrations and exit (then `serve --no-migrate` may run without
    /// the right to change the schema).
    Migrate(cli::migrate::MigrateArgs),
    /// Create and list projects (in the metadata database, beside running servers).
    Projects(cli::projects::ProjectsArgs),
    /// Create, list and revoke API keys (in the metadata database, beside running servers).
    Keys(cli::keys::KeysArgs),
    /// Rotate the URL-signing secret.
    Signing(cli::signing::SigningArgs),
}

impl Command {
    /// For the commands that read the server's settings: the subcommand's path and the
    /// settings file given.
    fn settings(&self) -> Option<(&'static [&'static str], Option<std::path::PathBuf>)> {
        match self {
            Command::Serve(args) => Some((&["serve"], args.config_file.clone())),
            Command::Models(args) => Some((&["models", "scan"], args.config_file())),
            Command::Migrate(args) => Some((&["migrate"], args.config_file())),
            Command::Projects(args) => Some(args.settings()),
            Command::Keys(args) => Some(args.settings()),
            Command::Signing(args) => Some(args.settings()),
            _ => None,
        }
    }

    /// Whether the command works on the server's own stores (and so creates files that are
    /// nobody else's business), rather than being a client of a server.
    fn keeps_data(&self) -> bool {
        matches!(
            self,
            Command::Serve(_)
                | Command::Models(_)
                | Command::Migrate(_)
                | Command::Projects(_)
                | Command::Keys(_)
                | Command::Signing(_)
        )
    }
}

/// Logs go to stderr (stdout carries the server's address and a first start's key, or a
/// client command's results): human-readable, or one JSON object a line with
/// `INTAKE_LOG_FORMAT=json`. `INTAKE_LOG` filters them (default: `info` for `serve`, `warn`
/// for the client commands).
fn init_logging(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("INTAKE_LOG").unwrap_or_else(|_| default_filter.into());
    // Colour escapes only for a person at a terminal, never in a file or a log collector.
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none());
    if std::env::var("INTAKE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { cli::exit::USAGE } else { cli::exit::OK });
        }
    };
    let cli = match cli.command.settings() {
        Some((path, file)) => match cli::settings::resolve::<Cli>(path, file.as_deref()) {
            Ok(Some(again)) => again,
            Ok(None) => cli,
            Err(code) => return ExitCode::from(code),
        },
        None => cli,
    };
    let serving = matches!(cli.command, Command::Serve(_));
    if cli.command.keeps_data() {
        // What the server side creates (data directory, database, blobs, staged imports) is
        // its owner's only: 0700 directories, 0600 files.
        // SAFETY: umask only sets the process's file-creation mask; no thread runs yet.
        unsafe { libc::umask(0o077) };
    }
    init_logging(if serving { "info" } else { "warn" });
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let code = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => match cli::serve::run(*args).await {
                Ok(()) => cli::exit::OK,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    cli::exit::FAILED
                }
            },
            Command::Upload(args) => cli::upload::run(args).await,
            Command::ImportUrl(args) => cli::import::run_url(args).await,
            Command::ImportHf(args) => cli::import::run_hf(args).await,
            Command::ImportCivitai(args) => cli::import::run_civitai(args).await,
            Command::Get(args) => cli::show::get(args).await,
            Command::Wait(args) => cli::show::wait(args).await,
            Command::Asset(args) => cli::show::asset(args).await,
            Command::Model(args) => cli::show::model(args).await,
            Command::Models(args) => cli::models::run(*args).await,
            Command::Migrate(args) => cli::migrate::run(args).await,
            Command::Projects(args) => cli::projects::run(args).await,
            Command::Keys(args) => cli::keys::run(args).await,
            Command::Signing(args) => cli::signing::run(args).await,
        }
    });
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
