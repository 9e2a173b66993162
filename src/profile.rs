/*!
`Profile`: the stored JSON document of one authorization.

Bitrix24's fields stay at the top level under Bitrix24's names, as received (unknown ones too),
so the PHP examples' readers of `auth.json` read ours unchanged. b24auth adds `client_id`,
`client_secret` and a `b24auth` object with its own bookkeeping.

Each field b24auth knows is a typed member of [`Fields`] (and of [`Meta`], the `b24auth`
object); the rest, and the order the keys came in, are kept beside them ([`ordered`]), so a file
the PHP examples or an earlier version wrote is rewritten byte for byte where nothing changed.
*/

use std::fmt;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::secret::Secret;

pub(crate) mod checks;
mod ordered;
pub(crate) mod token_answer;
pub(crate) mod webhook;

use ordered::{Int, Layout, Typed};
pub(crate) use token_answer::TokenAnswer;

/// The field names of the stored document that b24auth reads: Bitrix24's, then its own.
pub(crate) mod key {
    pub const ACCESS_TOKEN: &str = "access_token";
    pub const REFRESH_TOKEN: &str = "refresh_token";
    pub const EXPIRES: &str = "expires";
    pub const EXPIRES_IN: &str = "expires_in";
    pub const MEMBER_ID: &str = "member_id";
    pub const CLIENT_ENDPOINT: &str = "client_endpoint";
    pub const SERVER_ENDPOINT: &str = "server_endpoint";
    pub const DOMAIN: &str = "domain";
    pub const USER_ID: &str = "user_id";
    pub const APPLICATION_TOKEN: &str = "application_token";
    pub const STATUS: &str = "status";
    pub const SCOPE: &str = "scope";
    pub const CLIENT_ID: &str = "client_id";
    pub const CLIENT_SECRET: &str = "client_secret";
    /// An incoming webhook's address: a webhook profile's one credential.
    pub const WEBHOOK_URL: &str = "webhook_url";
    /// b24auth's own bookkeeping object.
    pub const META: &str = "b24auth";
}

/// Keys whose values are secrets: masked by `show`, redacted by `Debug`.
pub(crate) const SECRET_KEYS: [&str; 5] = [
    key::WEBHOOK_URL,
    key::ACCESS_TOKEN,
    key::REFRESH_TOKEN,
    key::CLIENT_SECRET,
    key::APPLICATION_TOKEN,
];

/// The fields by which a token answer names the portal and the app's installation on it.
const IDENTITY: [&str; 3] = [key::CLIENT_ENDPOINT, key::MEMBER_ID, key::DOMAIN];

/// A token response names the portal when it carries both `client_endpoint` and `member_id`.
fn response_names_portal(doc: &Map<String, Value>) -> bool {
    [key::CLIENT_ENDPOINT, key::MEMBER_ID].iter().all(|k| {
        doc.get(*k)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    })
}

/// Where a pair came from, recorded in `b24auth.source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Install,
    Authorize,
    Refresh,
    Import,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Install => "install",
            Source::Authorize => "authorize",
            Source::Refresh => "refresh",
            Source::Import => "import",
        }
    }
}

/// One stored authorization, the document [`Fields`] (boxed: a profile is moved through
/// many results, and the typed fields are most of a kilobyte).
#[derive(Clone, Default, PartialEq)]
pub(crate) struct Profile {
    doc: Box<Fields>,
}

/// A profile's fields: Bitrix24's, b24auth's client credentials and its bookkeeping ([`Meta`]),
/// each typed; what b24auth does not know, and the key order, kept in `layout` so the file
/// writes back as it was read ([`ordered`]).
#[derive(Clone, Default, PartialEq)]
pub(crate) struct Fields {
    access_token: Option<Secret>,
    refresh_token: Option<Secret>,
    /// Unix time the access token expires.
    expires: Option<Int>,
    expires_in: Option<Int>,
    member_id: Option<String>,
    /// The portal's REST base (`https://portal/rest/`).
    client_endpoint: Option<String>,
    /// The OAuth server's REST base, as Bitrix24 named it.
    server_endpoint: Option<String>,
    /// The portal for an install, the OAuth server in a token answer.
    domain: Option<String>,
    user_id: Option<Int>,
    application_token: Option<Secret>,
    status: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    /// An incoming webhook's address: a webhook profile's one credential.
    webhook_url: Option<Secret>,
    meta: Option<Meta>,
    layout: Layout<Field>,
}

ordered::typed_fields!(
    Fields,
    Field {
        AccessToken: access_token = key::ACCESS_TOKEN,
        RefreshToken: refresh_token = key::REFRESH_TOKEN,
        Expires: expires = key::EXPIRES,
        ExpiresIn: expires_in = key::EXPIRES_IN,
        MemberId: member_id = key::MEMBER_ID,
        ClientEndpoint: client_endpoint = key::CLIENT_ENDPOINT,
        ServerEndpoint: server_endpoint = key::SERVER_ENDPOINT,
        Domain: domain = key::DOMAIN,
        UserId: user_id = key::USER_ID,
        ApplicationToken: application_token = key::APPLICATION_TOKEN,
        Status: status = key::STATUS,
        Scope: scope = key::SCOPE,
        ClientId: client_id = key::CLIENT_ID,
        ClientSecret: client_secret = key::CLIENT_SECRET,
        WebhookUrl: webhook_url = key::WEBHOOK_URL,
        Meta: meta = key::META,
    }
);

