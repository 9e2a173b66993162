/*!
`b24auth completions SHELL` and `b24auth man`: generated from the clap definition, so they
never drift from it (the files in `completions/` are checked against this output by a test).
*/

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;

/// Generated into memory first: clap_complete panics on a failed write, and a closed pipe
/// must end quietly instead.
pub(crate) fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "b24auth", &mut text);
    std::io::stdout().lock().write_all(&text)?;
    Ok(())
}

pub(crate) fn man() -> Result<()> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout().lock())?;
    Ok(())
}
