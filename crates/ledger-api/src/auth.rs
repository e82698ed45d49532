//! Authentication per family: the configured credentials (`AuthConfig`, part of the binary's
//! config file) and the one check each family's handlers call before decoding a body.
//!
//! * property (seeds 002/004): headers `app-id`, `transaction-id`, `req-time`, `sign`,
//!   `Authorization: Bearer <token>`; `sign` is MicroCommunity's `apiDataFlowMd5`:
//!   `md5_hex(transaction-id + req-time + app-id + X + secret)`, X the body of a POST or the
//!   query string with its leading `?` of a GET ("" when there is none).
//! * BaaS (seed 000): headers `appkey`, `req-time`, `sign` =
//!   `md5_hex(req-time + appkey + body + secret)`.
//! * utility (seed 001): `SYS_HEAD` in the body; CHANNEL_DID names a configured channel whose
//!   DYNAMIC_KEY (the secret) and REGISTER_DID must match.
//! * call-center (seed 003): `Authorization: Bearer <token>`, mapped to the user name replies
//!   carry as `user`.
//!
//! Scopes: each credential may name the tenants (`tenants`), communities (`communities`),
//! cities (`cities`) or accounts (`accounts`) it acts on; empty or absent means all. A verified
//! credential is a [`Principal`] holding the partition keys it may touch; every command (by its
//! partition key) and every query (by the key of what it reads) is checked against it, and
//! refused with the family's 403 (utility: 401, as before) when outside. `admin_token` is the
//! operator's credential (`Authorization: Bearer <token>`, or HTTP Basic with the token as the
//! password): it reads every command's outcome, the dashboard and the anchored digest.
//!
//! Secrets and signatures are compared in constant time. There is no switch that turns
//! verification off: without a config file the server runs with the demo credentials below and
//! says so at start-up.

use chrono::NaiveDateTime;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// Every credential the edge accepts.
///
/// A config file's `[auth]` replaces the demo credentials entirely: a list it does not give is
/// empty (that family accepts nobody).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// How far a property or BaaS `req-time` may be from the server's clock, either way.
    #[serde(default = "default_req_time_window_s")]
    pub req_time_window_s: u64,
    /// Property apps (`app-id`, its signing secret and bearer token).
    #[serde(default)]
    pub property_apps: Vec<PropertyApp>,
    /// BaaS callers (`appkey` and its signing secret).
    #[serde(default)]
    pub baas_apps: Vec<BaasApp>,
    /// Utility channels (SYS_HEAD).
    #[serde(default)]
    pub utility_channels: Vec<UtilityChannel>,
    /// Call-center users and their bearer tokens.
    #[serde(default)]
    pub callcenter_users: Vec<CallCenterUser>,
    /// The operator's token (`/commands/{id}` of any family, `/ui/`, `/digest`); absent means
    /// nobody is the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
}