/// b24auth's bookkeeping, the `b24auth` object of a profile.
#[derive(Clone, Default, PartialEq)]
pub(crate) struct Meta {
    version: Option<i64>,
    /// Where the pair came from: [`Source`], or `webhook`.
    source: Option<String>,
    saved_at: Option<i64>,
    refresh_token_issued_at: Option<i64>,
    /// The portal's `host[:port]`.
    portal: Option<String>,
    oauth_server: Option<String>,
    /// See [`Profile::is_unverified`].
    unverified: Option<bool>,
    /// See [`Profile::is_not_checked`].
    not_checked: Option<bool>,
    /// The identity a refresh answer named instead of the stored one, and when (`at`): see
    /// [`Profile::contradiction`].
    contradicted: Option<Map<String, Value>>,
    /// See `store::marks`.
    uninstalled_at: Option<i64>,
    layout: Layout<MetaField>,
}

ordered::typed_fields!(
    Meta,
    MetaField {
        Version: version = meta_key::VERSION,
        Source: source = meta_key::SOURCE,
        SavedAt: saved_at = meta_key::SAVED_AT,
        RefreshTokenIssuedAt: refresh_token_issued_at = meta_key::REFRESH_TOKEN_ISSUED_AT,
        Portal: portal = meta_key::PORTAL,
        OauthServer: oauth_server = meta_key::OAUTH_SERVER,
        Unverified: unverified = meta_key::UNVERIFIED,
        NotChecked: not_checked = meta_key::NOT_CHECKED,
        Contradicted: contradicted = meta_key::CONTRADICTED,
        UninstalledAt: uninstalled_at = meta_key::UNINSTALLED_AT,
    }
);

/// The field names of the `b24auth` object.
mod meta_key {
    pub const VERSION: &str = "version";
    pub const SOURCE: &str = "source";
    pub const SAVED_AT: &str = "saved_at";
    pub const REFRESH_TOKEN_ISSUED_AT: &str = "refresh_token_issued_at";
    pub const PORTAL: &str = "portal";
    pub const OAUTH_SERVER: &str = "oauth_server";
    pub const UNVERIFIED: &str = "unverified";
    pub const NOT_CHECKED: &str = "not_checked";
    pub const CONTRADICTED: &str = "contradicted";
    pub const UNINSTALLED_AT: &str = "uninstalled_at";
}

impl ordered::Stored for Meta {
    fn from_value(value: Value) -> Result<Self, Value> {
        ordered::object_from_value(value)
    }

    fn to_value(&self) -> Value {
        Value::Object(ordered::to_map(self))
    }
}

impl Serialize for Profile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ordered::serialize(&*self.doc, serializer)
    }
}

