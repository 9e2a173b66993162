//! What the stand-in is set up as: the app registered on the portal (client, portal, webhook)
//! and the knobs a test sets before it runs b24auth (handler path, table sizes, pace, plan,
//! rate limit).

use std::time::Duration;

use super::batch::ServerBucket;
use super::StandIn;

pub const CLIENT_ID: &str = "local.5f1b2c3d4e5f60.12345678";
pub const CLIENT_SECRET: &str = "Zq8sTandInClientSecret0123456789abcdefghijkLMNOP";
pub const MEMBER_ID: &str = "a223c6b3710f85df22e9377d6c4f7553";
/// The stand-in portal's one incoming webhook: `<base>/portal/rest/` + this (§8).
pub const WEBHOOK: &str = "1/wh5ecret0123456789abcd/";
pub const CODE_LIFETIME: Duration = Duration::from_secs(30);

/// Deals in the stand-in's `crm.deal.list` unless a test sets another count.
pub const DEALS: usize = 120;

/// Processing time each method call costs on the stand-in, in seconds (for `time.operating`).
pub const CALL_COST: f64 = 0.001;

/// Items of the stand-in's `crm.lead.list`: three pages of 50, 50 and 20.
pub const LEADS: usize = 120;

/// The knobs, kept in the stand-in's state.
pub struct Config {
    /// The handler path registered for the app: where the authorize page redirects.
    pub redirect_uri: String,
    /// Served over HTTPS (`StandIn::start_https`): the endpoints it hands out say so.
    pub https: bool,
    /// `crm.deal.list` holds deals `1..=deals`.
    pub deals: usize,
    /// Every token-endpoint answer waits this long (for crash and race tests).
    pub token_delay: Duration,
    /// Work time of one command (`pace.rs`).
    pub work: Duration,
    /// A method's operating time per 10 minutes, in seconds.
    pub operating_limit: f64,
    /// What the portal's `app.info` says in `LICENSE_FAMILY`.
    pub license_family: String,
    /// The portal's leaky bucket, when on (one for all clients).
    pub bucket: Option<ServerBucket>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            redirect_uri: "http://127.0.0.1:8787/callback".into(),
            https: false,
            deals: DEALS,
            token_delay: Duration::ZERO,
            work: Duration::ZERO,
            operating_limit: 480.0,
            license_family: "project".into(),
            bucket: None,
        }
    }
}

impl Config {
    pub fn scheme(&self) -> &'static str {
        if self.https {
            "https"
        } else {
            "http"
        }
    }
}

impl StandIn {
    fn configure(&self, change: impl FnOnce(&mut Config)) {
        change(&mut self.state.lock().unwrap().config);
    }

    /// The handler path registered for the app: where the authorize page redirects.
    pub fn set_redirect_uri(&self, uri: &str) {
        self.configure(|c| c.redirect_uri = uri.to_string());
    }

    /// `crm.deal.list` holds deals `1..=count`.
    pub fn set_deals(&self, count: usize) {
        self.configure(|c| c.deals = count);
    }

    /// Delays every token-endpoint answer (for crash and race tests).
    pub fn set_token_delay(&self, d: Duration) {
        self.configure(|c| c.token_delay = d);
    }

    /// Every command costs the portal `work` (a batch: the sum of its commands).
    pub fn set_work(&self, work: Duration) {
        self.configure(|c| c.work = work);
    }

    /// A method's operating time per 10 minutes, in seconds.
    pub fn set_operating_limit(&self, seconds: f64) {
        self.configure(|c| c.operating_limit = seconds);
    }

    /// What the portal's `app.info` says in `LICENSE_FAMILY` (`ent` on Enterprise plans).
    pub fn set_license_family(&self, family: &str) {
        self.configure(|c| c.license_family = family.to_string());
    }

    /// Turns on the portal's leaky bucket: burst 50, 2 requests/s, then 503.
    pub fn enable_rate_limit(&self) {
        self.configure(|c| c.bucket = Some(ServerBucket::new(50.0, 2.0)));
    }
}
