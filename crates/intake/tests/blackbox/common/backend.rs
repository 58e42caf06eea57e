//! Which deployment the black-box tests run on, chosen by `INTAKE_TEST_BACKEND`:
//! - `embedded` (the default): SQLite and the local disk in the test's data directory;
//! - `scaleout`: PostgreSQL and an S3-compatible store, from `INTAKE_TEST_DATABASE_URL`
//!   (a role that may create databases) and `INTAKE_TEST_S3_{ENDPOINT,BUCKET,REGION,
//!   ACCESS_KEY_ID,SECRET_ACCESS_KEY}`. `scripts/test.sh` starts PostgreSQL and Garage and
//!   runs the suite once per backend.
//!
//! Each data directory gets its own database, named after the directory, so a server
//! restarted on the same directory finds its data again; every server of a run shares the
//! bucket (object keys are upload ids, unique across tests).
#![allow(dead_code)]

use intake_core::blob::s3::S3Config;
use std::path::Path;
use std::sync::OnceLock;

/// The scale-out settings the tests use.
#[derive(Debug, Clone)]
pub struct ScaleOut {
    /// PostgreSQL server URL with a role that may create databases.
    pub admin_database_url: String,
    pub s3: S3Config,
}

/// The backend of this test run.
#[derive(Debug, Clone)]
pub enum Backend {
    Embedded,
    ScaleOut(ScaleOut),
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("INTAKE_TEST_BACKEND=scaleout needs {name}"))
}

/// The backend `INTAKE_TEST_BACKEND` names.
pub fn current() -> &'static Backend {
    static BACKEND: OnceLock<Backend> = OnceLock::new();
    BACKEND.get_or_init(|| match std::env::var("INTAKE_TEST_BACKEND").as_deref() {
        Err(_) | Ok("") | Ok("embedded") => Backend::Embedded,
        Ok("scaleout") => Backend::ScaleOut(ScaleOut {
            admin_database_url: env("INTAKE_TEST_DATABASE_URL"),
            s3: S3Config {
                endpoint: env("INTAKE_TEST_S3_ENDPOINT"),
                bucket: env("INTAKE_TEST_S3_BUCKET"),
                region: env("INTAKE_TEST_S3_REGION"),
                access_key_id: env("INTAKE_TEST_S3_ACCESS_KEY_ID"),
                secret_access_key: env("INTAKE_TEST_S3_SECRET_ACCESS_KEY"),
                path_style: true,
            },
        }),
        Ok(other) => panic!("INTAKE_TEST_BACKEND={other:?}: use embedded or scaleout"),
    })
}

/// The scale-out settings, when the run is on scale-out.
pub fn scaleout() -> Option<&'static ScaleOut> {
    match current() {
        Backend::ScaleOut(s) => Some(s),
        Backend::Embedded => None,
    }
}

/// Prints why a test that only makes sense on the other backend does nothing here.
pub fn skip(reason: &str) {
    eprintln!("SKIPPED on the {} backend: {reason}", if scaleout().is_some() { "scaleout" } else { "embedded" });
}

/// The database of `data_dir` (created if missing), as a URL.
pub fn database_url(s: &ScaleOut, data_dir: &Path) -> String {
    use md5::Digest;
    let name = format!("intake_bb_{}", hex::encode(md5::Md5::digest(data_dir.as_os_str().as_encoded_bytes())));
    let admin = s.admin_database_url.clone();
    // Callers may be inside a runtime: create it from a thread of its own.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(intake_core::metadata::SqlStore::create_postgres_database(&admin, &name))
            .expect("the test database can be created")
    })
    .join()
    .unwrap()
}

/// Points `config` at this run's backend.
pub fn apply(config: &mut intake_server::Config) {
    if let Some(s) = scaleout() {
        config.database_url = Some(database_url(s, &config.data_dir));
        config.s3 = Some(s.s3.clone());
    }
}