/// Five minutes.
fn default_req_time_window_s() -> u64 {
    300
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyApp {
    pub app_id: String,
    pub secret: String,
    /// The `Authorization: Bearer` token of the app.
    pub token: String,
    /// communityIds the app may act on and read; empty means any.
    #[serde(default)]
    pub communities: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaasApp {
    pub appkey: String,
    pub secret: String,
    /// tenantIds the app may act on and read; empty means any.
    #[serde(default)]
    pub tenants: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UtilityChannel {
    pub channel_did: String,
    /// DYNAMIC_KEY: the channel's secret.
    pub dynamic_key: String,
    pub register_did: String,
    /// ACCOUNT_DIDs the channel may act on; empty means any.
    #[serde(default)]
    pub accounts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallCenterUser {
    pub user: String,
    pub token: String,
    /// city_ids the user may act on and read; empty means any (a scoped user assigns no cost
    /// centers, which belong to no city).
    #[serde(default)]
    pub cities: Vec<i64>,
}

/// The demo credentials, used when no config file is given (README lists them).
pub mod demo {
    pub const PROPERTY_APP_ID: &str = "micro-community";
    pub const PROPERTY_SECRET: &str = "demo-property-secret";
    pub const PROPERTY_TOKEN: &str = "demo-property-token";
    pub const BAAS_APPKEY: &str = "xxxde52a0axxxaefa93c6xxxx7bxxx60";
    pub const BAAS_SECRET: &str = "demo-baas-secret";
    pub const UTILITY_CHANNEL_DID: &str = "CH00000000000001";
    pub const UTILITY_DYNAMIC_KEY: &str = "demo-dynamic-key-0001";
    pub const UTILITY_REGISTER_DID: &str = "R000000000000001";
    pub const CALLCENTER_USER: &str = "Jack";
    pub const CALLCENTER_TOKEN: &str = "demo-callcenter-token";
    pub const ADMIN_TOKEN: &str = "demo-admin-token";
}

impl Default for AuthConfig {
    /// The demo credentials.
    fn default() -> Self {
        AuthConfig {
            req_time_window_s: default_req_time_window_s(),
            property_apps: vec![PropertyApp {
                app_id: demo::PROPERTY_APP_ID.into(),
                secret: demo::PROPERTY_SECRET.into(),
                token: demo::PROPERTY_TOKEN.into(),
                communities: Vec::new(),
            }],
            baas_apps: vec![BaasApp {
                appkey: demo::BAAS_APPKEY.into(),
                secret: demo::BAAS_SECRET.into(),
                tenants: Vec::new(),
            }],
            utility_channels: vec![UtilityChannel {
                channel_did: demo::UTILITY_CHANNEL_DID.into(),
                dynamic_key: demo::UTILITY_DYNAMIC_KEY.into(),
                register_did: demo::UTILITY_REGISTER_DID.into(),
                accounts: Vec::new(),
            }],
            callcenter_users: vec![CallCenterUser {
                user: demo::CALLCENTER_USER.into(),
                token: demo::CALLCENTER_TOKEN.into(),
                cities: Vec::new(),
            }],
            admin_token: Some(demo::ADMIN_TOKEN.into()),
        }
    }
}

const MASK: &str = "********";

impl AuthConfig {
    /// True when any demo secret is still accepted (the start-up warning's condition).
    pub fn uses_demo_credentials(&self) -> bool {
        self.property_apps
            .iter()
            .any(|a| a.secret == demo::PROPERTY_SECRET || a.token == demo::PROPERTY_TOKEN)
            || self.baas_apps.iter().any(|a| a.secret == demo::BAAS_SECRET)
            || self
                .utility_channels
                .iter()
                .any(|c| c.dynamic_key == demo::UTILITY_DYNAMIC_KEY)
            || self
                .callcenter_users
                .iter()
                .any(|u| u.token == demo::CALLCENTER_TOKEN)
            || self.admin_token.as_deref() == Some(demo::ADMIN_TOKEN)
    }

    /// The same credentials with every secret and token replaced by a mask.
    pub fn masked(&self) -> AuthConfig {
        let mut m = self.clone();
        for a in &mut m.property_apps {
            a.secret = MASK.into();
            a.token = MASK.into();
        }
        for a in &mut m.baas_apps {
            a.secret = MASK.into();
        }
        for c in &mut m.utility_channels {
            c.dynamic_key = MASK.into();
        }
        for u in &mut m.callcenter_users {
            u.token = MASK.into();
        }
        if m.admin_token.is_some() {
            m.admin_token = Some(MASK.into());
        }
        m
    }
}

/// Lowercase hex MD5 of the concatenated parts.
pub fn md5_hex(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// Constant-time equality of two byte strings (the length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A signature check against the expected lowercase hex, case-insensitive.
fn sign_matches(given: &str, expected: &str) -> bool {
    ct_eq(given.to_ascii_lowercase().as_bytes(), expected.as_bytes())
}

/// Who a verified request comes from, and the partition keys it may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The app id, appkey, channel or user, recorded as the command's actor.
    pub name: String,
    /// The family's key prefixes (`community:`, `tenant:`, `account:`, `city:` and
    /// `cost_center:`): keys of other families are never in scope.
    family_prefixes: &'static [&'static str],
    /// Partition keys in scope; empty means every key of the family.
    keys: Vec<String>,
}

impl Principal {
    fn new(name: &str, family_prefixes: &'static [&'static str], keys: Vec<String>) -> Self {
        Principal {
            name: name.to_string(),
            family_prefixes,
            keys,
        }
    }

    /// The command-id namespace of the family, where ids are namespaced per credential:
    /// `property:{app-id}:{transaction-id}`, `callcenter:{user}:{X-Request-Id}`.
    pub fn namespace(&self) -> Option<&'static str> {
        match self.family_prefixes.first() {
            Some(&"community:") => Some("property"),
            Some(&"city:") => Some("callcenter"),
            _ => None,
        }
    }

    /// The command id a client's own id becomes under this credential's namespace (unchanged
    /// for families whose ids are already namespaced by tenant or account).
    pub fn command_id(&self, client_id: &str) -> String {
        match self.namespace() {
            Some(ns) => format!("{ns}:{}:{client_id}", self.name),
            None => client_id.to_string(),
        }
    }

    /// Whether the principal is limited to some keys of its family.
    pub fn is_scoped(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Whether the partition key (`community:…`, `tenant:…`, `city:…`, `account:…`) is in
    /// scope.
    pub fn allows(&self, key: &str) -> bool {
        self.family_prefixes.iter().any(|p| key.starts_with(p))
            && (self.keys.is_empty() || self.keys.iter().any(|k| k == key))
    }

    /// `Ok` when `key` is in scope, else the refusal naming it.
    pub fn authorize(&self, key: &str) -> Result<(), Forbidden> {
        if self.allows(key) {
            Ok(())
        } else {
            Err(Forbidden(format!(
                "无权访问 ({} may not act on or read {key})",
                self.name
            )))
        }
    }
}

/// Why an authenticated request is refused: what it touches is outside the caller's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden(pub String);

/// Why a request is not authenticated; the message names the header or field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub String);

fn missing(name: &str) -> Denied {
    Denied(format!("缺少请求头 {name} (header {name} is required)"))
}

/// Checks `req-time` (YYYYMMDDhhmmss, in the business time zone) against the window.
pub fn check_req_time(req_time: &str, window_s: u64, now: NaiveDateTime) -> Result<(), Denied> {
    let t = ledger_core::time::parse_compact(req_time).map_err(|_| {
        Denied(format!(
            "req-time {req_time:?} 格式错误 (req-time must be YYYYMMDDhhmmss)"
        ))
    })?;
    let skew_s = (now - t).num_seconds().unsigned_abs();
    if skew_s > window_s {
        return Err(Denied(format!(
            "req-time {req_time} 已过期 (req-time is {skew_s} s from the server's clock; the window is {window_s} s)"
        )));
    }
    Ok(())
}

/// What a property request carries.
pub struct PropertyRequest<'a> {
    pub app_id: Option<&'a str>,
    pub transaction_id: Option<&'a str>,
    pub req_time: Option<&'a str>,
    pub sign: Option<&'a str>,
    pub authorization: Option<&'a str>,
    /// The body of a POST, or `?query` of a GET.
    pub signed_content: &'a [u8],
}

fn bearer(authorization: Option<&str>) -> Result<&str, Denied> {
    let a = authorization.ok_or_else(|| missing("Authorization"))?;
    a.strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Denied(
                "Authorization 须为 Bearer <token> (Authorization must be Bearer <token>)".into(),
            )
        })
}

