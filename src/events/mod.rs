/*!
An app's events, end to end: the portal's offline queue pulled at least once ([`pull`]), the
online events `serve` receives and believes only from a proven sender ([`receive`], [`serve`]),
where accepted events wait ([`backlog`]: `serve`'s [`journal`], or the store's queue with its
[`claims`]; the [`spool`] of pulled batches and failed events), the [`dispatcher`] that hands
them to the handler command ([`exec`]) with their retries, the [`failed`] ones listed and
retried, and an orderly stop ([`stop`]).

One direction inside: `serve` → `installs` (the install callbacks, per portal), `receive` →
`journal` → `spool`/`exec`; `pull` → `spool`/`exec`.
*/

pub(crate) mod backlog;
pub(crate) mod claims;
pub(crate) mod dispatcher;
pub(crate) mod exec;
pub(crate) mod failed;
pub(crate) mod installs;
pub(crate) mod journal;
pub(crate) mod pull;
pub(crate) mod receive;
pub(crate) mod serve;
pub(crate) mod spool;
pub(crate) mod stop;
