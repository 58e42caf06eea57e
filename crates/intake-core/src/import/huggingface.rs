//! Hugging Face: `owner/name[@revision]` → the one weights file to import, through the Hub
//! API (`GET /api/models/{repo}[/revision/{rev}]?blobs=true`, whose `siblings` list the files
//! with their sizes and LFS SHA-256) and the `resolve` URL of the chosen file.
//!
//! Which file (the rule the README documents):
//! 1. at the repo's root, a `.safetensors` file: `pytorch_lora_weights.safetensors` (the
//!    diffusers LoRA layout) first, otherwise the largest one;
//! 2. otherwise at the root, the largest file in another weights format, in this order of
//!    preference: `.gguf`, `.ckpt`, `.pt`, `.pth`, `.bin`;
//! 3. otherwise, in the diffusers pipeline layout (`model_index.json`), the denoiser:
//!    `transformer/diffusion_pytorch_model.safetensors`, then `unet/diffusion_pytorch_model.safetensors`;
//! 4. otherwise the import fails, saying what was looked for. Sharded weights
//!    (`…-00001-of-00003…`) are never picked: one shard is not a model.

use super::client::ImportClient;
use super::download::DownloadPlan;
use super::{ImportConfig, ImportError, ImportResult};
use reqwest::header::{HeaderMap, ACCEPT};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use serde_json::json;

/// A parsed `huggingFaceModelName`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    /// `owner/name`.
    pub repo: String,
    pub revision: Option<String>,
}

fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 96
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && !s.starts_with(['.', '-'])
        && !s.contains("..")
}

/// Parses `owner/name` with an optional `@revision`; `Err` says what is wrong.
pub fn parse_model_name(s: &str) -> Result<RepoRef, String> {
    let s = s.trim();
    let (repo, revision) = match s.split_once('@') {
        Some((repo, rev)) => (repo, Some(rev)),
        None => (s, None),
    };
    let mut halves = repo.split('/');
    let (owner, name) = (halves.next().unwrap_or(""), halves.next());
    let ok = name.is_some_and(valid_part) && valid_part(owner) && halves.next().is_none();
    if !ok {
        return Err(format!(
            "huggingFaceModelName must be owner/name, optionally followed by @revision (e.g. stabilityai/sdxl-turbo or black-forest-labs/FLUX.1-dev@main), got {s:?}"
        ));
    }
    if let Some(rev) = revision {
        let ok_rev = !rev.is_empty()
            && rev.len() <= 256
            && rev.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
            && !rev.contains("..");
        if !ok_rev {
            return Err(format!(
                "the revision after @ in huggingFaceModelName must be a branch, tag or commit, got {rev:?}"
            ));
        }
    }
    Ok(RepoRef { repo: repo.to_string(), revision: revision.map(String::from) })
}

#[derive(Debug, Deserialize)]
struct ModelInfo {
    #[serde(default)]
    sha: Option<String>,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(Debug, Clone, Deserialize)]
struct Sibling {
    rfilename: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    lfs: Option<Lfs>,
}

#[derive(Debug, Clone, Deserialize)]
struct Lfs {
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    size: Option<u64>,
}

impl Sibling {
    fn size(&self) -> Option<u64> {
        self.size.or(self.lfs.as_ref().and_then(|l| l.size))
    }
}

const OTHER_FORMATS: [&str; 5] = [".gguf", ".ckpt", ".pt", ".pth", ".bin"];

fn is_shard(name: &str) -> bool {
    // model-00001-of-00003.safetensors
    name.split(['-', '.']).collect::<Vec<_>>().windows(3).any(|w| {
        w[1] == "of"
            && w[0].len() == 5
            && w[2].len() == 5
            && w[0].bytes().chain(w[2].bytes()).all(|b| b.is_ascii_digit())
    })
}

fn pick(siblings: &[Sibling]) -> Option<&Sibling> {
    let root: Vec<&Sibling> =
        siblings.iter().filter(|s| !s.rfilename.contains('/') && !is_shard(&s.rfilename)).collect();
    let largest = |ext: &str| {
        root.iter()
            .filter(|s| s.rfilename.to_ascii_lowercase().ends_with(ext))
            .max_by_key(|s| s.size().unwrap_or(0))
            .copied()
    };
    if let Some(lora) = root.iter().find(|s| s.rfilename == "pytorch_lora_weights.safetensors") {
        return Some(lora);
    }
    if let Some(s) = largest(".safetensors") {
        return Some(s);
    }
    if let Some(s) = OTHER_FORMATS.iter().find_map(|ext| largest(ext)) {
        return Some(s);
    }
    if siblings.iter().any(|s| s.rfilename == "model_index.json") {
        for denoiser in ["transformer/diffusion_pytorch_model.safetensors", "unet/diffusion_pytorch_model.safetensors"]
        {
            if let Some(s) = siblings.iter().find(|s| s.rfilename == denoiser) {
                return Some(s);
            }
        }
    }
    None
}

