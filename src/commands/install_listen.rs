/*!
`b24auth install-listen`: a temporary listener that catches the installation callback Bitrix24's
server POSTs right after a "Uses API only" local app is added, verifies it and saves the pair.

The event is sent once and never retried, so every rejected request is answered and the listener
keeps waiting; `200 {"status":"success"}` goes out only after the pair is durably saved, on the
store's `save_new` road. A callback is never lost to b24auth's own doubt: only an answer of the
trusted OAuth server that contradicts it is refused (see `Install::identify` and `Install::make`).
*/

use anyhow::Result;
use hyper::{Method, StatusCode};
use serde_json::{Map, Value};
use url::Url;

use crate::bitrix::oauth;
use crate::capture::install;
use crate::capture::listener::{self, Handler, Outcome, Reply, Request, Rules};
use crate::cli::InstallListenArgs;
use crate::profile::{host_port, now, Profile, Source};
use crate::secret::{random_hex, Secret};
use crate::session::config::RunConfig;
use crate::session::Session;
use crate::store::{self, SaveMode, Store};
use crate::ui::sanitize::strip_controls;

pub const MAX_BODY: usize = 64 * 1024;

pub(crate) async fn run(s: &Session, args: &InstallListenArgs) -> Result<()> {
    let (cfg, store) = (&s.cfg, &*s.store);
    let mode = s.save_mode(args.force).await?;
    let path = args
        .path
        .clone()
        .unwrap_or_else(|| format!("/install/{}", random_hex(16)));
    let tcp = listener::bind(args.listen, "choose another address with --listen").await?;
    let interrupt = listener::Interrupt::catch()?;
    let local = tcp.local_addr()?;
    let local_url = format!("http://{local}{path}");
    let public_url = args
        .public_url
        .as_ref()
        .map(|u| format!("{}{path}", u.as_str().trim_end_matches('/')));
    cfg.ui.always(format_args!(
        "listening for the installation callback on {local_url}"
    ));
    // On all interfaces with no --public-url, 0.0.0.0 is no address to paste: name this host
    // as others likely reach it, and say so.
    let guessed = public_url
        .is_none()
        .then(|| crate::capture::address::reachable_host(local))
        .flatten()
        .map(|host| format!("http://{host}{path}"));
    cfg.ui.always(format_args!(
        "paste into the app's \"Initial installation path\": {}",
        public_url
            .as_deref()
            .or(guessed.as_deref())
            .unwrap_or(&local_url)
    ));
    if guessed.is_some() {
        cfg.ui.always(
            "(that is this host's primary address or name: check that Bitrix24's servers reach it, or pass --public-url)",
        );
    }
    if public_url.is_none() && local.ip().is_loopback() {
        cfg.ui.info(
            "(Bitrix24's servers must reach that address: put a tunnel or reverse proxy in front and pass --public-url)",
        );
    }
    if cfg.client_id.is_none() || cfg.client_secret.is_none() {
        cfg.ui.warn(
            "no client_id/client_secret given: they are not saved, and `b24auth refresh` will need B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET",
        );
    }
    let extra: Vec<String> = args.public_url.iter().filter_map(host_port).collect();
    let rules = Rules {
        path,
        methods: &[Method::POST, Method::GET],
        max_body: MAX_BODY,
        hosts: listener::hosts_for(local, &extra),
    };
    if args.allow_http {
        cfg.ui.warn(
            "--allow-http: a plain http:// portal will be accepted; its tokens cross the network unencrypted",
        );
    }
    let handler = Install {
        cfg,
        store,
        mode,
        verify: !args.no_verify,
        allow_http: args.allow_http,
        saving: tokio::sync::Mutex::new(false),
        http: s.oauth_client(Url::parse(oauth::DEFAULT_SERVER)?)?,
        paste: public_url.or(guessed).unwrap_or(local_url),
    };
    let timeout = (!args.timeout.is_zero()).then_some(args.timeout);
    let work = async { listener::serve(tcp, rules, &handler).await? };
    let profile = listener::wait(
        work,
        timeout,
        interrupt,
        "the installation callback",
        &cfg.ui,
    )
    .await?;
    cfg.ui.info(strip_controls(&format!(
        "saved profile `{}` for portal {} (member_id {}) to {}",
        cfg.profile,
        profile.portal().unwrap_or_default(),
        profile.str("member_id").unwrap_or("-"),
        store.location(&cfg.profile)
    )));
    Ok(())
}

