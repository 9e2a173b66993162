/*!
`b24auth exec [--] CMD …`: replace b24auth with CMD, a valid access token in its environment
and the rest of [`crate::session::child_env`]'s variables.

Replacing (`execvp`) rather than running a child means a supervisor's SIGTERM reaches CMD itself
and CMD's exit status is the process's own, with no b24auth left in between. A missing CMD exits
127 and one that cannot be executed 126, as shells do.
*/

use std::ffi::OsStr;
use std::io::ErrorKind;
use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::{anyhow, Result};

use crate::cli::ExecArgs;
use crate::exit::Error;
use crate::session::{child_env, Session};
use crate::ui::hint;

pub(crate) async fn run(s: &Session, args: &ExecArgs) -> Result<()> {
    let profile = s.valid_profile(i64::from(args.min_ttl)).await?;
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let vars = child_env::exec_env(&profile, &s.cfg);
    // Refused on entry; a value stored by an older version would fail the exec itself, and
    // that error must not read as the command's fault.
    if let Some(var) = child_env::unrepresentable(&vars) {
        return Err(anyhow!(
            "cannot run `{}`: {var} would hold a NUL byte, which no environment variable can carry; nothing was run: replace the stored pair: {}",
            program.to_string_lossy(),
            hint::authorize_again(
                &hint::domain_of(profile.portal(), profile.client_endpoint()),
                true
            )
        ));
    }
    let mut cmd = Command::new(program);
    // b24auth's own secrets stay with b24auth.
    child_env::scrub_child_env(&mut cmd);
    let err = cmd.args(rest).envs(vars).exec();
    Err(exec_failed(program, &err))
}

/// `exec` only returns on failure: 127 when there is no such command, 126 otherwise.
fn exec_failed(program: &OsStr, err: &std::io::Error) -> anyhow::Error {
    let name = program.to_string_lossy();
    match err.kind() {
        ErrorKind::NotFound => Error::CommandNotFound(format!(
            "cannot run `{name}`: no such command (check the name and PATH)"
        )),
        // A NUL in the command line itself: nothing to do with the file's mode.
        ErrorKind::InvalidInput => Error::NotExecutable(format!(
            "cannot run `{name}`: {err} (an argument holds a NUL byte)"
        )),
        _ => Error::NotExecutable(format!(
            "cannot run `{name}`: {err} (check that it is an executable file: `chmod +x`)"
        )),
    }
    .into()
}
