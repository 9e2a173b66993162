/*!
The command-line definition in clap's derive form: the options, variables and subcommands the
docs/reference.md documents ("Global options"; each subcommand's long help is in `help/`).

Every global option has its `B24AUTH_*` variable here. Values that could be secret never echo
their environment value in `--help`.
*/

mod fast_token;
pub(crate) mod man;
pub(crate) mod resolve;
mod suggest;
mod values;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use url::Url;

use crate::secret::Secret;
pub(crate) use values::http_url;
use values::{concurrency, duration, profile_name, rate, rest_method, secret, url_path};

const DEFAULT_PROFILE: &str = "default";
const DEFAULT_STORE: &str = "file";
const DEFAULT_HTTP_TIMEOUT: &str = "30s";
const DEFAULT_MIN_TTL: u32 = 60;

#[derive(Debug, Parser)]
#[command(
    name = "b24auth",
    version,
    about = "Get and keep Bitrix24 OAuth 2.0 tokens for local applications",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand's help lists these after its own options, under their own heading.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Which stored authorization (1–64 of A-Za-z0-9._-, no leading dot)
    #[arg(long, global = true, env = "B24AUTH_PROFILE", default_value = DEFAULT_PROFILE, value_parser = profile_name)]
    pub profile: String,

    /// Where profiles live [default: the platform config dir, e.g. ~/.config/b24auth]
    #[arg(long, global = true, env = "B24AUTH_CONFIG_DIR", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// Base URL of the OAuth server (token endpoint = URL + /oauth/token/)
    #[arg(long, global = true, env = "B24AUTH_OAUTH_SERVER", value_name = "URL", value_parser = http_url)]
    pub oauth_server: Option<Url>,

    /// The app's client_id (local.… / app.…) [default: the stored value]
    #[arg(long, global = true, env = "B24AUTH_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,

    /// The app's client_secret; prefer the env var or the prompt [default: the stored value]
    #[arg(
        long,
        global = true,
        env = "B24AUTH_CLIENT_SECRET",
        value_name = "SECRET",
        hide_env_values = true,
        value_parser = secret
    )]
    pub client_secret: Option<Secret>,

    /// Where profiles live: `file` or a postgres:// URL
    #[arg(
        long,
        global = true,
        env = "B24AUTH_STORE",
        value_name = "URL",
        default_value = DEFAULT_STORE,
        hide_env_values = true
    )]
    pub store: String,

    /// Seals the secrets in a postgres:// store: 32 random bytes in base64
    #[arg(
        long,
        global = true,
        env = "B24AUTH_STORE_KEY",
        value_name = "KEY",
        hide_env_values = true,
        value_parser = secret
    )]
    pub store_key: Option<Secret>,

    /// Timeout of each HTTP request to Bitrix24
    #[arg(long, global = true, env = "B24AUTH_HTTP_TIMEOUT", value_name = "DURATION", default_value = DEFAULT_HTTP_TIMEOUT, value_parser = duration)]
    pub http_timeout: Duration,

    /// No messages on stderr except errors (the addresses to open or paste still show)
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// After a refresh is saved, run CMD (with `sh -c`) with the `exec` variables; a failure
    /// is a warning
    #[arg(long, global = true, env = "B24AUTH_ON_REFRESH", value_name = "CMD")]
    pub on_refresh: Option<String>,
    /// One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries,
    /// back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// A guided first run on a terminal: the portal, the way in, what to enter in the portal's
    /// form, the keys, the first token and a first call
    #[command(long_about = include_str!("help/setup.txt"))]
    Setup,
    /// Catch the installation callback of a local app and save its tokens
    #[command(long_about = include_str!("help/install_listen.txt"))]
    InstallListen(InstallListenArgs),
    /// Full OAuth in a browser: open the authorize page, catch the code, exchange it at once
    #[command(long_about = include_str!("help/authorize.txt"))]
    Authorize(AuthorizeArgs),
    /// Trade the stored refresh token for a new pair and save it
    #[command(long_about = include_str!("help/refresh.txt"))]
    Refresh(RefreshArgs),
    /// Show what is stored (secrets masked unless asked for)
    #[command(long_about = include_str!("help/show.txt"))]
    Show(ShowArgs),
    /// Print a valid access token, refreshing only when it is due
    #[command(long_about = include_str!("help/token.txt"))]
    Token(TokenArgs),
    /// Call a REST method with the stored authorization
    #[command(long_about = include_str!("help/call.txt"))]
    Call(CallArgs),
    /// Run REST calls read as JSON lines on stdin, 50 per `batch` request; one line out per
    /// line in
    #[command(long_about = include_str!("help/batch.txt"))]
    Batch(BatchArgs),
    /// Run a command with B24_ACCESS_TOKEN, B24_CLIENT_ENDPOINT, B24_MEMBER_ID and more set
    #[command(long_about = include_str!("help/exec.txt"))]
    Exec(ExecArgs),
    /// Adopt an existing pair: the PHP examples' auth.json, CRest's settings.json, the PHP
    /// SDK's file or b24auth's own JSON
    #[command(long_about = include_str!("help/import.txt"))]
    Import(ImportArgs),
    /// List the stored profiles
    #[command(long_about = include_str!("help/list_forget.txt"))]
    List(ListArgs),
    /// Delete a stored profile
    #[command(long_about = include_str!("help/list_forget.txt"))]
    Forget(ForgetArgs),
    /// The app's offline events: pull them into a handler, bind events, list and retry
    /// failed ones
    #[command(long_about = include_str!("help/events.txt"))]
    Events {
        #[command(subcommand)]
        action: EventsCommand,
    },
    /// Receive the events of one app on any number of portals and hand them to a handler
    #[command(long_about = include_str!("help/serve.txt"))]
    Serve(ServeArgs),
    /// Move profiles between stores
    Store {
        #[command(subcommand)]
        action: StoreCommand,
    },
    /// Print shell completions
    #[command(long_about = include_str!("help/generate.txt"))]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write every page to a directory
    #[command(long_about = include_str!("help/generate.txt"))]
    Man {
        /// Write b24auth.1 and one page per subcommand (b24auth-authorize.1, …) into DIR
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The REST method, e.g. crm.deal.list
    #[arg(value_parser = rest_method)]
    pub method: String,
    /// Parameters: KEY=VALUE (a string) or KEY:=JSON (a raw value); PHP brackets nest
    /// (filter[STAGE_ID]=WON, select[]=ID)
    #[arg(value_name = "KEY=VALUE")]
    pub pairs: Vec<String>,
    /// The parameters as a JSON object, from the argument, @FILE or @- (stdin)
    #[arg(long, value_name = "JSON|@FILE|@-")]
    pub data: Option<String>,
    /// Follow `next` through every page (50 pages per `batch` request); print the items as
    /// JSON lines
    #[arg(long)]
    pub all: bool,
    /// With --all: page by ID (order[ID]=ASC, filter[>ID], start=-1, 2,500 items a request)
    /// instead of counting; for tables too large to count
    #[arg(long, requires = "all")]
    pub by_id: bool,
    /// With --all: print one JSON array instead of lines
    #[arg(long, requires = "all")]
    pub array: bool,
    /// Print only the `result` of the answer
    #[arg(long)]
    pub result: bool,
    /// Call REST 3.0 (<portal>/rest/api/METHOD) instead of the classic REST
    #[arg(long, conflicts_with = "all")]
    pub v3: bool,
    #[command(flatten)]
    pub limit: LimitArgs,
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Stop at the first failed command (Bitrix24's halt=1); nothing after it runs
    #[arg(long)]
    pub halt: bool,
    #[command(flatten)]
    pub limit: LimitArgs,
}

/// The portal's pace: a plan's preset (or --rate and --burst, which win), the operating-time
/// limit and the requests in flight.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Requests per second at most, sustained [default: the plan's, 2/s]
    #[arg(long, value_name = "N/s", value_parser = rate)]
    pub rate: Option<f64>,
    /// Requests allowed at once before --rate applies [default: the plan's, 50]
    #[arg(long, value_name = "N")]
    pub burst: Option<u32>,
    /// The portal's plan: standard (2/s, burst 50) or enterprise (5/s, burst 250) [default:
    /// the one app.info's LICENSE_FAMILY names, else standard]
    #[arg(long, value_enum)]
    pub plan: Option<crate::rest::rate::Plan>,
    /// Requests in flight at once for --all and batch; items still come out in order
    #[arg(long, value_name = "N", default_value_t = crate::rest::rate::DEFAULT_CONCURRENCY,
          value_parser = concurrency)]
    pub concurrency: usize,
    /// The portal's operating-time budget per method per 10 minutes; 0 = none, as on-premise
    /// portals default to [default: 480s, the cloud's, or what the portal showed]
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub operating_limit: Option<Duration>,
}