impl<'de> Deserialize<'de> for Profile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let doc = ordered::deserialize(deserializer)?;
        Ok(Profile { doc: Box::new(doc) })
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.to_map() {
            if SECRET_KEYS.contains(&k.as_str()) {
                m.entry(k, &"<redacted>");
            } else {
                m.entry(k, v);
            }
        }
        m.finish()
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Profile {
    /// Parses a stored document; what a later command cannot work without is checked here,
    /// so a damaged file is reported when read, not halfway through a refresh.
    pub fn parse(bytes: &[u8]) -> Result<Profile> {
        let Some(first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
            bail!("the file is empty");
        };
        if *first != b'{' {
            // Not an object: which way it is wrong is worth a second read.
            match serde_json::from_slice::<Value>(bytes) {
                Ok(_) => bail!("not a JSON object"),
                Err(e) => bail!("not valid JSON ({e})"),
            }
        }
        let profile: Profile =
            serde_json::from_slice(bytes).map_err(|e| anyhow::anyhow!("not valid JSON ({e})"))?;
        if profile.is_webhook() {
            // A webhook profile holds an address instead of a pair.
            profile
                .webhook()
                .map_err(|e| anyhow::anyhow!("the field `webhook_url`: {e}"))?;
            return Ok(profile);
        }
        // The access token may be missing: a rotation whose access token b24auth refused
        // keeps the refresh token alone, and the next command refreshes.
        if profile
            .doc
            .refresh_token
            .as_ref()
            .is_none_or(Secret::is_empty)
        {
            bail!("the field `{}` is missing or empty", key::REFRESH_TOKEN);
        }
        if ordered::holds(&*profile.doc, Field::AccessToken) && profile.access_token().is_empty() {
            bail!("the field `{}` is empty", key::ACCESS_TOKEN);
        }
        Ok(profile)
    }

    /// A webhook profile (`import --webhook`): the address, the portal and the user it acts as.
    pub fn from_webhook(hook: &webhook::Webhook, at: i64) -> Profile {
        let mut p = Profile::default();
        p.set(Field::WebhookUrl, hook.base().expose());
        p.set(Field::Domain, hook.portal());
        p.set(Field::UserId, hook.user_id());
        let meta = p.meta_mut();
        ordered::set(meta, MetaField::Version, 1);
        ordered::set(meta, MetaField::Source, "webhook");
        ordered::set(meta, MetaField::SavedAt, at);
        ordered::set(meta, MetaField::Portal, hook.portal());
        p
    }

    /// Whether this profile is an incoming webhook rather than a token pair.
    pub fn is_webhook(&self) -> bool {
        ordered::holds(&*self.doc, Field::WebhookUrl)
    }

    /// The webhook's address, checked; `Err` for a pair profile or a damaged address.
    pub fn webhook(&self) -> Result<webhook::Webhook, String> {
        let text = self
            .doc
            .webhook_url
            .as_ref()
            .ok_or_else(|| "not a webhook profile".to_string())?;
        webhook::Webhook::parse(text.expose())
    }

    /// A new profile from Bitrix24's token fields (a token response or an install `auth`).
    pub fn from_bitrix(
        fields: impl Into<Map<String, Value>>,
        source: Source,
        received_at: i64,
    ) -> Profile {
        let mut p = Profile::default();
        for (k, v) in normalized(fields.into(), received_at) {
            ordered::insert(&mut *p.doc, k, v);
        }
        p.stamp(source, received_at);
        p
    }

    /// The profile after a refresh: the answer's kept fields replace the old ones, and what the
    /// answer does not carry (`application_token`, unknown fields) stays. The client
    /// credentials are b24auth's alone: a token answer never changes them. A rotation kills the
    /// old access token, so when the answer's was left out none is kept, and the pair counts as
    /// expired (as it does when only the answer's tokens could be read).
    ///
    /// For an unverified profile, an answer naming the claimed portal (host and member_id) is
    /// the proof it lacked: the mark goes, and so does what only the unproven callback said
    /// (`application_token`); `domain` becomes the proven host. An answer naming another
    /// portal contradicts the claim: the rotated tokens are kept, the claim and the mark stay,
    /// and the answer's identity is kept apart as for a proven profile (below).
    ///
    /// For a proven profile, an answer naming another portal, `member_id` or scheme is not
    /// applied: the rotated tokens are kept, the stored identity stays, and the answer's is
    /// kept beside it, marked, until the user accepts it ([`Profile::accept_change`]).
    pub fn refreshed(&self, answer: TokenAnswer, received_at: i64) -> Profile {
        let has_access_token = answer.has_access_token();
        let response = answer.into_fields();
        let unverified = self.is_unverified();
        let contradicts = unverified && self.contradicted_by(&response);
        // Either way the answer's identity is kept beside the pair, marked, so that one
        // refresh decides and every later command says why instead of refreshing again.
        let changed = contradicts || (!unverified && !self.identity_changes(&response).is_empty());
        let proven = unverified && !contradicts && response_names_portal(&response);
        let mut p = self.clone();
        let mut claimed = Map::new();
        for (k, v) in normalized(response, received_at) {
            let claim = IDENTITY.contains(&k.as_str());
            if changed && claim {
                claimed.insert(k, v);
            } else if k != key::META {
                ordered::insert(&mut *p.doc, k, v);
            }
        }
        if !has_access_token {
            ordered::remove(&mut *p.doc, Field::AccessToken);
            p.set(Field::Expires, received_at);
        }
        p.stamp(Source::Refresh, received_at);
        if proven {
            p.confirmed();
            p.remove_application_token();
            if let Some(host) = p.portal_from_endpoints() {
                p.set_domain(&host);
            }
        }
        if changed {
            claimed.insert("at".into(), received_at.into());
            ordered::set(p.meta_mut(), MetaField::Contradicted, claimed);
        }
        p
    }

    /// How `response` names the portal differently from this profile: `portal a → b`,
    /// `member_id x → y`, `scheme https → http`; empty when it does not (a field either side
    /// lacks is no difference).
    pub fn identity_changes(&self, response: &Map<String, Value>) -> Vec<String> {
        let named = |k: &str| response.get(k).and_then(Value::as_str);
        let endpoint = named(key::CLIENT_ENDPOINT).and_then(|e| url::Url::parse(e).ok());
        let stored = self.client_endpoint().and_then(|e| url::Url::parse(e).ok());
        let mut changes = Vec::new();
        let mut differs = |what: &str, old: Option<String>, new: Option<String>| {
            if let (Some(old), Some(new)) = (old, new) {
                if old != new {
                    changes.push(format!("{what} {old} → {new}"));
                }
            }
        };
        let host = |u: &Option<url::Url>| u.as_ref().and_then(host_port).map(|h| h.to_lowercase());
        differs("portal", host(&stored), host(&endpoint));
        let scheme = |u: &Option<url::Url>| u.as_ref().map(|u| u.scheme().to_string());
        differs("scheme", scheme(&stored), scheme(&endpoint));
        differs(
            "member_id",
            self.member_id().map(String::from),
            named(key::MEMBER_ID).map(String::from),
        );
        changes
    }

    /// The identity a refresh answer named instead of the stored one, as `identity_changes`
    /// words it; `None` when no answer is waiting to be accepted. Nothing uses such a profile.
    pub fn contradiction(&self) -> Option<Vec<String>> {
        let claimed = self.doc.meta.as_ref()?.contradicted.as_ref()?;
        Some(self.identity_changes(claimed))
    }

    /// Applies the identity a refresh answer named (`refresh --accept-change`); false when no
    /// answer was waiting.
    pub fn accept_change(&mut self) -> bool {
        let Some(claimed) = self.doc.meta.as_ref().and_then(|m| m.contradicted.clone()) else {
            return false;
        };
        for (k, v) in claimed {
            if IDENTITY.contains(&k.as_str()) {
                ordered::insert(&mut *self.doc, k, v);
            }
        }
        ordered::remove(self.meta_mut(), MetaField::Contradicted);
        if self.is_unverified() {
            // The trusted server's answer named this portal: the proof the callback lacked;
            // what only the callback said goes.
            self.confirmed();
            self.remove_application_token();
        }
        if let Some(portal) = self.portal_from_endpoints() {
            ordered::set(self.meta_mut(), MetaField::Portal, portal);
        }
        true
    }

    /// The answer names a portal other than the one this profile claims (host or member_id).
    fn contradicted_by(&self, response: &Map<String, Value>) -> bool {
        if !response_names_portal(response) {
            return false;
        }
        let named = |k: &str| response.get(k).and_then(Value::as_str);
        let host = named(key::CLIENT_ENDPOINT)
            .and_then(|e| url::Url::parse(e).ok())
            .as_ref()
            .and_then(host_port)
            .map(|h| h.to_ascii_lowercase());
        let claimed = self.portal_from_endpoints().map(|h| h.to_ascii_lowercase());
        host != claimed || named(key::MEMBER_ID) != self.member_id()
    }

    /// A pair no proof has named yet (an install callback an older b24auth saved unconfirmed,
    /// or a b24auth file imported with the mark): no command hands out its token or endpoint, or
    /// calls REST with it, before a refresh at the trusted server has proved them (`show` and
    /// `list` say so).
    pub fn is_unverified(&self) -> bool {
        self.doc.meta.as_ref().and_then(|m| m.unverified) == Some(true)
    }

    pub fn mark_unverified(&mut self) {
        ordered::set(self.meta_mut(), MetaField::Unverified, true);
    }

    /// Confirmed by the trusted server's `app.info`: no mark left.
    pub fn confirmed(&mut self) {
        let meta = self.meta_mut();
        ordered::remove(meta, MetaField::Unverified);
        ordered::remove(meta, MetaField::NotChecked);
    }

    /// Saved by `install-listen --no-verify`: nothing was checked (`show` says so).
    pub fn is_not_checked(&self) -> bool {
        self.doc.meta.as_ref().and_then(|m| m.not_checked) == Some(true)
    }

    pub fn mark_not_checked(&mut self) {
        ordered::set(self.meta_mut(), MetaField::NotChecked, true);
    }

    /// When the portal uninstalled the app (`b24auth.uninstalled_at`), if it did.
    pub fn uninstalled_at(&self) -> Option<i64> {
        self.doc.meta.as_ref()?.uninstalled_at
    }

    pub fn mark_uninstalled(&mut self, at: i64) {
        ordered::set(self.meta_mut(), MetaField::UninstalledAt, at);
    }

    /// The `b24auth` object, made (last, or in the place of one that is not an object) when
    /// there is none: every change to b24auth's bookkeeping goes through here.
    fn meta_mut(&mut self) -> &mut Meta {
        if self.doc.meta.is_none() {
            self.set(Field::Meta, Map::new());
        }
        self.doc.meta.get_or_insert_with(Meta::default)
    }

    /// Records where this pair came from; every source brings a new refresh token.
    fn stamp(&mut self, source: Source, at: i64) {
        let portal = self.portal_from_endpoints();
        let meta = self.meta_mut();
        ordered::set(meta, MetaField::Version, 1);
        ordered::set(meta, MetaField::Source, source.as_str());
        ordered::set(meta, MetaField::SavedAt, at);
        ordered::set(meta, MetaField::RefreshTokenIssuedAt, at);
        if let Some(portal) = portal {
            ordered::set(meta, MetaField::Portal, portal);
        }
    }

    pub fn set_client(&mut self, client_id: Option<&str>, client_secret: Option<&Secret>) {
        if let Some(id) = client_id {
            self.set(Field::ClientId, id);
        }
        if let Some(s) = client_secret {
            self.set(Field::ClientSecret, s.expose());
        }
    }

    pub fn set_oauth_server(&mut self, url: &str) {
        let url = url.trim_end_matches('/');
        ordered::set(self.meta_mut(), MetaField::OauthServer, url);
    }

    fn set(&mut self, field: Field, value: impl Into<Value>) {
        ordered::set(&mut *self.doc, field, value);
    }

    pub fn set_member_id(&mut self, member_id: &str) {
        self.set(Field::MemberId, member_id);
    }

    pub fn set_domain(&mut self, domain: &str) {
        self.set(Field::Domain, domain);
    }

    pub fn set_client_endpoint(&mut self, endpoint: &str) {
        self.set(Field::ClientEndpoint, endpoint);
    }

    /// Drops `application_token`: the word of an unproven callback alone.
    pub fn remove_application_token(&mut self) {
        ordered::remove(&mut *self.doc, Field::ApplicationToken);
    }

    /// The stored document, in its key order, as written by [`Profile::to_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a JSON map always serializes");
        out.push(b'\n');
        out
    }

    /// The stored document as a JSON map, in its key order.
    pub fn to_map(&self) -> Map<String, Value> {
        ordered::to_map(&*self.doc)
    }

    /// A top-level field by name, in its stored JSON form.
    pub fn value(&self, name: &str) -> Option<Value> {
        ordered::get(&*self.doc, name)
    }

    /// A secret by name (one of [`SECRET_KEYS`]); `None` when missing or empty.
    pub fn secret(&self, name: &str) -> Option<Secret> {
        let held = match Fields::known(name)? {
            Field::AccessToken => &self.doc.access_token,
            Field::RefreshToken => &self.doc.refresh_token,
            Field::ApplicationToken => &self.doc.application_token,
            Field::ClientSecret => &self.doc.client_secret,
            Field::WebhookUrl => &self.doc.webhook_url,
            _ => return None,
        };
        held.as_ref().filter(|s| !s.is_empty()).cloned()
    }

    /// The text of every secret this profile holds (empty ones too): what no answer to a caller
    /// may repeat.
    pub fn held_secrets(&self) -> Vec<&str> {
        [
            &self.doc.access_token,
            &self.doc.refresh_token,
            &self.doc.client_secret,
            &self.doc.application_token,
            &self.doc.webhook_url,
        ]
        .into_iter()
        .filter_map(|s| s.as_ref().map(Secret::expose))
        .collect()
    }

    pub fn member_id(&self) -> Option<&str> {
        self.doc.member_id.as_deref()
    }

    /// The portal's REST base (`https://portal/rest/`): where REST calls go.
    pub fn client_endpoint(&self) -> Option<&str> {
        self.doc.client_endpoint.as_deref()
    }

    /// The OAuth server's REST base, as Bitrix24 named it (checked before use).
    pub fn server_endpoint(&self) -> Option<&str> {
        self.doc.server_endpoint.as_deref()
    }

    pub fn client_id(&self) -> Option<&str> {
        self.doc.client_id.as_deref()
    }

    pub fn client_secret(&self) -> Option<Secret> {
        self.secret(key::CLIENT_SECRET)
    }

    pub fn application_token(&self) -> Option<Secret> {
        self.secret(key::APPLICATION_TOKEN)
    }

    /// Where REST calls go: the webhook's address, or the pair's `client_endpoint`.
    pub fn rest_base(&self) -> Option<String> {
        match self.webhook() {
            Ok(hook) => Some(hook.base().expose().to_string()),
            Err(_) => self.client_endpoint().map(String::from),
        }
    }

    /// What a REST call carries as `auth`: the access token; nothing for a webhook.
    pub fn rest_auth(&self) -> Option<Secret> {
        (!self.is_webhook()).then(|| self.access_token())
    }

    pub fn access_token(&self) -> Secret {
        self.secret(key::ACCESS_TOKEN).unwrap_or_default()
    }

    pub fn refresh_token(&self) -> Secret {
        self.secret(key::REFRESH_TOKEN).unwrap_or_default()
    }

    /// Unix time the access token expires; numeric strings accepted (files written by PHP).
    pub fn expires(&self) -> Option<i64> {
        self.doc.expires.as_ref()?.get()
    }

    /// True when the access token is valid for at least `min_ttl` more seconds.
    pub fn is_fresh(&self, min_ttl: i64, now: i64) -> bool {
        self.expires()
            .is_some_and(|e| e.saturating_sub(now) > min_ttl)
    }

    /// The `b24auth` object, as stored (empty when there is none).
    #[cfg(test)]
    pub fn meta(&self) -> Map<String, Value> {
        self.doc
            .meta
            .as_ref()
            .map(ordered::to_map)
            .unwrap_or_default()
    }

    /// When the pair was saved (`b24auth.saved_at`).
    pub fn saved_at(&self) -> Option<i64> {
        self.doc.meta.as_ref()?.saved_at
    }

    /// When the refresh token was received (`b24auth.refresh_token_issued_at`).
    pub fn refresh_token_issued_at(&self) -> Option<i64> {
        self.doc.meta.as_ref()?.refresh_token_issued_at
    }

    pub fn oauth_server(&self) -> Option<&str> {
        self.doc.meta.as_ref()?.oauth_server.as_deref()
    }

    /// The portal's `host[:port]`: from `client_endpoint` (token responses put the OAuth server
    /// in `domain`), else the recorded one, else `domain`.
    pub fn portal(&self) -> Option<String> {
        self.portal_from_endpoints()
            .or_else(|| self.doc.meta.as_ref()?.portal.clone())
            .or_else(|| self.doc.domain.clone())
    }

    fn portal_from_endpoints(&self) -> Option<String> {
        let url = url::Url::parse(self.client_endpoint()?).ok()?;
        host_port(&url)
    }

    /// A field by name for `show --field`: top-level first, then b24auth's own keys.
    pub fn field(&self, name: &str) -> Option<Value> {
        if name == "portal" {
            return self.portal().map(Value::from);
        }
        self.value(name)
            .or_else(|| ordered::get(self.doc.meta.as_ref()?, name))
    }
}

