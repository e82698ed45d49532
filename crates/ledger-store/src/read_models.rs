//! `ReadStore` as core's `ReadModels` port: each method delegates to the query functions of
//! the family modules, which keep the key layout and row formats to themselves.

use crate::store::{ReadStore, StoreError};
use crate::{baas, callcenter, property, utility};
use ledger_core::baas::{BillRow, UsageRow};
use ledger_core::callcenter::report::{CostCenter, Filter, Page, Paging, SummaryCell, UsageCell};
use ledger_core::callcenter::{OperatorBill, Tariff};
use ledger_core::property::{BillRule, FeeConfig, Room, RoomFee};
use ledger_core::utility::{OweRecord, OweRecordView};
use ledger_core::{CommunityCounts, OutcomeRecord, ReadError, ReadModels};
use std::collections::{BTreeMap, BTreeSet};

impl From<StoreError> for ReadError {
    fn from(e: StoreError) -> ReadError {
        match e {
            StoreError::Storage(e) => ReadError::Storage(e),
            locked @ StoreError::Locked { .. } => ReadError::Storage(locked.to_string()),
            StoreError::Corrupt { key, reason } => ReadError::Corrupt { key, reason },
            // Only writes find gaps; kept readable should one ever surface here.
            gap @ StoreError::Gap { .. } => ReadError::Storage(gap.to_string()),
        }
    }
}

impl ReadModels for ReadStore {
    fn fee_configs(
        &self,
        community_id: &str,
        config_id: Option<&str>,
    ) -> Result<Vec<FeeConfig>, ReadError> {
        Ok(property::list_fee_configs(self, community_id, config_id)?)
    }

    fn room(&self, community_id: &str, room_id: &str) -> Result<Option<Room>, ReadError> {
        Ok(property::get_room(self, community_id, room_id)?)
    }

    fn fees_and_rules(
        &self,
        community_id: &str,
        room_id: Option<&str>,
    ) -> Result<(Vec<RoomFee>, Vec<BillRule>), ReadError> {
        Ok(property::fees_and_rules(self, community_id, room_id)?)
    }

    fn fee_communities(&self) -> Result<BTreeSet<String>, ReadError> {
        Ok(property::fee_communities(self)?)
    }

    fn communities(&self) -> Result<BTreeMap<String, CommunityCounts>, ReadError> {
        Ok(property::communities(self)?)
    }

    fn baas_customer(
        &self,
        tenant_id: &str,
        ext_cust_id: &str,
    ) -> Result<(Vec<BillRow>, Vec<UsageRow>), ReadError> {
        Ok(baas::customer(self, tenant_id, ext_cust_id)?)
    }

    fn baas_customers(&self) -> Result<BTreeMap<String, BTreeSet<String>>, ReadError> {
        Ok(baas::customers(self)?)
    }

    fn utility_records(&self, account_did: &str) -> Result<Vec<OweRecord>, ReadError> {
        Ok(utility::records(self, account_did)?)
    }

    fn visit_utility_records(
        &self,
        account_did: &str,
        visit: &mut dyn FnMut(&OweRecordView<'_>),
    ) -> Result<(), ReadError> {
        Ok(utility::visit_records(self, account_did, visit)?)
    }

    fn utility_books(&self) -> Result<BTreeMap<String, Vec<OweRecord>>, ReadError> {
        Ok(utility::books(self)?)
    }

    fn utility_accounts(&self) -> Result<BTreeMap<String, u64>, ReadError> {
        Ok(utility::accounts(self)?)
    }

    fn tariff(&self, tariff_id: u64) -> Result<Option<Tariff>, ReadError> {
        Ok(callcenter::tariff(self, tariff_id)?)
    }

    fn tariffs(&self) -> Result<Vec<Tariff>, ReadError> {
        Ok(callcenter::tariffs(self)?)
    }

    fn summary_cells(&self, city_id: Option<i64>) -> Result<Vec<SummaryCell>, ReadError> {
        Ok(callcenter::summary_cells(self, city_id)?)
    }

    fn summary_page(
        &self,
        filter: &Filter,
        paging: Paging,
    ) -> Result<Page<SummaryCell>, ReadError> {
        Ok(callcenter::summary_page(self, filter, paging)?)
    }

    fn usage_cells(&self) -> Result<Vec<UsageCell>, ReadError> {
        Ok(callcenter::usage_cells(self)?)
    }

    fn operator_reports(&self) -> Result<Vec<OperatorBill>, ReadError> {
        Ok(callcenter::reports(self)?)
    }

    fn cost_centers(&self) -> Result<BTreeMap<(String, String), CostCenter>, ReadError> {
        Ok(callcenter::cost_centers(self)?)
    }

    fn call_types(&self) -> Result<Vec<String>, ReadError> {
        Ok(callcenter::names(self, false)?)
    }

    fn number_types(&self) -> Result<Vec<String>, ReadError> {
        Ok(callcenter::names(self, true)?)
    }

    fn command_record(&self, command_id: &str) -> Result<Option<OutcomeRecord>, ReadError> {
        Ok(ReadStore::command_record(self, command_id)?)
    }

    fn positions(&self, partitions: u32) -> Result<Vec<u64>, ReadError> {
        Ok((0..partitions)
            .map(|p| self.position(p))
            .collect::<Result<_, _>>()?)
    }

    fn positions_and_digest(&self, partitions: u32) -> Result<(Vec<u64>, String), ReadError> {
        Ok(ReadStore::positions_and_digest(self, partitions)?)
    }

    fn digest(&self) -> Result<String, ReadError> {
        Ok(ReadStore::digest(self)?)
    }

    fn size_on_disk(&self) -> Result<u64, ReadError> {
        Ok(ReadStore::size_on_disk(self)?)
    }
}
