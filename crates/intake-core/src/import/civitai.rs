//! Civitai: `https://civitai.com/models/<id>[/<slug>][?modelVersionId=<v>]` → the primary
//! file of that version (the latest version when none is named), through Civitai's public
//! REST API: `GET /api/v1/model-versions/{v}` or `GET /api/v1/models/{id}` (whose
//! `modelVersions` come newest first). The file's `hashes.SHA256` is checked after the
//! download; `CIVITAI_TOKEN` is sent to the Civitai endpoint's own origin only: never to a
//! `downloadUrl` elsewhere, nor to the CDN Civitai redirects to.

use super::client::ImportClient;
use super::download::DownloadPlan;
use super::{ImportConfig, ImportError, ImportResult};
use reqwest::header::{HeaderMap, ACCEPT};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::json;

/// A parsed `civitaiModelUrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    pub model_id: u64,
    pub version_id: Option<u64>,
}

/// Parses a Civitai model page URL; `Err` says what is wrong. `endpoint_host` (the host of
/// `INTAKE_CIVITAI_ENDPOINT`) is accepted besides civitai.com.
pub fn parse_model_url(s: &str, endpoint_host: Option<&str>) -> Result<ModelRef, String> {
    let hint = "civitaiModelUrl must look like https://civitai.com/models/<id>[/<slug>][?modelVersionId=<version>]";
    let url = Url::parse(s.trim()).map_err(|_| format!("{hint}, got {s:?}"))?;
    let host = url.host_str().unwrap_or("");
    let known = ["civitai.com", "www.civitai.com"].contains(&host) || Some(host) == endpoint_host;
    if !matches!(url.scheme(), "http" | "https") || !known {
        return Err(format!("{hint}: the address must be on civitai.com, got {s:?}"));
    }
    let segments: Vec<&str> = url.path_segments().map(|p| p.filter(|s| !s.is_empty()).collect()).unwrap_or_default();
    let model_id = match segments.as_slice() {
        ["models", id] | ["models", id, _] => id.parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("{hint}, got {s:?}"))?;
    let mut version_id = None;
    for (k, v) in url.query_pairs() {
        if k == "modelVersionId" {
            version_id = Some(
                v.parse::<u64>()
                    .map_err(|_| format!("modelVersionId in civitaiModelUrl must be a number, got {v:?}"))?,
            );
        }
    }
    Ok(ModelRef { model_id, version_id })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Model {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    model_versions: Vec<Version>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Version {
    id: u64,
    #[serde(default)]
    model_id: Option<u64>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    files: Vec<File>,
    #[serde(default)]
    model: Option<VersionModel>,
}

#[derive(Debug, Clone, Deserialize)]
struct VersionModel {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    name: String,
    #[serde(default, rename = "sizeKB")]
    size_kb: Option<f64>,
    #[serde(default, rename = "type")]
    type_: Option<String>,
    #[serde(default)]
    primary: Option<bool>,
    #[serde(default)]
    hashes: Option<Hashes>,
    download_url: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Hashes {
    #[serde(default, rename = "SHA256")]
    sha256: Option<String>,
}

async fn get_json<T: for<'de> Deserialize<'de>>(
    client: &ImportClient,
    url: &Url,
    auth: Option<&str>,
    what: &str,
) -> ImportResult<T> {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, "application/json".parse().expect("valid header"));
    let fetched = client.get(url, auth, headers).await?;
    match fetched.response.status() {
        s if s.is_success() => {}
        StatusCode::NOT_FOUND => return Err(ImportError::Refused(format!("{what} was not found on Civitai; check the URL"))),
        s @ (StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
            return Err(ImportError::Refused(format!(
                "Civitai refused access to {what} ({s}); set CIVITAI_TOKEN on the intake server to an API key of an account that can see it"
            )))
        }
        s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
            return Err(ImportError::Transient(format!("the Civitai API answered {s}")))
        }
        s => return Err(ImportError::Refused(format!("the Civitai API answered {s} for {what}"))),
    }
    fetched
        .response
        .json()
        .await
        .map_err(|e| ImportError::Transient(format!("the Civitai API sent an unreadable answer: {e}")))
}

/// What to import for `model`: the plan, a description for `config`, and the model's name.
pub async fn resolve(
    client: &ImportClient,
    config: &ImportConfig,
    model: &ModelRef,
) -> ImportResult<(DownloadPlan, serde_json::Value, String)> {
    let base = config.civitai_endpoint.trim_end_matches('/');
    let endpoint = |path: String| {
        Url::parse(&format!("{base}{path}"))
            .map_err(|e| ImportError::from(crate::Error::internal(format!("INTAKE_CIVITAI_ENDPOINT: {e}"))))
    };
    let auth = config.civitai_token.as_ref().map(|t| format!("Bearer {t}"));
    let (version, model_name) = match model.version_id {
        Some(v) => {
            let version: Version = get_json(
                client,
                &endpoint(format!("/api/v1/model-versions/{v}"))?,
                auth.as_deref(),
                &format!("model version {v}"),
            )
            .await?;
            if let Some(owner) = version.model_id.filter(|m| *m != model.model_id) {
                return Err(ImportError::Refused(format!(
                    "Civitai model version {v} belongs to model {owner}, not to model {}; check modelVersionId in the URL",
                    model.model_id
                )));
            }
            let name = version.model.as_ref().and_then(|m| m.name.clone());
            (version, name)
        }
        None => {
            let m: Model = get_json(
                client,
                &endpoint(format!("/api/v1/models/{}", model.model_id))?,
                auth.as_deref(),
                &format!("model {}", model.model_id),
            )
            .await?;
            let Some(latest) = m.model_versions.first().cloned() else {
                return Err(ImportError::Refused(format!(
                    "Civitai model {} has no published version to import",
                    model.model_id
                )));
            };
            (latest, m.name)
        }
    };
    let file = version
        .files
        .iter()
        .find(|f| f.primary == Some(true))
        .or_else(|| version.files.iter().find(|f| f.type_.as_deref() == Some("Model")))
        .or(version.files.first())
        .cloned()
        .ok_or_else(|| ImportError::Refused(format!("Civitai model version {} has no file to import", version.id)))?;
    if let Some(kb) = file.size_kb {
        let approx = (kb * 1024.0) as u64;
        // sizeKB is rounded: allow a little slack before refusing.
        if approx > config.max_bytes.saturating_add(1024) {
            return Err(ImportError::Refused(format!(
                "the Civitai file {} is too large: about {approx} bytes, and this server imports at most {} bytes (INTAKE_IMPORT_MAX_BYTES)",
                file.name, config.max_bytes
            )));
        }
    }
    let url = Url::parse(&file.download_url)
        .map_err(|_| ImportError::Refused(format!("Civitai gave an invalid download URL for {}", file.name)))?;
    let name = model_name
        .clone()
        .unwrap_or_else(|| file.name.rsplit_once('.').map(|(s, _)| s).unwrap_or(&file.name).to_string());
    let description = json!({
        "modelId": model.model_id,
        "modelVersionId": version.id,
        "versionName": version.name,
        "file": file.name,
        "sha256": file.hashes.as_ref().and_then(|h| h.sha256.clone()),
    });
    let token_hint = if config.civitai_token.is_some() {
        "The server's CIVITAI_TOKEN does not give access to this file; use an API key of an account that can download it."
    } else {
        "Civitai requires a login to download this file: set CIVITAI_TOKEN on the intake server to a Civitai API key."
    };
    // The token is for Civitai itself: a `downloadUrl` on any other origin (a model page can
    // name one) gets no credentials.
    let civitai = endpoint(String::new())?.origin();
    let auth = auth.filter(|_| url.origin() == civitai);
    let plan = DownloadPlan {
        url,
        auth,
        what: format!("the Civitai file {} (model {}, version {})", file.name, model.model_id, version.id),
        auth_hint: token_hint.to_string(),
        file_name: Some(file.name.clone()),
        expected_size: None,
        sha256: file.hashes.and_then(|h| h.sha256).map(|h| h.to_ascii_lowercase()),
    };
    Ok((plan, description, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_urls_parse() {
        let p = |s: &str| parse_model_url(s, None);
        assert_eq!(p("https://civitai.com/models/370194").unwrap(), ModelRef { model_id: 370194, version_id: None });
        assert_eq!(
            p("https://civitai.com/models/370194/some-slug?modelVersionId=413806").unwrap(),
            ModelRef { model_id: 370194, version_id: Some(413806) }
        );
        assert!(p("https://evil.example/models/1").unwrap_err().contains("civitai.com"));
        assert!(p("https://civitai.com/images/1").is_err());
        assert!(p("https://civitai.com/models/abc").is_err());
        assert!(p("https://civitai.com/models/1?modelVersionId=x").unwrap_err().contains("modelVersionId"));
        assert!(p("not a url").is_err());
        assert!(parse_model_url("http://127.0.0.1:9/models/5", Some("127.0.0.1")).is_ok());
    }
}
