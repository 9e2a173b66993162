/*!
How fast b24auth may call a portal: [`pace`] applies the limits below to one process's
requests; [`bucket`] is the request bucket shared by every b24auth on the host (a file per
portal); [`operating`] is the per-method operating-time window; [`plans`] names the bucket's
sizes per plan and remembers the plan learned.
*/

pub(crate) mod bucket;
pub(crate) mod operating;
pub(crate) mod pace;
pub(crate) mod plans;

pub(crate) use bucket::BudgetFile;
pub(crate) use pace::{Pace, PaceOptions, DEFAULT_CONCURRENCY};
pub(crate) use plans::{cached_plan, cached_selfhosted, Plan};
