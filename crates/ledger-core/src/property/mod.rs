//! Property fees (seeds 002 and 004, MicroCommunity conventions): fee configs, rooms, room fees,
//! payments and arrears. Partition key `community:{communityId}`.

pub mod arrears;
pub mod codes;
pub mod events;
pub mod fee_config;
pub mod formula;
pub mod payment;
pub mod pricing;
pub mod time;

pub use codes::*;
pub use events::*;
pub use fee_config::*;

/// The partition key of a community.
pub fn community_key(community_id: &str) -> String {
    format!("community:{community_id}")
}
