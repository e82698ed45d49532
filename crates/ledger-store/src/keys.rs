//! Read-model key layout. Every key starts with a short family prefix and a `/`; components are
//! joined with a 0x00 byte and numbers are big-endian so keys sort. A 0x00 inside a component
//! is written as 0x00 0xFF (0xFF never occurs in UTF-8), so no two id tuples share a key even
//! for ids stored before the wire refused control characters, and keys of ids without 0x00 —
//! every id accepted today — are byte for byte what they always were (no migration).

pub const POSITION: &[u8] = b"pos/";
pub const COMMAND: &[u8] = b"cmd/";
pub const FEE_CONFIG: &[u8] = b"fc/";
/// Rooms: (communityId, roomId) → `Room`.
pub const ROOM: &[u8] = b"rm/";
/// Room fees: (communityId, roomId, feeId) → `RoomFee`.
pub const ROOM_FEE: &[u8] = b"rf/";
/// Room fee index: (communityId, feeId) → roomId.
pub const ROOM_FEE_BY_ID: &[u8] = b"rfi/";
/// Bill rules: (communityId, roomId, ruleId) → `BillRule`.
pub const BILL_RULE: &[u8] = b"br/";
/// Bill rule index: (communityId, ruleId) → roomId.
pub const BILL_RULE_BY_ID: &[u8] = b"bri/";
/// Community settings: (communityId, settingKey) → value.
pub const COMMUNITY_SETTING: &[u8] = b"cs/";
/// Call-center tariffs by id.
pub const CC_TARIFF: &[u8] = b"cct/";
/// Call-center summary cells by city, hour, BG, BU, business line, workplace, operator, call
/// type, number type.
pub const CC_SUMMARY: &[u8] = b"ccs/";
/// How many summary cells each (city, hour) holds (8-byte big-endian count), so the summary
/// listing of a city counts its cells without scanning them.
pub const CC_SUMMARY_HOURS: &[u8] = b"cch/";
/// How many summary cells each (city, day) holds (8-byte big-endian count): a month's total
/// sums 31 of these instead of 744 hours.
pub const CC_SUMMARY_DAYS: &[u8] = b"ccd/";
/// Call-center usage by city, tariff, month, BG, BU, business line.
pub const CC_USAGE: &[u8] = b"ccl/";
/// Operator bill reports by city, DID, month, workplace, operator, BG, BU.
pub const CC_REPORT: &[u8] = b"cco/";
/// Cost centers by BG, BU.
pub const CC_COST_CENTER: &[u8] = b"ccc/";
/// Call types and number types seen, by kind and name.
pub const CC_NAME: &[u8] = b"ccn/";
pub const BAAS_BILL: &[u8] = b"baas-bill/";
pub const BAAS_USAGE: &[u8] = b"baas-usage/";
pub const UTILITY_OWE: &[u8] = b"util-owe/";

/// `prefix ‖ part0 ‖ 0x00 ‖ part1 …`, each 0x00 inside a part escaped as 0x00 0xFF.
pub fn compose(prefix: &[u8], parts: &[&str]) -> Vec<u8> {
    let mut key = prefix.to_vec();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push(0);
        }
        for &b in part.as_bytes() {
            key.push(b);
            if b == 0 {
                key.push(0xFF);
            }
        }
    }
    key
}

/// The components of a key after its prefix, as stored (escapes kept), so a component equals
/// `compose(b"", &[text])` of its text and can be compared without decoding it.
pub fn parts(rest: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = Some(0);
    std::iter::from_fn(move || {
        let s = start?;
        let mut i = s;
        while i < rest.len() {
            if rest[i] == 0 {
                if rest.get(i + 1) == Some(&0xFF) {
                    i += 2;
                    continue;
                }
                start = Some(i + 1);
                return Some(&rest[s..i]);
            }
            i += 1;
        }
        start = None;
        Some(&rest[s..])
    })
}

/// The first component of a key `compose(prefix, parts)` made (escapes undone); None when
/// `key` is not under `prefix`.
pub fn first_part(prefix: &[u8], key: &[u8]) -> Option<String> {
    let raw = parts(key.strip_prefix(prefix)?).next()?;
    let mut part = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter().copied();
    while let Some(b) = bytes.next() {
        part.push(b);
        if b == 0 {
            bytes.next();
        }
    }
    Some(String::from_utf8_lossy(&part).into_owned())
}

/// The prefix under which every key starting with `parts` sorts (for range scans).
pub fn compose_prefix(prefix: &[u8], parts: &[&str]) -> Vec<u8> {
    let mut key = compose(prefix, parts);
    key.push(0);
    key
}

/// A number as a key component: 16 hex digits of its big-endian two's-complement bytes, so
/// non-negative numbers sort numerically.
pub fn number(n: i64) -> String {
    hex::encode(n.to_be_bytes())
}

pub fn position(partition: u32) -> Vec<u8> {
    let mut key = POSITION.to_vec();
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_split_a_composed_key_at_unescaped_separators_only() {
        let key = compose(b"p/", &["a\0b", "", "c"]);
        let rest = &key[2..];
        let got: Vec<&[u8]> = parts(rest).collect();
        assert_eq!(got, vec![&b"a\0\xFFb"[..], b"", b"c"]);
        assert_eq!(got[0], &compose(b"", &["a\0b"])[..]);
        assert_eq!(parts(b"").collect::<Vec<_>>(), vec![&b""[..]]);
        assert_eq!(first_part(b"p/", &key).as_deref(), Some("a\0b"));
    }

    #[test]
    fn first_part_undoes_compose() {
        for parts in [
            &["c1", "r1"][..],
            &["a\0b", "x"],
            &["solo"],
            &["a\0", "b"],
            &["a", "\0b"],
            &["a\0\0"],
            &["", "b"],
        ] {
            let key = compose(FEE_CONFIG, parts);
            assert_eq!(first_part(FEE_CONFIG, &key).as_deref(), Some(parts[0]));
        }
        assert_eq!(first_part(ROOM, &compose(FEE_CONFIG, &["c1"])), None);
    }

    #[test]
    fn no_two_id_tuples_share_a_key() {
        let tuples: &[&[&str]] = &[
            &["a\0", "b"],
            &["a", "\0b"],
            &["a\0b"],
            &["a", "", "b"],
            &["a", "b"],
            &["a\0\0", "b"],
        ];
        let keys: std::collections::BTreeSet<Vec<u8>> =
            tuples.iter().map(|t| compose(BAAS_BILL, t)).collect();
        assert_eq!(keys.len(), tuples.len());
    }

    #[test]
    fn ids_without_nul_keep_their_keys() {
        assert_eq!(compose(b"x/", &["t1", "c1"]), b"x/t1\0c1".to_vec());
        assert_eq!(compose_prefix(b"x/", &["t1"]), b"x/t1\0".to_vec());
    }
}
