/*!
One `batch` request of an export, and the most pages any export follows.
*/

use anyhow::Result;

use crate::rest::batch::{self, CommandResult};
use crate::rest::Caller;

/// The most pages any export follows (5,000,000 items at 50 a page): a portal whose list never
/// ends stops with an error instead of running forever.
pub const MAX_PAGES: usize = 100_000;

/// Sends one `batch` and returns each command's outcome, in order (the caller stops at the
/// first failed one, after writing the pages before it).
pub async fn run_batch(
    caller: &Caller<'_>,
    commands: &[String],
    halt: bool,
) -> Result<Vec<CommandResult>> {
    let answer = caller
        .call("batch", &batch::request(commands, halt))
        .await?;
    batch::outcomes(answer, commands.len(), halt, &caller.secrets())
}
