//! The exit codes scripts can rely on, and which errors lead to which.

use intake_client::Error;

/// Everything worked: uploaded (and, when waited for, imported).
pub const OK: u8 = 0;
/// An upload ended `failed`, or the server refused a request (4xx).
pub const FAILED: u8 = 1;
/// Bad arguments or settings: unknown option, missing credentials, a file that cannot be read.
pub const USAGE: u8 = 2;
/// Could not finish for a reason that may pass: the server unreachable or erroring (5xx)
/// after retries, a timeout. Run the same command again to resume.
pub const INCOMPLETE: u8 = 3;

/// The exit code an error leads to.
pub fn code_for(error: &Error) -> u8 {
    match error {
        Error::Invalid(_) | Error::Io { .. } => USAGE,
        Error::Api(api) if api.status < 500 && api.status != 408 && api.status != 429 => FAILED,
        _ => INCOMPLETE,
    }
}

/// The worst of several outcomes: a failure beats an incomplete run, which beats success.
pub fn worst(codes: impl IntoIterator<Item = u8>) -> u8 {
    let rank = |c: u8| match c {
        USAGE => 3,
        FAILED => 2,
        INCOMPLETE => 1,
        _ => 0,
    };
    codes.into_iter().max_by_key(|&c| rank(c)).unwrap_or(OK)
}
