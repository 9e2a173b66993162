/*!
`b24auth exec [--min-ttl S] [--] CMD …`: run CMD with a valid access token and the rest of
[`crate::exec_env`]'s variables in its environment, and exit with its status.
*/

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use anyhow::{Context as _, Result};

use crate::cli::ExecArgs;
use crate::context::Context;

use super::token::valid_profile;

pub fn run(ctx: &Context, args: &ExecArgs) -> Result<()> {
    let profile = valid_profile(ctx, i64::from(args.min_ttl))?;
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let status = Command::new(program)
        .args(rest)
        .envs(crate::exec_env::exec_env(&profile, ctx))
        .status()
        .with_context(|| format!("cannot run {}", program.to_string_lossy()))?;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    std::process::exit(code)
}
