//! What a BaaS customer owes in a date window (seed 000 `srv_baas_feeowed_qry`).
//!
//! - `feeOwed`: the unpaid part of the customer's bills whose billing period overlaps the window.
//! - `realTimeFee`: usage inside the window that no bill has absorbed yet.
//!
//! Both are summed exactly in yuan and converted to li once, half-up (the seed: 不足 1 厘的小数部分
//! 四舍五入), so per-item rounding never drifts the total.

use super::{BillRow, UsageRow};
use crate::money::Money;
use crate::rejection::Rejection;
use chrono::NaiveDateTime;

/// An inclusive window of business time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub begin: NaiveDateTime,
    pub end: NaiveDateTime,
}

impl Window {
    /// The seed's defaults: a missing `beginDate` or `endDate` is the system time `now`.
    pub fn with_defaults(
        begin: Option<NaiveDateTime>,
        end: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> Result<Window, Rejection> {
        let window = Window {
            begin: begin.unwrap_or(now),
            end: end.unwrap_or(now),
        };
        if window.end < window.begin {
            return Err(Rejection::invalid(
                "endDate",
                "结束时间早于开始时间 (endDate is before beginDate; a missing date is the system time)",
            ));
        }
        Ok(window)
    }

    fn contains(&self, t: NaiveDateTime) -> bool {
        self.begin <= t && t <= self.end
    }

    fn overlaps(&self, start: NaiveDateTime, end: NaiveDateTime) -> bool {
        start <= self.end && self.begin <= end
    }
}

/// A customer's arrears in yuan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeOwed {
    pub fee_owed: Money,
    pub real_time_fee: Money,
}

impl FeeOwed {
    pub fn fee_owed_li(&self) -> i128 {
        self.fee_owed.to_li_half_up()
    }

    pub fn real_time_fee_li(&self) -> i128 {
        self.real_time_fee.to_li_half_up()
    }
}