impl AuthConfig {
    /// Verifies a property request; `Ok` is the app with its communities.
    pub fn verify_property(
        &self,
        r: &PropertyRequest<'_>,
        now: NaiveDateTime,
    ) -> Result<Principal, Denied> {
        let app_id = r.app_id.ok_or_else(|| missing("app-id"))?;
        let transaction_id = r.transaction_id.ok_or_else(|| missing("transaction-id"))?;
        let req_time = r.req_time.ok_or_else(|| missing("req-time"))?;
        let sign = r.sign.ok_or_else(|| missing("sign"))?;
        let token = bearer(r.authorization)?;
        let app = self
            .property_apps
            .iter()
            .find(|a| ct_eq(a.app_id.as_bytes(), app_id.as_bytes()))
            .ok_or_else(|| Denied(format!("app-id {app_id:?} 未授权 (unknown app-id)")))?;
        check_req_time(req_time, self.req_time_window_s, now)?;
        let expected = md5_hex(&[
            transaction_id.as_bytes(),
            req_time.as_bytes(),
            app_id.as_bytes(),
            r.signed_content,
            app.secret.as_bytes(),
        ]);
        if !sign_matches(sign, &expected) {
            return Err(Denied("sign 签名校验失败 (wrong sign)".into()));
        }
        if !ct_eq(token.as_bytes(), app.token.as_bytes()) {
            return Err(Denied(
                "Authorization token 无效 (wrong bearer token)".into(),
            ));
        }
        Ok(Principal::new(
            &app.app_id,
            &["community:"],
            app.communities
                .iter()
                .map(|c| ledger_core::property::community_key(c))
                .collect(),
        ))
    }

