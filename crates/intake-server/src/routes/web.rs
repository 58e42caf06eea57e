//! The upload page (issue 8): `GET /` and its files under `/web/`, bundled into the binary
//! from the repository's `web/` folder, so the service needs no second server and no build
//! step. Every answer carries a strict Content-Security-Policy: scripts, styles and fonts
//! only from intake itself, no inline code, and network access only to intake and to the
//! origin its part and file URLs point at.

use super::AppState;
use crate::error::ApiError;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use intake_core::Error;

/// One bundled file: its path under `/web/`, content type and bytes.
struct Bundled {
    path: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! bundled {
    ($path:literal, $type:expr) => {
        Bundled { path: $path, content_type: $type, bytes: include_bytes!(concat!("../../../../web/", $path)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Everything the page loads. `web/package.json` records where the vendored files come from
/// (the 3D viewer, and the file-type icons in `vendor/icons/`, shown as images: `img-src 'self'`).
static FILES: &[Bundled] = &[
    bundled!("index.html", "text/html; charset=utf-8"),
    bundled!("app.css", "text/css; charset=utf-8"),
    bundled!("favicon.svg", SVG),
    bundled!("js/app.js", JS),
    bundled!("js/api.js", JS),
    bundled!("js/upload.js", JS),
    bundled!("js/limits.js", JS),
    bundled!("js/preview.js", JS),
    bundled!("js/kinds.js", JS),
    bundled!("js/words.js", JS),
    bundled!("js/dom.js", JS),
    bundled!("js/session.js", JS),
    bundled!("js/transfers.js", JS),
    bundled!("js/recent.js", JS),
    bundled!("vendor/model-viewer.min.js", JS),
    bundled!("vendor/spark-md5.min.js", JS),
    bundled!("vendor/icons/image.svg", SVG),
    bundled!("vendor/icons/video.svg", SVG),
    bundled!("vendor/icons/audio.svg", SVG),
    bundled!("vendor/icons/3d.svg", SVG),
    bundled!("vendor/icons/model.svg", SVG),
    bundled!("vendor/icons/text.svg", SVG),
    bundled!("vendor/icons/avatar.svg", SVG),
    bundled!("vendor/icons/asset.svg", SVG),
    bundled!("vendor/icons/upload.svg", SVG),
];

/// The SHA-256 of the one `<style>` element the vendored `<model-viewer>` (4.4.0) writes into
/// its shadow root: allowed by its hash, so no other inline style is. Updating the viewer may
/// change it; the end-to-end test then reports the violation and the new hash.
const MODEL_VIEWER_STYLE: &str = "sha256-PXtZZkJMMyc18o/DN1ZEFOJ2qEGq95IQbVaJFMOXOb0=";

/// The policy for the page, given the origins besides intake's own that the page must
/// reach: where part URLs and file URLs point (intake's public URL, or an S3 endpoint).
pub fn content_security_policy(extra_origins: &[String]) -> String {
    let extra: String = extra_origins.iter().map(|o| format!(" {o}")).collect();
    [
        "default-src 'none'".to_string(),
        // The 3D viewer compiles a WebAssembly mesh decoder; JavaScript eval stays refused.
        "script-src 'self' 'wasm-unsafe-eval'".to_string(),
        format!("style-src 'self' '{MODEL_VIEWER_STYLE}'"),
        "font-src 'self'".to_string(),
        // Previews: the asset's signed URL; the 3D viewer turns embedded textures into blobs.
        format!("img-src 'self' blob: data:{extra}"),
        format!("media-src 'self' blob:{extra}"),
        format!("connect-src 'self' blob: data:{extra}"),
        "worker-src 'self' blob:".to_string(),
        "base-uri 'none'".to_string(),
        "form-action 'none'".to_string(),
        "frame-ancestors 'none'".to_string(),
    ]
    .join("; ")
}

/// The origin (`scheme://host[:port]`) of a URL, if it has one.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && matches!(scheme, "http" | "https")).then(|| format!("{scheme}://{host}"))
}

/// The header the page sends with every API call.
pub const PAGE_HEADER: &str = "x-requested-with";

/// Does the request come from the page (it carries [`PAGE_HEADER`])?
pub fn is_from_page(request: &Request) -> bool {
    request.headers().contains_key(PAGE_HEADER)
}

/// Drops `WWW-Authenticate` from an answer to the page ([`is_from_page`]): with it, a
/// browser would open its own password dialog over the page instead of letting the page
/// show the 401's reason. Other clients still get the header.
pub fn without_browser_prompt(response: &mut Response) {
    response.headers_mut().remove(header::WWW_AUTHENTICATE);
}

/// `GET /`: the page.
pub async fn index(State(state): State<AppState>) -> Response {
    serve(&state, &FILES[0])
}

/// `GET /web/{*path}`: the page's styles, scripts and vendored viewer.
pub async fn file(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    match FILES.iter().find(|f| f.path == path) {
        Some(file) => serve(&state, file),
        None => ApiError(Error::NotFound(format!("the page has no file {path:?}"))).into_response(),
    }
}

fn serve(state: &AppState, file: &Bundled) -> Response {
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(csp) = HeaderValue::from_str(&state.web_csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page plans parts by `web/js/limits.js`: it must say what the contract says.
    #[test]
    fn the_page_s_size_rules_are_the_contract_s() {
        let page = std::str::from_utf8(FILES.iter().find(|f| f.path == "js/limits.js").unwrap().bytes).unwrap();
        for (name, value) in [
            ("MIN_PART_SIZE", intake_api::MIN_PART_SIZE),
            ("MAX_PART_SIZE", intake_api::MAX_PART_SIZE),
            ("MAX_PARTS", u64::from(intake_api::MAX_PARTS)),
            ("MAX_FILE_SIZE", intake_api::MAX_FILE_SIZE),
        ] {
            let line = format!("export const {name} = {value};");
            assert!(page.lines().any(|l| l == line), "web/js/limits.js lacks `{line}`");
        }
    }

    #[test]
    fn origins_are_scheme_and_authority() {
        assert_eq!(origin_of("http://127.0.0.1:8080/v1").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin_of("https://bucket.s3.example?x").as_deref(), Some("https://bucket.s3.example"));
        assert_eq!(origin_of("ftp://x"), None);
        assert_eq!(origin_of("nonsense"), None);
    }

    #[test]
    fn the_policy_allows_no_inline_code_and_names_the_extra_origins() {
        let csp = content_security_policy(&["http://files.example:9000".to_string()]);
        assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval';"), "{csp}");
        assert!(!csp.contains("'unsafe-inline'") && !csp.contains("'unsafe-eval'"), "{csp}");
        assert!(csp.contains("connect-src 'self' blob: data: http://files.example:9000"), "{csp}");
    }
}