/// Bitrix24's fields as received, except that numeric strings (form-encoded callbacks send only
/// strings) become numbers and `expires` is filled in from `expires_in` when it is missing.
/// `client_id`, `client_secret` and the `b24auth` object never come from a server.
fn normalized(fields: Map<String, Value>, received_at: i64) -> Map<String, Value> {
    let mut doc: Map<String, Value> = fields
        .into_iter()
        .filter(|(k, _)| ![key::CLIENT_ID, key::CLIENT_SECRET, key::META].contains(&k.as_str()))
        .map(|(k, v)| match (k.as_str(), v) {
            (key::EXPIRES | key::EXPIRES_IN | key::USER_ID, Value::String(s)) => {
                let v = s.parse::<i64>().map_or(Value::String(s), Value::from);
                (k, v)
            }
            (_, v) => (k, v),
        })
        .collect();
    if !doc.get(key::EXPIRES).is_some_and(Value::is_i64) {
        let expires_in = doc
            .get(key::EXPIRES_IN)
            .and_then(Value::as_i64)
            .unwrap_or(0);
        doc.insert(
            key::EXPIRES.into(),
            Value::from(received_at.saturating_add(expires_in)),
        );
    }
    doc
}

/// `host` or `host:port` when the port is not the scheme's default.
pub(crate) fn host_port(url: &url::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response() -> Map<String, Value> {
        json!({"access_token":"a1","expires_in":3600,"scope":"app","domain":"oauth.bitrix.info",
            "server_endpoint":"https://oauth.bitrix.info/rest/","status":"L",
            "client_endpoint":"https://b24-x.bitrix24.by/rest/","member_id":"m","user_id":1,
            "refresh_token":"r1","brand_new":"kept"})
        .as_object()
        .unwrap()
        .clone()
    }

    fn answer(m: Map<String, Value>) -> TokenAnswer {
        TokenAnswer::checked(m).unwrap()
    }

    #[test]
    fn an_answer_naming_another_portal_is_kept_apart_until_accepted() {
        let p = Profile::from_bitrix(response(), Source::Authorize, 1000);
        let mut r = response();
        r.insert("client_endpoint".into(), "http://evil.example/rest/".into());
        r.insert("member_id".into(), "m2".into());
        r.insert("refresh_token".into(), "r2".into());
        let mut q = p.refreshed(answer(r), 2000);
        assert_eq!(q.refresh_token().expose(), "r2");
        assert_eq!(q.client_endpoint(), p.client_endpoint());
        assert_eq!(q.member_id(), Some("m"));
        let changes = q.contradiction().unwrap();
        assert_eq!(
            changes,
            [
                "portal b24-x.bitrix24.by → evil.example",
                "scheme https → http",
                "member_id m → m2"
            ]
        );
        assert!(q.accept_change());
        assert_eq!(q.client_endpoint(), Some("http://evil.example/rest/"));
        assert_eq!((q.member_id(), q.contradiction()), (Some("m2"), None));
        assert_eq!(q.meta()["portal"], "evil.example");
        assert!(!q.accept_change());
        // The same portal named again changes nothing.
        assert_eq!(p.refreshed(answer(response()), 2000).contradiction(), None);
    }

    #[test]
    fn a_refused_access_token_is_not_replaced_by_the_dead_one() {
        let p = Profile::from_bitrix(response(), Source::Authorize, 1000);
        let mut r = response();
        r.insert("access_token".into(), "a\u{1b}b".into());
        let q = p.refreshed(answer(r), 2000);
        assert!(q.to_map().get("access_token").is_none());
        assert_eq!(q.expires(), Some(2000));
        assert_eq!(q.refresh_token().expose(), "r1");
        assert!(Profile::parse(&q.to_bytes()).is_ok());
    }

    #[test]
    fn fills_expires_and_portal() {
        let p = Profile::from_bitrix(response(), Source::Authorize, 1000);
        assert_eq!(p.expires(), Some(4600));
        assert_eq!(p.portal().as_deref(), Some("b24-x.bitrix24.by"));
        assert_eq!(p.value("brand_new"), Some("kept".into()));
        assert_eq!(p.meta()["source"], "authorize");
    }

    #[test]
    fn refresh_keeps_what_the_response_lacks() {
        let mut p = Profile::from_bitrix(response(), Source::Install, 1000);
        ordered::set(&mut *p.doc, Field::ApplicationToken, "app-tok");
        p.set_client(Some("local.1"), Some(&Secret::new("s")));
        let mut r = response();
        r.insert("access_token".into(), "a2".into());
        r.insert("refresh_token".into(), "r2".into());
        let q = p.refreshed(answer(r), 2000);
        assert_eq!(q.access_token().expose(), "a2");
        assert_eq!(q.application_token(), Some(Secret::new("app-tok")));
        assert_eq!(q.client_id(), Some("local.1"));
        assert_eq!(q.refresh_token_issued_at(), Some(2000));
        assert_eq!(q.meta()["source"], "refresh");
    }

    #[test]
    fn a_token_response_never_changes_the_client_credentials() {
        let mut p = Profile::from_bitrix(response(), Source::Authorize, 1000);
        p.set_client(Some("local.1"), Some(&Secret::new("s")));
        let mut r = response();
        r.insert("client_id".into(), "local.evil".into());
        r.insert("client_secret".into(), "evil".into());
        r.insert(
            "b24auth".into(),
            json!({"oauth_server": "https://evil.example"}),
        );
        let q = p.refreshed(answer(r.clone()), 2000);
        assert_eq!(q.client_id(), Some("local.1"));
        assert_eq!(q.client_secret().unwrap().expose(), "s");
        assert_eq!(q.oauth_server(), None);
        let fresh = Profile::from_bitrix(r, Source::Authorize, 1000);
        assert_eq!((fresh.client_id(), fresh.client_secret()), (None, None));
    }

    #[test]
    fn string_numbers_from_forms_become_numbers() {
        let mut r = response();
        r.insert("expires_in".into(), "3600".into());
        r.insert("expires".into(), "5000".into());
        let p = Profile::from_bitrix(r, Source::Install, 1000);
        assert_eq!(p.to_map()["expires"], 5000);
        assert_eq!(p.to_map()["expires_in"], 3600);
    }

    #[test]
    fn only_a_refresh_that_names_the_portal_proves_an_unverified_install() {
        let mut p = Profile::from_bitrix(response(), Source::Install, 1000);
        p.mark_unverified();
        assert!(p.is_unverified());
        let mut silent = response();
        silent.remove("client_endpoint");
        assert!(p.refreshed(answer(silent), 2000).is_unverified());
        let q = p.refreshed(answer(response()), 2000);
        assert!(!q.is_unverified());
        assert!(q.meta().get("unverified").is_none());
    }

    #[test]
    fn debug_redacts_secrets() {
        let p = Profile::from_bitrix(response(), Source::Install, 1);
        let s = format!("{p:?}");
        assert!(!s.contains("\"a1\"") && !s.contains("\"r1\""), "{s}");
    }

    #[test]
    fn parse_rejects_damage() {
        assert!(Profile::parse(b"").is_err());
        assert!(Profile::parse(b"[1]").is_err());
        assert!(Profile::parse(b"{\"access_token\":\"a\"}").is_err());
        assert!(Profile::parse(b"{\"access_token\":\"a\",\"refresh_token\":\"r\"}").is_ok());
    }

    /// A value b24auth would not have written (a number where text belongs, a `b24auth` that is
    /// not an object, a duplicate key) reads and writes back as it was, and reads as today.
    #[test]
    fn odd_values_keep_their_form_and_place() {
        let odd = br#"{"member_id":5,"refresh_token":"r","b24auth":"x","expires":1.5,"user_id":"7","access_token":null,"scope":"a","scope":"b","x":{"z":1,"a":2}}"#;
        let p = Profile::parse(odd).unwrap_err();
        assert!(p.to_string().contains("access_token"), "{p}");
        let odd = String::from_utf8_lossy(odd).replace(r#""access_token":null,"#, "");
        let p = Profile::parse(odd.as_bytes()).unwrap();
        let v: Value = serde_json::from_str(&odd).unwrap();
        assert_eq!(p.to_map(), *v.as_object().unwrap());
        assert_eq!(
            p.to_bytes()[..],
            [serde_json::to_vec_pretty(&v).unwrap(), b"\n".to_vec()].concat()
        );
        assert_eq!(
            (p.member_id(), p.expires(), p.is_unverified()),
            (None, None, false)
        );
        assert_eq!(p.value("scope"), Some("b".into()));
        let mut q = p.clone();
        q.mark_unverified();
        assert_eq!(q.meta()["unverified"], true);
        let keys: Vec<String> = q.to_map().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "member_id",
                "refresh_token",
                "b24auth",
                "expires",
                "user_id",
                "scope",
                "x"
            ]
        );
    }

    /// Keys keep their place when set again, and go last when new, as in a JSON map.
    #[test]
    fn a_removed_key_comes_back_last() {
        let p = Profile::from_bitrix(response(), Source::Authorize, 1000);
        let mut r = response();
        r.insert("access_token".into(), "a\u{1b}".into());
        let q = p.refreshed(answer(r), 2000);
        let q = q.refreshed(answer(response()), 3000);
        let keys: Vec<String> = q.to_map().keys().cloned().collect();
        assert_eq!(keys.first().map(String::as_str), Some("expires_in"));
        assert_eq!(keys.last().map(String::as_str), Some("access_token"));
        assert_eq!(Profile::parse(&q.to_bytes()).unwrap(), q);
    }

    proptest::proptest! {
        /// Any object with any of b24auth's keys, of any JSON type, writes back byte for byte.
        #[test]
        fn any_object_round_trips(
            entries in proptest::collection::vec((
                proptest::sample::select(vec!["access_token", "refresh_token", "expires",
                    "user_id", "member_id", "b24auth", "scope", "other", "webhook_url_x"]),
                proptest::prop_oneof![
                    proptest::strategy::Just(json!(null)),
                    proptest::strategy::Just(json!("12")),
                    proptest::strategy::Just(json!("t")),
                    proptest::strategy::Just(json!(7)),
                    proptest::strategy::Just(json!(-7.5)),
                    proptest::strategy::Just(json!(true)),
                    proptest::strategy::Just(json!({"source": 1, "unverified": true, "k": [1]})),
                    proptest::strategy::Just(json!({"portal": "p", "contradicted": {"at": 1}})),
                ],
            ), 0..12),
        ) {
            let mut text = String::from("{");
            for (i, (k, v)) in entries.iter().enumerate() {
                text += &format!("{}\"{k}\":{v}", if i > 0 { "," } else { "" });
            }
            text += "}";
            let v: Value = serde_json::from_str(&text).unwrap();
            let p: Profile = serde_json::from_str(&text).unwrap();
            let mut expected = serde_json::to_vec_pretty(&v).unwrap();
            expected.push(b'\n');
            proptest::prop_assert_eq!(p.to_bytes(), expected);
        }
    }

    /// The `auth.json` format does not change: files written by earlier versions (and by the
    /// PHP examples, strings for numbers) read and write back byte for byte.
    #[test]
    fn stored_files_round_trip_byte_for_byte() {
        let written_by_0_1 = r#"{
  "access_token": "717e0567006e9f06006b12e400000001000007c2ebc8f80264531d4fc09a27052a7fe2",
  "expires": 1728413297,
  "expires_in": 3600,
  "scope": "app",
  "domain": "oauth.bitrix.info",
  "server_endpoint": "https://oauth.bitrix.info/rest/",
  "status": "L",
  "client_endpoint": "https://b24-ar17wx.bitrix24.by/rest/",
  "member_id": "00168f0dd11ff00b4aeb8ce5befaa139",
  "user_id": 1,
  "refresh_token": "61fd2c67006e9f06006b12e4000000010000070914b54013c4e30eb73b4c6524c61989",
  "application_token": "51856fefc120afa4b628cc82d3935cce",
  "unknown_later_field": {
    "nested": [
      1,
      2.5,
      null
    ]
  },
  "client_id": "local.5f1b2c3d4e5f60.12345678",
  "client_secret": "s3cr3t",
  "b24auth": {
    "version": 1,
    "source": "refresh",
    "saved_at": 1728409697,
    "refresh_token_issued_at": 1728409697,
    "portal": "b24-ar17wx.bitrix24.by",
    "oauth_server": "https://oauth.bitrix.info"
  }
}
"#;
        let p = Profile::parse(written_by_0_1.as_bytes()).unwrap();
        assert_eq!(p.to_bytes(), written_by_0_1.as_bytes());
        assert_eq!(p.member_id(), Some("00168f0dd11ff00b4aeb8ce5befaa139"));
        assert_eq!(
            p.client_endpoint(),
            Some("https://b24-ar17wx.bitrix24.by/rest/")
        );

        let php =
            br#"{"access_token":"a","refresh_token":"r","expires":"1728413297","member_id":"m"}"#;
        let p = Profile::parse(php).unwrap();
        assert_eq!(p.to_bytes(), {
            let v: Value = serde_json::from_slice(php).unwrap();
            let mut b = serde_json::to_vec_pretty(&v).unwrap();
            b.push(b'\n');
            b
        });
        assert_eq!(p.expires(), Some(1728413297));
    }
}
