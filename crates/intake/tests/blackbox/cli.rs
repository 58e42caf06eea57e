//! Black-box: the real `intake` binary's client commands against a real server on loopback.

use crate::common;

use common::{backend, media, TestServer, MIB};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use tokio::process::Command;

/// `intake <args>` as alice against `server`, with its journal in `state`.
fn intake(server: &TestServer, state: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_intake"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("INTAKE_URL", &server.base)
        .env("INTAKE_API_KEY", "alice")
        .env("INTAKE_API_SECRET", "alice-secret")
        .env("INTAKE_STATE_DIR", state)
        .kill_on_drop(true);
    command
}

async fn run(server: &TestServer, state: &Path, args: &[&str]) -> Output {
    intake(server, state, args).output().await.unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The JSON objects of `--json` output, one per line.
fn json_lines(output: &Output) -> Vec<Value> {
    text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}\nstderr: {}", text(&output.stderr))))
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test]
async fn files_upload_in_many_parts_and_are_imported_exactly() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let big = media::noise(2 * 5 * MIB + 4321, 5);
    let big_path = write(dir.path(), "big.bin", &big);
    let png_path = write(dir.path(), "cat.png", &media::png(32, 16));
    let state = dir.path().join("state");
    let (big_arg, png_arg) = (big_path.to_str().unwrap(), png_path.to_str().unwrap());

    let output = run(
        &server,
        &state,
        &["upload", big_arg, png_arg, "--kind", "asset", "--part-size", "5M", "--concurrency", "3", "--wait", "--json"],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let results = json_lines(&output);
    assert_eq!(results.len(), 2, "one object per upload");
    let big_result = &results[0];
    assert_eq!(big_result["file"], big_arg);
    assert_eq!(big_result["status"], "imported", "{big_result}");
    assert_eq!((big_result["parts"].as_u64(), big_result["partsSent"].as_u64()), (Some(3), Some(3)));
    assert_eq!(big_result["partSize"], 5 * MIB);
    assert_eq!(big_result["resumed"], false);
    assert_eq!(results[1]["status"], "imported");
    assert_eq!(results[1]["upload"]["contentType"], "image/png", "guessed from the extension");
    // Progress on a pipe: plain lines, no terminal escapes.
    let stderr = text(&output.stderr);
    assert!(stderr.contains("part 3 sent") || stderr.contains("part 2 sent"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    // Nothing left to resume.
    assert_eq!(std::fs::read_dir(&state).map(|d| d.count()).unwrap_or(0), 0);

    // The asset, downloaded with Scenario's variable names, is the file.
    let asset_id = big_result["entityId"].as_str().unwrap();
    let copy = dir.path().join("copy.bin");
    let output = Command::new(env!("CARGO_BIN_EXE_intake"))
        .args(["asset", asset_id, "--download", copy.to_str().unwrap()])
        .env_clear()
        .env("SCENARIO_BASE_URL", format!("{}/v1", server.base))
        .env("SCENARIO_API_KEY", "alice")
        .env("SCENARIO_API_SECRET", "alice-secret")
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let asset: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(asset["properties"]["size"], big.len());
    assert!(std::fs::read(&copy).unwrap() == big, "the downloaded file differs");

    // get and wait print the upload.
    let id = big_result["id"].as_str().unwrap();
    for command in ["get", "wait"] {
        let output = run(&server, &state, &[command, id]).await;
        assert_eq!(output.status.code(), Some(0), "{command}: {}", text(&output.stderr));
        let upload: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(upload["entityId"], asset_id);
    }
}

#[tokio::test]
async fn without_wait_the_upload_is_left_processing_and_wait_follows_it() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "notes.txt", b"some words to count\n");
    let state = dir.path().join("state");
    let output = run(&server, &state, &["upload", path.to_str().unwrap(), "--kind", "text"]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let line = text(&output.stdout);
    let id = line.split_whitespace().nth(1).unwrap().to_string();
    assert!(id.starts_with("upload_"), "{line}");
    let output = run(&server, &state, &["wait", &id]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let upload: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(upload["status"], "imported");
}

#[tokio::test]
async fn a_failed_upload_exits_with_the_failure_code_and_says_why() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let junk = write(dir.path(), "holiday.png", &media::noise(4000, 1));
    let state = dir.path().join("state");
    let output = run(&server, &state, &["upload", junk.to_str().unwrap(), "--kind", "image", "--wait", "--json"]).await;
    assert_eq!(output.status.code(), Some(1), "stderr: {}", text(&output.stderr));
    let result = &json_lines(&output)[0];
    assert_eq!(result["status"], "failed");
    assert!(result["errorMessage"].as_str().unwrap().contains("expected an image"), "{result}");
    let output = run(&server, &state, &["wait", result["id"].as_str().unwrap()]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("expected an image"), "{}", text(&output.stderr));
}

#[tokio::test]
async fn usage_errors_exit_with_their_own_code() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let file = write(dir.path(), "a.txt", &vec![b'a'; 11 * MIB]);
    let file = file.to_str().unwrap();
    for (args, needle) in [
        (vec!["upload", file], "--kind"),
        (vec!["upload", file, "--kind", "sculpture"], "unknown kind"),
        (vec!["upload", "/nonexistent/file.bin", "--kind", "asset"], "/nonexistent/file.bin"),
        (vec!["upload", file, "--kind", "text", "--part-size", "1M"], "5 MiB"),
        (vec!["frobnicate"], "frobnicate"),
    ] {
        let output = run(&server, &state, &args).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output.stderr));
        assert!(text(&output.stderr).contains(needle), "{args:?}: {}", text(&output.stderr));
    }
    let output = intake(&server, &state, &["get", "upload_x"]).env_remove("INTAKE_API_KEY").output().await.unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("INTAKE_API_KEY"), "{}", text(&output.stderr));
    // A wrong secret is the server refusing: the failure code, with its reason.
    let output = intake(&server, &state, &["get", "upload_x"]).env("INTAKE_API_SECRET", "nope").output().await.unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("HTTP 401"), "{}", text(&output.stderr));
}

