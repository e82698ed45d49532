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
    )
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