    /// Verifies a BaaS request; `Ok` is the appkey with its tenants.
    pub fn verify_baas(
        &self,
        appkey: Option<&str>,
        req_time: Option<&str>,
        sign: Option<&str>,
        body: &[u8],
        now: NaiveDateTime,
    ) -> Result<Principal, Denied> {
        let appkey = appkey.ok_or_else(|| missing("appkey"))?;
        let sign = sign.ok_or_else(|| missing("sign"))?;
        let req_time = req_time.ok_or_else(|| missing("req-time"))?;
        let app = self
            .baas_apps
            .iter()
            .find(|a| ct_eq(a.appkey.as_bytes(), appkey.as_bytes()))
            .ok_or_else(|| Denied(format!("appkey {appkey:?} 未授权 (unknown appkey)")))?;
        check_req_time(req_time, self.req_time_window_s, now)?;
        let expected = md5_hex(&[
            req_time.as_bytes(),
            appkey.as_bytes(),
            body,
            app.secret.as_bytes(),
        ]);
        if !sign_matches(sign, &expected) {
            return Err(Denied("sign 签名校验失败 (wrong sign)".into()));
        }
        Ok(Principal::new(
            &app.appkey,
            &["tenant:"],
            app.tenants
                .iter()
                .map(|t| ledger_core::baas::tenant_key(t))
                .collect(),
        ))
    }

    /// Verifies a utility SYS_HEAD (already read and length-checked by the wire crate).
    pub fn verify_utility(
        &self,
        channel_did: &str,
        dynamic_key: &str,
        register_did: &str,
        account_did: &str,
    ) -> Result<(), Denied> {
        let channel = self.verify_utility_channel(channel_did, dynamic_key, register_did)?;
        if !channel.accounts.is_empty() && !channel.accounts.iter().any(|a| a == account_did) {
            return Err(Denied(format!(
                "账户未授权 (SYS_HEAD.ACCOUNT_DID {account_did:?} is not the channel's)"
            )));
        }
        Ok(())
    }