/// The arrears of one customer (all services, or `service_id` only) in `window`. `None` when
/// the customer has no bill and no usage for the service at all: the customer is unknown.
pub fn fee_owed(
    bills: &[BillRow],
    usage: &[UsageRow],
    service_id: Option<&str>,
    window: Window,
) -> Option<FeeOwed> {
    let of_service = |s: &str| service_id.is_none_or(|wanted| wanted == s);
    let bills: Vec<&BillRow> = bills
        .iter()
        .filter(|b| of_service(&b.bill.service_id))
        .collect();
    let usage: Vec<&UsageRow> = usage
        .iter()
        .filter(|u| of_service(&u.usage.service_id))
        .collect();
    if bills.is_empty() && usage.is_empty() {
        return None;
    }
    Some(FeeOwed {
        fee_owed: bills
            .iter()
            .filter(|b| window.overlaps(b.bill.period_start, b.bill.period_end))
            .map(|b| b.outstanding())
            .sum(),
        real_time_fee: usage
            .iter()
            .filter(|u| u.billed_by.is_none() && window.contains(u.usage.at))
            .map(|u| u.usage.amount)
            .sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baas::{BillPost, UsagePost, parse_seed_time};

    fn t(s: &str) -> NaiveDateTime {
        parse_seed_time(s).unwrap()
    }

    fn bill(id: &str, service: &str, start: &str, end: &str, yuan: &str, paid: &str) -> BillRow {
        BillRow {
            bill: BillPost {
                tenant_id: "MVNE".into(),
                ext_cust_id: "10010111".into(),
                service_id: service.into(),
                bill_id: id.into(),
                period_start: t(start),
                period_end: t(end),
                amount: Money::new(yuan.parse().unwrap()),
            },
            paid: Money::new(paid.parse().unwrap()),
            absorbed_usage: vec![],
        }
    }

    fn usage(id: &str, service: &str, at: &str, yuan: &str, billed: bool) -> UsageRow {
        UsageRow {
            usage: UsagePost {
                tenant_id: "MVNE".into(),
                ext_cust_id: "10010111".into(),
                service_id: service.into(),
                usage_id: id.into(),
                amount: Money::new(yuan.parse().unwrap()),
                at: t(at),
            },
            billed_by: billed.then(|| "B".to_string()),
        }
    }

    fn seed_window() -> Window {
        Window {
            begin: t("20160101000000"),
            end: t("20160501000000"),
        }
    }

    /// Name, bills, usage, service filter, expected (feeOwed li, realTimeFee li).
    type Case = (
        &'static str,
        Vec<BillRow>,
        Vec<UsageRow>,
        Option<&'static str>,
        (i128, i128),
    );

    #[test]
    fn arrears_in_li_table() {
        let b = |id, svc, start, end, yuan, paid| bill(id, svc, start, end, yuan, paid);
        let jan = ("20160101000000", "20160131235959");
        let feb = ("20160201000000", "20160229235959");
        let dec15 = ("20151201000000", "20151231235959");
        let jun = ("20160601000000", "20160630235959");
        let table: Vec<Case> = vec![
            (
                "seed 000: 60.50 + 38.50 = 99.00 yuan billed, 19.00 usage",
                vec![
                    b("B1", "1001", jan.0, jan.1, "60.50", "0"),
                    b("B2", "1001", feb.0, feb.1, "38.50", "0"),
                ],
                vec![usage("U1", "1001", "20160310000000", "19.00", false)],
                Some("1001"),
                (99000, 19000),
            ),
            (
                "half-up at the li boundary: 0.0125 → 13, 0.0124 → 12",
                vec![b("B1", "1001", jan.0, jan.1, "0.0125", "0")],
                vec![usage("U1", "1001", "20160310000000", "0.0124", false)],
                Some("1001"),
                (13, 12),
            ),
            (
                "rounded once on the sum: 0.0004 + 0.0004 = 0.0008 → 1 li",
                vec![
                    b("B1", "1001", jan.0, jan.1, "0.0004", "0"),
                    b("B2", "1001", feb.0, feb.1, "0.0004", "0"),
                ],
                vec![],
                None,
                (1, 0),
            ),
            (
                "partial payment: 60.50 - 20.25 + 38.50 = 78.75",
                vec![
                    b("B1", "1001", jan.0, jan.1, "60.50", "20.25"),
                    b("B2", "1001", feb.0, feb.1, "38.50", "0"),
                ],
                vec![],
                Some("1001"),
                (78750, 0),
            ),
            (
                "bills and usage outside the window are excluded: only February's 38.50",
                vec![
                    b("B0", "1001", dec15.0, dec15.1, "10.00", "0"),
                    b("B2", "1001", feb.0, feb.1, "38.50", "0"),
                    b("B6", "1001", jun.0, jun.1, "20.00", "0"),
                ],
                vec![
                    usage("U0", "1001", "20151231235959", "1.00", false),
                    usage("U6", "1001", "20160501000001", "2.00", false),
                    usage("U5", "1001", "20160501000000", "3.00", false),
                ],
                Some("1001"),
                (38500, 3000),
            ),
            (
                "a bill overlapping the window's start counts: 31 Dec–31 Jan",
                vec![b("B1", "1001", "20151231000000", jan.1, "5.00", "0")],
                vec![],
                Some("1001"),
                (5000, 0),
            ),
            (
                "billed usage is not real-time fee",
                vec![b("B1", "1001", jan.0, jan.1, "5.00", "0")],
                vec![
                    usage("U1", "1001", "20160110000000", "4.00", true),
                    usage("U2", "1001", "20160310000000", "1.50", false),
                ],
                Some("1001"),
                (5000, 1500),
            ),
            (
                "serviceId omitted: every service, 60.50 + 7.25 billed, 19.00 + 0.75 usage",
                vec![
                    b("B1", "1001", jan.0, jan.1, "60.50", "0"),
                    b("B2", "1002", jan.0, jan.1, "7.25", "0"),
                ],
                vec![
                    usage("U1", "1001", "20160310000000", "19.00", false),
                    usage("U2", "1002", "20160310000000", "0.75", false),
                ],
                None,
                (67750, 19750),
            ),
            (
                "serviceId given: that service only",
                vec![
                    b("B1", "1001", jan.0, jan.1, "60.50", "0"),
                    b("B2", "1002", jan.0, jan.1, "7.25", "0"),
                ],
                vec![usage("U2", "1002", "20160310000000", "0.75", false)],
                Some("1002"),
                (7250, 750),
            ),
        ];
        for (name, bills, usage, service, (owed_li, real_time_li)) in table {
            let got = fee_owed(&bills, &usage, service, seed_window()).expect(name);
            assert_eq!(
                (got.fee_owed_li(), got.real_time_fee_li()),
                (owed_li, real_time_li),
                "{name}"
            );
        }
    }

    #[test]
    fn a_customer_or_service_without_records_is_unknown() {
        let bills = vec![bill(
            "B1",
            "1001",
            "20160101000000",
            "20160131235959",
            "1",
            "0",
        )];
        assert_eq!(fee_owed(&[], &[], None, seed_window()), None);
        assert_eq!(fee_owed(&bills, &[], Some("1002"), seed_window()), None);
        assert!(fee_owed(&bills, &[], Some("1001"), seed_window()).is_some());
    }

    #[test]
    fn window_defaults_to_now() {
        let now = t("20160415101010");
        let w = Window::with_defaults(None, None, now).unwrap();
        assert_eq!((w.begin, w.end), (now, now));
        let w = Window::with_defaults(Some(t("20160101000000")), None, now).unwrap();
        assert_eq!((w.begin, w.end), (t("20160101000000"), now));
        let r = Window::with_defaults(None, Some(t("20160101000000")), now).unwrap_err();
        assert_eq!(r.field(), Some("endDate"));
    }
}
