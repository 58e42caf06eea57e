//! `intake keys create|list|revoke`: API keys as rows of the metadata database, managed
//! beside running servers (each instance sees a change within about a second). A secret is
//! printed once, at creation, and only its hash is kept; no command takes a secret on its
//! command line.

use super::exit;
use super::store::StoreArgs;
use intake_core::domain::time::format_time;
use intake_core::metadata::{KeyOrigin, Revocation, Role};
use serde_json::json;

/// `intake keys`.
#[derive(clap::Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(clap::Subcommand)]
enum KeysCommand {
    /// Create a key for one or more projects (the first is its default); prints its secret
    /// once.
    Create {
        /// Projects, comma-separated (made with `intake projects create`).
        #[arg(long, value_delimiter = ',', required = true)]
        project: Vec<String>,
        /// reader: only reads; editor: also creates and completes uploads; admin: also manages
        /// the keys of its projects (over the API too).
        #[arg(long, value_parser = ["admin", "editor", "reader"])]
        role: String,
        /// A label for people.
        #[arg(long, default_value = "")]
        name: String,
        /// Print `{"apiKey", "apiSecret", "role", "projects"}`.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List every key (never a secret), revoked and INTAKE_API_KEYS ones too.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a key: every instance refuses it within seconds. The part and file URLs it
    /// obtained stay valid until they expire.
    Revoke {
        /// The API key (not its secret).
        key: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

impl KeysArgs {
    /// The subcommand's path and the settings file given (see `cli::settings`).
    pub fn settings(&self) -> (&'static [&'static str], Option<std::path::PathBuf>) {
        match &self.command {
            KeysCommand::Create { store, .. } => (&["keys", "create"], store.config_file()),
            KeysCommand::List { store, .. } => (&["keys", "list"], store.config_file()),
            KeysCommand::Revoke { store, .. } => (&["keys", "revoke"], store.config_file()),
        }
    }
}

/// Runs `intake keys …`; returns the exit status.
pub async fn run(args: KeysArgs) -> u8 {
    match args.command {
        KeysCommand::Create { project, role, name, json, store } => create(project, &role, name, json, store).await,
        KeysCommand::List { json, store } => list(json, store).await,
        KeysCommand::Revoke { key, store } => revoke(&key, store).await,
    }
}

/// Says the store could not be used; the exit status for it.
pub fn unreachable(e: &anyhow::Error) -> u8 {
    eprintln!("error: the metadata database: {e:#}");
    exit::INCOMPLETE
}

async fn create(projects: Vec<String>, role: &str, name: String, as_json: bool, store: StoreArgs) -> u8 {
    let role = Role::parse(role).expect("clap checked the role");
    let projects: Vec<String> = projects.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect();
    if projects.is_empty() || projects.len() > 100 {
        eprintln!("error: --project names 1 to 100 projects");
        return exit::USAGE;
    }
    let meta = match store.open().await {
        Ok(meta) => meta,
        Err(e) => return unreachable(&e),
    };
    for p in &projects {
        match meta.project(p).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                eprintln!("error: there is no project {p}; create it with `intake projects create NAME`");
                return exit::USAGE;
            }
            Err(e) => return unreachable(&e.into()),
        }
    }
    let (record, secret) = intake_core::service::auth::new_key(projects, role, name);
    if let Err(e) = meta.put_api_key(&record).await {
        return unreachable(&e.into());
    }
    if as_json {
        println!(
            "{}",
            json!({"apiKey": record.api_key, "apiSecret": secret, "role": role.as_str(), "projects": record.projects})
        );
    } else {
        println!("Created an API key (the secret is shown only this once; keep it safe):");
        println!("  INTAKE_API_KEY={}", record.api_key);
        println!("  INTAKE_API_SECRET={secret}");
        println!("  role: {}, projects: {}", role.as_str(), record.projects.join(", "));
    }
    exit::OK
}

async fn list(as_json: bool, store: StoreArgs) -> u8 {
    let meta = match store.open().await {
        Ok(meta) => meta,
        Err(e) => return unreachable(&e),
    };
    let keys = match meta.api_keys().await {
        Ok(keys) => keys,
        Err(e) => return unreachable(&e.into()),
    };
    let status = |k: &intake_core::metadata::ApiKeyRecord| if k.revoked_at.is_some() { "revoked" } else { "active" };
    if as_json {
        let all: Vec<_> = keys
            .iter()
            .map(|k| {
                json!({
                    "apiKey": k.api_key, "role": k.role.as_str(), "projects": k.projects, "name": k.name,
                    "origin": k.origin.as_str(), "status": status(k), "createdAt": k.created_at, "revokedAt": k.revoked_at,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(all));
    } else {
        for k in &keys {
            let origin = match k.origin {
                KeyOrigin::Database => "database",
                KeyOrigin::Environment => "environment (INTAKE_API_KEYS)",
            };
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                k.api_key,
                k.role.as_str(),
                k.projects.join(","),
                status(k),
                origin,
                k.name
            );
        }
    }
    exit::OK
}

async fn revoke(key: &str, store: StoreArgs) -> u8 {
    let meta = match store.open().await {
        Ok(meta) => meta,
        Err(e) => return unreachable(&e),
    };
    match meta.revoke_api_key(key, &format_time(chrono::Utc::now())).await {
        Ok(Revocation::Revoked) => {
            println!("revoked {key}: every instance refuses it within seconds");
            exit::OK
        }
        Ok(Revocation::AlreadyRevoked) => {
            println!("{key} was revoked already");
            exit::OK
        }
        Ok(Revocation::FromEnvironment) => {
            eprintln!("error: {key} comes from INTAKE_API_KEYS: remove it there and restart the instances that set it");
            exit::FAILED
        }
        Ok(Revocation::Unknown) => {
            eprintln!("error: there is no API key {key} (`intake keys list` shows them)");
            exit::FAILED
        }
        Err(e) => unreachable(&e.into()),
    }
}
