/*!
The command-line definition: the contract of `CLI.md`, in clap's derive form.

Every global option has its `B24AUTH_*` variable here. Values that could be secret never echo
their environment value in `--help`.
*/

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use url::Url;

use crate::secret::Secret;

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

#[derive(Debug, Args)]
pub struct Global {
    /// Which stored authorization (1–64 of A-Za-z0-9._-)
    #[arg(long, global = true, env = "B24AUTH_PROFILE", default_value = "default", value_parser = profile_name)]
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
        default_value = "file",
        hide_env_values = true
    )]
    pub store: String,

    /// Timeout of each HTTP request to Bitrix24
    #[arg(long, global = true, env = "B24AUTH_HTTP_TIMEOUT", value_name = "DURATION", default_value = "30s", value_parser = duration)]
    pub http_timeout: Duration,

    /// No messages on stderr except errors (the addresses to open or paste still show)
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// One line per HTTP exchange on stderr (method, URL, status, bytes, time; retries,
    /// back-offs, lock waits), secrets redacted; also B24AUTH_LOG=debug
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Catch the installation callback of a "Uses API only" local app and save its tokens
    InstallListen(InstallListenArgs),
    /// Full OAuth in a browser: open the authorize page, catch the code, exchange it at once
    Authorize(AuthorizeArgs),
    /// Trade the stored refresh token for a new pair and save it
    Refresh(RefreshArgs),
    /// Show what is stored (secrets masked unless asked for)
    Show(ShowArgs),
    /// Print a valid access token, refreshing only when it is due
    Token(TokenArgs),
    /// Call a REST method with the stored authorization
    Call(CallArgs),
    /// Run a command with B24_ACCESS_TOKEN, B24_CLIENT_ENDPOINT and B24_MEMBER_ID set
    Exec(ExecArgs),
    /// List the stored profiles
    List(ListArgs),
    /// Delete a stored profile
    Forget(ForgetArgs),
    /// Move profiles between stores
    Store {
        #[command(subcommand)]
        action: StoreCommand,
    },
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write every page to a directory
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
    /// Follow `next` through every page; print the items as JSON lines
    #[arg(long)]
    pub all: bool,
    /// With --all: print one JSON array instead of lines
    #[arg(long, requires = "all")]
    pub array: bool,
    /// Print only the `result` of the answer
    #[arg(long)]
    pub result: bool,
    /// Requests per second at most, sustained (the portal's limit is 2/s, 5/s on Enterprise)
    #[arg(long, value_name = "N/s", default_value = "2/s", value_parser = rate)]
    pub rate: f64,
    /// Requests allowed at once before --rate applies
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub burst: u32,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
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
pub enum StoreCommand {
    /// Copy the profile (--profile) from one store to another, e.g. file → postgres://…
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
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787", value_parser = crate::address::listen_addr)]
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
    /// Replace an existing profile
    #[arg(long)]
    pub force: bool,
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
    #[arg(long, value_name = "ADDR", value_parser = crate::address::listen_addr)]
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
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Refresh first when the token expires within this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub min_ttl: u32,
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
    let text = e.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    eprint!("b24auth: error: {text}");
    std::process::exit(crate::exit::ExitCode::Usage as i32)
}

fn profile_name(s: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && s != "."
        && s != "..";
    if ok {
        Ok(s.to_string())
    } else {
        Err("a profile name is 1–64 of A-Za-z0-9._- (and not . or ..)".into())
    }
}

fn secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(s))
}

fn rest_method(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._".contains(&b))
        && !s.starts_with('.');
    if ok {
        Ok(s.to_string())
    } else {
        Err("a method name is made of A-Za-z0-9._, e.g. crm.deal.list".into())
    }
}

/// `2/s`, `0.5/s` or a bare number.
fn rate(s: &str) -> Result<f64, String> {
    let n: f64 = s
        .trim_end_matches("/s")
        .parse()
        .map_err(|_| format!("`{s}` is not a rate like 2/s"))?;
    if n > 0.0 && n.is_finite() {
        Ok(n)
    } else {
        Err("the rate must be above 0".into())
    }
}

fn url_path(s: &str) -> Result<String, String> {
    let ok = s.starts_with('/')
        && s.len() <= 256
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b));
    if ok {
        Ok(s.to_string())
    } else {
        Err("a path starts with / and holds only A-Za-z0-9/-._~".into())
    }
}

fn http_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        _ => Err("expected an http:// or https:// URL".into()),
    }
}

/// `90`, `90s`, `1500ms`, `10m`, `2h`, `180d`; `0` means none where an option allows it.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 30s, 10m, 2h or 7d"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => return Ok(Duration::from_millis(n)),
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(format!("`{s}` has an unknown unit; use ms, s, m, h or d")),
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(duration("0"), Ok(Duration::ZERO));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(duration("10x").is_err());
        assert!(duration("m").is_err());
    }

    #[test]
    fn profile_names() {
        assert!(profile_name("prod-1.b_2").is_ok());
        assert!(profile_name("../etc").is_err());
        assert!(profile_name("..").is_err());
        assert!(profile_name("").is_err());
        assert!(profile_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn the_client_secret_never_shows_in_debug() {
        let cli =
            Cli::try_parse_from(["b24auth", "--client-secret", "hunter2-secret", "show"]).unwrap();
        assert!(!format!("{cli:?}").contains("hunter2"));
    }

    #[test]
    fn definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
