//! The OpenAPI document, assembled from the `#[utoipa::path]` annotations next to each handler.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fee ledger",
        description = "Event-sourced fee ledger speaking the seeds' wire formats"
    ),
    paths(
        crate::property::save_fee_config,
        crate::property::update_fee_config,
        crate::property::list_fee_configs,
        crate::system::healthz,
        crate::system::command_outcome,
        crate::system::openapi,
        crate::system::log_positions,
        crate::system::digest,
        crate::backup::backup,
        crate::property::save_room,
        crate::property::community_setting,
        crate::property::save_room_create_fee,
        crate::property::pay_fee,
        crate::property::list_fee,
        crate::property::list_communities,
        crate::callcenter::configure_tariff,
        crate::callcenter::edit_tariff,
        crate::callcenter::set_tariff_state,
        crate::callcenter::report_operator_bill,
        crate::callcenter::record_calls,
        crate::callcenter::assign_cost_center,
        crate::callcenter::summary,
        crate::callcenter::operator_query,
        crate::callcenter::business_line_query,
        crate::callcenter::verify,
        crate::callcenter::share,
        crate::callcenter::fee_manage,
        crate::callcenter::call_types,
        crate::callcenter::number_types,
        crate::baas::fee_owed_query,
        crate::baas::list_tenants,
        crate::baas::list_customers,
        crate::baas::post_bill,
        crate::baas::post_payment,
        crate::baas::post_usage,
        crate::utility::query_arrears,
        crate::utility::list_accounts,
        crate::utility::post_charge,
        crate::utility::post_payment,
        crate::ops::metrics,
        crate::ops::readyz,
        crate::ui::to_page,
        crate::ui::page,
        crate::ui::script,
        crate::ui::arrears,
        crate::ui::verify,
        crate::ui::utility,
    ),
    components(schemas(
        crate::ui::ArrearsSummary,
        crate::ui::CommunityArrears,
        crate::ui::TenantArrears,
        crate::ui::CustomerArrears,
        crate::ui::BillSpan,
        crate::ui::UtilitySummary,
        crate::ui::AccountArrears,
        crate::ui::BookArrears,
        crate::ui::VerifySummary,
        crate::ui::VerifyLine,
    ))
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    document_authentication_refusals(&mut doc);
    declare_security(&mut doc);
    unique_operation_ids(&mut doc);
    describe_bare_responses(&mut doc);
    doc
}

/// Every operation of a document, mutably.
fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// `operationId` is `{tag}_{handler}`: handlers of different families share names
/// (`post_payment`, `verify`), and clients and fuzzers key operations by id.
fn unique_operation_ids(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            let tag = operation
                .tags
                .as_ref()
                .and_then(|t| t.first())
                .cloned()
                .unwrap_or_default();
            if let Some(id) = &operation.operation_id {
                operation.operation_id = Some(format!("{tag}_{id}"));
            }
        }
    }
}

/// The credentials each operation takes, as security schemes (`crate::auth` checks them):
/// property apps sign with `app-id` + `sign` and send their bearer token; BaaS apps sign with
/// `appkey` + `sign`; call-center users send a bearer token; the operator's pages take the
/// admin token (Bearer, or HTTP Basic with the token as the password); `/commands/{id}` takes
/// the admin token or the owning family's credential. Utility channels authenticate in the
/// body (`SYS_HEAD`), which no security scheme describes; `/healthz`, `/readyz`, `/metrics`,
/// `/openapi.json` and `/log/positions` are open.
fn declare_security(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::{
        ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
    };
    let components = doc.components.get_or_insert_with(Default::default);
    let header = |name: &str, what: &str| {
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(name, what)))
    };
    for (name, scheme) in [
        (
            "propertyAppId",
            header(
                "app-id",
                "Property: the app id (with transaction-id and req-time)",
            ),
        ),
        (
            "propertySign",
            header(
                "sign",
                "Property: md5_hex(transaction-id + req-time + app-id + body or ?query + secret)",
            ),
        ),
        (
            "propertyToken",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        ),
        ("baasAppKey", header("appkey", "BaaS: the application key")),
        (
            "baasSign",
            header("sign", "BaaS: md5_hex(req-time + appkey + body + secret)"),
        ),
        (
            "callcenterToken",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        ),
        (
            "adminToken",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        ),
        (
            "adminBasic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        ),
    ] {
        components.add_security_scheme(name, scheme);
    }
    let none: [&str; 0] = [];
    let property = SecurityRequirement::new("propertyAppId", none)
        .add("propertySign", none)
        .add("propertyToken", none);
    let baas = SecurityRequirement::new("baasAppKey", none).add("baasSign", none);
    let callcenter = SecurityRequirement::new("callcenterToken", none);
    let admin = [
        SecurityRequirement::new("adminToken", none),
        SecurityRequirement::new("adminBasic", none),
    ];
    for (path, item) in doc.paths.paths.iter_mut() {
        let required: Vec<SecurityRequirement> = if path.starts_with("/app/") {
            vec![property.clone()]
        } else if path.starts_with("/occ/") {
            vec![baas.clone()]
        } else if path.starts_with("/api/") {
            vec![callcenter.clone()]
        } else if crate::access::is_admin_path(path) {
            admin.to_vec()
        } else if path.starts_with("/commands/") {
            let mut any = admin.to_vec();
            any.extend([property.clone(), baas.clone(), callcenter.clone()]);
            any
        } else {
            continue;
        };
        for operation in operations(item) {
            operation.security = Some(required.clone());
        }
    }
}

