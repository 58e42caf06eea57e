//! Where the server is and who we are: flags, `INTAKE_*` variables, and the names
//! Scenario's SDKs use (`SCENARIO_*`), so the same CLI works against Scenario's cloud.

use intake_client::{Client, Error};

/// Connection options shared by every client command.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnectArgs {
    /// Server URL, e.g. http://127.0.0.1:8080 or https://api.cloud.scenario.com/v1 [env: INTAKE_URL, or SCENARIO_BASE_URL; default http://127.0.0.1:8080].
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// API key [env: INTAKE_API_KEY, or SCENARIO_API_KEY].
    #[arg(long)]
    pub api_key: Option<String>,
    /// API secret [env: INTAKE_API_SECRET, or SCENARIO_API_SECRET]. Prefer the variable:
    /// command lines are visible to other users.
    #[arg(long)]
    pub api_secret: Option<String>,
    /// Project to act in (`?projectId=`) [env: INTAKE_PROJECT_ID; default: the key's own].
    #[arg(long)]
    pub project: Option<String>,
}

fn env(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
}

impl ConnectArgs {
    /// A client, or an [`Error::Invalid`] saying what is missing.
    pub fn client(&self) -> Result<Client, Error> {
        let url = self
            .server
            .clone()
            .or_else(|| env(&["INTAKE_URL", "SCENARIO_BASE_URL"]))
            .unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let key = self.api_key.clone().or_else(|| env(&["INTAKE_API_KEY", "SCENARIO_API_KEY"])).ok_or_else(|| {
            Error::Invalid("no API key: set INTAKE_API_KEY (or SCENARIO_API_KEY), or pass --api-key".into())
        })?;
        let secret =
            self.api_secret.clone().or_else(|| env(&["INTAKE_API_SECRET", "SCENARIO_API_SECRET"])).ok_or_else(
                || {
                    Error::Invalid(
                        "no API secret: set INTAKE_API_SECRET (or SCENARIO_API_SECRET), or pass --api-secret".into(),
                    )
                },
            )?;
        let project = self.project.clone().or_else(|| env(&["INTAKE_PROJECT_ID"]));
        Client::builder(url)
            .credentials(key, secret)
            .project_id(project)
            .user_agent(format!("intake-cli/{}", env!("CARGO_PKG_VERSION")))
            .build()
    }
}
