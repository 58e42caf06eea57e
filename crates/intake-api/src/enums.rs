//! The closed sets of values the API uses: kinds, sources, statuses, providers.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A string that is not one of an enum's wire values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue(pub String);

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as it is spelled on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        // Written by hand: the derive cannot see serde renames made inside a macro.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($wire),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    other => Err(UnknownValue(other.to_string())),
                }
            }
        }
    };
}

wire_enum! {
    /// What the uploaded file is meant to become once validated.
    Kind {
        ThreeD = "3d",
        Asset = "asset",
        Audio = "audio",
        Avatar = "avatar",
        Image = "image",
        Model = "model",
        Text = "text",
        Video = "video",
    }
}

wire_enum! {
    /// What an imported asset is, from its content (Scenario's asset `kind`): an upload of
    /// kind `image` becomes an `image` asset, a `3d` upload a `3d` one, a JSON file uploaded
    /// as `asset` a `json` one, and anything no family claims a `document`.
    AssetKind {
        ThreeD = "3d",
        Audio = "audio",
        Document = "document",
        Image = "image",
        Json = "json",
        Text = "text",
        Video = "video",
    }
}

wire_enum! {
    /// Where the bytes of an upload come from.
    Source {
        Civitai = "civitai",
        HuggingFace = "huggingface",
        Multipart = "multipart",
        Other = "other",
        Url = "url",
    }
}

wire_enum! {
    /// Where an upload is in its lifecycle:
    /// `pending → complete → validating → validated → imported`, or `failed` from any step.
    Status {
        Complete = "complete",
        Failed = "failed",
        Imported = "imported",
        Pending = "pending",
        Validated = "validated",
        Validating = "validating",
    }
}

wire_enum! {
    /// The third-party hub a model import comes from.
    Provider {
        Civitai = "civitai",
        HuggingFace = "huggingface",
        Other = "other",
    }
}

impl Status {
    /// `imported` and `failed` never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Imported | Status::Failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_wire_names() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>(), Ok(*kind));
            assert_eq!(serde_json::to_string(kind).unwrap(), format!("\"{kind}\""));
        }
        assert_eq!("3D".parse::<Kind>(), Err(UnknownValue("3D".into())));
    }
}
