/*!
An app's events, end to end: the portal's offline queue pulled at least once ([`pull`]), the
online events `serve` receives and believes only from a proven sender ([`receive`], [`serve`]),
the spool that keeps every event until its handler is done ([`queue`]), and the handler runs
with their retries ([`dispatch`]).

One direction inside: `serve` → `installs` (the install callbacks, per portal), `receive` →
`queue`/`dispatch`; `pull` → `queue`/`dispatch`.
*/

pub(crate) mod backlog;
pub(crate) mod claims;
pub(crate) mod dispatch;
pub(crate) mod dispatcher;
pub(crate) mod installs;
pub(crate) mod pull;
pub(crate) mod queue;
pub(crate) mod receive;
pub(crate) mod serve;
pub(crate) mod stop;
