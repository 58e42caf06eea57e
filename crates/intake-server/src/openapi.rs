//! The OpenAPI document of the API intake serves, generated from the handlers' annotations
//! and the wire types (`GET /v1/openapi.json`). A snapshot test keeps `docs/openapi.json`
//! equal to it, so any change to the API shows up in review.

use crate::routes;
use intake_api::{
    ActionRequest, Asset, AssetMetadata, AssetOptions, AssetProperties, AssetResponse, AssetThumbnail,
    CreateKeyRequest, CreateUploadRequest, CreatedKeyResponse, DryRunResponse, ErrorBody, Kind, Model, ModelProperties,
    ModelResponse, Project, ProjectKey, ProjectKeyProject, ProjectKeyResponse, ProjectList, ProjectResponse,
    ProjectUser, Provider, Source, Status, Upload, UploadList, UploadPart, UploadResponse,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "intake: Scenario Uploads API",
        description = "Multipart uploads with signed part URLs, validated by content into assets and models. \
                       Errors are {reason, traceId, code}; another project's resources answer 404."
    ),
    paths(
        routes::uploads::create,
        routes::uploads::list,
        routes::projects::list,
        routes::projects::retrieve,
        routes::projects::create_key,
        routes::projects::revoke_key,
        routes::uploads::retrieve,
        routes::uploads::action,
        routes::entities::asset,
        routes::entities::model,
        routes::parts::put,
        routes::files::get,
        routes::files::thumbnail,
    ),
    components(schemas(
        ActionRequest, Asset, AssetMetadata, AssetOptions, AssetProperties, AssetResponse, AssetThumbnail, CreateKeyRequest, CreateUploadRequest, CreatedKeyResponse,
        DryRunResponse, ErrorBody, Kind, Model, ModelProperties, ModelResponse, Project, ProjectKey, ProjectKeyProject, ProjectKeyResponse, ProjectList, ProjectResponse,
        ProjectUser, Provider, Source, Status, Upload, UploadList, UploadPart, UploadResponse
    )),
    modifiers(&BasicAuth)
)]
pub struct ApiDoc;

/// HTTP Basic with the API key as user and the secret as password.
struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

/// The document as pretty JSON.
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serializes")
}
