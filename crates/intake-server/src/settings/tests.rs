use super::file::SettingsFile;
use super::names::{check_environment, is_other_variable, OTHER_VARIABLES};
use super::*;
use std::ffi::OsString;
use std::path::Path;

/// The README's settings table: variable → (flag, default) cells, in backticks removed.
fn readme_rows() -> Vec<(String, String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(" | ").map(|c| c.trim_matches(|ch| ch == '|' || ch == ' ')).collect();
            let name = cells.first()?.trim_matches('`');
            let wanted = name.starts_with("INTAKE_") || name.ends_with("_TOKEN");
            let (flag, default) = (cells.get(1)?.trim_matches('`'), cells.get(2)?);
            wanted.then(|| (name.to_string(), flag.to_string(), default.to_string()))
        })
        .collect()
}

#[test]
fn every_setting_has_a_readme_row_with_its_flag_and_default() {
    let rows = readme_rows();
    let mut missing = Vec::new();
    for arg in Settings::arguments() {
        let env = arg.get_env().expect("every setting reads a variable").to_string_lossy().into_owned();
        let flag = format!("--{}", arg.get_long().expect("every setting has a flag"));
        let defaults: Vec<String> = arg.get_default_values().iter().map(|d| d.to_string_lossy().into_owned()).collect();
        match rows.iter().find(|(name, _, _)| *name == env) {
            None => missing.push(format!("no row for {env}")),
            Some((_, row_flag, _)) if *row_flag != flag => missing.push(format!("{env}: flag {row_flag}, not {flag}")),
            Some((_, _, default)) => {
                for d in defaults.iter().filter(|d| !default.contains(d.as_str())) {
                    missing.push(format!("{env}: the default cell {default:?} does not say {d}"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "the README's settings table is out of date:\n{}", missing.join("\n"));
}

#[test]
fn every_readme_row_is_a_known_variable() {
    let settings: Vec<String> = Settings::arguments()
        .iter()
        .map(|a| a.get_env().expect("every setting reads a variable").to_string_lossy().into_owned())
        .collect();
    for (name, _, _) in readme_rows() {
        assert!(
            settings.contains(&name) || name == CONFIG_VAR || is_other_variable(&name),
            "the README has a row for {name}, which intake does not read"
        );
    }
}

#[test]
fn file_keys_are_the_variable_names_in_lower_case() {
    for arg in Settings::arguments() {
        let id = arg.get_id().as_str();
        let env = arg.get_env().unwrap_or_else(|| panic!("{id}: every setting reads a variable (env = …)"));
        let env = env.to_string_lossy().into_owned();
        assert!(arg.get_long().is_some(), "{id}: every setting has a flag (long)");
        let key = env.strip_prefix("INTAKE_").unwrap_or(&env).to_ascii_lowercase();
        assert_eq!(arg.get_id().as_str(), key, "{env}");
        assert_eq!(arg.get_long().unwrap(), key.replace('_', "-"), "{env}");
    }
}

#[test]
fn no_setting_is_also_another_parts_variable() {
    for arg in Settings::arguments() {
        let env = arg.get_env().expect("every setting reads a variable").to_string_lossy().into_owned();
        assert!(!is_other_variable(&env), "{env} is a setting and listed among the other variables");
    }
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let config = Config::default();
    assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(config.data_dir, PathBuf::from("intake-data"));
    assert_eq!(config.job_lease, Duration::from_secs(30));
    assert_eq!(config.max_file_size, intake_api::MAX_FILE_SIZE);
    assert_eq!(config.import.max_bytes, 50 << 30);
    assert_eq!(config.import.hf_endpoint, "https://huggingface.co");
    assert_eq!(config.rate_limit_per_second, 50.0);
    assert!(config.s3.is_none() && config.database_url.is_none() && config.api_keys.is_empty());
}

#[derive(clap::Parser)]
#[command(no_binary_name = true)]
struct Probe {
    #[command(flatten)]
    args: SettingsArgs,
}

/// `flags` parsed with `file` applied, the environment left out (it is tested through the binary).
fn parse(file: &str, flags: &[&str]) -> anyhow::Result<Settings> {
    let file = SettingsFile::parse(Path::new("intake.toml"), file)?;
    let command = file.apply(Probe::command().mut_args(|a| a.env(None)))?;
    let matches = command.try_get_matches_from(flags)?;
    Ok(Probe::from_arg_matches(&matches)?.args.settings)
}

#[test]
fn a_file_value_replaces_the_default_and_a_flag_replaces_the_file() {
    let file = "workers = 7\ndata_dir = \"/srv/intake\"\nrate_limit = 0.5\nimport_allow_private = true\n\
                pickle_allow = [\"a.B\", \"c.D\"]\nimport_allow_addresses = \"10.0.0.1, 10.0.0.2\"\n\
                api_keys = [\"k1:s1:p1;p2\", \"k2:s2:p3\"]\n";
    let s = parse(file, &[]).unwrap();
    assert_eq!((s.workers, s.data_dir.to_str().unwrap(), s.rate_limit), (7, "/srv/intake", 0.5));
    assert!(s.import_allow_private);
    assert_eq!(s.pickle_allow, ["a.B", "c.D"]);
    assert_eq!(s.import_allow_addresses.len(), 2);
    assert_eq!(s.upload_ttl, 86_400, "what the file leaves out keeps its default");
    let keys = s.clone().into_config().unwrap().api_keys;
    assert_eq!(keys.iter().map(|k| (k.api_key.as_str(), k.projects.len())).collect::<Vec<_>>(), [("k1", 2), ("k2", 1)]);
    let s = parse(file, &["--workers", "9", "--pickle-allow", "e.F"]).unwrap();
    assert_eq!((s.workers, s.pickle_allow.as_slice()), (9, ["e.F".to_string()].as_slice()));
}

#[test]
fn a_mistyped_or_mistaken_file_key_is_refused_with_the_nearest_name() {
    let e = parse("dta_dir = \"x\"\n", &[]).unwrap_err().to_string();
    assert!(e.contains("dta_dir") && e.contains("did you mean data_dir"), "{e}");
    let e = parse("data-dir = \"x\"\n", &[]).unwrap_err().to_string();
    assert!(e.contains("did you mean data_dir"), "{e}");
    let e = parse("workers = \"many\"\n", &[]).unwrap_err().to_string();
    assert!(e.contains("intake.toml: workers = many") && e.contains("invalid"), "{e}");
    let e = parse("workers = [1, 2]\n", &[]).unwrap_err().to_string();
    assert!(e.contains("one value"), "{e}");
    let e = parse("[s3]\nbucket = \"b\"\n", &[]).unwrap_err().to_string();
    assert!(e.contains("s3 must be"), "{e}");
    assert!(parse("workers = \n", &[]).unwrap_err().to_string().contains("not valid TOML"));
}

fn vars(names: &[&str]) -> Vec<(OsString, OsString)> {
    names.iter().map(|n| (OsString::from(n), OsString::from("1"))).collect()
}

#[test]
fn an_unknown_intake_variable_is_refused_with_the_nearest_name() {
    let command = Probe::command();
    let e = check_environment(&command, vars(&["INTAKE_LISTN", "INTAKE_WORKERS", "PATH"])).unwrap_err().to_string();
    assert!(e.contains("INTAKE_LISTN") && e.contains("did you mean INTAKE_LISTEN?"), "{e}");
    assert!(!e.contains("INTAKE_WORKERS ") && !e.contains("PATH"), "{e}");
    let e = check_environment(&command, vars(&["INTAKE_S3_BUKET", "INTAKE_IMPORT_MAX_BYTE"])).unwrap_err().to_string();
    assert!(e.contains("did you mean INTAKE_S3_BUCKET?") && e.contains("did you mean INTAKE_IMPORT_MAX_BYTES?"), "{e}");
}

#[test]
fn other_parts_variables_never_stop_a_start() {
    let command = Probe::command();
    let mut names: Vec<&str> = OTHER_VARIABLES.iter().map(|(n, _)| *n).collect();
    names.extend(["INTAKE_TEST_DATABASE_URL", "INTAKE_TEST_S3_BUCKET", CONFIG_VAR, "INTAKE_LISTEN", "HF_TOKEN"]);
    check_environment(&command, vars(&names)).unwrap();
}