struct Install<'a> {
    cfg: &'a RunConfig,
    store: &'a dyn Store,
    mode: SaveMode,
    verify: bool,
    allow_http: bool,
    /// Verifications run side by side; saving is one at a time, and once (true: saved).
    saving: tokio::sync::Mutex<bool>,
    /// The address to paste into the app's settings, for a browser that opens it.
    paste: String,
    /// Built once before listening: a callback must not wait for TLS set-up.
    http: oauth::Client,
}

impl Handler<Result<Profile>> for Install<'_> {
    fn concurrent(&self) -> bool {
        true
    }

    async fn handle(&self, req: Request) -> Outcome<Result<Profile>> {
        if req.method == Method::GET {
            // A person opened the address: say what it is for (Bitrix24 only ever POSTs).
            let page = crate::capture::pages::install_listener(&self.cfg.profile, &self.paste);
            return Outcome::Continue(Reply::html(StatusCode::METHOD_NOT_ALLOWED, page));
        }
        let received = now();
        let auth = match install::parse_body(req.content_type.as_deref(), &req.body) {
            Ok(auth) => auth,
            Err((status, why)) => {
                self.cfg
                    .ui
                    .warn(format_args!("refused a request: {why}; still waiting"));
                return Outcome::Continue(Reply::text(status, why));
            }
        };
        let server = oauth::server_for_new_pair(
            self.cfg.oauth_server.as_ref(),
            auth_str(&auth, "server_endpoint")
                .and_then(|s| Url::parse(s).ok())
                .as_ref()
                .and_then(Url::host_str),
        );
        let proof = match self.identify(&server, &auth).await {
            Ok(proof) => proof,
            Err(e) if oauth::no_verdict(&e) => return unverifiable(&self.cfg.ui, &e),
            Err(e) => return refused(&self.cfg.ui, &e),
        };
        let identity = proof.identity();
        if identity.insecure {
            self.cfg.ui.warn(strip_controls(&format!(
                "the portal {} is plain http:// (allowed by --allow-http)",
                identity.domain
            )));
        }
        let mut saved = self.saving.lock().await;
        if *saved {
            return Outcome::Continue(Reply::text(StatusCode::GONE, "Already completed"));
        }
        let make = || self.make(&server, auth, proof, received);
        match store::save_new(self.store, &self.cfg.profile, self.mode, make).await {
            Ok(profile) => {
                *saved = true;
                Outcome::Done(
                    Reply::json(StatusCode::OK, r#"{"status":"success"}"#.into()),
                    Ok(profile),
                )
            }
            Err(e) if e.is::<Refused>() => refused(&self.cfg.ui, &e),
            Err(e) if crate::signals::is_stop(&e) => Outcome::Done(
                Reply::text(StatusCode::SERVICE_UNAVAILABLE, "Stopping"),
                Err(e),
            ),
            Err(e) => Outcome::Done(
                Reply::text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Could not save the tokens",
                ),
                Err(e),
            ),
        }
    }
}

/// How far the trusted OAuth server vouched for a callback.
enum Proof {
    /// `app.info` named the portal (or `--no-verify`: the POST agrees with itself).
    Confirmed(install::Identity),
    /// `app.info` neither confirmed nor contradicted it: the POST's own, self-consistent claim.
    Unproven(install::Identity),
}

impl Proof {
    fn identity(&self) -> &install::Identity {
        match self {
            Proof::Confirmed(id) | Proof::Unproven(id) => id,
        }
    }
}

/// The trusted server contradicted the callback: answered 403, and the listener keeps waiting.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
struct Refused(anyhow::Error);

fn refused(ui: &crate::ui::Ui, e: &anyhow::Error) -> Outcome<Result<Profile>> {
    ui.warn(strip_controls(&format!(
        "refused a callback that failed verification ({e:#}); still waiting"
    )));
    Outcome::Continue(Reply::text(StatusCode::FORBIDDEN, "Verification failed"))
}