    /// Verifies a utility channel's credentials alone (a list of accounts names none).
    pub fn verify_utility_channel(
        &self,
        channel_did: &str,
        dynamic_key: &str,
        register_did: &str,
    ) -> Result<&UtilityChannel, Denied> {
        let channel = self
            .utility_channels
            .iter()
            .find(|c| ct_eq(c.channel_did.as_bytes(), channel_did.as_bytes()))
            .ok_or_else(|| {
                Denied(format!(
                    "渠道未授权 (unknown SYS_HEAD.CHANNEL_DID {channel_did:?})"
                ))
            })?;
        if !ct_eq(dynamic_key.as_bytes(), channel.dynamic_key.as_bytes()) {
            return Err(Denied("动态密钥错误 (wrong SYS_HEAD.DYNAMIC_KEY)".into()));
        }
        if !ct_eq(register_did.as_bytes(), channel.register_did.as_bytes()) {
            return Err(Denied(
                "注册ID不符 (SYS_HEAD.REGISTER_DID does not belong to the channel)".into(),
            ));
        }
        Ok(channel)
    }

    /// Maps a call-center `Authorization: Bearer <token>` to its user and cities.
    pub fn verify_callcenter(&self, authorization: Option<&str>) -> Result<Principal, Denied> {
        let token = bearer(authorization)?;
        let mut found = None;
        // Every user is compared so the time taken does not tell which one matched.
        for u in &self.callcenter_users {
            if ct_eq(u.token.as_bytes(), token.as_bytes()) {
                found = Some(u);
            }
        }
        let u = found.ok_or_else(|| Denied("token 无效 (unknown bearer token)".into()))?;
        Ok(Principal::new(
            &u.user,
            &["city:", "cost_center:"],
            u.cities
                .iter()
                .map(|c| ledger_core::callcenter::city_key(*c))
                .collect(),
        ))
    }

    /// The utility channel's scope, once [`AuthConfig::verify_utility`] accepted it.
    pub fn utility_principal(&self, channel_did: &str) -> Option<Principal> {
        self.utility_channels
            .iter()
            .find(|c| c.channel_did == channel_did)
            .map(|c| {
                Principal::new(
                    &c.channel_did,
                    &["account:"],
                    c.accounts
                        .iter()
                        .map(|a| ledger_core::utility::account_key(a))
                        .collect(),
                )
            })
    }

