//! How the upload and import commands show progress and results: progress bars on a
//! terminal (per file and total: bytes, throughput, ETA), plain lines when stderr is not a
//! terminal, nothing with `--quiet`; results on stdout, one line (or one JSON object with
//! `--json`) per upload.

use super::size::human;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use intake_client::{Event, Observer, Upload, UploadOutcome};
use serde_json::{json, Value};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Progress display for one command run.
pub struct Reporter {
    json: bool,
    style: Style,
}

enum Style {
    Bars { multi: MultiProgress, total: ProgressBar },
    Lines,
    Quiet,
}

impl Reporter {
    /// A reporter for uploads of `total_bytes` in all.
    pub fn new(json: bool, quiet: bool, total_bytes: u64, files: usize) -> Self {
        let style = if quiet {
            Style::Quiet
        } else if std::io::stderr().is_terminal() {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let total = multi.add(ProgressBar::new(total_bytes));
            total.set_style(bar_style());
            total.set_message(format!("total ({files} file{})", if files == 1 { "" } else { "s" }));
            if files < 2 {
                total.set_draw_target(ProgressDrawTarget::hidden());
            }
            Style::Bars { multi, total }
        } else {
            Style::Lines
        };
        Self { json, style }
    }

    /// The observer for the upload of `label`.
    pub fn observer(&self, label: &str) -> Observer {
        let label = label.to_string();
        match &self.style {
            Style::Quiet => Arc::new(|_: &Event| {}),
            Style::Bars { multi, total } => {
                let bar = multi.insert_from_back(1, ProgressBar::new(0));
                bar.set_style(bar_style());
                bar.set_message(label);
                let total = total.clone();
                Arc::new(move |event: &Event| match event {
                    Event::Started { file_size, resumed_bytes, .. } => {
                        bar.set_length(*file_size);
                        bar.set_position(*resumed_bytes);
                        bar.reset_eta();
                        total.inc(*resumed_bytes);
                    }
                    Event::Sent { bytes } => {
                        bar.inc(*bytes);
                        total.inc(*bytes);
                    }
                    Event::Retrying { rewind, .. } => {
                        bar.set_position(bar.position().saturating_sub(*rewind));
                        total.set_position(total.position().saturating_sub(*rewind));
                    }
                    Event::Completing => bar.set_message(format!("{} (completing)", bar.message())),
                    Event::Status { upload } if upload.status.is_terminal() => bar.finish(),
                    _ => {}
                })
            }
            Style::Lines => {
                let state =
                    Mutex::new(LineState { started: Instant::now(), done: 0, parts: 0, acked: 0, status: None });
                Arc::new(move |event: &Event| {
                    let mut s = state.lock().expect("report lock");
                    match event {
                        Event::Started { upload, parts, part_size, resumed_parts, resumed_bytes, file_size } => {
                            s.parts = *parts;
                            s.done = *resumed_parts;
                            s.acked = *resumed_bytes;
                            let resume = if *resumed_parts > 0 {
                                format!(", resuming: {resumed_parts} already sent")
                            } else {
                                String::new()
                            };
                            eprintln!(
                                "{label}: upload {} ({}, {parts} part{} of {}{resume})",
                                upload.id,
                                human(*file_size),
                                if *parts == 1 { "" } else { "s" },
                                human(*part_size)
                            );
                        }
                        Event::PartDone { part, bytes, .. } => {
                            s.done += 1;
                            s.acked += bytes;
                            let rate = s.acked as f64 / s.started.elapsed().as_secs_f64().max(0.001);
                            eprintln!(
                                "{label}: part {part} sent ({}/{} parts, {}/s)",
                                s.done,
                                s.parts,
                                human(rate as u64)
                            );
                        }
                        Event::Retrying { part, attempt, wait, error, .. } => {
                            eprintln!("{label}: part {part} try {attempt} failed ({error}); retrying in {wait:.1?}");
                        }
                        Event::UrlsRefreshed => eprintln!("{label}: part URLs refreshed"),
                        Event::Completing => eprintln!("{label}: completing"),
                        Event::Status { upload } if s.status != Some(upload.status) => {
                            s.status = Some(upload.status);
                            eprintln!("{label}: {}", upload.status);
                        }
                        _ => {}
                    }
                })
            }
        }
    }

    /// Prints the result of one upload on stdout.
    pub fn outcome(&self, label: &str, outcome: &UploadOutcome) {
        if self.json {
            let mut object = upload_json(label, &outcome.upload);
            let extra = json!({
                "resumed": outcome.resumed,
                "fileSize": outcome.file_size,
                "partSize": outcome.part_size,
                "parts": outcome.parts,
                "partsSent": outcome.parts_sent,
                "partsSkipped": outcome.parts_skipped,
                "bytesSent": outcome.bytes_sent,
                "partPuts": outcome.part_puts,
                "urlRefreshes": outcome.url_refreshes,
                "seconds": outcome.elapsed.as_secs_f64(),
            });
            object.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            println!("{object}");
        } else {
            self.line(label, &outcome.upload);
        }
    }

    /// Prints the result of an import (an upload without parts) on stdout.
    pub fn upload(&self, label: &str, upload: &Upload) {
        if self.json {
            println!("{}", upload_json(label, upload));
        } else {
            self.line(label, upload);
        }
    }

    /// Prints a request that could not be made on stdout (with `--json`) and stderr.
    pub fn error(&self, label: &str, error: &intake_client::Error, code: u8) {
        eprintln!("error: {label}: {error}");
        if self.json {
            let api = error.api();
            println!(
                "{}",
                json!({"file": label, "error": error.to_string(), "exitCode": code,
                       "httpStatus": api.map(|a| a.status), "traceId": api.and_then(|a| a.trace_id.clone()),
                       "code": api.and_then(|a| a.code.clone())})
            );
        }
    }

    fn line(&self, label: &str, upload: &Upload) {
        let mut line = format!("{label}: {} {}", upload.id, upload.status);
        if let Some(entity) = &upload.entity_id {
            line.push_str(&format!(" → {entity}"));
        }
        if let Some(message) = &upload.error_message {
            line.push_str(&format!(": {message}"));
        }
        println!("{line}");
    }

    /// Clears the bars.
    pub fn finish(&self) {
        if let Style::Bars { total, .. } = &self.style {
            total.finish();
        }
    }
}

struct LineState {
    started: Instant,
    done: u32,
    parts: u32,
    acked: u64,
    status: Option<intake_client::Status>,
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{msg:30!} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}")
        .expect("a valid template")
        .progress_chars("=> ")
}

fn upload_json(label: &str, upload: &Upload) -> Value {
    json!({
        "file": label,
        "id": upload.id,
        "status": upload.status,
        "kind": upload.kind,
        "entityId": upload.entity_id,
        "errorMessage": upload.error_message,
        "upload": upload,
    })
}
