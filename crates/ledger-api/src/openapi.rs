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
        crate::property::save_room,
        crate::property::community_setting,
        crate::property::save_room_create_fee,
        crate::property::pay_fee,
        crate::property::list_fee,
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
        crate::baas::post_bill,
        crate::baas::post_payment,
        crate::baas::post_usage,
        crate::utility::query_arrears,
        crate::utility::post_charge,
        crate::utility::post_payment,
        crate::ops::metrics,
        crate::ops::readyz,
        crate::ui::page,
        crate::ui::script,
        crate::ui::arrears,
        crate::ui::verify,
    ),
    components(schemas(
        crate::ui::ArrearsSummary,
        crate::ui::CommunityArrears,
        crate::ui::TenantArrears,
        crate::ui::CustomerArrears,
        crate::ui::VerifySummary,
        crate::ui::VerifyLine,
    ))
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    document_authentication_refusals(&mut doc);
    describe_bare_responses(&mut doc);
    doc
}

/// Every endpoint of a seed family checks credentials (`crate::auth`) and refuses a request
/// without valid ones with 401 in the family's error envelope; the document says so for each
/// of them, once, here.
fn document_authentication_refusals(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::ResponseBuilder;
    const FAMILY_PREFIXES: &[&str] = &["/app/", "/api/", "/occ/", "/Service/"];
    for (path, item) in doc.paths.paths.iter_mut() {
        if !FAMILY_PREFIXES.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            operation
                .responses
                .responses
                .entry("401".into())
                .or_insert_with(|| {
                    ResponseBuilder::new()
                        .description("Credentials missing or wrong, in the family's error envelope")
                        .into()
                });
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