impl LimitArgs {
    pub(crate) fn options(&self) -> crate::rest::rate::PaceOptions {
        crate::rest::rate::PaceOptions {
            rate: self.rate,
            burst: self.burst,
            plan: self.plan,
            operating_limit: self.operating_limit.map(|d| d.as_secs_f64()),
            concurrency: Some(self.concurrency),
        }
    }
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The token handed to CMD is valid for at least this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub min_ttl: u32,
    /// The command and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file holding the pair; `-` (the default) reads stdin
    #[arg(value_name = "FILE|-", default_value = "-")]
    pub file: PathBuf,
    /// Save an incoming webhook (https://PORTAL/rest/USER_ID/SECRET/) as the profile, its
    /// address read from stdin or a hidden prompt — never from the command line
    #[arg(long, conflicts_with = "no_verify")]
    pub webhook: bool,
    /// Save without asking the OAuth server's app.info whether the token is genuine
    #[arg(long)]
    pub no_verify: bool,
    /// Replace an existing profile
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ForgetArgs {
    /// Delete without asking (required when there is no terminal)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Fetch the portal's offline events and run CMD once per event (or print JSON lines);
    /// at least once
    #[command(long_about = include_str!("help/events_pull.txt"))]
    Pull(EventsPullArgs),
    /// Bind events for the app: offline (for `events pull`) or to a `serve` URL
    #[command(long_about = include_str!("help/events_bind.txt"))]
    Bind(EventsBindArgs),
    /// List the events whose handler failed for good
    #[command(long_about = include_str!("help/events_failed.txt"))]
    Failed(EventsFailedArgs),
    /// Run failed events again
    #[command(long_about = include_str!("help/events_retry.txt"))]
    Retry(EventsRetryArgs),
}

#[derive(Debug, Args)]
pub struct EventsPullArgs {
    /// Keep pulling, backing off while the queue is empty
    #[arg(long)]
    pub follow: bool,
    /// Events per request
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    /// Runs of a failing handler before the event is marked failed (with back-off)
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub tries: u32,
    /// The handler and its arguments (the rest of the line): the event JSON on stdin,
    /// B24_EVENT and B24_EVENT_ID and the `exec` variables in its environment
    #[arg(long, num_args = 1.., allow_hyphen_values = true, value_name = "CMD")]
    pub exec: Option<Vec<std::ffi::OsString>>,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("kind").required(true).args(["offline", "handler"]))]
