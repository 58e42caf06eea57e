//! The query of `GET /v1/uploads` (an intake extension): the client writes it with
//! [`ListUploadsQuery::to_pairs`], the server reads it with [`ListUploadsQuery::from_pairs`],
//! so both use the same parameter names and limits.

use crate::enums::{Kind, Status};
use std::collections::HashMap;

/// The most uploads one page holds.
pub const MAX_PAGE_SIZE: u32 = 100;
/// A page's size when the query names none.
pub const DEFAULT_PAGE_SIZE: u32 = 20;

/// What one `GET /v1/uploads` asks for; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListUploadsQuery {
    /// Uploads per page, 1 to [`MAX_PAGE_SIZE`] (`pageSize`; default [`DEFAULT_PAGE_SIZE`]).
    pub page_size: Option<u32>,
    /// The previous page's `nextPaginationToken` (`paginationToken`).
    pub pagination_token: Option<String>,
    /// Only uploads in this status (`status`).
    pub status: Option<Status>,
    /// Only uploads of this kind (`kind`).
    pub kind: Option<Kind>,
}

impl ListUploadsQuery {
    /// The query's parameters, as sent.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::with_capacity(4);
        if let Some(n) = self.page_size {
            pairs.push(("pageSize", n.to_string()));
        }
        if let Some(token) = &self.pagination_token {
            pairs.push(("paginationToken", token.clone()));
        }
        if let Some(status) = self.status {
            pairs.push(("status", status.as_str().to_string()));
        }
        if let Some(kind) = self.kind {
            pairs.push(("kind", kind.as_str().to_string()));
        }
        pairs
    }

    /// Reads the query's parameters (others are ignored); a mistake's reason names the
    /// parameter and what it may be.
    pub fn from_pairs(query: &HashMap<String, String>) -> Result<Self, String> {
        only_known_parameters(query, &["pageSize", "paginationToken", "status", "kind", "projectId"])?;
        let page_size = match query.get("pageSize") {
            None => None,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Some(n),
                _ => return Err(format!("pageSize must be a whole number from 1 to {MAX_PAGE_SIZE}, got {v:?}")),
            },
        };
        let status = match query.get("status") {
            None => None,
            Some(v) => Some(v.parse::<Status>().map_err(|_| {
                let all: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
                format!("status must be one of {}, got {v:?}", all.join(", "))
            })?),
        };
        let kind = match query.get("kind") {
            None => None,
            Some(v) => Some(v.parse::<Kind>().map_err(|_| {
                let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!("kind must be one of {}, got {v:?}", all.join(", "))
            })?),
        };
        let pagination_token = match query.get("paginationToken") {
            Some(t) if t.is_empty() => {
                return Err("paginationToken is empty; leave it out to read the first page".into())
            }
            other => other.cloned(),
        };
        Ok(Self { page_size, pagination_token, status, kind })
    }
}

/// Refuses a query parameter the endpoint does not take, naming it and the ones it takes:
/// a mistyped filter (`?stauts=failed`) would otherwise be ignored and answer with every
/// row, which looks like a right answer.
pub fn only_known_parameters(query: &HashMap<String, String>, known: &[&str]) -> Result<(), String> {
    let mut unknown: Vec<&str> = query.keys().map(String::as_str).filter(|k| !known.contains(k)).collect();
    unknown.sort_unstable();
    match unknown.first() {
        None => Ok(()),
        Some(name) => Err(format!("unknown query parameter {name:?}; this endpoint takes {}", known.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_the_endpoint_does_not_take_is_refused_by_name() {
        let query: HashMap<String, String> =
            [("stauts".to_string(), "failed".to_string()), ("pageSize".to_string(), "5".to_string())].into();
        let reason = ListUploadsQuery::from_pairs(&query).unwrap_err();
        assert!(reason.contains("\"stauts\"") && reason.contains("status"), "{reason}");
        let empty_name: HashMap<String, String> = [(String::new(), "false".to_string())].into();
        assert!(ListUploadsQuery::from_pairs(&empty_name).is_err());
        let known: HashMap<String, String> = [("projectId".to_string(), "proj_a".to_string())].into();
        assert!(ListUploadsQuery::from_pairs(&known).is_ok());
    }

    #[test]
    fn a_query_reads_back_as_it_was_written() {
        let query = ListUploadsQuery {
            page_size: Some(7),
            pagination_token: Some("tok".into()),
            status: Some(Status::Imported),
            kind: Some(Kind::Model),
        };
        let pairs: HashMap<String, String> = query.to_pairs().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        assert_eq!(ListUploadsQuery::from_pairs(&pairs).unwrap(), query);
        assert_eq!(ListUploadsQuery::from_pairs(&HashMap::new()).unwrap(), ListUploadsQuery::default());
    }

    #[test]
    fn each_mistake_names_its_parameter() {
        let one = |k: &str, v: &str| HashMap::from([(k.to_string(), v.to_string())]);
        assert!(ListUploadsQuery::from_pairs(&one("pageSize", "101")).unwrap_err().starts_with("pageSize"));
        assert!(ListUploadsQuery::from_pairs(&one("status", "done")).unwrap_err().starts_with("status"));
        assert!(ListUploadsQuery::from_pairs(&one("kind", "3D")).unwrap_err().starts_with("kind"));
        assert!(ListUploadsQuery::from_pairs(&one("paginationToken", "")).unwrap_err().starts_with("paginationToken"));
    }
}
