//! `--quiet` silences the pace's messages too (issue 22's review): waiting for the operating
//! window says nothing on stderr when asked to be quiet.

use std::time::Duration;

use crate::support::cli::Env;
use crate::support::stand_in::{StandIn, CALL_COST};

#[test]
fn quiet_silences_the_operating_wait() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    s.set_operating(
        "crm.deal.list",
        480.0 - CALL_COST / 2.0,
        Duration::from_secs(2),
    );
    let run = env.run(&["call", "crm.deal.list", "--all", "--quiet"]);
    run.assert_ok();
    assert_eq!(run.stdout.lines().count(), 120);
    assert_eq!(s.counters().operation_time_limits, 0, "it did wait");
    assert_eq!(run.stderr, "", "nothing said under --quiet");
}
