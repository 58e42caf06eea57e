//! Black-box, both backends: projects and API keys made with the CLI while servers run
//! (two instances sharing PostgreSQL on scale-out, one on the embedded default); each role's
//! allowed and refused calls; `GET /v1/projects` in the SDK's shape; a revoked key refused by
//! every instance within 5 s while the part URLs it obtained keep working; an admin key
//! creating and revoking its projects' keys over the API; and `intake signing rotate` with
//! signed URLs outstanding.

use crate::common;

use common::process::IntakeProcess;
use common::{assert_error, backend, media, send, API_KEYS};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `intake ARGS` against the stores of `data_dir`; returns (exit code, stdout, stderr).
fn cli(data_dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_intake"))
        .args(args)
        .env("INTAKE_DATA_DIR", data_dir)
        .env("INTAKE_LOG", "warn")
        .envs(backend::process_env(data_dir))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

fn cli_json(data_dir: &Path, args: &[&str]) -> Value {
    let (code, stdout, stderr) = cli(data_dir, args);
    assert_eq!(code, 0, "intake {args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("intake {args:?} printed {stdout:?}: {e}"))
}

struct Key {
    key: String,
    secret: String,
}

impl Key {
    fn of(created: &Value) -> Self {
        Key { key: created["apiKey"].as_str().unwrap().into(), secret: created["apiSecret"].as_str().unwrap().into() }
    }

    fn request(&self, method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
        reqwest::Client::new().request(method, url).basic_auth(&self.key, Some(&self.secret))
    }
}

/// Polls until `check` holds (every 100 ms), failing after `within`.
async fn until<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The servers of this test: two sharing the database on scale-out, one on SQLite (which
/// one process owns).
fn start_instances(data_dir: &Path) -> Vec<IntakeProcess> {
    let count = if backend::scaleout().is_some() { 2 } else { 1 };
    (0..count).map(|_| IntakeProcess::start(data_dir, &[], false)).collect()
}

#[tokio::test]
async fn keys_made_with_the_cli_work_by_role_and_a_revoked_one_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let instances = start_instances(&data_dir);
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();

    let project = cli_json(&data_dir, &["projects", "create", "Team X", "--json"]);
    let project_id = project["id"].as_str().unwrap().to_string();
    assert_eq!(project["name"], "Team X");
    let listed = cli_json(&data_dir, &["projects", "list", "--json"]);
    assert!(listed.as_array().unwrap().iter().any(|p| p["id"] == project_id.as_str()), "{listed}");
    let create = |role: &str, name: &str| {
        cli_json(&data_dir, &["keys", "create", "--project", &project_id, "--role", role, "--name", name, "--json"])
    };
    let reader_created = create("reader", "dashboards");
    assert_eq!(
        (reader_created["role"].clone(), reader_created["projects"].clone()),
        (json!("reader"), json!([project_id]))
    );
    let (reader, editor, admin) =
        (Key::of(&reader_created), Key::of(&create("editor", "uploader")), Key::of(&create("admin", "ops")));
    // A project that does not exist is refused.
    let (code, _, stderr) = cli(&data_dir, &["keys", "create", "--project", "proj_nope", "--role", "reader"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no project proj_nope"), "{stderr}");

    // Every instance accepts the new keys within seconds, without a restart.
    for base in &bases {
        for key in [&reader, &editor, &admin] {
            until(Duration::from_secs(5), "a new key is accepted", || async {
                key.request(reqwest::Method::GET, format!("{base}/v1/projects")).send().await.unwrap().status() == 200
            })
            .await;
        }
    }
    let (first, last) = (&bases[0], bases.last().unwrap());

    // reader: reads, and is refused what writes, with a reason naming its role.
    let (status, body) = send(reader.request(reqwest::Method::GET, format!("{first}/v1/uploads"))).await;
    assert_eq!(status, 200, "{body}");
    let create_body =
        json!({"fileName": "a.png", "contentType": "image/png", "fileSize": 10, "parts": 1, "kind": "image"});
    let (status, body) =
        send(reader.request(reqwest::Method::POST, format!("{first}/v1/uploads")).json(&create_body)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["reason"].as_str().unwrap().contains("reader role"), "{body}");

    // editor: uploads a file to the end.
    let png = media::png(8, 8);
    let (status, body) = send(editor.request(reqwest::Method::POST, format!("{first}/v1/uploads")).json(
        &json!({"fileName": "a.png", "contentType": "image/png", "fileSize": png.len(), "parts": 1, "kind": "image"}),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let upload_id = body["upload"]["id"].as_str().unwrap().to_string();
    let part_url = body["upload"]["parts"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(reqwest::Client::new().put(&part_url).body(png.clone()).send().await.unwrap().status(), 200);
    let action = json!({"action": "complete"});
    let complete = format!("{last}/v1/uploads/{upload_id}/action");
    let (status, body) = send(editor.request(reqwest::Method::POST, complete.clone()).json(&action)).await;
    assert_eq!(status, 200, "{body}");
    // The reader sees it but may not complete anything.
    let (status, _) = send(reader.request(reqwest::Method::GET, format!("{first}/v1/uploads/{upload_id}"))).await;
    assert_eq!(status, 200);
    let (status, body) = send(reader.request(reqwest::Method::POST, complete).json(&action)).await;
    assert_eq!(status, 403, "{body}");

    // GET /v1/projects in the SDK's shape; an admin sees every key, the others their own.
    let (status, body) = send(admin.request(reqwest::Method::GET, format!("{last}/v1/projects/{project_id}"))).await;
    assert_eq!(status, 200, "{body}");
    let p = &body["project"];
    for field in ["id", "name", "createdAt", "updatedAt", "teamId"] {
        assert!(p[field].is_string(), "{field}: {body}");
    }
    assert_eq!(
        (p["name"].clone(), p["privacyMode"].clone(), p["users"].clone()),
        (json!("Team X"), json!(false), json!([]))
    );
    let mut roles: Vec<&str> = p["keys"].as_array().unwrap().iter().map(|k| k["role"].as_str().unwrap()).collect();
    roles.sort();
    assert_eq!(roles, ["admin", "editor", "reader"], "{body}");
    for k in p["keys"].as_array().unwrap() {
        assert_eq!((k["apiKeyStatus"].clone(), k["scope"].clone()), (json!("active"), json!("project")), "{k}");
        assert!(k.get("apiSecret").is_none() && !k.to_string().contains(&admin.secret));
    }
    let (_, body) = send(editor.request(reqwest::Method::GET, format!("{first}/v1/projects"))).await;
    let keys = body["projects"][0]["keys"].as_array().unwrap();
    assert_eq!((keys.len(), keys[0]["apiKeyId"].as_str().unwrap()), (1, editor.key.as_str()), "{body}");
    let (status, _) = send(editor.request(reqwest::Method::GET, format!("{first}/v1/projects/proj_a"))).await;
    assert_eq!(status, 404, "another key's project is not found");

    // An upload is outstanding when its key is revoked: its part URL keeps working.
    let (status, body) = send(editor.request(reqwest::Method::POST, format!("{first}/v1/uploads")).json(
        &json!({"fileName": "b.png", "contentType": "image/png", "fileSize": png.len(), "parts": 1, "kind": "image"}),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let outstanding_id = body["upload"]["id"].as_str().unwrap().to_string();
    let outstanding_part = body["upload"]["parts"][0]["url"].as_str().unwrap().to_string();
    let (code, stdout, stderr) = cli(&data_dir, &["keys", "revoke", &editor.key]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("revoked"), "{stdout}");
    for base in &bases {
        until(Duration::from_secs(5), "a revoked key is refused on every instance", || async {
            editor.request(reqwest::Method::GET, format!("{base}/v1/uploads")).send().await.unwrap().status() == 401
        })
        .await;
    }
    assert_eq!(reqwest::Client::new().put(&outstanding_part).body(png.clone()).send().await.unwrap().status(), 200);
    let (status, body) =
        send(admin.request(reqwest::Method::POST, format!("{last}/v1/uploads/{outstanding_id}/action")).json(&action))
            .await;
    assert_eq!(status, 200, "another key of the project completes it: {body}");

    // Keys from INTAKE_API_KEYS are listed as such and cannot be revoked from the database.
    let (code, _, stderr) = cli(&data_dir, &["keys", "revoke", "alice"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("INTAKE_API_KEYS"), "{stderr}");
    let (status, _) =
        send(reqwest::Client::new().get(format!("{first}/v1/uploads")).basic_auth("alice", Some("alice-secret"))).await;
    assert_eq!(status, 200);
    let keys = cli_json(&data_dir, &["keys", "list", "--json"]);
    let find = |k: &str| keys.as_array().unwrap().iter().find(|e| e["apiKey"] == k).cloned().unwrap();
    assert_eq!(
        (find("alice")["origin"].clone(), find("alice")["status"].clone()),
        (json!("environment"), json!("active"))
    );
    assert_eq!(
        (find(&editor.key)["origin"].clone(), find(&editor.key)["status"].clone()),
        (json!("database"), json!("revoked"))
    );
    assert!(!keys.to_string().contains(&reader.secret), "no secret is ever listed");
    assert_eq!(API_KEYS.split(',').count(), 2);
}

#[tokio::test]
async fn an_admin_key_creates_and_revokes_the_keys_of_its_projects_over_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let instances = start_instances(&data_dir);
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    let (first, last) = (&bases[0], bases.last().unwrap());
    let project =
        |name: &str| cli_json(&data_dir, &["projects", "create", name, "--json"])["id"].as_str().unwrap().to_string();
    let (p, q) = (project("P"), project("Q"));
    let key = |projects: &str, role: &str| {
        Key::of(&cli_json(&data_dir, &["keys", "create", "--project", projects, "--role", role, "--json"]))
    };
    let (admin, editor, shared) = (key(&p, "admin"), key(&p, "editor"), key(&format!("{p},{q}"), "reader"));
    for k in [&admin, &editor, &shared] {
        until(Duration::from_secs(5), "a CLI key is accepted", || async {
            k.request(reqwest::Method::GET, format!("{first}/v1/projects")).send().await.unwrap().status() == 200
        })
        .await;
    }
    let keys_of = |project: &str| format!("{first}/v1/projects/{project}/keys");
    let post = |k: &Key, url: String, body: Value| k.request(reqwest::Method::POST, url).json(&body);

    // Only an admin of the project may, and only with a role and name that make sense.
    let (status, body) = send(post(&editor, keys_of(&p), json!({"role": "reader"}))).await;
    assert_error(status, &body, 403, "editor role");
    let (status, body) = send(post(&shared, keys_of(&p), json!({"role": "reader"}))).await;
    assert_error(status, &body, 403, "reader role");
    let (status, body) = send(post(&admin, keys_of(&q), json!({"role": "reader"}))).await;
    assert_error(status, &body, 404, "among this API key's projects");
    let (status, body) = send(post(&admin, keys_of(&p), json!({"role": "owner"}))).await;
    assert_error(status, &body, 400, "role must be admin, editor or reader");
    let (status, body) = send(post(&admin, keys_of(&p), json!({"role": "reader", "scope": "team"}))).await;
    assert_error(status, &body, 400, "scope");
    let (status, body) = send(post(&admin, keys_of(&p), json!({"role": "reader", "name": "n".repeat(101)}))).await;
    assert_error(status, &body, 400, "at most 100 characters");

    // A new editor key: its secret once, and it works on every instance within seconds.
    let (status, body) = send(post(&admin, keys_of(&p), json!({"role": "editor", "name": "ci"}))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["key"]["role"].clone(), body["key"]["name"].clone(), body["key"]["apiKeyStatus"].clone()),
        (json!("editor"), json!("ci"), json!("active"))
    );
    assert_eq!(body["key"]["projects"], json!([{"projectId": p, "role": "editor"}]));
    let made = Key::of(&body);
    assert_eq!(body["key"]["apiKeyId"], made.key.as_str());
    for base in &bases {
        until(Duration::from_secs(5), "a key made over the API is accepted everywhere", || async {
            let create =
                json!({"fileName": "a.png", "contentType": "image/png", "fileSize": 10, "parts": 1, "kind": "image"});
            post(&made, format!("{base}/v1/uploads"), create).send().await.unwrap().status() == 200
        })
        .await;
    }
    let (_, body) = send(admin.request(reqwest::Method::GET, format!("{last}/v1/projects/{p}"))).await;
    let listed: Vec<&str> =
        body["project"]["keys"].as_array().unwrap().iter().map(|k| k["apiKeyId"].as_str().unwrap()).collect();
    assert!(listed.contains(&made.key.as_str()), "{body}");
    assert!(!body.to_string().contains(&made.secret), "the secret is never shown again");

    // Revoking: not a key that also belongs to a project the admin does not administer, not
    // one from INTAKE_API_KEYS, not as an editor; then the new key, refused everywhere.
    let delete = |k: &Key, base: &str, project: &str, target: &str| {
        k.request(reqwest::Method::DELETE, format!("{base}/v1/projects/{project}/keys/{target}"))
    };
    let (status, body) = send(delete(&admin, first, &p, &shared.key)).await;
    assert_error(status, &body, 403, &format!("also belongs to project {q}"));
    let alice = Key { key: "alice".into(), secret: "alice-secret".into() };
    let (status, body) = send(delete(&alice, first, "proj_a", "alice")).await;
    assert_error(status, &body, 409, "INTAKE_API_KEYS");
    let (status, body) = send(delete(&admin, first, &p, "api_nosuchkey")).await;
    assert_error(status, &body, 404, "no API key");
    let (status, body) = send(delete(&editor, first, &p, &made.key)).await;
    assert_error(status, &body, 403, "editor role");
    let (status, body) = send(delete(&admin, last, &p, &made.key)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["key"]["apiKeyStatus"], "inactive", "{body}");
    for base in &bases {
        until(Duration::from_secs(5), "a key revoked over the API is refused everywhere", || async {
            made.request(reqwest::Method::GET, format!("{base}/v1/uploads")).send().await.unwrap().status() == 401
        })
        .await;
    }
    let (status, body) = send(delete(&admin, first, &p, &made.key)).await;
    assert_eq!((status, body["key"]["apiKeyStatus"].clone()), (200, json!("inactive")), "revoking twice: {body}");

    // A project holds at most 100 active keys: the 101st is refused until one is revoked.
    let mut made_keys = Vec::new();
    loop {
        let (status, body) = send(post(&admin, keys_of(&p), json!({"role": "reader"}))).await;
        if status != 201 {
            assert_error(status, &body, 409, "revoke one first");
            break;
        }
        made_keys.push(body["key"]["apiKeyId"].as_str().unwrap().to_string());
        assert!(made_keys.len() <= 100, "no cap on a project's keys");
    }
    // admin, editor, shared and the keys made here fill the 100.
    assert_eq!(made_keys.len(), 97);
    let (status, _) = send(delete(&admin, first, &p, &made_keys[0])).await;
    assert_eq!(status, 200);
    let (status, body) = send(post(&admin, keys_of(&p), json!({"role": "reader"}))).await;
    assert_eq!(status, 201, "{body}");
}

/// The download URL `GET /v1/assets/{id}` hands out now, as alice.
async fn asset_url(base: &str, asset_id: &str) -> String {
    let request =
        reqwest::Client::new().get(format!("{base}/v1/assets/{asset_id}")).basic_auth("alice", Some("alice-secret"));
    let (status, body) = send(request).await;
    assert_eq!(status, 200, "{body}");
    body["asset"]["url"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_rotated_signing_secret_leaves_outstanding_urls_valid_on_every_instance() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let instances = start_instances(&data_dir);
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    let alice = |method: reqwest::Method, url: String| {
        reqwest::Client::new().request(method, url).basic_auth("alice", Some("alice-secret"))
    };
    // An imported asset (its download URL is signed by intake on both backends) and a
    // pending upload (its part URL too, on the embedded default; S3 presigns them on scale-out).
    let client = common::alice_client(&bases[0]);
    let file = dir.path().join("a.png");
    std::fs::write(&file, media::png(8, 8)).unwrap();
    let options = intake_client::UploadOptions {
        wait: Some(intake_client::WaitOptions::default()),
        ..intake_client::UploadOptions::default()
    };
    let done = client.upload_file(&file, intake_client::Kind::Image, options).await.unwrap().upload;
    let asset_id = done.entity_id.unwrap();
    let old_file_url = asset_url(&bases[0], &asset_id).await;
    let png = media::png(8, 8);
    let (status, body) = send(alice(reqwest::Method::POST, format!("{}/v1/uploads", bases[0])).json(
        &json!({"fileName": "b.png", "contentType": "image/png", "fileSize": png.len(), "parts": 1, "kind": "image"}),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let old_part_url = body["upload"]["parts"][0]["url"].as_str().unwrap().to_string();

    let (code, stdout, stderr) = cli(&data_dir, &["signing", "rotate"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("is current"), "{stdout}");
    let signature = |url: &str| url.split("signature=").nth(1).map(str::to_string);
    for base in &bases {
        // The instance signs with the new secret within seconds …
        until(Duration::from_secs(5), "the new secret signs", || async {
            signature(&asset_url(base, &asset_id).await) != signature(&old_file_url)
        })
        .await;
        // … and what the old one signed still works there, as does the new.
        let old = reqwest::get(old_file_url.replace(&bases[0], base)).await.unwrap();
        assert_eq!(old.status(), 200, "a URL signed before the rotation");
        assert_eq!(old.bytes().await.unwrap().as_ref(), png.as_slice());
        let new = reqwest::get(asset_url(base, &asset_id).await).await.unwrap();
        assert_eq!(new.status(), 200);
    }
    let put = reqwest::Client::new().put(&old_part_url).body(png.clone()).send().await.unwrap();
    assert_eq!(put.status(), 200, "a part URL handed out before the rotation");
    // A URL signed with neither secret is still refused.
    let forged = format!("{}{}", &old_file_url[..old_file_url.len() - 4], "0000");
    assert_eq!(reqwest::get(forged).await.unwrap().status(), 403);
}
