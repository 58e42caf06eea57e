//! The outgoing HTTP client of imports, with the SSRF defence.
//!
//! - Only `http` and `https` URLs.
//! - Host names are resolved by [`GuardedResolver`], which refuses the whole name when any
//!   of its addresses is forbidden, and hands reqwest only the addresses it checked: the
//!   connection goes to a checked address (no second lookup, no DNS rebinding).
//! - IP-literal hosts never reach a resolver, so they are checked here before each request.
//! - Redirects are not followed by reqwest: [`ImportClient::get`] follows at most
//!   [`MAX_REDIRECTS`] of them by hand, checking each hop like the first URL, and sends the
//!   caller's credentials only to the origin they were meant for.
//! - No proxy from the environment is used (it would connect on our behalf, unchecked).

use super::address::AddressPolicy;
use super::{ImportConfig, ImportError, ImportResult};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, LOCATION};
use reqwest::{Response, StatusCode, Url};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Redirects followed at most for one request.
pub const MAX_REDIRECTS: usize = 5;

/// A host whose address an import may not reach.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {ip}, a {class} address")]
pub struct RefusedAddress {
    pub host: String,
    pub ip: IpAddr,
    pub class: &'static str,
}

impl RefusedAddress {
    fn message(&self) -> String {
        format!(
            "the address was refused: {self}; imports may only reach public internet addresses (set INTAKE_IMPORT_ALLOW_PRIVATE=1 on a test server to lift this)"
        )
    }
}

/// Resolves names with the system resolver and refuses any name with a forbidden address.
struct GuardedResolver {
    policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for addr in &addrs {
                if let Err(class) = policy.check(addr.ip()) {
                    let refused = RefusedAddress { host: host.clone(), ip: addr.ip(), class };
                    return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
                }
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The guarded HTTP client.
pub struct ImportClient {
    http: reqwest::Client,
    policy: AddressPolicy,
}

/// A response at the end of the redirect chain.
pub struct Fetched {
    pub response: Response,
    /// The URL that answered (after redirects).
    pub url: Url,
}

impl ImportClient {
    /// A client with the timeouts and address policy of `config`.
    pub fn new(config: &ImportConfig) -> crate::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { policy: config.addresses.clone() }))
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(concat!("intake/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(crate::Error::internal)?;
        Ok(Self { http, policy: config.addresses.clone() })
    }

    /// Checks `url` before anything connects: scheme, host, and the address of an
    /// IP-literal host. `Err` is a sentence for the client.
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        check_url(&self.policy, url)
    }

    /// `GET url` with `headers`, following redirects by hand. `auth` (an `Authorization`
    /// value) goes to `url`'s origin only, never to another origin a redirect leads to.
    pub async fn get(&self, url: &Url, auth: Option<&str>, headers: HeaderMap) -> ImportResult<Fetched> {
        let origin = url.origin();
        let mut current = url.clone();
        for hop in 0..=MAX_REDIRECTS {
            check_url(&self.policy, &current).map_err(ImportError::Refused)?;
            let mut request = self.http.get(current.clone()).headers(headers.clone());
            if let Some(auth) = auth.filter(|_| current.origin() == origin) {
                let mut value = HeaderValue::from_str(auth).map_err(crate::Error::internal)?;
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
            let response = request.send().await.map_err(|e| describe_error(&current, &e))?;
            if !response.status().is_redirection() || response.status() == StatusCode::NOT_MODIFIED {
                return Ok(Fetched { response, url: current });
            }
            let Some(location) = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
                return Err(ImportError::Refused(format!(
                    "{} answered a redirect ({}) without a Location",
                    redact(&current),
                    response.status()
                )));
            };
            let next = current.join(location).map_err(|_| {
                ImportError::Refused(format!("{} redirected to an invalid address {location:?}", redact(&current)))
            })?;
            if hop == MAX_REDIRECTS {
                break;
            }
            current = next;
        }
        Err(ImportError::Refused(format!(
            "{} redirected more than {MAX_REDIRECTS} times; give the final address of the file",
            redact(url)
        )))
    }
}

/// `url` without credentials or query (which may hold tokens), for messages.
pub fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.to_string()
}

fn check_url(policy: &AddressPolicy, url: &Url) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("only http and https URLs can be imported, not {}: {}", url.scheme(), redact(url)));
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(format!("the URL {} has no host", redact(url)));
    };
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = literal.parse::<IpAddr>() {
        if let Err(class) = policy.check(ip) {
            return Err(format!(
                "the address was refused: {host} is a {class} address; imports may only reach public internet addresses (set INTAKE_IMPORT_ALLOW_PRIVATE=1 on a test server to lift this)"
            ));
        }
    }
    Ok(())
}

/// Turns a reqwest error into a refusal (forbidden address) or a transient failure.
fn describe_error(url: &Url, e: &reqwest::Error) -> ImportError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<RefusedAddress>() {
            return ImportError::Refused(refused.message());
        }
        source = cause.source();
    }
    ImportError::Transient(network_error(url, e))
}

/// A sentence for a network failure while talking to `url`.
pub fn network_error(url: &Url, e: &reqwest::Error) -> String {
    let host = url.host_str().unwrap_or("the origin");
    if e.is_timeout() {
        format!("{host} timed out")
    } else if e.is_connect() {
        format!("could not connect to {host}: {}", root_cause(e))
    } else {
        format!("the connection to {host} failed: {}", root_cause(e))
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_before_connecting() {
        let policy = AddressPolicy::default();
        let check = |u: &str| check_url(&policy, &Url::parse(u).unwrap());
        assert!(check("https://example.com/a.png").is_ok());
        assert!(check("ftp://example.com/a.png").unwrap_err().contains("only http and https"));
        assert!(check("file:///etc/passwd").unwrap_err().contains("only http and https"));
        assert!(check("http://127.0.0.1/").unwrap_err().contains("loopback"));
        // Shorthand and decimal forms are normalised by the URL parser before the check.
        assert!(check("http://127.1/").unwrap_err().contains("loopback"));
        assert!(check("http://2130706433/").unwrap_err().contains("loopback"));
        assert!(check("http://[::ffff:169.254.169.254]/").unwrap_err().contains("IPv4-mapped"));
        assert!(check("http://[fd00::1]:8080/").unwrap_err().contains("unique-local"));
        assert!(check("http://8.8.8.8/").is_ok());
    }

    #[test]
    fn redacted_urls_hide_credentials_and_query() {
        let url = Url::parse("https://user:pw@example.com/a?token=secret").unwrap();
        assert_eq!(redact(&url), "https://example.com/a");
    }
}
