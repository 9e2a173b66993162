//! A server's numbers b24auth cannot use (issue 22's review): an `operating_reset_at` far past
//! the 10-minute window neither crashes a call nor stays in the shared budget file to crash
//! the next one.

use crate::support::cli::Env;
use crate::support::stand_in::StandIn;

#[test]
fn an_absurd_operating_reset_neither_crashes_nor_persists() {
    let s = StandIn::start();
    let env = Env::new();
    env.seed(&s, 3600);
    s.claim_time(479.0, 1e20);
    for _ in 0..2 {
        let run = env.run(&["call", "profile", "--result"]);
        run.assert_ok();
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        assert!(!run.stderr.contains("waiting"), "{}", run.stderr);
    }
}
