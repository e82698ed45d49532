//! Events of the property family.

use super::fee_config::FeeConfig;
use crate::event::EventPayload;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `fee_config.created`: a new fee config (saveFeeConfig).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FeeConfigCreated {
    pub config: FeeConfig,
}
impl EventPayload for FeeConfigCreated {}

/// `fee_config.updated`: the config as it is after updateFeeConfig (seed 002).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FeeConfigUpdated {
    pub config: FeeConfig,
}
impl EventPayload for FeeConfigUpdated {}