    /// Checks the operator's token: `Authorization: Bearer <token>`, or HTTP Basic with the
    /// token as the password (so a browser prompts for it; the user name is ignored).
    pub fn verify_admin(&self, authorization: Option<&str>) -> Result<(), Denied> {
        let Some(expected) = self.admin_token.as_deref() else {
            return Err(Denied(
                "no admin_token is configured ([auth] admin_token)".into(),
            ));
        };
        let a = authorization.ok_or_else(|| missing("Authorization"))?;
        let given = if let Some(basic) = a.strip_prefix("Basic ") {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(basic.trim())
                .map_err(|_| Denied("Authorization Basic 格式错误 (not base64)".into()))?;
            let text = String::from_utf8_lossy(&decoded).into_owned();
            text.split_once(':')
                .map(|(_, password)| password.to_string())
                .unwrap_or_default()
        } else {
            bearer(Some(a))?.to_string()
        };
        if ct_eq(given.as_bytes(), expected.as_bytes()) {
            Ok(())
        } else {
            Err(Denied("admin token 无效 (wrong admin token)".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M%S").unwrap()
    }

    #[test]
    fn md5_is_lowercase_hex_of_the_concatenation() {
        // RFC 1321 test vector: md5("abc").
        assert_eq!(md5_hex(&[b"a", b"bc"]), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn property_sign_window_token_and_app() {
        let auth = AuthConfig::default();
        let body = br#"{"communityId":"1"}"#;
        let sign = md5_hex(&[
            b"T1",
            b"20230101120000",
            b"micro-community",
            body,
            b"demo-property-secret",
        ]);
        let bearer = "Bearer demo-property-token".to_string();
        let req = |app: &'static str, sign: String, time: &'static str| PropertyRequest {
            app_id: Some(app),
            transaction_id: Some("T1"),
            req_time: Some(time),
            sign: Some(Box::leak(sign.into_boxed_str())),
            authorization: Some(Box::leak(bearer.clone().into_boxed_str())),
            signed_content: body,
        };
        let now = at("20230101120400");
        assert_eq!(
            auth.verify_property(&req("micro-community", sign.clone(), "20230101120000"), now)
                .map(|p| p.name),
            Ok("micro-community".into())
        );
        assert_eq!(
            auth.verify_property(
                &req("micro-community", sign.to_uppercase(), "20230101120000"),
                now
            )
            .map(|p| p.name),
            Ok("micro-community".into())
        );
        assert!(
            auth.verify_property(
                &req("micro-community", "0".repeat(32), "20230101120000"),
                now
            )
            .unwrap_err()
            .0
            .contains("wrong sign")
        );
        // 12:06:00 is 360 s after req-time, outside the 300 s window.
        assert!(
            auth.verify_property(
                &req("micro-community", sign.clone(), "20230101120000"),
                at("20230101120600")
            )
            .unwrap_err()
            .0
            .contains("window")
        );
        assert!(
            auth.verify_property(&req("other", sign, "20230101120000"), now)
                .unwrap_err()
                .0
                .contains("unknown app-id")
        );
    }

    #[test]
    fn masked_hides_every_secret() {
        let text = format!("{:?}", AuthConfig::default().masked());
        for secret in [
            demo::PROPERTY_SECRET,
            demo::PROPERTY_TOKEN,
            demo::BAAS_SECRET,
            demo::UTILITY_DYNAMIC_KEY,
            demo::CALLCENTER_TOKEN,
            demo::ADMIN_TOKEN,
        ] {
            assert!(!text.contains(secret), "{secret} shown");
        }
    }

    #[test]
    fn callcenter_token_maps_to_its_user() {
        let auth = AuthConfig::default();
        assert_eq!(
            auth.verify_callcenter(Some("Bearer demo-callcenter-token"))
                .map(|p| p.name),
            Ok("Jack".into())
        );
        assert!(auth.verify_callcenter(Some("Bearer nope")).is_err());
        assert!(auth.verify_callcenter(None).is_err());
    }

    #[test]
    fn scopes_allow_only_their_keys_and_only_their_family() {
        let scoped = Principal::new("a", &["tenant:"], vec!["tenant:T1".into()]);
        assert!(scoped.allows("tenant:T1"));
        assert!(!scoped.allows("tenant:T2"));
        assert!(!scoped.allows("community:T1"));
        assert!(
            scoped
                .authorize("tenant:T2")
                .unwrap_err()
                .0
                .contains("tenant:T2")
        );
        let all = Principal::new("b", &["city:", "cost_center:"], Vec::new());
        assert!(all.allows("city:71") && all.allows("cost_center:x/y"));
        assert!(!all.allows("tenant:71"));
        let city = Principal::new("c", &["city:", "cost_center:"], vec!["city:71".into()]);
        assert!(city.allows("city:71") && !city.allows("cost_center:x/y"));
    }

    #[test]
    fn admin_token_as_bearer_or_basic_password() {
        use base64::Engine;
        let auth = AuthConfig::default();
        assert!(auth.verify_admin(Some("Bearer demo-admin-token")).is_ok());
        let basic = base64::engine::general_purpose::STANDARD.encode("admin:demo-admin-token");
        assert!(auth.verify_admin(Some(&format!("Basic {basic}"))).is_ok());
        let wrong = base64::engine::general_purpose::STANDARD.encode("admin:nope");
        assert!(auth.verify_admin(Some(&format!("Basic {wrong}"))).is_err());
        assert!(
            auth.verify_admin(Some("Bearer demo-callcenter-token"))
                .is_err()
        );
        assert!(auth.verify_admin(None).is_err());
        let none = AuthConfig {
            admin_token: None,
            ..AuthConfig::default()
        };
        assert!(none.verify_admin(Some("Bearer demo-admin-token")).is_err());
    }
}