pub struct EventsBindArgs {
    /// Event names, e.g. ONCRMDEALADD ONCRMDEALUPDATE
    #[arg(required = true, value_name = "EVENT")]
    pub events: Vec<String>,
    /// Queue the events on the portal for `b24auth events pull`
    #[arg(long)]
    pub offline: bool,
    /// Send them to this URL (a `serve`'s event URL)
    #[arg(long, value_name = "URL", value_parser = http_url)]
    pub handler: Option<Url>,
}

#[derive(Debug, Args)]
pub struct EventsFailedArgs {
    /// Print a JSON array
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true).args(["ids", "all"]))]
pub struct EventsRetryArgs {
    /// The failed events' IDs (as `events failed` shows them)
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// Every failed event
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (IP:PORT, localhost:PORT, [::1]:PORT, 0.0.0.0:PORT)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787", value_parser = crate::capture::address::listen_addr)]
    pub listen: SocketAddr,
    /// How Bitrix24 reaches the listener (a tunnel or reverse proxy), for the printed URLs
    /// and the Host check
    #[arg(long, value_name = "URL", value_parser = http_url)]
    pub public_url: Option<Url>,
    /// Path prefix of the routes [default: /b24/<32 random hex>, made on the first run and
    /// kept in <config dir>/serve-path]
    #[arg(long = "path", value_name = "PREFIX", value_parser = url_path)]
    pub prefix: Option<String>,
    /// Handlers running at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
    /// Runs of a failing handler before the event is kept as failed (with back-off)
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub tries: u32,
    /// A handler run longer than this is killed and counts as failed (0 = no limit)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    pub timeout_handler: Duration,
    /// The handler and its arguments (the rest of the line); without it, events are printed
    /// as JSON lines
    #[arg(long, num_args = 1.., allow_hyphen_values = true, value_name = "CMD")]
    pub exec: Option<Vec<std::ffi::OsString>>,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy the profile (--profile) from one store to another, e.g. file → postgres://…
    #[command(long_about = include_str!("help/store_copy.txt"))]
    Copy(StoreCopyArgs),
}

