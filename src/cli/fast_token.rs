/*!
The short paths for `b24auth token`, kept apart because they exist only for speed: the target
(`token` within 1.25× `cat`, whole process, measured by `bench/run`) is not met by
clap, whose short command alone costs about a fifth of a fresh `token`.

- [`bare_token`]: `b24auth token` and nothing else, what `$(b24auth token)` runs. The global
  options come from their `B24AUTH_*` variables through the same value parsers and defaults.
- [`parse_token`]: any other `token` line, against a clap command holding only the global
  options and `token`'s (building every subcommand's arguments is most of clap's cost).

Either returns `None` where the full command must speak (`--help`, a refused value); the test
below holds both to the full command's result.
*/

use std::path::PathBuf;

use clap::{Args, Parser};

use super::{
    duration, exit_on, http_url, profile_name, Cli, Command, Global, TokenArgs,
    DEFAULT_HTTP_TIMEOUT, DEFAULT_MIN_TTL, DEFAULT_PROFILE, DEFAULT_STORE,
};
use crate::secret::Secret;

impl Cli {
    /// Parses argv: a `token` line on its short paths (this file), everything else (and a
    /// `token` line those leave, `--help` or a typo) through clap's full command, so behaviour
    /// and messages stay the same.
    pub fn parse_args() -> Cli {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        parse(&args).unwrap_or_else(|| Cli::try_parse_from(args).unwrap_or_else(|e| exit_on(e)))
    }
}

/// A `token` line parsed on a short path, or `None` for the full command.
fn parse(args: &[std::ffi::OsString]) -> Option<Cli> {
    if args.len() == 2 && args[1] == "token" {
        if let Some(cli) = bare_token(|k| std::env::var_os(k)) {
            return Some(cli);
        }
    }
    if args.get(1).is_some_and(|a| a == "token") {
        return parse_token(args);
    }
    None
}

/// `b24auth token` and nothing else, what `$(b24auth token)` runs: even the short command
/// costs a fifth of a fresh `token`, so the global options are read from their `B24AUTH_*`
/// variables (`var`) through the same value parsers and defaults. A value those refuse
/// (`None`) leaves the error message to clap.
fn bare_token(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<Cli> {
    // Some(None): not set; Some(Some(v)): set; None: not UTF-8, which clap refuses.
    let text = |k: &str| match var(k) {
        None => Some(None),
        Some(v) => v.into_string().ok().map(Some),
    };
    let global = Global {
        profile: match text("B24AUTH_PROFILE")? {
            Some(p) => profile_name(&p).ok()?,
            None => DEFAULT_PROFILE.into(),
        },
        config_dir: match var("B24AUTH_CONFIG_DIR") {
            Some(d) if d.is_empty() => return None,
            d => d.map(PathBuf::from),
        },
        oauth_server: match text("B24AUTH_OAUTH_SERVER")? {
            Some(u) => Some(http_url(&u).ok()?),
            None => None,
        },
        client_id: text("B24AUTH_CLIENT_ID")?,
        client_secret: text("B24AUTH_CLIENT_SECRET")?.map(Secret::new),
        store: text("B24AUTH_STORE")?.unwrap_or_else(|| DEFAULT_STORE.into()),
        store_key: text("B24AUTH_STORE_KEY")?.map(Secret::new),
        http_timeout: duration(
            &text("B24AUTH_HTTP_TIMEOUT")?.unwrap_or_else(|| DEFAULT_HTTP_TIMEOUT.into()),
        )
        .ok()?,
        quiet: false,
        verbose: false,
        on_refresh: text("B24AUTH_ON_REFRESH")?,
    };
    let token = TokenArgs {
        min_ttl: DEFAULT_MIN_TTL,
        rejected: None,
        json: false,
    };
    Some(Cli {
        global,
        command: Command::Token(token),
    })
}

fn parse_token(args: &[std::ffi::OsString]) -> Option<Cli> {
    use clap::{Command as ClapCommand, FromArgMatches};
    let token = TokenArgs::augment_args(ClapCommand::new("token"));
    let matches = Global::augment_args(ClapCommand::new("b24auth"))
        .subcommand(token)
        .try_get_matches_from(args)
        .ok()?;
    let (_, sub) = matches.subcommand()?;
    Some(Cli {
        global: Global::from_arg_matches(&matches).ok()?,
        command: Command::Token(TokenArgs::from_arg_matches(sub).ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn token_parses_alike_on_its_short_path() {
        let argv = |s: &str| -> Vec<std::ffi::OsString> { s.split(' ').map(Into::into).collect() };
        for line in [
            "b24auth token",
            "b24auth token --min-ttl 300 --profile p1 -q",
            "b24auth token --rejected - --config-dir /x --store file",
        ] {
            let short = parse_token(&argv(line)).expect(line);
            let full = Cli::try_parse_from(argv(line)).unwrap();
            assert_eq!(format!("{short:?}"), format!("{full:?}"), "{line}");
        }
        assert!(parse_token(&argv("b24auth token --help")).is_none());
        // The bare line, from variables: alike when set, alike when not, clap's when refused.
        let vars = [
            ("B24AUTH_PROFILE", "p1"),
            ("B24AUTH_CONFIG_DIR", "/x"),
            ("B24AUTH_OAUTH_SERVER", "http://127.0.0.1:9"),
            ("B24AUTH_CLIENT_ID", "local.1"),
            ("B24AUTH_CLIENT_SECRET", "s"),
            ("B24AUTH_STORE", "postgres://db/x"),
            ("B24AUTH_HTTP_TIMEOUT", "5s"),
            ("B24AUTH_ON_REFRESH", "true"),
        ];
        let set = |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.into());
        let bare = bare_token(set).unwrap();
        let mut full =
            argv("b24auth --profile p1 --config-dir /x --oauth-server http://127.0.0.1:9");
        full.extend(argv(
            "x --client-id local.1 --client-secret s --store postgres://db/x",
        ));
        full.extend(argv("x --http-timeout 5s --on-refresh true token"));
        full.retain(|a| a != "x");
        let full = Cli::try_parse_from(full).unwrap();
        assert_eq!(format!("{bare:?}"), format!("{full:?}"));
        let none = bare_token(|_| None).unwrap();
        let plain = Cli::try_parse_from(argv("b24auth token")).unwrap();
        if !std::env::vars().any(|(k, _)| k.starts_with("B24AUTH_")) {
            assert_eq!(
                format!("{none:?}"),
                format!("{plain:?}"),
                "the same defaults"
            );
        }
        for (k, bad) in [
            ("B24AUTH_PROFILE", "../x"),
            ("B24AUTH_HTTP_TIMEOUT", "soon"),
            ("B24AUTH_CONFIG_DIR", ""),
        ] {
            assert!(
                bare_token(|n| (n == k).then(|| bad.into())).is_none(),
                "{k}"
            );
        }
        assert!(parse_token(&argv("b24auth token --min-ttl x")).is_none());
    }
}
