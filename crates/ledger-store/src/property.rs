//! Property read models: fee configs by community.

use crate::keys;
use crate::store::{Overlay, ReadStore, StoreError};
use ledger_core::property::FeeConfig;

pub fn put_config(ov: &mut Overlay<'_>, config: &FeeConfig) -> Result<(), StoreError> {
    ov.put_json(
        keys::compose(keys::FEE_CONFIG, &[&config.community_id, &config.config_id]),
        config,
    );
    Ok(())
}

/// Fee configs of a community, in configId order; one config when `config_id` is given.
pub fn list_fee_configs(
    store: &ReadStore,
    community_id: &str,
    config_id: Option<&str>,
) -> Result<Vec<FeeConfig>, StoreError> {
    match config_id {
        Some(id) => Ok(store
            .get_json(&keys::compose(keys::FEE_CONFIG, &[community_id, id]))?
            .into_iter()
            .collect()),
        None => store.scan_json(&keys::compose_prefix(keys::FEE_CONFIG, &[community_id])),
    }
}
