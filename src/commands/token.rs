/*!
`b24auth token`: print a valid access token for `$(b24auth token)`.

The fresh path — the common one — reads the stored profile and prints: no lock, no network.
Only a token expiring within `--min-ttl` takes the session's refresh road.
*/

use std::io::Write;

use anyhow::Result;

use crate::cli::TokenArgs;
use crate::session::Session;

pub(crate) async fn run(s: &Session, args: &TokenArgs) -> Result<()> {
    let profile = s.valid_profile(i64::from(args.min_ttl)).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", profile.access_token().expose())?;
    out.flush()?;
    Ok(())
}
