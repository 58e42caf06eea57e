//! The links port: the service decides what a signed URL grants, until when, and signs it
//! ([`crate::signing`]); whoever serves the routes says what the URL looks like. So the
//! service knows no path, host or query string of intake's HTTP API.

use crate::signing::Grant;

/// Writes the URLs intake hands out for its own routes.
pub trait Links: Send + Sync + std::fmt::Debug {
    /// Appends to `out` the URL through which a client is granted `grant` until `expires`
    /// (unix seconds), carrying `signature` ([`crate::signing::Signer::sign`]).
    fn write_url(&self, grant: Grant<'_>, expires: i64, signature: &str, out: &mut String);
}