/// The environment that points the real binary at this run's backend.
pub fn process_env(data_dir: &Path) -> Vec<(&'static str, String)> {
    let Some(s) = scaleout() else { return Vec::new() };
    vec![
        ("INTAKE_DATABASE_URL", database_url(s, data_dir)),
        ("INTAKE_S3_ENDPOINT", s.s3.endpoint.clone()),
        ("INTAKE_S3_BUCKET", s.s3.bucket.clone()),
        ("INTAKE_S3_REGION", s.s3.region.clone()),
        ("INTAKE_S3_ACCESS_KEY_ID", s.s3.access_key_id.clone()),
        ("INTAKE_S3_SECRET_ACCESS_KEY", s.s3.secret_access_key.clone()),
        ("INTAKE_S3_PATH_STYLE", "true".into()),
    ]
}

fn bucket(s: &ScaleOut) -> (rusty_s3::Bucket, rusty_s3::Credentials) {
    let endpoint = url::Url::parse(&s.s3.endpoint).unwrap();
    let bucket =
        rusty_s3::Bucket::new(endpoint, rusty_s3::UrlStyle::Path, s.s3.bucket.clone(), s.s3.region.clone()).unwrap();
    (bucket, rusty_s3::Credentials::new(s.s3.access_key_id.clone(), s.s3.secret_access_key.clone()))
}

/// The store's own `ListParts` answer (status, body; first page, up to 1,000 parts) for the
/// unfinished multipart upload a presigned part URL belongs to.
async fn list_parts_of(part_url: &str) -> (u16, String) {
    use rusty_s3::S3Action;
    let s = scaleout().expect("only on scaleout");
    let url = url::Url::parse(part_url).unwrap();
    let upload_id = url.query_pairs().find(|(k, _)| k == "uploadId").expect("a presigned UploadPart URL").1;
    let key = url.path().rsplit('/').next().unwrap().to_string();
    let (bucket, credentials) = bucket(s);
    let action = rusty_s3::actions::ListParts::new(&bucket, Some(&credentials), &key, &upload_id);
    let response = reqwest::get(action.sign(std::time::Duration::from_secs(60))).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The part numbers the store holds for the unfinished multipart upload a presigned part
/// URL belongs to.
pub async fn stored_part_numbers(part_url: &str) -> Vec<u32> {
    let (status, body) = list_parts_of(part_url).await;
    assert_eq!(status, 200, "ListParts: {body}");
    body.split("<PartNumber>").skip(1).map(|rest| rest.split('<').next().unwrap().trim().parse().unwrap()).collect()
}

/// Whether the store still holds the unfinished multipart upload a presigned part URL
/// belongs to.
pub async fn store_holds_upload(part_url: &str) -> bool {
    match list_parts_of(part_url).await {
        (200, _) => true,
        (404, body) => {
            assert!(body.contains("NoSuchUpload"), "{body}");
            false
        }
        (other, body) => panic!("ListParts answered {other}: {body}"),
    }
}

/// The bucket CORS the README tells operators to set for browser uploads.
pub const README_CORS: &str = r#"<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3600</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>"#;

/// Applies [`README_CORS`] to the test bucket (S3 `PutBucketCors`).
pub async fn put_readme_cors() {
    let s = scaleout().expect("only on scaleout");
    let (bucket, credentials) = bucket(s);
    let mut base = bucket.base_url().clone();
    let path = base.path().trim_end_matches('/').to_string();
    base.set_path(&path);
    let url = rusty_s3::signing::sign(
        &jiff::Timestamp::now(),
        rusty_s3::Method::Put,
        base,
        credentials.key(),
        credentials.secret(),
        None,
        bucket.region(),
        60,
        [("cors", "")].into_iter(),
        std::iter::empty(),
    );
    let response = reqwest::Client::new().put(url).body(README_CORS).send().await.unwrap();
    let status = response.status();
    assert!(status.is_success(), "PutBucketCors: {status} {}", response.text().await.unwrap());
}