/// What to import for `model`: the plan, a description for `config`, and the model's name.
pub async fn resolve(
    client: &ImportClient,
    config: &ImportConfig,
    model: &RepoRef,
) -> ImportResult<(DownloadPlan, serde_json::Value, String)> {
    let base = Url::parse(&format!("{}/", config.hf_endpoint.trim_end_matches('/')))
        .map_err(|e| crate::Error::internal(format!("INTAKE_HF_ENDPOINT: {e}")))?;
    let mut api = base.clone();
    {
        let mut path =
            api.path_segments_mut().map_err(|_| crate::Error::internal("INTAKE_HF_ENDPOINT cannot be a base"))?;
        path.pop_if_empty().push("api").push("models");
        for part in model.repo.split('/') {
            path.push(part);
        }
        if let Some(rev) = &model.revision {
            path.push("revision").push(rev);
        }
    }
    api.set_query(Some("blobs=true"));
    let auth = config.hf_token.as_ref().map(|t| format!("Bearer {t}"));
    let at = model.revision.as_ref().map(|r| format!(" at revision {r:?}")).unwrap_or_default();
    let token_hint = if config.hf_token.is_some() {
        "the server's HF_TOKEN does not give access to it: accept the repo's terms on Hugging Face with the token's account, or use a token that can read it"
    } else {
        "if the repo is gated or private, accept its terms on Hugging Face and set HF_TOKEN on the intake server"
    };
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, "application/json".parse().expect("valid header"));
    let fetched = client.get(&api, auth.as_deref(), headers).await?;
    let status = fetched.response.status();
    match status {
        s if s.is_success() => {}
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(ImportError::Refused(format!(
                "the Hugging Face repo {}{at} is gated, private or does not exist ({status}); {token_hint}",
                model.repo
            )))
        }
        StatusCode::NOT_FOUND => {
            return Err(ImportError::Refused(format!(
                "the Hugging Face repo {}{at} was not found; check the name (owner/name) and the revision",
                model.repo
            )))
        }
        s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
            return Err(ImportError::Transient(format!("the Hugging Face API answered {s}")))
        }
        s => return Err(ImportError::Refused(format!("the Hugging Face API answered {s} for {}{at}", model.repo))),
    }
    let info: ModelInfo = fetched
        .response
        .json()
        .await
        .map_err(|e| ImportError::Transient(format!("the Hugging Face API sent an unreadable answer: {e}")))?;
    let Some(file) = pick(&info.siblings).cloned() else {
        return Err(ImportError::Refused(format!(
            "the Hugging Face repo {}{at} has no weights file intake can import: looked for a .safetensors (or .gguf, .ckpt, .pt, .pth, .bin) file at its root, or a diffusers denoiser (transformer/ or unet/diffusion_pytorch_model.safetensors); sharded weights cannot be imported",
            model.repo
        )));
    };
    let revision = info.sha.clone().or(model.revision.clone()).unwrap_or_else(|| "main".into());
    let mut url = base;
    {
        let mut path =
            url.path_segments_mut().map_err(|_| crate::Error::internal("INTAKE_HF_ENDPOINT cannot be a base"))?;
        path.pop_if_empty();
        for part in model.repo.split('/') {
            path.push(part);
        }
        path.push("resolve").push(&revision);
        for part in file.rfilename.split('/') {
            path.push(part);
        }
    }
    let name = model.repo.rsplit('/').next().unwrap_or(&model.repo).to_string();
    let description = json!({
        "repo": model.repo,
        "revision": model.revision.clone().unwrap_or_else(|| "main".into()),
        "commit": info.sha,
        "file": file.rfilename,
    });
    let plan = DownloadPlan {
        url,
        auth,
        what: format!("the Hugging Face file {}/{}", model.repo, file.rfilename),
        auth_hint: format!("The repo {} may be gated or private; {token_hint}.", model.repo),
        file_name: Some(file.rfilename.rsplit('/').next().unwrap_or(&file.rfilename).to_string()),
        expected_size: file.size(),
        sha256: file.lfs.as_ref().and_then(|l| l.sha256.clone()).map(|h| h.to_ascii_lowercase()),
    };
    Ok((plan, description, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(name: &str, size: u64) -> Sibling {
        Sibling { rfilename: name.into(), size: Some(size), lfs: None }
    }

    #[test]
    fn model_names_parse() {
        assert_eq!(parse_model_name("a/b").unwrap(), RepoRef { repo: "a/b".into(), revision: None });
        assert_eq!(parse_model_name("a/b.c@v1.0").unwrap().revision.as_deref(), Some("v1.0"));
        for bad in ["a", "a/b/c", "/b", "a/", "a/..", "a/b@", "a/b@x y", "../b"] {
            assert!(parse_model_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_weights_are_picked_by_the_documented_rule() {
        let lora = [s("README.md", 1), s("pytorch_lora_weights.safetensors", 10), s("big.safetensors", 99)];
        assert_eq!(pick(&lora).unwrap().rfilename, "pytorch_lora_weights.safetensors");
        let checkpoints = [s("a.safetensors", 5), s("b.safetensors", 50), s("c.ckpt", 500)];
        assert_eq!(pick(&checkpoints).unwrap().rfilename, "b.safetensors");
        let other = [s("m.bin", 5), s("m.gguf", 1)];
        assert_eq!(pick(&other).unwrap().rfilename, "m.gguf");
        let diffusers = [
            s("model_index.json", 1),
            s("vae/diffusion_pytorch_model.safetensors", 5),
            s("unet/diffusion_pytorch_model.safetensors", 50),
        ];
        assert_eq!(pick(&diffusers).unwrap().rfilename, "unet/diffusion_pytorch_model.safetensors");
        let sharded = [s("model-00001-of-00002.safetensors", 5), s("model-00002-of-00002.safetensors", 5)];
        assert!(pick(&sharded).is_none());
        assert!(pick(&[s("README.md", 1)]).is_none());
    }
}
