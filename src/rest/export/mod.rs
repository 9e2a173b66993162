/*!
`call --all` ([`by_start`], [`by_id`]) into an ordered [`sink`]: reading every item of a list method with as few requests as Bitrix24 allows and
as many in flight as the portal serves side by side (`--concurrency`), writing them in order as
they come.

- By `start=` (the default): the first call learns `total`; the remaining pages go out in
  `batch` requests of up to 50 commands, split so that `--concurrency` of them are in flight
  (a portal runs a batch's commands one after another, but separate requests side by side);
  their answers are written in order. A method that does not say `total` is paged one call at
  a time.
- By ID (`--by-id`): `order[ID]=ASC`, `start=-1` (the portal skips the count), and up to 50
  commands per `batch`, each reading after the last ID of the one before. The first request
  also asks for the highest ID; the IDs between are split into ranges read by parallel chains.
  The first unfinished range writes to stdout; the ones ahead of it spill to unlinked temp
  files, copied out in turn (memory stays at a few batch answers, whatever the table's size).

Every export stops at `send::MAX_PAGES` pages with an error, and no number the portal sends is
used in arithmetic unchecked.
*/

mod by_id;
mod by_start;
mod send;
mod sink;

pub(crate) use by_id::by_id;
pub(crate) use by_start::by_start;
pub(crate) use sink::Sink;
