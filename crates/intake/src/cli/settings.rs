//! Before a command that reads the server's settings runs (`intake serve`, `intake models
//! scan`): a mistyped `INTAKE_*` variable stops it, and the settings file given with
//! `--config` (or `INTAKE_CONFIG`) fills in what no flag and no variable gives.
//! The settings themselves are `intake_server::settings`.

use super::exit;
use clap::{CommandFactory, FromArgMatches};
use intake_server::settings::{file::SettingsFile, names};
use std::path::Path;

/// The command line again, checked against the environment, with `file` applied to the
/// subcommand at `path` (`["serve"]`). On an error it is printed, and the exit status returned.
pub fn resolve<C: CommandFactory + FromArgMatches>(path: &[&str], file: Option<&Path>) -> Result<Option<C>, u8> {
    let command = C::command();
    let mut target = &command;
    for name in path {
        target = target.find_subcommand(name).expect("the subcommand exists");
    }
    if let Err(e) = names::check_environment(target, std::env::vars_os()) {
        eprintln!("error: {e:#}");
        return Err(exit::USAGE);
    }
    let Some(file) = file else {
        return Ok(None);
    };
    let settings = match SettingsFile::read(file) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Err(exit::USAGE);
        }
    };
    let mut failure = None;
    let command = mut_path(command, path, &mut |sub| match settings.apply(sub.clone()) {
        Ok(applied) => applied,
        Err(e) => {
            failure = Some(e);
            sub
        }
    });
    if let Some(e) = failure {
        eprintln!("error: {e:#}");
        return Err(exit::USAGE);
    }
    match command.try_get_matches().and_then(|m| C::from_arg_matches(&m)) {
        Ok(cli) => Ok(Some(cli)),
        Err(e) => {
            let _ = e.print();
            Err(exit::USAGE)
        }
    }
}

/// `command` with `f` applied to its subcommand at `path`.
fn mut_path(command: clap::Command, path: &[&str], f: &mut dyn FnMut(clap::Command) -> clap::Command) -> clap::Command {
    match path.split_first() {
        None => f(command),
        Some((first, rest)) => command.mut_subcommand(*first, |sub| mut_path(sub, rest, f)),
    }
}
