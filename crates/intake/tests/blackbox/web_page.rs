//! Black-box: the upload page as intake serves it (its behaviour in a browser is tested by
//! tests/web in headless Chromium): bundled files with their content types, a strict
//! Content-Security-Policy naming where intake's URLs point, and 401s without a browser
//! password prompt for the page's own calls.

use crate::common;

use common::{send, TestServer};
use reqwest::header;

#[tokio::test]
async fn the_page_and_its_files_are_served_with_types_and_a_strict_policy() {
    let server = TestServer::start().await;
    let page = server.http.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    assert!(csp.starts_with("default-src 'none'"), "{csp}");
    assert!(!csp.contains("'unsafe-inline'") && !csp.contains("'unsafe-eval'"), "{csp}");
    // Part and file URLs point at the public URL: the page may reach it.
    assert!(csp.contains(&format!("connect-src 'self' blob: data: {}", server.base)), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<script type="module" src="/web/js/app.js"></script>"#));
    assert!(!html.contains("<script>") && !html.contains("style="), "no inline script or style");

    for (path, content_type) in [
        ("/web/app.css", "text/css; charset=utf-8"),
        ("/web/js/app.js", "text/javascript; charset=utf-8"),
        ("/web/js/upload.js", "text/javascript; charset=utf-8"),
        ("/web/vendor/model-viewer.min.js", "text/javascript; charset=utf-8"),
        ("/web/vendor/spark-md5.min.js", "text/javascript; charset=utf-8"),
        ("/web/favicon.svg", "image/svg+xml"),
    ] {
        let response = server.http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], content_type, "{path}");
        assert!(response.headers().contains_key(header::CONTENT_SECURITY_POLICY), "{path}");
        assert!(!response.bytes().await.unwrap().is_empty(), "{path}");
    }
    let (status, body) = send(server.http.get(server.url("/web/js/../../intake.db"))).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = send(server.http.get(server.url("/web/secret.js"))).await;
    assert_eq!(status, 404);
    assert!(body["reason"].as_str().unwrap().contains("secret.js"), "{body}");
}

#[tokio::test]
async fn the_pages_calls_get_401s_without_a_password_prompt() {
    let server = TestServer::start().await;
    let url = server.url("/v1/uploads");
    let plain = server.http.get(&url).basic_auth("alice", Some("wrong")).send().await.unwrap();
    assert_eq!(plain.status(), 401);
    assert_eq!(plain.headers()[header::WWW_AUTHENTICATE], "Basic realm=\"intake\"");
    let from_page = server
        .http
        .get(&url)
        .basic_auth("alice", Some("wrong"))
        .header("x-requested-with", "intake-web")
        .send()
        .await
        .unwrap();
    assert_eq!(from_page.status(), 401);
    assert!(!from_page.headers().contains_key(header::WWW_AUTHENTICATE));
    let body: serde_json::Value = from_page.json().await.unwrap();
    assert!(body["reason"].as_str().unwrap().contains("wrong"), "{body}");
}
