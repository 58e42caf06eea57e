//! Keeps this instance's API keys and URL-signing secrets as the database has them: every
//! [`REFRESH_INTERVAL`] it reads the credentials generation (one small row) and, when another
//! process changed it (`intake keys create|revoke`, `intake projects create`,
//! `intake signing rotate`, another instance's start), reads the keys and secrets again. So
//! a revoked key is refused on every instance within about a second.

use intake_core::metadata::MetadataStore;
use intake_core::service::{Authenticator, Service};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the generation is read.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// Reloads on every change of the generation after `seen`, until `stop` turns true.
pub async fn refresh(
    meta: Arc<dyn MetadataStore>,
    auth: Arc<Authenticator>,
    service: Arc<Service>,
    mut seen: Vec<u8>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(REFRESH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        match meta.credentials_generation().await {
            Ok(generation) if generation != seen => {
                let reloaded = async {
                    auth.reload(meta.as_ref()).await?;
                    service.reload_signing().await
                };
                match reloaded.await {
                    Ok(()) => {
                        tracing::info!("API keys and signing secrets reloaded");
                        seen = generation;
                    }
                    Err(e) => tracing::warn!(error = %e, "reloading API keys and signing secrets failed; retrying"),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read whether API keys changed; keeping them as they are"),
        }
    }
}