#[tokio::test]
async fn imports_send_their_body_and_report_the_servers_reason() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    for (args, source) in [
        (vec!["import-url", "https://example.com/a.png", "--kind", "image", "--json"], "url"),
        (vec!["import-hf", "stabilityai/sdxl-turbo", "--json"], "huggingface"),
        (vec!["import-civitai", "https://civitai.com/models/370194", "--json"], "civitai"),
    ] {
        let output = run(&server, &state, &args).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        let upload = &json_lines(&output)[0]["upload"];
        assert_eq!(upload["source"], source, "{upload}");
        assert_eq!(upload["status"], "pending", "{upload}");
    }
    // A request the server refuses: the reason, the traceId and exit code 1.
    let output = run(&server, &state, &["import-url", "ftp://example.com/a.png", "--kind", "image", "--json"]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("traceId"), "{stderr}");
    let result = &json_lines(&output)[0];
    assert_eq!(result["httpStatus"], 400, "{result}");
}

#[tokio::test]
async fn expired_part_urls_are_fetched_again() {
    // URLs live one second; at 6 MiB/s, one part after another, later parts start after
    // the URLs handed out at create expired.
    let server = TestServer::start_with(|c| c.part_url_ttl = Duration::from_secs(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = media::noise(3 * 5 * MIB, 8);
    let path = write(dir.path(), "slow.bin", &file);
    let state = dir.path().join("state");
    let args = [
        "upload",
        path.to_str().unwrap(),
        "--kind",
        "asset",
        "--part-size",
        "5M",
        "--concurrency",
        "1",
        "--limit-rate",
        "6M",
        "--wait",
        "--json",
    ];
    let output = run(&server, &state, &args).await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let result = &json_lines(&output)[0];
    assert_eq!(result["status"], "imported", "{result}");
    assert!(result["urlRefreshes"].as_u64().unwrap() >= 1, "{result}");
    assert!(result["seconds"].as_f64().unwrap() >= 2.0, "the rate limit held: {result}");
}

/// `(inode, mtime ns)` of each stored part file of an upload.
fn part_files(dir: &Path) -> BTreeMap<u32, (u64, i64)> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if let Ok(number) = entry.file_name().to_string_lossy().parse::<u32>() {
            let meta = entry.metadata().unwrap();
            files.insert(number, (meta.ino(), meta.mtime() * 1_000_000_000 + meta.mtime_nsec()));
        }
    }
    files
}

