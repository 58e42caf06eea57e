//! The S3 requests intake makes, signed with AWS Signature V4 and sent with reqwest.
//!
//! Every request is a presigned URL (query-string authentication, short-lived) so the
//! same signing code serves intake's own calls and the part URLs it hands to clients. The
//! store's XML error answers become [`S3Error`]s that keep the store's code and message.

use crate::Error;
use rusty_s3::actions::S3Action;
use rusty_s3::{Bucket, Credentials, Method};
use std::time::Duration;
use url::Url;

/// How long the URLs of intake's own calls stay valid (they are used at once).
pub(super) const CALL_TTL: Duration = Duration::from_secs(300);

/// Connection settings of an S3-compatible store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// Base URL of the S3 API, reachable by intake and by clients (who PUT parts to it):
    /// `https://s3.eu-west-1.amazonaws.com`, `http://garage.internal:3900`, …
    pub endpoint: String,
    /// The bucket every object goes to.
    pub bucket: String,
    /// Region name used in signatures (`garage` for Garage's default, `us-east-1`, …).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// `https://endpoint/bucket/key` (path style: Garage, MinIO, Ceph) instead of
    /// `https://bucket.endpoint/key` (virtual-host style: AWS).
    pub path_style: bool,
}

/// An answer of the store that is not a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct S3Error {
    pub status: u16,
    /// The store's error code (`NoSuchUpload`, `InvalidPart`, …), empty when it sent none.
    pub code: String,
    pub message: String,
}

impl S3Error {
    pub fn is_not_found(&self) -> bool {
        self.status == 404 || matches!(self.code.as_str(), "NoSuchUpload" | "NoSuchKey")
    }
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "object store answered {} {}: {}", self.status, self.code, self.message)
    }
}

/// What a call can end with: the store's refusal, or a transport failure.
#[derive(Debug)]
pub(super) enum CallError {
    Store(S3Error),
    Transport(String),
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Store(e) => Error::internal(e),
            CallError::Transport(e) => Error::internal(format!("object store unreachable: {e}")),
        }
    }
}

impl From<reqwest::Error> for CallError {
    /// Without the request's URL: a presigned URL carries a signature that grants access
    /// until it expires, and this text reaches logs and the job's `last_error`.
    fn from(e: reqwest::Error) -> Self {
        let e = e.without_url();
        let mut text = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(inner) = cause {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            cause = inner.source();
        }
        CallError::Transport(text)
    }
}

/// The bucket, the credentials and an HTTP client.
pub(super) struct Client {
    pub bucket: Bucket,
    pub credentials: Credentials,
    pub http: reqwest::Client,
}

impl Client {
    pub fn new(config: &S3Config) -> crate::Result<Self> {
        let endpoint = Url::parse(&config.endpoint)
            .map_err(|e| Error::internal(format!("INTAKE_S3_ENDPOINT {:?} is not a URL: {e}", config.endpoint)))?;
        let style = if config.path_style { rusty_s3::UrlStyle::Path } else { rusty_s3::UrlStyle::VirtualHost };
        let bucket = Bucket::new(endpoint, style, config.bucket.clone(), config.region.clone())
            .map_err(|e| Error::internal(format!("the S3 bucket settings are unusable: {e}")))?;
        let credentials = Credentials::new(config.access_key_id.clone(), config.secret_access_key.clone());
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // A stalled store must not hold a worker forever; streams that make progress
            // are not cut.
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(Error::internal)?;
        Ok(Self { bucket, credentials, http })
    }

    /// Sends `method url` (already signed) with `body`; returns the response when 2xx.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        headers: &[(&str, String)],
        body: Option<reqwest::Body>,
    ) -> Result<reqwest::Response, CallError> {
        let method = match method {
            Method::Head => reqwest::Method::HEAD,
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut request = self.http.request(method, url);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Err(CallError::Store(parse_error(status, &text)))
    }

    /// Signs `action` for one immediate call and sends it.
    pub async fn call<'a, A: S3Action<'a>>(&self, action: &A, body: Option<String>) -> Result<String, CallError> {
        let response = self.send(A::METHOD, action.sign(CALL_TTL), &[], body.map(reqwest::Body::from)).await?;
        let text = response.text().await?;
        // CompleteMultipartUpload may answer 200 with an error inside (the S3 convention).
        if text.contains("<Error>") {
            return Err(CallError::Store(parse_error(200, &text)));
        }
        Ok(text)
    }
}

