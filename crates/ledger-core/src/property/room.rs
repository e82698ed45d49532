//! Rooms (房屋): the payer objects of room fees. A room holds what formulas read (built-up and
//! indoor area, rent) and the owner a room fee is billed to (upstream `room.saveRoom`, plus the
//! owner binding a room fee requires).

use crate::money::Money;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The owner a room is bound to; copied onto each fee as attributes 390007/8/9.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    pub owner_id: String,
    pub owner_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_tel: Option<String>,
}

/// A room as the ledger keeps it (`room.upsert` replaces it whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub community_id: String,
    pub room_id: String,
    /// 房屋编号, shown as the payer's name (attribute 390012).
    pub room_num: String,
    /// 建筑面积, square metres (formula 1001, variable 面积).
    pub built_up_area: Decimal,
    /// 室内面积, square metres (formula 3003, variable 室内面积).
    pub room_area: Decimal,
    /// Monthly rent (formulas 1101/1102, variable 租金).
    pub room_rent: Money,
    /// Absent when the room is not bound to an owner; such a room cannot be billed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}
