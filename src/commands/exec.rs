/*!
`b24auth exec [--] CMD …`: run CMD with a valid access token in its environment
(`B24_ACCESS_TOKEN`, `B24_CLIENT_ENDPOINT`, `B24_MEMBER_ID`) and exit with its status.
*/

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::cli::ExecArgs;
use crate::context::Context;

use super::token::valid_profile;

/// The token handed to CMD is valid for at least this long, as `token`'s default.
const MIN_TTL: i64 = 60;

pub fn run(ctx: &Context, args: &ExecArgs) -> Result<()> {
    let profile = valid_profile(ctx, MIN_TTL)?;
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut cmd = Command::new(program);
    // b24auth's own secrets stay with b24auth.
    crate::boundary::scrub_child_env(&mut cmd);
    let status = cmd
        .args(rest)
        .env("B24_ACCESS_TOKEN", profile.access_token().expose())
        .env(
            "B24_CLIENT_ENDPOINT",
            profile.str("client_endpoint").unwrap_or(""),
        )
        .env("B24_MEMBER_ID", profile.str("member_id").unwrap_or(""))
        .status()
        .with_context(|| format!("cannot run {}", program.to_string_lossy()))?;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    std::process::exit(code)
}