#[tokio::test]
async fn an_interrupted_upload_resumes_without_sending_finished_parts_again() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = media::noise(4 * 5 * MIB + 999, 21);
    let path = write(dir.path(), "big.bin", &file);
    let state = dir.path().join("state");
    let file_arg = path.to_str().unwrap();
    let slow = ["upload", file_arg, "--kind", "asset", "--part-size", "5M", "--concurrency", "1", "--limit-rate", "8M"];
    let mut child = intake(&server, &state, &slow).spawn().unwrap();

    // Kill it (SIGKILL) once the journal records two acknowledged parts.
    let journal_entry = || -> Option<Value> {
        let entry =
            std::fs::read_dir(&state).ok()?.flatten().find(|e| e.path().extension() == Some("json".as_ref()))?;
        serde_json::from_slice(&std::fs::read(entry.path()).ok()?).ok()
    };
    let mut waited = 0;
    loop {
        if journal_entry().is_some_and(|e| e["acknowledged"].as_array().unwrap().len() >= 2) {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the upload ended before it could be interrupted");
        waited += 1;
        assert!(waited < 600, "no part was acknowledged in 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().await.unwrap();
    let entry = journal_entry().unwrap();
    let id = entry["uploadId"].as_str().unwrap().to_string();
    let acknowledged: Vec<u32> =
        entry["acknowledged"].as_array().unwrap().iter().map(|n| n.as_u64().unwrap() as u32).collect();
    assert!(acknowledged.len() >= 2 && acknowledged.len() < 5, "{entry}");
    let stored = part_files(&server.data_dir.path().join("blobs/multipart").join(&id).join("parts"));
    let pending = server.get(&id).await.1["upload"].clone();
    assert_eq!(pending["status"], "pending");
    let stored_numbers: Vec<u32> = match backend::scaleout() {
        None => stored.keys().copied().collect(),
        // Parts went straight to the object store: ask it.
        Some(_) => backend::stored_part_numbers(pending["parts"][0]["url"].as_str().unwrap()).await,
    };
    for n in &acknowledged {
        assert!(stored_numbers.contains(n), "part {n} is acknowledged but not stored: {stored_numbers:?}");
    }

    // The same command again (full speed): same upload, only the missing parts are sent.
    let output =
        run(&server, &state, &["upload", file_arg, "--kind", "asset", "--part-size", "5M", "--wait", "--json"]).await;
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let result = &json_lines(&output)[0];
    assert_eq!(result["id"], id.as_str(), "the same upload is continued");
    assert_eq!(result["resumed"], true);
    assert_eq!(result["status"], "imported", "{result}");
    assert_eq!(result["partsSkipped"], acknowledged.len());
    assert_eq!(result["partsSent"], 5 - acknowledged.len());
    assert!(text(&output.stderr).contains("resuming"), "{}", text(&output.stderr));

    // The server kept the very files it stored before the kill: no PUT replaced them. (On
    // the object store a finished upload's parts cannot be inspected any more; the counts
    // above and the bytes below still hold there.)
    if backend::scaleout().is_none() {
        let after = part_files(&server.data_dir.path().join("blobs/objects").join(&id));
        assert_eq!(after.len(), 5, "{after:?}");
        for n in &acknowledged {
            assert_eq!(after[n], stored[n], "part {n} was sent again");
        }
    }
    let asset = server.client.get_asset(result["entityId"].as_str().unwrap()).await.unwrap();
    assert!(server.download(&asset.url).await.1 == file, "the imported file differs");
    assert_eq!(std::fs::read_dir(&state).unwrap().count(), 0, "the journal entry is gone");
}

/// `intake serve <args>` in `dir` with only `env` (and PATH): its stdout up to the line that
/// says where it listens (then it is killed), or its whole output when it exits first.
fn serve_once(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    use std::io::{BufRead, BufReader, Read};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_intake"))
        .arg("serve")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("INTAKE_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        stdout.push_str(&line);
        stdout.push('\n');
        if line.starts_with("intake listening on ") {
            child.kill().unwrap();
            break;
        }
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (status.code(), stdout, stderr)
}

/// Where a started server keeps its data, from its "listening" line.
fn data_in(stdout: &str) -> String {
    let line = stdout.lines().find(|l| l.starts_with("intake listening on ")).unwrap_or_else(|| panic!("{stdout}"));
    line.split("(data in ").nth(1).unwrap().trim_end_matches(')').to_string()
}

#[test]
fn settings_come_from_the_flag_then_the_variable_then_the_file_then_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let file =
        write(dir.path(), "intake.toml", format!("listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n", at("file")).as_bytes());
    let file = file.to_str().unwrap();
    // Variables that other parts of intake read never stop a start.
    let others = [
        ("INTAKE_URL", "http://x"),
        ("INTAKE_API_KEY", "k"),
        ("INTAKE_API_SECRET", "s"),
        ("INTAKE_TEST_ANYTHING", "1"),
    ];
    let (_, out, err) = serve_once(dir.path(), &["--config", file], &others);
    assert_eq!(data_in(&out), at("file"), "{err}");
    let (_, out, err) = serve_once(dir.path(), &[], &[("INTAKE_CONFIG", file)]);
    assert_eq!(data_in(&out), at("file"), "{err}");
    let (_, out, err) = serve_once(dir.path(), &["--config", file], &[("INTAKE_DATA_DIR", &at("env"))]);
    assert_eq!(data_in(&out), at("env"), "{err}");
    let flag = at("flag");
    let (_, out, err) =
        serve_once(dir.path(), &["--config", file, "--data-dir", &flag], &[("INTAKE_DATA_DIR", &at("env"))]);
    assert_eq!(data_in(&out), flag, "{err}");
    let (_, out, err) = serve_once(dir.path(), &[], &[("INTAKE_LISTEN", "127.0.0.1:0")]);
    assert_eq!(data_in(&out), "intake-data", "{err}");
}

#[test]
fn a_mistyped_setting_stops_the_start_and_names_the_nearest() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = serve_once(dir.path(), &[], &[("INTAKE_LISTEN", "127.0.0.1:0"), ("INTAKE_WROKERS", "8")]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("INTAKE_WROKERS") && err.contains("did you mean INTAKE_WORKERS?"), "{err}");
    let file = write(dir.path(), "intake.toml", b"listen = \"127.0.0.1:0\"\nrate_limt = 5\n");
    let (code, out, err) = serve_once(dir.path(), &["--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("rate_limt is no setting") && err.contains("did you mean rate_limit?"), "{err}");
    let (code, _, err) = serve_once(dir.path(), &["--config", "missing.toml"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("missing.toml"), "{err}");
    assert!(!dir.path().join("intake-data").exists(), "nothing starts on a refused setting");
}