/// The text of the first `<tag>…</tag>` in `xml`.
pub(super) fn xml_field<'x>(xml: &'x str, tag: &str) -> Option<&'x str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

fn parse_error(status: u16, body: &str) -> S3Error {
    S3Error {
        status,
        code: xml_field(body, "Code").unwrap_or_default().to_string(),
        message: xml_field(body, "Message").unwrap_or(body).chars().take(300).collect(),
    }
}

/// One page of a `ListParts` answer.
#[derive(Debug, Default, PartialEq)]
pub(super) struct PartPage {
    pub parts: Vec<super::PartInfo>,
    /// Where the next page starts, when the listing is truncated.
    pub next_marker: Option<u32>,
}

/// Reads a `ListParts` answer. Deliberately lenient about the document's root element and
/// namespace (stores differ there) and strict about the values intake relies on.
pub(super) fn parse_part_list(xml: &str) -> Result<PartPage, String> {
    let mut page = PartPage::default();
    let mut rest = xml;
    while let Some(start) = rest.find("<Part>") {
        let end = rest[start..].find("</Part>").ok_or("a <Part> is not closed")? + start;
        let part = &rest[start..end];
        let field = |tag: &str| xml_field(part, tag).ok_or_else(|| format!("a part lacks <{tag}>"));
        page.parts.push(super::PartInfo {
            number: field("PartNumber")?.trim().parse().map_err(|e| format!("bad PartNumber: {e}"))?,
            size: field("Size")?.trim().parse().map_err(|e| format!("bad Size: {e}"))?,
            // Quoted, as clients see ETags, whether or not the store quoted it.
            etag: Some(format!("\"{}\"", unescape(field("ETag")?).trim().trim_matches('"'))),
        });
        rest = &rest[end..];
    }
    let truncated = xml_field(xml, "IsTruncated").is_some_and(|t| t.trim() == "true");
    if truncated {
        let next = xml_field(xml, "NextPartNumberMarker").ok_or("a truncated list lacks NextPartNumberMarker")?;
        page.next_marker = Some(next.trim().parse().map_err(|e| format!("bad NextPartNumberMarker: {e}"))?);
    }
    Ok(page)
}

/// XML text to plain text (AWS escapes the quotes around ETags).
fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// A bad answer body.
pub(super) fn unreadable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("object store sent an unreadable {what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn transport_errors_never_carry_the_presigned_url() {
        // A port nobody listens on: the request fails before any answer.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = format!("http://127.0.0.1:{port}/bucket/key?partNumber=1&X-Amz-Signature=s3cr3tsignature");
        let error = reqwest::Client::new().put(&url).send().await.unwrap_err();
        assert!(error.to_string().contains("s3cr3tsignature"), "reqwest's own text names the URL: {error}");
        let CallError::Transport(text) = CallError::from(error) else { panic!("not a transport error") };
        assert!(!text.contains("s3cr3tsignature") && !text.contains("X-Amz"), "{text}");
        assert!(text.contains("error sending request"), "{text}");
    }

    #[test]
    fn part_lists_are_read_whatever_the_root_element() {
        let aws = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key>
<UploadId>u</UploadId><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker>
<MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>
<Part><PartNumber>1</PartNumber><LastModified>2026-11-27T12:00:00.000Z</LastModified><ETag>&quot;aa&quot;</ETag><Size>5242880</Size></Part>
<Part><PartNumber>2</PartNumber><ETag>"bb"</ETag><Size>7</Size></Part></ListPartsResult>"#;
        let page = parse_part_list(aws).unwrap();
        assert_eq!(page.next_marker, Some(2));
        assert_eq!(page.parts.iter().map(|p| (p.number, p.size)).collect::<Vec<_>>(), vec![(1, 5242880), (2, 7)]);
        assert_eq!(page.parts[0].etag.as_deref(), Some("\"aa\""));
        let other = "<ListPartsResponse><IsTruncated>false</IsTruncated></ListPartsResponse>";
        assert_eq!(parse_part_list(other).unwrap(), PartPage::default());
        assert!(parse_part_list("<ListPartsResult><IsTruncated>true</IsTruncated></ListPartsResult>").is_err());
        assert!(parse_part_list("<X><Part><PartNumber>x</PartNumber></Part></X>").is_err());
    }

    #[test]
    fn store_errors_keep_code_and_message() {
        let e = parse_error(404, "<Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>");
        assert!(e.is_not_found());
        assert_eq!((e.code.as_str(), e.message.as_str()), ("NoSuchUpload", "gone"));
    }
}
