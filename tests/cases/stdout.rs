//! The house rules every command shares: a closed stdout ends quietly with 0.

use std::process::{Command, Stdio};

use crate::support::cli::Env;
use crate::support::stand_in::StandIn;

/// Runs `cmd` with a stdout whose reader has already gone away, as `| head -0` leaves it.
fn with_closed_stdout(cmd: &mut Command) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = cmd
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    let commands: &[&[&str]] = &[
        &["list"],
        &["list", "--json"],
        &["man"],
        &["completions", "bash"],
        &["token"],
        &["show"],
        &["show", "--json"],
        &["show", "--field", "member_id"],
        &["call", "crm.lead.list", "--all"],
        &["call", "user.current"],
        &["refresh", "--json"],
    ];
    for args in commands {
        let (code, stderr) = with_closed_stdout(&mut env.app_cmd(&s, args));
        assert_eq!(code, 0, "b24auth {args:?}: {stderr}");
        assert!(
            !stderr.contains("error") && !stderr.contains("panicked"),
            "b24auth {args:?}: {stderr}"
        );
    }
}
