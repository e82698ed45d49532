//! Property fees (seeds 002 and 004, MicroCommunity conventions): fee configs, rooms, room fees,
//! payments and arrears (computed as of any instant by `view`). Partition key `community:{communityId}`.

pub mod arrears;
pub mod codes;
pub mod events;
pub mod fee;
pub mod fee_config;
pub mod formula;
pub mod payment;
pub mod pricing;
pub mod room;
pub mod time;
pub mod view;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod upstream_cases;

pub use codes::*;
pub use events::*;
pub use fee::*;
pub use fee_config::*;
pub use room::*;

/// The partition key of a community.
pub fn community_key(community_id: &str) -> String {
    format!("community:{community_id}")
}
