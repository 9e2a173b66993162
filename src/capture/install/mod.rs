/*!
The installation callback, from the request to the durable save.

- [`request`]: either install form read into Bitrix24's `auth` fields, nothing else.
- [`verify`]: what the trusted OAuth server says about a callback (pure checks, `app.info`);
  the proving refresh is `session/proof.rs`'s.
- [`candidates`]: what a pair is worth while the listener waits on.
- [`saver`]: saves one pair at a time, durably, before any answer goes out.
- [`handler`]: the HTTP side: both install forms (the server's POST of a "Uses API only" app,
  the form POST into a frame of an app with a UI), answered with the saver's word.
- [`page`]: the page that answers the frame form and calls `BX24.installFinish()`.
- [`flow`]: `install-listen`'s run: listener, handler and saver side by side.
*/

pub(crate) mod candidates;
pub(crate) mod flow;
pub(crate) mod handler;
pub(crate) mod page;
pub(crate) mod request;
pub(crate) mod saver;
pub(crate) mod verify;
