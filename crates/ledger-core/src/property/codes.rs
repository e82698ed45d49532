//! The property family's codes. Each accepts the seed's vocabulary and the upstream codes and
//! always stores the canonical upstream code.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident { $( $variant:ident = $code:literal $(| $alias:literal)* ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $variant, )* }

        impl $name {
            /// Reads a code or one of its seed-vocabulary aliases.
            pub fn from_code(text: &str) -> Option<Self> {
                match text.trim() {
                    $( $code $(| $alias)* => Some($name::$variant), )*
                    _ => None,
                }
            }

            /// The canonical code that is stored and shown.
            pub fn code(self) -> &'static str {
                match self { $( $name::$variant => $code, )* }
            }

            /// Every accepted spelling, for error messages and schemas.
            pub const ACCEPTED: &'static [&'static str] = &[ $( $code, $($alias,)* )* ];
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $name::from_code(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {} {:?}", stringify!($name), text))
                })
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "enum": [ $( $code, )* ] })
            }
        }
    };
}

code_enum! {
    /// 出账类型: how often a fee is billed.
    BillType {
        Yearly = "001" | "YEARLY",
        Monthly = "002" | "MONTHLY",
        Daily = "003" | "DAILY",
        RealTime = "004" | "REALTIME" | "REAL_TIME",
        OneOff = "005" | "ONCE",
        Quarterly = "QUARTERLY",
    }
}

impl BillType {
    /// paymentCycle in months when the config does not give one.
    pub fn default_payment_cycle_months(self) -> u32 {
        match self {
            BillType::Quarterly => 3,
            BillType::Yearly => 12,
            _ => 1,
        }
    }
}

code_enum! {
    /// 费用标识: periodic, one-off, intermittent, or (seed "N") not chargeable.
    FeeFlag {
        Periodic = "1003006" | "Y",
        OneOff = "2006012",
        Intermittent = "4012024",
        NotChargeable = "N",
    }
}

code_enum! {
    /// 付费类型: prepaid or postpaid.
    PaymentCd {
        Prepaid = "1200",
        Postpaid = "2100",
    }
}

code_enum! {
    /// Fee state.
    FeeState {
        InProgress = "2008001",
        Finished = "2009001",
    }
}

code_enum! {
    /// Fee config state: N normal, NA unavailable.
    ConfigState {
        Normal = "N",
        Unavailable = "NA",
    }
}

code_enum! {
    /// 进位方式 (config `scale`, upstream MoneyUtil): how owed amounts are rounded to the
    /// config's `decimalPlace` digits.
    Scale {
        HalfUp = "1",
        Up = "3",
        Down = "4",
    }
}

code_enum! {
    /// Community settings the ledger reads (upstream community_setting keys). PAY_FEE_MONTH
    /// (按月出账): periodic room fees become bill rules yielding one fee per month.
    SettingKey {
        PayFeeMonth = "PAY_FEE_MONTH",
        PayFeeMonthCycle = "PAY_FEE_MONTH_CYCLE",
    }
}

code_enum! {
    /// An on/off setting value.
    Switch {
        On = "ON",
        Off = "OFF",
    }
}

/// A community setting's value: ON/OFF (PAY_FEE_MONTH) or a number of months
/// (PAY_FEE_MONTH_CYCLE). Written as the seed's text ("ON", "OFF", "3"), so events written when
/// the value could only be ON/OFF read unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingValue {
    Switch(Switch),
    Months(u32),
}

impl SettingValue {
    fn parse(text: &str) -> Option<Self> {
        Switch::from_code(text)
            .map(SettingValue::Switch)
            .or_else(|| {
                text.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .map(SettingValue::Months)
            })
    }
}

impl Serialize for SettingValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SettingValue::Switch(v) => v.serialize(s),
            SettingValue::Months(n) => s.collect_str(n),
        }
    }
}

impl<'de> Deserialize<'de> for SettingValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        SettingValue::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown SettingValue {text:?}")))
    }
}

impl schemars::JsonSchema for SettingValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SettingValue".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "pattern": "^(ON|OFF|[1-9][0-9]*)$" })
    }
}