#[derive(Debug, Args)]
pub struct StoreCopyArgs {
    /// The store to read: `file` or a postgres:// URL
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The store to write: `file` or a postgres:// URL
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Replace the profile in the target store
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct InstallListenArgs {
    /// Address to listen on (IP:PORT, localhost:PORT, [::1]:PORT, 0.0.0.0:PORT)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787", value_parser = crate::capture::address::listen_addr)]
    pub listen: SocketAddr,
    /// Path to accept the callback on [default: /install/<32 random hex>]
    #[arg(long, value_name = "PATH", value_parser = url_path)]
    pub path: Option<String>,
    /// How Bitrix24 reaches the listener (a tunnel or reverse proxy), for the printed
    /// instructions and the Host check
    #[arg(long, value_name = "URL", value_parser = http_url)]
    pub public_url: Option<Url>,
    /// Give up after this long (0 = wait forever)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration)]
    pub timeout: Duration,
    /// Save without asking the OAuth server's app.info whether the token is genuine
    #[arg(long)]
    pub no_verify: bool,
    /// Accept a plain http:// client_endpoint for an on-premise portal (a warning is printed;
    /// https is required otherwise, except on a loopback portal)
    #[arg(long)]
    pub allow_http: bool,
    /// Replace an existing profile
    #[arg(long)]
    pub force: bool,
    /// Not a flag: `setup` ends the wait at the first kept candidate (it asks for the keys
    /// that prove it next).
    #[arg(skip)]
    pub first_candidate_ends: bool,
}

#[derive(Debug, Args)]
pub struct AuthorizeArgs {
    /// The portal: portal.bitrix24.com, https://portal.example.com or http://127.0.0.1:PORT
    #[arg(long, value_name = "PORTAL")]
    pub domain: String,
    /// The handler path registered for the app, where the portal sends the browser back
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8787/callback", value_parser = http_url)]
    pub redirect_uri: Url,
    /// Address to listen on [default: the redirect URI's host:port when it is a loopback
    /// address, else 127.0.0.1:8787]
    #[arg(long, value_name = "ADDR", value_parser = crate::capture::address::listen_addr)]
    pub listen: Option<SocketAddr>,
    /// Print the authorize URL but do not open a browser
    #[arg(long)]
    pub no_browser: bool,
    /// Give up after this long (0 = wait forever)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    pub timeout: Duration,
    /// Replace an existing profile
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Print the saved profile as JSON on stdout (secrets included)
    #[arg(long)]
    pub json: bool,
    /// Refresh only when the stored refresh token is older than this (cron keep-alive)
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub if_older_than: Option<Duration>,
    /// Apply the portal, member_id or scheme the last refresh answer named instead of the
    /// stored one (until then every command exits 3 naming the change); nothing is sent
    #[arg(long, conflicts_with = "if_older_than")]
    pub accept_change: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The stored object as JSON, secrets included
    #[arg(long, conflicts_with_all = ["field", "path", "reveal"])]
    pub json: bool,
    /// Print one raw value (access_token, client_endpoint, member_id, portal, …)
    #[arg(long, value_name = "NAME", conflicts_with_all = ["path", "reveal"])]
    pub field: Option<String>,
    /// Print only the file path
    #[arg(long, conflicts_with = "reveal")]
    pub path: bool,
    /// Show secrets unmasked in the summary
    #[arg(long)]
    pub reveal: bool,
    /// Ask the OAuth server whether the stored authorization works (0 works, 3 authorize
    /// again, 1 cannot tell)
    #[arg(long, conflicts_with_all = ["json", "field", "path", "reveal"])]
    pub check: bool,
    /// Print the pair for another tool: `crest` (a CRest settings.json object) or `env`
    /// (the `exec` variables as KEY=value lines)
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with_all = ["json", "field", "path", "reveal", "check"])]
    pub format: Option<ShowFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    /// A CRest settings.json object
    Crest,
    /// KEY=value lines of the `exec` variables (docker --env-file, systemd EnvironmentFile=)
    Env,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Refresh first when the token expires within this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_MIN_TTL)]
    pub min_ttl: u32,
    /// The portal refused this token: refresh unless another caller already has, and print
    /// the current one (`-` reads TOKEN from stdin, out of sight of `ps`)
    #[arg(long, value_name = "TOKEN|-", value_parser = secret)]
    pub rejected: Option<Secret>,
    /// Print {"access_token","expires","client_endpoint","member_id","domain"} for credential
    /// helpers that cache tokens (never the refresh token or the client secret)
    #[arg(long)]
    pub json: bool,
}

