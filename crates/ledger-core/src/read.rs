//! The read-model port: every read the query side (the API's query endpoints, the dashboard,
//! `/commands/{id}`, the audit headers) makes of the projected read models. The read store
//! implements it in ledger-store; the API holds only this trait, so it depends on no adapter
//! (ARCHITECTURE.md, layering). Methods are shaped by what a query asks, not by key layout:
//! the row formats and key prefixes stay the store's own.
//!
//! Also the command-outcome record the store keeps per command id, which the port returns.

use crate::Rejection;
use crate::baas::{BillRow, UsageRow};
use crate::callcenter::report::{CostCenter, Filter, Page, Paging, SummaryCell, UsageCell, select};
use crate::callcenter::{OperatorBill, Tariff};
use crate::property::{BillRule, FeeConfig, Room, RoomFee};
use crate::utility::{OweRecord, OweRecordView};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Why a read failed. The messages are what a query's 503 reply shows.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The store could not be read (the adapter's own error, as text).
    #[error("read store failed: {0}")]
    Storage(String),
    #[error("read model row {key} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    Accepted,
    Rejected,
}

/// What the read store keeps per command (`cmd/` rows): where its outcome sits in the log. The
/// events themselves are read back from the log (issue 14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    pub command_id: String,
    pub status: OutcomeStatus,
    pub key: String,
    pub partition: u32,
    pub first_offset: u64,
    pub last_offset: u64,
    /// The refusal, when the command was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<Rejection>,
}

/// What a community holds, for the communities list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommunityCounts {
    pub fee_configs: u64,
    pub rooms: u64,
    pub room_fees: u64,
}

/// The read models as the query side sees them.
pub trait ReadModels: Send + Sync {
    // Property.

    /// Fee configs of a community, in configId order; only `config_id` when it is given.
    fn fee_configs(
        &self,
        community_id: &str,
        config_id: Option<&str>,
    ) -> Result<Vec<FeeConfig>, ReadError>;
    fn room(&self, community_id: &str, room_id: &str) -> Result<Option<Room>, ReadError>;
    /// Room fees and bill rules of one room, or of the whole community when `room_id` is
    /// `None`, in (roomId, id) order.
    fn fees_and_rules(
        &self,
        community_id: &str,
        room_id: Option<&str>,
    ) -> Result<(Vec<RoomFee>, Vec<BillRule>), ReadError>;
    /// Every community with at least one room fee.
    fn fee_communities(&self) -> Result<BTreeSet<String>, ReadError>;
    /// Every community with anything stored (a fee config, room, fee, bill rule or setting),
    /// with its count of fee configs, rooms and room fees.
    fn communities(&self) -> Result<BTreeMap<String, CommunityCounts>, ReadError>;

    // BaaS.

    /// A customer's bills and usage, each in id order.
    fn baas_customer(
        &self,
        tenant_id: &str,
        ext_cust_id: &str,
    ) -> Result<(Vec<BillRow>, Vec<UsageRow>), ReadError>;
    /// Every tenant's customers with at least one bill or usage.
    fn baas_customers(&self) -> Result<BTreeMap<String, BTreeSet<String>>, ReadError>;

    // Utility.

    /// Every ACC_VOLPRICE_OWE record of an account, in SERIAL_DID order.
    fn utility_records(&self, account_did: &str) -> Result<Vec<OweRecord>, ReadError>;
    /// Visits every record of an account in SERIAL_DID order, read in place: the arrears
    /// query filters and renders them without owning them.
    fn visit_utility_records(
        &self,
        account_did: &str,
        visit: &mut dyn FnMut(&OweRecordView<'_>),
    ) -> Result<(), ReadError> {
        for record in self.utility_records(account_did)? {
            visit(&record.view());
        }
        Ok(())
    }
    /// Every account's records, by ACCOUNT_DID, each in SERIAL_DID order (a scan of every
    /// record: the dashboard's).
    fn utility_books(&self) -> Result<BTreeMap<String, Vec<OweRecord>>, ReadError>;
    /// Every account with at least one record, with its count of records.
    fn utility_accounts(&self) -> Result<BTreeMap<String, u64>, ReadError>;

    // Call center.

    fn tariff(&self, tariff_id: u64) -> Result<Option<Tariff>, ReadError>;
    /// Every tariff, by id.
    fn tariffs(&self) -> Result<Vec<Tariff>, ReadError>;
    /// Summary cells, by city then hour; one city's only when `city_id` is given.
    fn summary_cells(&self, city_id: Option<i64>) -> Result<Vec<SummaryCell>, ReadError>;
    /// The page of the summary cells matching `filter` (in `summary_cells` order) with the
    /// count of every match: the summary listing. A store may answer it without reading every
    /// cell in full.
    fn summary_page(
        &self,
        filter: &Filter,
        paging: Paging,
    ) -> Result<Page<SummaryCell>, ReadError> {
        Ok(select(self.summary_cells(filter.city_id)?, filter, paging))
    }
    /// Usage cells, by city, tariff, month.
    fn usage_cells(&self) -> Result<Vec<UsageCell>, ReadError>;
    /// Operator bill reports, the latest per key.
    fn operator_reports(&self) -> Result<Vec<OperatorBill>, ReadError>;
    /// The cost-center map, by (BG, BU).
    fn cost_centers(&self) -> Result<BTreeMap<(String, String), CostCenter>, ReadError>;
    /// The call types seen in tariffs and calls, sorted.
    fn call_types(&self) -> Result<Vec<String>, ReadError>;
    /// The number types seen in calls, sorted.
    fn number_types(&self) -> Result<Vec<String>, ReadError>;

    // Commands and audit.

    /// Where a command's outcome sits in the log.
    fn command_record(&self, command_id: &str) -> Result<Option<OutcomeRecord>, ReadError>;
    /// The applied positions (next offset) of partitions `0..partitions`.
    fn positions(&self, partitions: u32) -> Result<Vec<u64>, ReadError>;
    /// The applied positions of partitions `0..partitions` and the digest of the same state.
    fn positions_and_digest(&self, partitions: u32) -> Result<(Vec<u64>, String), ReadError>;
    /// The digest of the whole read-model state (equal states, equal digests).
    fn digest(&self) -> Result<String, ReadError>;
    /// Bytes the store occupies on disk (a metric).
    fn size_on_disk(&self) -> Result<u64, ReadError>;
}
