/*!
`--on-refresh CMD` (`B24AUTH_ON_REFRESH`): after a refresh is saved, run CMD with the `exec`
variables, so a daemon that caches the token can reload it and an audit log can record it.

It runs after the profile lock is released (a slow hook must not hold up other refreshers), its
output goes to stderr (stdout is `token`'s data), and its failure is a warning: the pair is
already saved, which is what the command was asked for. The hook never inherits b24auth's own
secrets ([`crate::session::child_env::scrub_child_env`]).
*/

use std::process::{Command, Stdio};

use crate::profile::Profile;
use crate::session::child_env::exec_env;
use crate::session::config::RunConfig;

/// Runs the hook, if one is set, for the freshly saved `profile`.
pub fn on_refresh(cfg: &RunConfig, profile: &Profile) {
    let Some(cmd) = cfg.on_refresh.as_deref() else {
        return;
    };
    let mut hook = Command::new("sh");
    crate::session::child_env::scrub_child_env(&mut hook);
    // A b24auth the hook runs must not run the hook again: a refresh there would loop.
    hook.env_remove("B24AUTH_ON_REFRESH");
    let status = hook
        .arg("-c")
        .arg(cmd)
        .envs(exec_env(profile, cfg))
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => cfg.ui.warn(format_args!(
            "the --on-refresh command failed ({s}); the new pair is saved"
        )),
        Err(e) => cfg.ui.warn(format_args!(
            "cannot run the --on-refresh command ({e}); the new pair is saved"
        )),
    }
}
