//! The `intake` commands, one module each, and what the client commands share.

pub mod connect;
pub mod exit;
pub mod import;
pub mod keys;
pub mod migrate;
pub mod models;
pub mod projects;
pub mod report;
pub mod serve;
pub mod settings;
pub mod show;
pub mod signing;
pub mod size;
pub mod store;
pub mod upload;

/// Prints an error the way every client command does, and returns its exit code.
pub fn fail(error: &intake_client::Error) -> u8 {
    eprintln!("error: {error}");
    exit::code_for(error)
}