/// An empty `B24AUTH_*` variable (`B24AUTH_CONFIG_DIR=`) means unset, as shells and most
/// tools read it; clap would otherwise take the empty string as the value. Call before parsing,
/// while the process has one thread.
pub fn unset_empty_env() {
    let empty: Vec<_> = std::env::vars_os()
        .filter(|(k, v)| k.to_str().is_some_and(|k| k.starts_with("B24AUTH_")) && v.is_empty())
        .map(|(k, _)| k)
        .collect();
    for k in empty {
        std::env::remove_var(k);
    }
}

/// Ends the process for a parse error: help and version as clap prints them; a real error
/// as `b24auth: error: …` like every other error, with clap's usage and tip lines after it.
pub fn exit_on(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit()
    }
    let text = suggest::closest_first(&e, e.render().to_string());
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    eprint!("b24auth: error: {text}");
    std::process::exit(crate::exit::ExitCode::Usage as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_secret_never_shows_in_debug() {
        let cli =
            Cli::try_parse_from(["b24auth", "--client-secret", "hunter2-secret", "show"]).unwrap();
        assert!(!format!("{cli:?}").contains("hunter2"));
    }

    #[test]
    fn plans_set_the_bucket_and_explicit_flags_win() {
        let limit = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["b24auth", "call", "x"][..], args].concat()).unwrap();
            match cli.command {
                Command::Call(a) => (
                    a.limit.plan.map(|p| p.limits()),
                    a.limit.rate,
                    a.limit.burst,
                ),
                _ => unreachable!(),
            }
        };
        assert_eq!(
            limit(&[]),
            (None, None, None),
            "no plan: app.info's decides"
        );
        assert_eq!(
            limit(&["--plan", "enterprise"]),
            (Some((5.0, 250)), None, None)
        );
        assert_eq!(
            limit(&["--plan", "enterprise", "--rate", "3/s"]),
            (Some((5.0, 250)), Some(3.0), None)
        );
        let options = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["b24auth", "batch"][..], args].concat()).unwrap();
            match cli.command {
                Command::Batch(a) => a.limit.options(),
                _ => unreachable!(),
            }
        };
        assert_eq!(
            options(&[]).concurrency,
            Some(crate::rest::rate::DEFAULT_CONCURRENCY)
        );
        assert_eq!(options(&["--concurrency", "3"]).concurrency, Some(3));
        assert_eq!(
            options(&["--operating-limit", "0"]).operating_limit,
            Some(0.0)
        );
        assert_eq!(
            options(&["--operating-limit", "7m"]).operating_limit,
            Some(420.0)
        );
        for bad in ["0", "65", "x"] {
            assert!(Cli::try_parse_from(["b24auth", "batch", "--concurrency", bad]).is_err());
        }
    }

    #[test]
    fn definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
