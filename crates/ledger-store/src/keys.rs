//! Read-model key layout. Every key starts with a short family prefix and a `/`; components are
//! joined with a 0x00 byte (ids never contain it) and numbers are big-endian so keys sort.

pub const POSITION: &[u8] = b"pos/";
pub const COMMAND: &[u8] = b"cmd/";
pub const FEE_CONFIG: &[u8] = b"fc/";
pub const BAAS_BILL: &[u8] = b"baas-bill/";
pub const BAAS_USAGE: &[u8] = b"baas-usage/";
pub const UTILITY_OWE: &[u8] = b"util-owe/";

/// `prefix ‖ part0 ‖ 0x00 ‖ part1 …`
pub fn compose(prefix: &[u8], parts: &[&str]) -> Vec<u8> {
    let mut key = prefix.to_vec();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push(0);
        }
        key.extend_from_slice(part.as_bytes());
    }
    key
}

/// The prefix under which every key starting with `parts` sorts (for range scans).
pub fn compose_prefix(prefix: &[u8], parts: &[&str]) -> Vec<u8> {
    let mut key = compose(prefix, parts);
    key.push(0);
    key
}

pub fn position(partition: u32) -> Vec<u8> {
    let mut key = POSITION.to_vec();
    key.extend_from_slice(&partition.to_be_bytes());
    key
}
