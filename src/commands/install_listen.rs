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
    let (cfg, store) = (&s.cfg, &s.store);
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
    let (jobs, queue) = tokio::sync::mpsc::unbounded_channel();
    let handler = Install {
        cfg,
        store,
        mode,
        verify: !args.no_verify,
        allow_http: args.allow_http,
        jobs,
        http: s.oauth_client(Url::parse(oauth::DEFAULT_SERVER)?)?,
        paste: public_url.or(guessed).unwrap_or(local_url),
    };
    let timeout = (!args.timeout.is_zero()).then_some(args.timeout);
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let work = saved_and_answered(
        listener::serve(tcp, rules, &handler),
        handler.saver(queue, deadline, timeout),
    );
    let profile = listener::watch(
        work,
        deadline,
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
    store: &'a Store,
    mode: SaveMode,
    verify: bool,
    allow_http: bool,
    /// Verifications run side by side; saving is one at a time, in [`Install::saver`]: a
    /// task no connection owns, so a sender that hangs up cannot drop a rotated pair.
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
    /// The address to paste into the app's settings, for a browser that opens it.
    paste: String,
    /// Built once before listening: a callback must not wait for TLS set-up.
    http: oauth::Client,
}

impl Handler<()> for Install<'_> {
    fn concurrent(&self) -> bool {
        true
    }

    async fn handle(&self, req: Request) -> Outcome<()> {
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
            Err(e) if oauth::no_verdict(&e) => {
                return Outcome::Continue(unverifiable(&self.cfg.ui, &e))
            }
            Err(e) => return Outcome::Continue(refused(&self.cfg.ui, &e)),
        };
        let identity = proof.identity();
        if identity.insecure {
            self.cfg.ui.warn(strip_controls(&format!(
                "the portal {} is plain http:// (allowed by --allow-http)",
                identity.domain
            )));
        }
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job = Job {
            server,
            auth,
            proof,
            received,
            answer,
        };
        if self.jobs.send(job).is_err() {
            return Outcome::Continue(Reply::text(StatusCode::GONE, "Already completed"));
        }
        match answered.await {
            Ok(Answer::Final(reply)) => Outcome::Done(reply, ()),
            Ok(Answer::Continue(reply)) => Outcome::Continue(reply),
            Err(_) => Outcome::Continue(Reply::text(StatusCode::GONE, "Already completed")),
        }
    }
}

/// A verified callback on its way to the saver, with where its answer goes.
struct Job {
    server: Url,
    auth: Map<String, Value>,
    proof: Proof,
    received: i64,
    answer: tokio::sync::oneshot::Sender<Answer>,
}

/// The saver's word to the connection that carried the callback.
enum Answer {
    /// The flow ends with this reply.
    Final(Reply),
    /// Answered, and the listener keeps waiting (an unverified save, a refusal).
    Continue(Reply),
}

/// How much a saved pair is worth: a later callback replaces a kept one only when it is worth
/// more, or when it has rotated (a rotated pair is never dropped).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Worth {
    /// Unverified, the callback's pair as received.
    Unproven,
    /// Unverified, but rotated by the proving refresh.
    Rotated,
    /// Confirmed by `app.info`, proven by a refresh, or `--no-verify`: ends the flow.
    Proven,
}

/// A pair made under the lock, with its worth.
struct Made {
    profile: Profile,
    worth: Worth,
}

/// A later callback worth no more than the kept one, with a pair that did not rotate.
#[derive(Debug, thiserror::Error)]
#[error("an unverified install is already kept (this one names {0})")]
struct NotKept(String);

/// After an unverified save with no `--timeout`, the listener still waits this long for a
/// confirmed callback to replace it, then exits 0 with the unverified pair.
const UNVERIFIED_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

