/*!
One module per subcommand, each a thin script over the session (the token lifecycle and the
store), the OAuth and REST clients and the UI. Nothing here is imported by the layers below.
*/

pub(crate) mod authorize;
pub(crate) mod batch;
pub(crate) mod call;
pub(crate) mod events;
pub(crate) mod exec;
pub(crate) mod forget;
pub(crate) mod generate;
pub(crate) mod import;
pub(crate) mod install_listen;
pub(crate) mod list;
pub(crate) mod refresh;
pub(crate) mod serve;
pub(crate) mod setup;
pub(crate) mod show;
pub(crate) mod store_copy;
pub(crate) mod token;
