/*!
One module per subcommand, each a thin script over the store, the OAuth client and the UI.
*/

pub mod generate;
pub mod refresh;
pub mod show;
pub mod token;