/// How long a final reply may take to reach the sender once the pair is saved.
const REPLY_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs the listener and the saver side by side; ends with the saver's value once the reply
/// that carries it was written (or its connection is gone).
async fn saved_and_answered(
    serve: impl std::future::Future<Output = Result<()>>,
    saver: impl std::future::Future<Output = (Result<Profile>, bool)>,
) -> Result<Profile> {
    tokio::pin!(serve, saver);
    tokio::select! {
        (value, replying) = &mut saver => {
            if replying {
                let _ = tokio::time::timeout(REPLY_GRACE, &mut serve).await;
            }
            value
        }
        served = &mut serve => {
            served?;
            saver.await.0
        }
    }
}

/// How far the trusted OAuth server vouched for a callback.
enum Proof {
    /// `app.info` named the portal.
    Confirmed(install::Identity),
    /// `--no-verify`: the POST agrees with itself, nothing more was checked.
    NotChecked(install::Identity),
    /// `app.info` neither confirmed nor contradicted it: the POST's own, self-consistent claim.
    Unproven(install::Identity),
}

impl Proof {
    fn identity(&self) -> &install::Identity {
        match self {
            Proof::Confirmed(id) | Proof::NotChecked(id) | Proof::Unproven(id) => id,
        }
    }
}

/// The trusted server contradicted the callback: answered 403, and the listener keeps waiting.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
struct Refused(anyhow::Error);

fn refused(ui: &crate::ui::Ui, e: &anyhow::Error) -> Reply {
    ui.warn(strip_controls(&format!(
        "refused a callback that failed verification ({e:#}); still waiting"
    )));
    Reply::text(StatusCode::FORBIDDEN, "Verification failed")
}

