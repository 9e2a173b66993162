/*!
The portal's plans: how fast each plan's request bucket drains and how much it holds, which
plan `app.info`'s `LICENSE_FAMILY` names, and the plan this host remembers (for a day, in the
shared bucket's state) so `app.info` is not asked on every run.
*/

use super::bucket::State;

/// The portal's plan: how fast its bucket drains and how much it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Plan {
    /// 2 requests/s, burst 50 (every cloud plan but Enterprise)
    Standard,
    /// 5 requests/s, burst 250
    Enterprise,
}

impl Plan {
    /// (requests per second, burst).
    pub fn limits(self) -> (f64, u32) {
        match self {
            Plan::Standard => (2.0, 50),
            Plan::Enterprise => (5.0, 250),
        }
    }

    /// The plan `app.info`'s `LICENSE_FAMILY` names: `ent…` is Enterprise, any other standard.
    pub fn of_family(family: &str) -> Plan {
        match family.to_ascii_lowercase().starts_with("ent") {
            true => Plan::Enterprise,
            false => Plan::Standard,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Plan::Standard => "standard",
            Plan::Enterprise => "enterprise",
        }
    }
}

/// How long a learned `LICENSE_FAMILY` is trusted before `app.info` is asked again.
pub const PLAN_TTL: f64 = 86_400.0;

/// The plan a learned `LICENSE_FAMILY` names, while it is fresh.
pub fn cached_plan(state: &State, now: f64) -> Option<(Plan, String)> {
    let (family, at) = state.family.as_ref()?;
    (now - at < PLAN_TTL && now >= *at).then(|| (Plan::of_family(family), family.clone()))
}

/// Whether the learned `LICENSE`, while fresh, names a self-hosted portal.
pub fn cached_selfhosted(state: &State, now: f64) -> bool {
    cached_plan(state, now).is_some()
        && state
            .license
            .as_ref()
            .is_some_and(|l| l.to_ascii_lowercase().contains("selfhosted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        assert_eq!(Plan::Enterprise.limits(), (5.0, 250));
        assert_eq!(Plan::Standard.limits(), (2.0, 50));
        assert_eq!(Plan::of_family("ent"), Plan::Enterprise);
        assert_eq!(Plan::of_family("project"), Plan::Standard);
    }

    #[test]
    fn a_learned_plan_is_trusted_for_a_day() {
        let mut s = State::default();
        assert!(cached_plan(&s, 100.0).is_none());
        s.family = Some(("ent".into(), 100.0));
        assert_eq!(cached_plan(&s, 200.0).unwrap().0, Plan::Enterprise);
        assert!(cached_plan(&s, 100.0 + PLAN_TTL).is_none());
    }
}
