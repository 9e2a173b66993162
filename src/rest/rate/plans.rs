/*!
The portal's plans: how fast each plan's request bucket drains and how much it holds, and which
plan `app.info`'s `LICENSE_FAMILY` names.
*/

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
}