fn success() -> Reply {
    Reply::json(StatusCode::OK, r#"{"status":"success"}"#.into())
}

impl Install<'_> {
    /// The portal the callback belongs to, as far as the trusted OAuth server's `app.info`
    /// says (see [`install::assess`]); with `--no-verify` only checked for consistency.
    async fn identify(&self, server: &Url, auth: &Map<String, Value>) -> Result<Proof> {
        if !self.verify {
            return Ok(Proof::NotChecked(install::unverified(
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

    /// Saves verified callbacks one at a time, in a future no connection owns: a sender that
    /// hangs up, or a connection that reaches its lifetime, cannot drop a pair being saved,
    /// and the deadline is only looked at between saves. An unverified save is kept while the
    /// listener waits on for a confirmed callback to replace it (README, install-listen).
    /// Returns the flow's value, and whether a final reply is on its way to a sender.
    async fn saver(
        &self,
        mut queue: tokio::sync::mpsc::UnboundedReceiver<Job>,
        mut deadline: Option<tokio::time::Instant>,
        timeout: Option<std::time::Duration>,
    ) -> (Result<Profile>, bool) {
        let mut kept: Option<Made> = None;
        loop {
            let expire = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let job = tokio::select! {
                Some(job) = queue.recv() => job,
                _ = expire => return (self.expired(kept, timeout), false),
            };
            let answer = job.answer;
            let worth = kept.as_ref().map(|m| m.worth);
            let made = self
                .save(&job.server, job.auth, job.proof, job.received, worth)
                .await;
            let reply = match made {
                Ok(made) if made.worth == Worth::Proven => {
                    if kept.is_some() {
                        self.cfg.ui.info(
                            "a confirmed callback replaced the unverified one saved before: the confirmed pair is kept",
                        );
                    }
                    let _ = answer.send(Answer::Final(success()));
                    return (Ok(made.profile), true);
                }
                Ok(made) => {
                    self.kept_unverified(&made, kept.as_ref(), timeout);
                    // A stop signal that came during the save ends the wait with what was saved.
                    if crate::signals::checkpoint().is_err() {
                        let _ = answer.send(Answer::Final(success()));
                        return (Ok(made.profile), true);
                    }
                    deadline.get_or_insert_with(|| tokio::time::Instant::now() + UNVERIFIED_GRACE);
                    kept = Some(made);
                    success()
                }
                Err(e) if e.is::<NotKept>() => {
                    self.cfg.ui.warn(strip_controls(&format!(
                        "another unverified callback ({}) came while one is kept: the first is kept, this one was answered 409; still waiting for a confirmed callback",
                        e.downcast_ref::<NotKept>().map(|n| n.0.as_str()).unwrap_or("-")
                    )));
                    Reply::text(
                        StatusCode::CONFLICT,
                        "An unverified install is already kept",
                    )
                }
                Err(e) if e.is::<Refused>() => refused(&self.cfg.ui, &e),
                Err(e) => {
                    let reply = match crate::signals::is_stop(&e) {
                        true => Reply::text(StatusCode::SERVICE_UNAVAILABLE, "Stopping"),
                        false => Reply::text(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "Could not save the tokens",
                        ),
                    };
                    let _ = answer.send(Answer::Final(reply));
                    return (Err(e), true);
                }
            };
            let _ = answer.send(Answer::Continue(reply));
        }
    }

    /// The deadline came between saves: the unverified pair kept, else nothing arrived.
    fn expired(&self, kept: Option<Made>, timeout: Option<std::time::Duration>) -> Result<Profile> {
        match kept {
            Some(made) => {
                self.cfg.ui.warn(
                    "no confirmed callback came before the deadline: the UNVERIFIED pair saved before is kept",
                );
                Ok(made.profile)
            }
            None => Err(crate::exit::Error::TimedOut(format!(
                "the installation callback did not arrive within {}; nothing was written (raise --timeout to wait longer)",
                crate::ui::human_duration(timeout.unwrap_or_default().as_secs() as i64)
            ))
            .into()),
        }
    }

    fn kept_unverified(
        &self,
        made: &Made,
        before: Option<&Made>,
        timeout: Option<std::time::Duration>,
    ) {
        if before.is_some() {
            self.cfg.ui.warn(
                "a callback whose pair rotated replaced the unverified one saved before (a rotated pair is never dropped); it is kept, still UNVERIFIED",
            );
        }
        let until = match timeout {
            Some(t) => crate::ui::human_duration(t.as_secs() as i64),
            None => crate::ui::human_duration(UNVERIFIED_GRACE.as_secs() as i64),
        };
        self.cfg.ui.warn(strip_controls(&format!(
            "saved portal {} UNVERIFIED; still listening (for at most {until} in all) so that a confirmed callback can replace it",
            made.profile.portal().unwrap_or_default()
        )));
    }

    /// One save on the store's `save_new` road; a profile kept before is replaced.
    async fn save(
        &self,
        server: &Url,
        auth: Map<String, Value>,
        proof: Proof,
        received: i64,
        kept: Option<Worth>,
    ) -> Result<Made> {
        let mode = match kept {
            Some(_) => SaveMode::Replace,
            None => self.mode,
        };
        let worth = std::cell::Cell::new(Worth::Unproven);
        let make = || async {
            let made = self.make(server, auth, proof, received).await?;
            if made.worth < Worth::Rotated && kept.is_some_and(|k| k >= made.worth) {
                return Err(NotKept(made.profile.portal().unwrap_or_default()).into());
            }
            worth.set(made.worth);
            Ok(made.profile)
        };
        let profile = store::save_new(self.store, &self.cfg.profile, mode, make).await?;
        Ok(Made {
            profile,
            worth: worth.get(),
        })
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
    ) -> Result<Made> {
        let mut profile = Profile::from_bitrix(auth, Source::Install, received);
        let identity = proof.identity().clone();
        profile.set_str("member_id", &identity.member_id);
        profile.set_client_endpoint(identity.client_endpoint.as_str());
        profile.set_client(
            self.cfg.client_id.as_deref(),
            self.cfg.client_secret.as_ref(),
        );
        profile.set_oauth_server(server.as_str());
        match proof {
            Proof::Confirmed(_) => return Ok(Made::proven(profile)),
            Proof::NotChecked(_) => {
                profile.mark_not_checked();
                return Ok(Made::proven(profile));
            }
            Proof::Unproven(_) => {}
        }
        match (&self.cfg.client_id, &self.cfg.client_secret) {
            (Some(id), Some(secret)) => {
                let creds = oauth::Credentials {
                    id: id.clone(),
                    secret: secret.clone(),
                };
                self.prove_by_refresh(server, profile, &identity, &creds)
                    .await
            }
            _ => Ok(self.keep_unverified(
                profile,
                Worth::Unproven,
                "no client credentials were given",
            )),
        }
    }

    /// Refreshes at once at the trusted OAuth server: its answer names `client_endpoint` and
    /// `member_id`, and they must be the callback's. A refresh token it does not know is a
    /// forged callback (403); a failure that proves nothing either way keeps the pair
    /// unverified; an answer naming another portal keeps the rotated pair, unverified.
    async fn prove_by_refresh(
        &self,
        server: &Url,
        mut profile: Profile,
        claimed: &install::Identity,
        creds: &oauth::Credentials,
    ) -> Result<Made> {
        crate::bitrix::server::check_oauth_server(server)?;
        let client = self.http.with_server(server.clone());
        let response = match client.refresh(creds, &profile.refresh_token()).await {
            Ok(response) => response,
            Err(e) => {
                return match e.downcast_ref::<oauth::ServerError>() {
                    Some(se) if se.code.needs_reauthorization() => Err(Refused(e).into()),
                    _ => Ok(self.keep_unverified(
                        profile,
                        Worth::Unproven,
                        &format!("the proving refresh failed ({e:#})"),
                    )),
                }
            }
        };
        // Marked first, so that only an answer naming the claimed portal clears the mark
        // (and drops what only the callback said: `Profile::refreshed`).
        profile.mark_unverified();
        let new = profile.refreshed(response.clone(), now());
        let named = match install::named_by_refresh(&response, self.allow_http) {
            Ok(named) => named,
            // The pair has rotated: the new one is kept whatever its answer lacked.
            Err(e) => return Ok(self.keep_unverified(new, Worth::Rotated, &format!("{e:#}"))),
        };
        if named.domain != claimed.domain || named.member_id != claimed.member_id {
            self.cfg.ui.warn(strip_controls(&format!(
                "CONTRADICTION: the callback claimed portal {} (member_id {}) but the proving refresh at the OAuth server names {} (member_id {}): the rotated pair is kept UNVERIFIED under the callback's claim, and no command uses it; reinstall the app if this was your install",
                claimed.domain, claimed.member_id, named.domain, named.member_id
            )));
            return Ok(self.keep_unverified(
                new,
                Worth::Rotated,
                "the refresh named another portal",
            ));
        }
        self.cfg.ui.info(strip_controls(&format!(
            "app.info did not name the portal; a refresh at the OAuth server did: {}",
            named.domain
        )));
        Ok(Made::proven(new))
    }

    fn keep_unverified(&self, mut profile: Profile, worth: Worth, why: &str) -> Made {
        profile.mark_unverified();
        self.cfg.ui.warn(strip_controls(&format!(
            "app.info neither confirmed nor contradicted the callback and {why}: saved it UNVERIFIED; no command hands out its token or endpoint before {} (with B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET) proves it at the OAuth server",
            crate::ui::hint::cmd(&["refresh"])
        )));
        Made { profile, worth }
    }
}

impl Made {
    fn proven(profile: Profile) -> Made {
        Made {
            profile,
            worth: Worth::Proven,
        }
    }
}

/// A verification that failed for a local reason (no descriptor, a connect error, a timeout,
/// the server busy) is not a forgery: answer 503 so the sender may retry, and keep waiting.
/// Only the trusted server's word refuses a callback (README, Security).
fn unverifiable(ui: &crate::ui::Ui, e: &anyhow::Error) -> Reply {
    ui.warn(strip_controls(&format!(
        "could not verify a callback ({e:#}): that is no verdict on it, so it was answered 503 (retry later), not refused; still waiting"
    )));
    Reply::text(
        StatusCode::SERVICE_UNAVAILABLE,
        "Verification unavailable; retry later",
    )
}

fn auth_str<'a>(auth: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    auth.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}
