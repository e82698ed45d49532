//! The one check of every family's GET query string, and the `page`/`row` paging of the lists
//! that do not have a seed's own.
//!
//! * Each endpoint's query struct declares the names it reads ([`Declared::NAMES`]); the
//!   [`Params`] extractor refuses any other name with 400 in the path's family envelope naming it
//!   (`reason` `unknown_parameter`), so a misspelt filter is never silently ignored. The
//!   family's own credential parameters are accepted beside them ([`auth_params`]); `at=` never
//!   reaches a handler (the audit layer takes it off). Call-center lists check their seed's
//!   names with [`check_names`] too.
//! * Paging as upstream MicroCommunity pages (`page` from 1, `row` the page size; replies carry
//!   `total`, counted before paging, and `records`, the number of pages):
//!   [`DEFAULT_ROW`] rows when `row` is absent, at most [`MAX_ROW`].

use crate::edge::{PathFamily, family_of, refuse};
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::response::Response;
use ledger_wire::codes::Failure;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Rows per page when `row` is absent.
pub const DEFAULT_ROW: u32 = 100;
/// Most rows per page.
pub const MAX_ROW: u32 = 1000;

/// A query struct that names the parameters it reads.
pub trait Declared: DeserializeOwned {
    const NAMES: &'static [&'static str];
}

/// The query parameters a family's credentials travel in (none but utility's: its `SYS_HEAD`
/// fields, which a GET carries in the query).
pub(crate) fn auth_params(family: Option<PathFamily>) -> &'static [&'static str] {
    match family {
        Some(PathFamily::Utility) => &["CHANNEL_DID", "DYNAMIC_KEY", "REGISTER_DID"],
        _ => &[],
    }
}

/// `Ok` when every name of `pairs` is in `accepted` or `also`, else the first other one.
pub fn check_names(
    pairs: &[(String, String)],
    accepted: &[&str],
    also: &[&str],
) -> Result<(), Failure> {
    match pairs
        .iter()
        .find(|(k, _)| !accepted.contains(&k.as_str()) && !also.contains(&k.as_str()))
    {
        Some((name, _)) => Err(Failure::UnknownParameter(name.clone())),
        None => Ok(()),
    }
}

/// A GET's query, decoded into `T` once every name in it is one `T` declares.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: Declared> FromRequestParts<S> for Params<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let path = parts.uri.path();
        let unreadable = |e: String| {
            refuse(
                path,
                Failure::BadQuery {
                    field: "query".into(),
                    message: format!("查询字符串无法读取 (the query string cannot be read: {e})"),
                },
            )
        };
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|e| unreadable(e.body_text()))?;
        check_names(&pairs, T::NAMES, auth_params(family_of(path))).map_err(|f| refuse(path, f))?;
        let Query(query) =
            Query::<T>::try_from_uri(&parts.uri).map_err(|e| unreadable(e.body_text()))?;
        Ok(Params(query))
    }
}

/// A GET's signed content: the query string the client sent (even when the audit layer has
/// since removed `at=` from the URI) with its leading `?`, or nothing.
pub fn signed_content(
    raw: Option<String>,
    signed: Option<axum::Extension<crate::audit::SignedQuery>>,
) -> Vec<u8> {
    let query = match signed {
        Some(axum::Extension(crate::audit::SignedQuery(q))) => Some(q),
        None => raw,
    };
    match query {
        Some(q) if !q.is_empty() => format!("?{q}").into_bytes(),
        _ => Vec::new(),
    }
}

/// Who reads a list: the admin token's holder (None: everything), or the family's credential
/// `family` verifies (its scope filters the list).
pub fn lister(
    app: &crate::AppState,
    headers: &axum::http::HeaderMap,
    family: impl FnOnce() -> Result<crate::auth::Principal, Failure>,
) -> Result<Option<crate::auth::Principal>, Failure> {
    let authorization = crate::execute::header(headers, "authorization");
    if app.auth.admin_token.is_some() && app.auth.verify_admin(authorization.as_deref()).is_ok() {
        return Ok(None);
    }
    family().map(Some)
}

/// One page of a list: `page` from 1, `row` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u32,
    pub row: u32,
}

