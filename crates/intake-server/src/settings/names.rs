//! The names intake knows, and the check that stops a start on a mistyped one: an
//! `INTAKE_*` variable that is neither a setting of the command being started nor one of
//! [`OTHER_VARIABLES`] is refused, with the nearest known name.

use std::ffi::OsString;

/// `INTAKE_*` variables that are not settings of `intake serve` but that other parts of
/// intake read, so that they may be set in the environment of any command.
pub const OTHER_VARIABLES: &[(&str, &str)] = &[
    ("INTAKE_URL", "the client commands: the server's base URL"),
    ("INTAKE_API_KEY", "the client commands: the API key"),
    ("INTAKE_API_SECRET", "the client commands: the API secret"),
    ("INTAKE_PROJECT_ID", "the client commands: the project to act in"),
    ("INTAKE_STATE_DIR", "`intake upload`: where resume journals are kept"),
    ("INTAKE_LOG", "every command: the log filter"),
    ("INTAKE_LOG_FORMAT", "every command: `json` for JSON log lines"),
    ("INTAKE_BIN", "scripts and benchmarks: the intake binary they run"),
    ("INTAKE_CACHE_DIR", "test scripts: where their Python environments are kept"),
    ("INTAKE_KEEP_DATA", "the SDK compatibility test: keep the server's data"),
    ("INTAKE_CRASH_SEED", "the crash harness test: the seed to replay"),
    ("INTAKE_PICKLE_FIXTURES_DIR", "the picklescan agreement test: where its fixtures go"),
];

/// Prefixes of variables the tests read (`INTAKE_TEST_DATABASE_URL`, `INTAKE_TEST_S3_*`, …).
pub const OTHER_PREFIXES: &[&str] = &["INTAKE_TEST_"];

/// Whether `name` is one of [`OTHER_VARIABLES`] or starts with one of [`OTHER_PREFIXES`].
pub fn is_other_variable(name: &str) -> bool {
    OTHER_VARIABLES.iter().any(|(known, _)| *known == name) || OTHER_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The known name closest to `name` (Levenshtein distance, ties to the first).
pub fn nearest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known.into_iter().min_by_key(|candidate| strsim::levenshtein(name, candidate))
}

/// The variables of `command`'s arguments (its settings and flags that read one).
pub fn variables_of(command: &clap::Command) -> Vec<String> {
    command.get_arguments().filter_map(|a| a.get_env()).map(|v| v.to_string_lossy().into_owned()).collect()
}

/// Refuses every `INTAKE_*` variable of `vars` that `command` does not read and that is not
/// another part's ([`OTHER_VARIABLES`]): the error names each one and its nearest known name.
pub fn check_environment(
    command: &clap::Command,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> anyhow::Result<()> {
    let settings = variables_of(command);
    let known: Vec<&str> =
        settings.iter().map(String::as_str).chain(OTHER_VARIABLES.iter().map(|(name, _)| *name)).collect();
    let mut unknown: Vec<String> = vars
        .into_iter()
        .map(|(name, _)| name.to_string_lossy().into_owned())
        .filter(|name| name.starts_with("INTAKE_") && !known.contains(&name.as_str()) && !is_other_variable(name))
        .collect();
    unknown.sort();
    if unknown.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = unknown
        .iter()
        .map(|name| match nearest(name, known.iter().copied()) {
            Some(near) => format!("{name} is set in the environment but is no setting of intake: did you mean {near}?"),
            None => format!("{name} is set in the environment but is no setting of intake"),
        })
        .collect();
    anyhow::bail!("{} (unset it, or see the command's `--help` and the README's settings table)", lines.join("; "))
}
