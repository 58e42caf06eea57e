//! `intake migrate` and `intake serve --no-migrate`; what the server creates is private
//! (0700 directories, 0600 files); logs carry no colour escapes when stderr is not a terminal.
//! On both backends (`INTAKE_TEST_BACKEND`).

use crate::common;

use common::process::IntakeProcess;
use common::{alice_client, backend, media, API_KEYS};
use intake_client::{Kind, UploadOptions, WaitOptions};
use std::process::{Command, Stdio};

/// `intake ARGS` on `data_dir` and this run's backend; returns (success, stdout, stderr).
fn intake(data_dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_intake"))
        .args(args)
        .env("INTAKE_LISTEN", "127.0.0.1:0")
        .env("INTAKE_DATA_DIR", data_dir)
        .env("INTAKE_API_KEYS", API_KEYS)
        .env("INTAKE_LOG", "warn")
        .envs(backend::process_env(data_dir))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

#[tokio::test]
async fn no_migrate_refuses_an_unmigrated_database_until_intake_migrate_ran() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let (ok, _, stderr) = intake(&data_dir, &["serve", "--no-migrate"]);
    assert!(!ok, "serve --no-migrate starts on an empty database: {stderr}");
    assert!(stderr.contains("schema is out of date") && stderr.contains("intake migrate"), "{stderr}");

    let (ok, stdout, stderr) = intake(&data_dir, &["migrate"]);
    assert!(ok, "intake migrate: {stderr}");
    assert!(stdout.contains("up to date"), "{stdout}");
    // Twice is fine: nothing left to apply.
    assert!(intake(&data_dir, &["migrate"]).0);

    let server = IntakeProcess::start(&data_dir, &[("INTAKE_NO_MIGRATE", "true")], false);
    let health = reqwest::get(format!("{}/readyz", server.base)).await.unwrap();
    assert_eq!(health.status(), 200);
    let (status, _) = common::send(
        reqwest::Client::new().get(format!("{}/v1/uploads", server.base)).basic_auth("alice", Some("alice-secret")),
    )
    .await;
    assert_eq!(status, 200, "the migrated schema serves");
}

#[cfg(unix)]
#[tokio::test]
async fn what_the_server_creates_is_private_and_its_log_is_plain_text() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nested").join("data");
    // stderr is a pipe, not a terminal, and NO_COLOR is not set: no colour anyway.
    let mut command = Command::new(env!("CARGO_BIN_EXE_intake"));
    command
        .arg("serve")
        .env("INTAKE_LISTEN", "127.0.0.1:0")
        .env("INTAKE_DATA_DIR", &data_dir)
        .env("INTAKE_API_KEYS", API_KEYS)
        .env("INTAKE_LOG", "info")
        .env_remove("NO_COLOR")
        .envs(backend::process_env(&data_dir))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let base = {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines.next().expect("intake printed its address").unwrap();
            if let Some(rest) = line.strip_prefix("intake listening on ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        }
    };
    let file = dir.path().join("pixel.png");
    std::fs::write(&file, media::png(4, 4)).unwrap();
    let client = alice_client(&base);
    let options = UploadOptions { wait: Some(WaitOptions::default()), ..UploadOptions::default() };
    let outcome = client.upload_file(&file, Kind::Image, options).await.unwrap();
    assert_eq!(outcome.upload.status, intake_client::Status::Imported);

    let mut seen = 0;
    // On scale-out nothing may need the data directory at all.
    let mut stack: Vec<_> = Some(data_dir.clone()).filter(|d| d.exists()).into_iter().collect();
    while let Some(path) = stack.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{} is {mode:o}", path.display());
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
        }
        seen += 1;
    }
    if backend::scaleout().is_none() {
        assert!(seen >= 3, "the data directory holds what the server made");
        let db = std::fs::metadata(data_dir.join("intake.db")).unwrap().permissions().mode() & 0o777;
        assert_eq!(db, 0o600);
    }

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("INFO"), "the log has lines: {log}");
    assert!(!log.contains('\u{1b}'), "no escape sequences in a log that is not a terminal: {log:?}");
}