impl Install<'_> {
    /// The portal the callback belongs to, as far as the trusted OAuth server's `app.info`
    /// says (see [`install::assess`]); with `--no-verify` only checked for consistency.
    async fn identify(&self, server: &Url, auth: &Map<String, Value>) -> Result<Proof> {
        if !self.verify {
            return Ok(Proof::Confirmed(install::unverified(
                auth,
                self.allow_http,
            )?));
        }
        let token = Secret::new(auth_str(auth, "access_token").unwrap_or_default());
        let rest = server.join("rest/")?;
        let info = self.http.app_info(&rest, &token).await?;
        let client_id = self.cfg.client_id.as_deref();
        Ok(
            match install::assess(&info, auth, client_id, self.allow_http)? {
                Some(identity) => Proof::Confirmed(identity),
                None => Proof::Unproven(install::unverified(auth, self.allow_http)?),
            },
        )
    }

    /// The pair to save, made under the profile's lock (the store's `save_new` road). An
    /// unproven callback is proven by a refresh at the trusted server when the client
    /// credentials are at hand, else saved marked unverified.
    async fn make(
        &self,
        server: &Url,
        auth: Map<String, Value>,
        proof: Proof,
        received: i64,
    ) -> Result<Profile> {
        let mut profile = Profile::from_bitrix(auth, Source::Install, received);
        let identity = proof.identity().clone();
        profile.set_str("member_id", &identity.member_id);
        profile.set_str("client_endpoint", identity.client_endpoint.as_str());
        profile.set_client(
            self.cfg.client_id.as_deref(),
            self.cfg.client_secret.as_ref(),
        );
        profile.set_oauth_server(server.as_str());
        if let Proof::Confirmed(_) = proof {
            return Ok(profile);
        }
        match (&self.cfg.client_id, &self.cfg.client_secret) {
            (Some(id), Some(secret)) => {
                let creds = oauth::Credentials {
                    id: id.clone(),
                    secret: secret.clone(),
                };
                self.prove_by_refresh(server, profile, &creds).await
            }
            _ => Ok(self.keep_unverified(profile, "no client credentials were given")),
        }
    }

    /// Refreshes at once at the trusted OAuth server: its answer names `client_endpoint` and
    /// `member_id`, and what it says is kept. A refresh token it does not know is a forged
    /// callback (403); a failure that proves nothing either way keeps the pair unverified.
    async fn prove_by_refresh(
        &self,
        server: &Url,
        profile: Profile,
        creds: &oauth::Credentials,
    ) -> Result<Profile> {
        crate::bitrix::server::check_oauth_server(server)?;
        let client = self.http.with_server(server.clone());
        let response = match client.refresh(creds, &profile.refresh_token()).await {
            Ok(response) => response,
            Err(e) => {
                return match e.downcast_ref::<oauth::ServerError>() {
                    Some(se) if se.code.needs_reauthorization() => Err(Refused(e).into()),
                    _ => Ok(self
                        .keep_unverified(profile, &format!("the proving refresh failed ({e:#})"))),
                }
            }
        };
        let mut new = profile.refreshed(response.clone(), now());
        match install::named_by_refresh(&response, self.allow_http) {
            Ok(identity) => {
                new.set_str("member_id", &identity.member_id);
                new.set_client_endpoint(identity.client_endpoint.as_str());
                self.cfg.ui.info(strip_controls(&format!(
                    "app.info did not name the portal; a refresh at the OAuth server did: {}",
                    identity.domain
                )));
                Ok(new)
            }
            // The pair has rotated: the new one is kept whatever its answer lacked.
            Err(e) => Ok(self.keep_unverified(new, &format!("{e:#}"))),
        }
    }

    fn keep_unverified(&self, mut profile: Profile, why: &str) -> Profile {
        profile.mark_unverified();
        self.cfg.ui.warn(strip_controls(&format!(
            "app.info neither confirmed nor contradicted the callback and {why}: saved it UNVERIFIED; no command hands out its token or endpoint before {} (with B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET) proves it at the OAuth server",
            crate::ui::hint::cmd(&["refresh"])
        )));
        profile
    }
}

/// A verification that failed for a local reason (no descriptor, a connect error, a timeout,
/// the server busy) is not a forgery: answer 503 so the sender may retry, and keep waiting.
/// Only the trusted server's word refuses a callback (README, Security).
fn unverifiable(ui: &crate::ui::Ui, e: &anyhow::Error) -> Outcome<Result<Profile>> {
    ui.warn(strip_controls(&format!(
        "could not verify a callback ({e:#}): that is no verdict on it, so it was answered 503 (retry later), not refused; still waiting"
    )));
    Outcome::Continue(Reply::text(
        StatusCode::SERVICE_UNAVAILABLE,
        "Verification unavailable; retry later",
    ))
}

fn auth_str<'a>(auth: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    auth.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}