/// Every endpoint of a seed family checks credentials (`crate::auth`) and refuses a request
/// without valid ones with 401 in the family's error envelope, and one outside the
/// credential's scope with 403; the operator's pages refuse without the admin token (401). The
/// document says so for each of them, once, here.
fn document_authentication_refusals(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::ResponseBuilder;
    const FAMILY_PREFIXES: &[&str] = &["/app/", "/api/", "/occ/", "/Service/"];
    for (path, item) in doc.paths.paths.iter_mut() {
        let family = FAMILY_PREFIXES.iter().any(|p| path.starts_with(p));
        if !family && !crate::access::is_admin_path(path) {
            continue;
        }
        for operation in operations(item) {
            let responses = &mut operation.responses.responses;
            responses.entry("401".into()).or_insert_with(|| {
                ResponseBuilder::new()
                    .description("Credentials missing or wrong, in the family's error envelope")
                    .into()
            });
            if family {
                responses.entry("403".into()).or_insert_with(|| {
                    ResponseBuilder::new()
                        .description(
                            "The tenant, community, city or account is outside the credential's scope",
                        )
                        .into()
                });
            }
        }
    }
}

/// Every reply of this API is a JSON object unless its annotation says otherwise (the metrics
/// page is text). Annotations that only describe a reply in prose get exactly that, an
/// `application/json` object, so clients and schemathesis check the content type and the
/// shape without the document claiming more than it knows.
fn describe_bare_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    use utoipa::openapi::{Content, RefOr};
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            for response in operation.responses.responses.values_mut() {
                if let RefOr::T(response) = response
                    && response.content.is_empty()
                {
                    let object: Schema = ObjectBuilder::new().schema_type(Type::Object).into();
                    response
                        .content
                        .insert("application/json".into(), Content::new(Some(object)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_are_unique_and_family_operations_declare_security() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap().to_string();
                assert!(ids.insert(id.clone()), "{id} twice");
                let secured = op.get("security").is_some_and(|s| !s.is_null());
                let family = [
                    "/app/",
                    "/occ/",
                    "/api/",
                    "/ui",
                    "/commands/",
                    "/digest",
                    "/admin/",
                ]
                .iter()
                .any(|p| path.starts_with(p));
                assert_eq!(secured, family, "{method} {path}");
            }
        }
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        for name in ["propertyAppId", "baasSign", "callcenterToken", "adminBasic"] {
            assert!(schemes.contains_key(name), "{name}");
        }
    }

    #[test]
    fn path_parameters_are_in_the_path_and_list_paging_in_the_query() {
        let doc = serde_json::to_value(document()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                for p in &params {
                    let name = p["name"].as_str().unwrap();
                    if p["in"] == "path" {
                        assert!(
                            path.contains(&format!("{{{name}}}")),
                            "{method} {path}: {name}"
                        );
                    }
                    if ["page", "row"].contains(&name) {
                        assert_eq!(p["in"], "query", "{method} {path}: {name}");
                    }
                }
            }
        }
        let list_fee = &doc["paths"]["/app/fee.listFee"]["get"]["parameters"];
        let names: Vec<&str> = list_fee
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["communityId", "payerObjId", "asOf", "page", "row"]);
    }
}
