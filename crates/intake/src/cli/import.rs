//! `intake import-url`, `intake import-hf`, `intake import-civitai`: ask the server to fetch
//! a file or a model itself. They send the create body and, with `--wait`, follow it to
//! `imported` or `failed`.

use super::connect::ConnectArgs;
use super::report::Reporter;
use super::upload::parse_kind;
use super::{exit, fail};
use intake_client::{CreateUploadRequest, Kind, Status, WaitOptions};

/// Options every import shares.
#[derive(clap::Args)]
pub struct ImportCommon {
    /// Wait until imported or failed (exit code 1 if it failed).
    #[arg(long)]
    wait: bool,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// `intake import-url URL --kind K`.
#[derive(clap::Args)]
pub struct ImportUrlArgs {
    /// The http(s) URL the server downloads.
    url: String,
    /// What the file is: 3d, asset, audio, avatar, image, model, text, video.
    #[arg(long, value_parser = parse_kind)]
    kind: Kind,
    #[command(flatten)]
    common: ImportCommon,
}

/// `intake import-hf OWNER/NAME[@REVISION]`.
#[derive(clap::Args)]
pub struct ImportHfArgs {
    /// The Hugging Face model, e.g. `stabilityai/sdxl-turbo` or `owner/name@revision`.
    #[arg(value_name = "OWNER/NAME")]
    model: String,
    #[command(flatten)]
    common: ImportCommon,
}

/// `intake import-civitai URL`.
#[derive(clap::Args)]
pub struct ImportCivitaiArgs {
    /// `https://civitai.com/models/<id>[/<slug>][?modelVersionId=<v>]`.
    url: String,
    #[command(flatten)]
    common: ImportCommon,
}

pub async fn run_url(args: ImportUrlArgs) -> u8 {
    let body = CreateUploadRequest { url: Some(args.url.clone()), kind: Some(args.kind), ..Default::default() };
    run(&args.url, body, args.common).await
}

pub async fn run_hf(args: ImportHfArgs) -> u8 {
    let body = CreateUploadRequest { hugging_face_model_name: Some(args.model.clone()), ..Default::default() };
    run(&args.model, body, args.common).await
}

pub async fn run_civitai(args: ImportCivitaiArgs) -> u8 {
    let body = CreateUploadRequest { civitai_model_url: Some(args.url.clone()), ..Default::default() };
    run(&args.url, body, args.common).await
}

async fn run(label: &str, body: CreateUploadRequest, common: ImportCommon) -> u8 {
    let client = match common.connect.client() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let reporter = Reporter::new(common.json, true, 0, 1);
    let mut upload = match client.create_upload(&body).await {
        Ok(upload) => upload,
        Err(e) => {
            let code = exit::code_for(&e);
            reporter.error(label, &e, code);
            return code;
        }
    };
    if common.wait {
        let last = std::cell::Cell::new(None);
        let on_status = |u: &intake_client::Upload| {
            if !common.json && last.replace(Some(u.status)) != Some(u.status) {
                eprintln!("{label}: {}", u.status);
            }
        };
        upload = match client.wait(&upload.id, WaitOptions::default(), on_status).await {
            Ok(upload) => upload,
            Err(e) => {
                let code = exit::code_for(&e);
                reporter.error(label, &e, code);
                return code;
            }
        };
    }
    reporter.upload(label, &upload);
    if upload.status == Status::Failed {
        exit::FAILED
    } else {
        exit::OK
    }
}
