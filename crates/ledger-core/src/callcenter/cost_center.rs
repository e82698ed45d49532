//! Cost-center mapping (`POST /api/bill/cost-center`): which cost center a BG/BU's share of the
//! bills goes to. A later assignment of the same BG/BU replaces the earlier one.

use super::events::CostCenterAssigned;
use crate::event::Event;
use crate::rejection::Rejection;

/// `cost_center.assign`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostCenterAssign {
    pub bg: String,
    pub bu: String,
    pub cost_center: String,
    pub cost_center_code: String,
}

pub fn decide_assign(assign: &CostCenterAssign) -> Result<Vec<Event>, Rejection> {
    Ok(vec![
        CostCenterAssigned {
            bg: assign.bg.clone(),
            bu: assign.bu.clone(),
            cost_center: assign.cost_center.clone(),
            cost_center_code: assign.cost_center_code.clone(),
        }
        .into(),
    ])
}
