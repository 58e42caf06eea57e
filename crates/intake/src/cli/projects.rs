//! `intake projects create NAME` and `intake projects list`: projects as rows of the
//! metadata database, made and read beside running servers (they see a new project at once;
//! keys for it come from `intake keys create`).

use super::exit;
use super::store::StoreArgs;
use intake_core::domain::ids::random_base62;
use intake_core::domain::time::format_time;
use intake_core::metadata::ProjectRecord;
use serde_json::json;

/// `intake projects`.
#[derive(clap::Args)]
pub struct ProjectsArgs {
    #[command(subcommand)]
    command: ProjectsCommand,
}

#[derive(clap::Subcommand)]
enum ProjectsCommand {
    /// Create a project; prints its id.
    Create {
        /// What people call it.
        name: String,
        /// Print `{"id", "name"}`.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List every project.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
}

impl ProjectsArgs {
    /// The subcommand's path and the settings file given (see `cli::settings`).
    pub fn settings(&self) -> (&'static [&'static str], Option<std::path::PathBuf>) {
        match &self.command {
            ProjectsCommand::Create { store, .. } => (&["projects", "create"], store.config_file()),
            ProjectsCommand::List { store, .. } => (&["projects", "list"], store.config_file()),
        }
    }
}

/// Runs `intake projects …`; returns the exit status.
pub async fn run(args: ProjectsArgs) -> u8 {
    match args.command {
        ProjectsCommand::Create { name, json, store } => create(name, json, store).await,
        ProjectsCommand::List { json, store } => list(json, store).await,
    }
}

async fn create(name: String, as_json: bool, store: StoreArgs) -> u8 {
    let name = name.trim().to_string();
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        eprintln!("error: a project name is 1 to 200 characters, none of them control characters");
        return exit::USAGE;
    }
    let meta = match store.open().await {
        Ok(meta) => meta,
        Err(e) => return super::keys::unreachable(&e),
    };
    let now = format_time(chrono::Utc::now());
    let project = ProjectRecord {
        id: format!("proj_{}", random_base62(22)).into(),
        name,
        created_at: now.clone(),
        updated_at: now,
    };
    match meta.insert_project(&project).await {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("error: project id {} is taken; run the command again", project.id);
            return exit::INCOMPLETE;
        }
        Err(e) => return super::keys::unreachable(&anyhow::Error::from(e)),
    }
    if as_json {
        println!("{}", json!({"id": project.id, "name": project.name}));
    } else {
        println!("created project {} ({})", project.id, project.name);
    }
    exit::OK
}

async fn list(as_json: bool, store: StoreArgs) -> u8 {
    let meta = match store.open().await {
        Ok(meta) => meta,
        Err(e) => return super::keys::unreachable(&e),
    };
    let projects = match meta.projects().await {
        Ok(projects) => projects,
        Err(e) => return super::keys::unreachable(&anyhow::Error::from(e)),
    };
    if as_json {
        let all: Vec<_> = projects
            .iter()
            .map(|p| json!({"id": p.id, "name": p.name, "createdAt": p.created_at, "updatedAt": p.updated_at}))
            .collect();
        println!("{}", serde_json::Value::Array(all));
    } else {
        for p in &projects {
            println!("{}\t{}\t{}", p.id, p.name, p.created_at);
        }
    }
    exit::OK
}
