/*!
Calling Bitrix24 REST methods with a stored authorization, one file per concern:

- [`caller`]: one POST with `auth`, the refresh on a refused token, and the caller shared by
  the requests one command keeps in flight;
- [`retry`]: what may be repeated (reads; writes only on an answer that proves they did not
  run), and when;
- [`rename`]: a renamed portal's 302 and where the token may follow it;
- [`rate`]: the request bucket shared by every b24auth on the host, the operating-time
  window, the plans;
- [`batch`]: many calls packed into one Bitrix24 `batch` request, and its answer split back;
  [`php_query`]: a call's parameters as PHP brackets;
- [`lines`]: `b24auth batch`'s input lines sent 50 per request, one outcome per line;
- [`export`]: `call --all`, by `start=` or by ID, into an ordered sink;
- [`v3`]: REST 3.0's address, error shape and `Idempotency-Key`;
- [`webhook`]: an incoming webhook's one `profile` call before `import --webhook` saves it;
- [`list_items`]: the items of a list method's answer; [`params`]: `key=value` pairs as JSON.
*/

pub(crate) mod batch;
mod caller;
pub(crate) mod export;
pub(crate) mod lines;
mod list_items;
mod params;
mod php_query;
pub(crate) mod rate;
mod rename;
mod retry;
pub(crate) mod v3;
pub(crate) mod webhook;

pub(crate) use caller::Caller;
pub(crate) use params::pairs_to_json;
