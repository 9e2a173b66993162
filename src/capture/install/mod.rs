/*!
The installation callback, from the request to the durable save.

- [`verify`]: what the trusted OAuth server says about a callback (pure checks, `app.info`, the
  proving refresh).
- [`candidates`]: what a pair is worth while the listener waits on.
- [`saver`]: saves one pair at a time, durably, before any answer goes out.
- [`handler`]: the HTTP side: parses the callback and answers with the saver's word.
- [`flow`]: `install-listen`'s run: listener, handler and saver side by side.
*/

pub(crate) mod candidates;
pub(crate) mod flow;
pub(crate) mod handler;
pub(crate) mod saver;
pub(crate) mod verify;

pub(crate) use verify::*;
