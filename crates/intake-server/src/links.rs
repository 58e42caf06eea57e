//! [`RouteLinks`]: the service's [`Links`] port as this server's routes have them
//! (`routes/mod.rs`): where a signed URL points is decided here, beside the router, not in
//! the service.

use intake_core::links::Links;
use intake_core::signing::Grant;

/// Writes `{public_url}/parts/{uploadId}/{number}`, `{public_url}/files/{entityId}` and
/// `{public_url}/files/{assetId}/thumbnail`, each with `?expires=…&signature=…`.
#[derive(Debug, Clone)]
pub struct RouteLinks {
    /// Where clients reach this server, without a trailing slash.
    public_url: String,
}

impl RouteLinks {
    pub fn new(public_url: &str) -> Self {
        Self { public_url: public_url.trim_end_matches('/').to_string() }
    }
}

impl Links for RouteLinks {
    fn write_url(&self, grant: Grant<'_>, expires: i64, signature: &str, out: &mut String) {
        let mut digits = itoa::Buffer::new();
        out.push_str(&self.public_url);
        match grant {
            Grant::PutPart { upload_id, part } => {
                out.push_str("/parts/");
                out.push_str(upload_id);
                out.push('/');
                out.push_str(digits.format(part));
            }
            Grant::ReadFile { entity_id } => {
                out.push_str("/files/");
                out.push_str(entity_id);
            }
            Grant::ReadThumbnail { asset_id } => {
                out.push_str("/files/");
                out.push_str(asset_id);
                out.push_str("/thumbnail");
            }
        }
        out.push_str("?expires=");
        out.push_str(digits.format(expires));
        out.push_str("&signature=");
        out.push_str(signature);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(grant: Grant<'_>) -> String {
        let mut out = String::new();
        RouteLinks::new("https://intake.example/").write_url(grant, 1700000000, "abc", &mut out);
        out
    }

    #[test]
    fn each_grant_points_at_its_route() {
        assert_eq!(
            url(Grant::PutPart { upload_id: "upload_x", part: 12 }),
            "https://intake.example/parts/upload_x/12?expires=1700000000&signature=abc"
        );
        assert_eq!(
            url(Grant::ReadFile { entity_id: "asset_y" }),
            "https://intake.example/files/asset_y?expires=1700000000&signature=abc"
        );
        assert_eq!(
            url(Grant::ReadThumbnail { asset_id: "asset_y" }),
            "https://intake.example/files/asset_y/thumbnail?expires=1700000000&signature=abc"
        );
    }
}
