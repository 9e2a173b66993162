/*!
`install-listen`'s run: bind, say what to register, then the listener, the handler and the
saver side by side until a pair is saved, the deadline passes or a signal stops it.
*/

use anyhow::Result;
use hyper::Method;
use url::Url;

use super::candidates::Keeper;
use super::handler::{Install, MAX_BODY};
use super::saver::{saved_and_answered, Ended, Saver};
use super::verify::Checks;
use crate::capture::listener::{self, Rules};
use crate::profile::host_port;
use crate::secret::random_hex;
use crate::session::Session;

/// What `install-listen` was asked for.
pub(crate) struct Options {
    pub listen: std::net::SocketAddr,
    pub path: Option<String>,
    pub public_url: Option<Url>,
    pub timeout: std::time::Duration,
    pub no_verify: bool,
    pub force: bool,
    pub allow_http: bool,
}

/// Listens until a callback's pair is proven and saved, or the deadline passes with
/// candidates kept.
pub(crate) async fn listen(s: &Session, args: &Options) -> Result<Ended> {
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
    // What else the form needs, also under -q: the one chance to register it right.
    cfg.ui.always(
        "in the app's form: \"Your handler path\" may be the same URL; \"Uses API only\" ticked or not (both install forms are taken); after Save the form shows the client_id and client_secret: set B24AUTH_CLIENT_ID and B24AUTH_CLIENT_SECRET, they prove the pair",
    );
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
    let checks = Checks {
        verify: !args.no_verify,
        allow_http: args.allow_http,
        client_id: cfg.client_id.clone(),
        http: s.oauth_client(crate::bitrix::server::default_url())?,
    };
    let (jobs, queue) = tokio::sync::mpsc::unbounded_channel();
    let handler = Install {
        cfg,
        checks: &checks,
        jobs,
        paste: public_url.or(guessed).unwrap_or(local_url),
    };
    let saver = Saver {
        keeper: Keeper {
            cfg,
            store,
            mode,
            checks: &checks,
        },
        library: bx24_library()?,
    };
    let timeout = (!args.timeout.is_zero()).then_some(args.timeout);
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let work = saved_and_answered(
        listener::serve(tcp, rules, &handler),
        saver.run(queue, deadline, timeout),
    );
    listener::watch(
        work,
        deadline,
        interrupt,
        "the installation callback",
        &cfg.ui,
    )
    .await
}

/// Where the finishing page loads `BX24` from: Bitrix24's library, or `B24AUTH_BX24_LIBRARY`
/// (an https URL, or http on a loopback host: a test portal's copy).
fn bx24_library() -> Result<String> {
    let Ok(url) = std::env::var("B24AUTH_BX24_LIBRARY") else {
        return Ok(super::page::BX24_LIBRARY.to_string());
    };
    let parsed = Url::parse(&url).ok();
    let fine = parsed.as_ref().is_some_and(|u| {
        u.scheme() == "https" || (u.scheme() == "http" && crate::bitrix::server::is_loopback(u))
    });
    match fine {
        true => Ok(url),
        false => Err(crate::exit::usage(
            "B24AUTH_BX24_LIBRARY takes an https:// URL (or http:// on a loopback host); unset it to use Bitrix24's library",
        )),
    }
}
