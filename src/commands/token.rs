/*!
`b24auth token`: print a valid access token for `$(b24auth token)`.

The fresh path — the common one — reads the stored profile and prints: no lock, no network, and
for the file store no async runtime and no signal handlers either ([`fresh`], before `lib::run`
builds them).
Only a token expiring within `--min-ttl`, or one a client says the portal refused
(`--rejected`), goes through the session's one refresh.
*/

use std::io::Write;

use anyhow::{anyhow, Result};

use crate::cli::TokenArgs;
use crate::exit;
use crate::profile::{now, Profile};
use crate::secret::Secret;
use crate::session::config::RunConfig;
use crate::session::Session;

pub(crate) async fn run(s: &Session, args: &TokenArgs) -> Result<()> {
    let min_ttl = i64::from(args.min_ttl);
    let profile = match &args.rejected {
        Some(token) => after_rejection(s, &rejected_token(token)?, min_ttl).await?,
        None => s.valid_profile(min_ttl).await?,
    };
    if profile.is_webhook() {
        return Err(crate::session::webhook_has_no_token(
            s.profile_name(),
            "print",
        ));
    }
    print(&profile, args)
}

/// The fresh path, called before any runtime or signal handler exists: a stored pair valid for
/// `--min-ttl` more seconds, read without a lock from a store that needs no connection, is
/// printed. `None` leaves the run to [`run`] (a `--rejected` token, a pair due for a refresh,
/// nothing stored, a read error, a database store), which decides and reports as always.
pub(crate) fn fresh(cfg: &RunConfig, args: &TokenArgs) -> Option<Result<()>> {
    if args.rejected.is_some() {
        return None;
    }
    let session = Session::open(cfg.clone()).ok()?;
    let profile = session.fresh_now(i64::from(args.min_ttl))?;
    Some(print(&profile, args))
}

fn print(profile: &Profile, args: &TokenArgs) -> Result<()> {
    // Refused on entry; one stored by an older version is not printed as several lines.
    crate::profile::checks::token("access_token", profile.access_token().expose()).map_err(
        |refused| {
            anyhow!(
                "the stored access token is not printed ({refused}): run {} to replace it",
                crate::ui::hint::cmd(&["refresh"])
            )
        },
    )?;
    let mut out = std::io::stdout().lock();
    match args.json {
        true => writeln!(out, "{}", helper_json(profile))?,
        false => writeln!(out, "{}", profile.access_token().expose())?,
    }
    out.flush()?;
    Ok(())
}

/// What a client caching tokens needs, as `aws credential_process` and `gcloud` hand it out:
/// the access token, when it expires, where to use it and for which portal (`domain` is the
/// portal's host, as `B24_DOMAIN` in `exec`). Never the refresh token or the client secret.
fn helper_json(p: &Profile) -> serde_json::Value {
    serde_json::json!({
        "access_token": p.access_token().expose(),
        "expires": p.expires(),
        "client_endpoint": p.client_endpoint(),
        "member_id": p.member_id(),
        "domain": p.portal(),
    })
}

/// `--rejected TOKEN`: the portal refused TOKEN. Under the lock, refresh only if the stored token
/// is still TOKEN (or is due anyway); when another caller already replaced it, the stored one is
/// the answer. So many clients rejecting the same token cause one refresh.
async fn after_rejection(s: &Session, rejected: &Secret, min_ttl: i64) -> Result<Profile> {
    let due = |p: &Profile| p.access_token() == *rejected || !p.is_fresh(min_ttl, now());
    Ok(s.refresh(due).await?.profile)
}

/// The rejected token from the argument, or from stdin for `-` (argv is visible to `ps`).
fn rejected_token(arg: &Secret) -> Result<Secret> {
    let token = if arg.expose() == "-" {
        let bytes = crate::ui::input::read_stdin(
            crate::ui::input::TOKEN_LIMIT,
            "the rejected token on stdin",
        )?;
        Secret::new(String::from_utf8_lossy(&bytes).trim())
    } else {
        Secret::new(arg.expose().trim())
    };
    if token.is_empty() {
        return Err(exit::usage(
            "--rejected needs the token the portal refused (or `-` to read it from stdin)",
        ));
    }
    Ok(token)
}
