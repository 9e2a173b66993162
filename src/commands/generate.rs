/*!
`b24auth completions SHELL` and `b24auth man`: generated from the clap definition, so they
never drift from it (the files in `completions/` are checked against this output by a test).
*/

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "b24auth",
        &mut std::io::stdout(),
    );
    Ok(())
}

pub fn man() -> Result<()> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(())
}
