/*!
`b24auth exec [--] CMD …`: run CMD with a valid access token in its environment
(`B24_ACCESS_TOKEN`, `B24_CLIENT_ENDPOINT`, `B24_MEMBER_ID`) and exit with its status.
*/

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::cli::ExecArgs;
use crate::exit;
use crate::session::Session;

/// The token handed to CMD is valid for at least this long, as `token`'s default.
const MIN_TTL: i64 = 60;

pub(crate) async fn run(s: &Session, args: &ExecArgs) -> Result<()> {
    let profile = s.valid_profile(MIN_TTL).await?;
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let status = Command::new(program)
        .args(rest)
        .env("B24_ACCESS_TOKEN", profile.access_token().expose())
        .env(
            "B24_CLIENT_ENDPOINT",
            profile.client_endpoint().unwrap_or(""),
        )
        .env("B24_MEMBER_ID", profile.member_id().unwrap_or(""))
        .status()
        .with_context(|| format!("cannot run {}", program.to_string_lossy()))?;
    match status.code() {
        Some(0) => Ok(()),
        code => Err(
            exit::Error::Child(code.unwrap_or_else(|| 128 + status.signal().unwrap_or(0))).into(),
        ),
    }
}
