//! The settings file (`--config intake.toml`, or `INTAKE_CONFIG`): a flat TOML table whose
//! keys are the settings' names (`data_dir = "/var/lib/intake"`, `workers = 4`,
//! `pickle_allow = ["mymodule.Helper"]`). Its values take the place of the defaults, so a
//! flag or a variable still wins over them. An unknown key or a value of the wrong type
//! stops the start and names the key.

use super::names::nearest;
use super::Settings;
use clap::ArgAction;
use std::path::{Path, PathBuf};

/// Largest settings file read (a settings file is a few kilobytes).
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// A settings file, read and parsed; its values are checked by [`SettingsFile::apply`].
#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
    values: Vec<(String, Vec<String>)>,
}

impl SettingsFile {
    /// Reads and parses the file at `path`.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let shown = path.display();
        let size =
            std::fs::metadata(path).map_err(|e| anyhow::anyhow!("reading the settings file {shown}: {e}"))?.len();
        if size > MAX_FILE_BYTES {
            anyhow::bail!("the settings file {shown} is {size} bytes; a settings file holds at most {MAX_FILE_BYTES}");
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading the settings file {shown}: {e}"))?;
        Self::parse(path, &text)
    }

    /// Parses `text`, the content of the file at `path` (named in errors).
    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Self> {
        let shown = path.display();
        let table: toml::Table = toml::from_str(text).map_err(|e| anyhow::anyhow!("{shown}: not valid TOML: {e}"))?;
        let mut values = Vec::with_capacity(table.len());
        for (key, value) in table {
            let texts = match value {
                toml::Value::Array(items) => items
                    .into_iter()
                    .map(|item| scalar(&item).ok_or_else(|| wrong_type(path, &key)))
                    .collect::<anyhow::Result<Vec<_>>>()?,
                other => vec![scalar(&other).ok_or_else(|| wrong_type(path, &key))?],
            };
            values.push((key, texts));
        }
        Ok(Self { path: path.to_path_buf(), values })
    }

    /// `command` (one that flattens [`Settings`]) with the file's values as its defaults.
    /// An unknown key, a list for a setting that takes one value, or a value that the
    /// setting's parser refuses is an error that names the key.
    pub fn apply(&self, mut command: clap::Command) -> anyhow::Result<clap::Command> {
        let shown = self.path.display();
        let settings = Settings::arguments();
        for (key, texts) in &self.values {
            let Some(arg) = settings.iter().find(|a| a.get_id() == key.as_str()) else {
                let near = nearest(key, settings.iter().map(|a| a.get_id().as_str())).unwrap_or("?");
                anyhow::bail!("{shown}: {key} is no setting of intake: did you mean {near}?");
            };
            let many = matches!(arg.get_action(), ArgAction::Append);
            if texts.len() != 1 && !many {
                anyhow::bail!("{shown}: {key} takes one value, not a list");
            }
            let texts: Vec<String> = match arg.get_value_delimiter() {
                Some(delimiter) => {
                    texts.iter().flat_map(|t| t.split(delimiter)).map(str::trim).map(str::to_string).collect()
                }
                None => texts.clone(),
            };
            if matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse) {
                // A switch (`--no-migrate`): the file says true or false.
                if !matches!(texts.as_slice(), [t] if t == "true" || t == "false") {
                    anyhow::bail!("{shown}: {key} must be true or false");
                }
            } else {
                check_value(arg, &texts).map_err(|e| anyhow::anyhow!("{shown}: {key} = {}: {e}", texts.join(",")))?;
            }
            command = command.mut_arg(key, |a| a.default_values(texts));
        }
        Ok(command)
    }
}

/// A TOML value as the text a flag would take, or `None` for tables and dates.
fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn wrong_type(path: &Path, key: &str) -> anyhow::Error {
    anyhow::anyhow!("{}: {key} must be a string, a number, true or false, or a list of them", path.display())
}

/// Runs `texts` through `arg`'s own parser, so that a bad value is refused naming the file's key.
fn check_value(arg: &clap::Arg, texts: &[String]) -> Result<(), String> {
    let probe = arg.clone().env(None).default_value(None).required(false);
    let long = probe.get_long().expect("every setting has a flag").to_string();
    let command = clap::Command::new("settings-file").no_binary_name(true).arg(probe);
    let args: Vec<String> = texts.iter().map(|t| format!("--{long}={t}")).collect();
    command.try_get_matches_from(args).map(drop).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default();
        first.strip_prefix("error: ").unwrap_or(first).to_string()
    })
}