impl Page {
    /// `page` and `row` as given (absent or empty: 1 and [`DEFAULT_ROW`]); a value that is not
    /// a whole number in range is refused naming it.
    pub fn parse(page: Option<&str>, row: Option<&str>) -> Result<Page, Failure> {
        let number = |name: &str, text: Option<&str>, default: u32, max: Option<u32>| {
            let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
                return Ok(default);
            };
            match (text.parse::<u32>(), max) {
                (Ok(n), Some(max)) if (1..=max).contains(&n) => Ok(n),
                (Ok(n), None) if n >= 1 => Ok(n),
                (_, Some(max)) => Err(Failure::BadQuery {
                    field: name.into(),
                    message: format!(
                        "{name} 须为 1 到 {max} 的整数 ({name} must be a whole number from 1 to {max}, got {text:?})"
                    ),
                }),
                (_, None) => Err(Failure::BadQuery {
                    field: name.into(),
                    message: format!(
                        "{name} 须为正整数 ({name} must be a whole number from 1, got {text:?})"
                    ),
                }),
            }
        };
        Ok(Page {
            page: number("page", page, 1, None)?,
            row: number("row", row, DEFAULT_ROW, Some(MAX_ROW))?,
        })
    }

    /// The rows of this page out of every row (`total` is `items.len()` before the call).
    pub fn slice<T>(&self, items: Vec<T>) -> Vec<T> {
        let skip = (u64::from(self.page) - 1).saturating_mul(u64::from(self.row));
        let skip = usize::try_from(skip).unwrap_or(usize::MAX);
        items
            .into_iter()
            .skip(skip)
            .take(self.row as usize)
            .collect()
    }

    /// The number of pages `total` rows make (upstream's `records`).
    pub fn records(&self, total: usize) -> u64 {
        (total as u64).div_ceil(u64::from(self.row))
    }

    /// The paging fields of a reply: `total` (before paging), then [`Page::page_fields`].
    pub fn fields(&self, total: usize) -> [(&'static str, serde_json::Value); 4] {
        let [records, page, row] = self.page_fields(total);
        [("total", total.into()), records, page, row]
    }

    /// The paging fields after `total`: `records` (pages), `page`, `row`.
    pub fn page_fields(&self, total: usize) -> [(&'static str, serde_json::Value); 3] {
        [
            ("records", self.records(total).into()),
            ("page", self.page.into()),
            ("row", self.row.into()),
        ]
    }
}

/// `page` and `row` of a list, as upstream MicroCommunity pages (flattened into each list's
/// query struct).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PagingQuery {
    /// Page from 1 (default 1).
    #[param(value_type = Option<u32>)]
    pub page: Option<String>,
    /// Rows per page, 1–1000 (default 100).
    #[param(value_type = Option<u32>)]
    pub row: Option<String>,
}

impl PagingQuery {
    pub fn page(&self) -> Result<Page, Failure> {
        Page::parse(self.page.as_deref(), self.row.as_deref())
    }
}

/// A paged list as a JSON object: `key` holding the page's rows, then `total` (before
/// paging), `records` (pages), `page` and `row`.
pub fn paged<T: serde::Serialize>(key: &str, rows: Vec<T>, page: Page) -> Value {
    let total = rows.len();
    let mut data = serde_json::Map::new();
    data.insert(key.into(), json!(page.slice(rows)));
    for (k, v) in page.fields(total) {
        data.insert(k.into(), v);
    }
    Value::Object(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_and_row_default_bound_and_slice() {
        let p = Page::parse(None, Some("")).unwrap();
        assert_eq!(
            p,
            Page {
                page: 1,
                row: DEFAULT_ROW
            }
        );
        let p = Page::parse(Some("2"), Some("3")).unwrap();
        assert_eq!(p.slice((1..=8).collect()), vec![4, 5, 6]);
        assert_eq!(p.records(8), 3);
        assert_eq!(
            Page::parse(Some("9"), Some("3")).unwrap().slice(vec![1, 2]),
            Vec::<i32>::new()
        );
        for (page, row, field) in [("0", "1", "page"), ("1", "0", "row"), ("x", "1", "page")] {
            let Err(Failure::BadQuery { field: named, .. }) = Page::parse(Some(page), Some(row))
            else {
                panic!("{page}/{row} accepted");
            };
            assert_eq!(named, field);
        }
        let over = (MAX_ROW + 1).to_string();
        assert!(Page::parse(None, Some(&over)).is_err());
    }

    #[test]
    fn an_undeclared_name_is_refused_by_name() {
        let pairs = vec![
            ("a".to_string(), "1".to_string()),
            ("zz".into(), "2".into()),
        ];
        assert_eq!(
            check_names(&pairs, &["a"], &[]),
            Err(Failure::UnknownParameter("zz".into()))
        );
        assert_eq!(check_names(&pairs, &["a"], &["zz"]), Ok(()));
    }
}
