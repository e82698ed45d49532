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
        crate::baas::fee_owed_query,
        crate::baas::post_bill,
        crate::baas::post_payment,
        crate::baas::post_usage,
        crate::utility::query_arrears,
        crate::utility::post_charge,
        crate::utility::post_payment,
    )
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
