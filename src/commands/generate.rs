/*!
`b24auth completions SHELL` and `b24auth man`: generated from the clap definition, so they
never drift from it (the files in `completions/` are checked against this output by a test).
*/

use std::io::Write;

use anyhow::{Context as _, Result};
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

/// The main page on stdout; with `--dir`, every page written into DIR.
pub(crate) fn man(dir: Option<&std::path::Path>, ui: &crate::ui::Ui) -> Result<()> {
    let pages = crate::cli::man::pages()?;
    let Some(dir) = dir else {
        std::io::Write::write_all(&mut std::io::stdout(), &pages[0].1)?;
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in &pages {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    ui.info(format_args!(
        "wrote {} man pages to {} ({}, {}, …)",
        pages.len(),
        dir.display(),
        pages[0].0,
        pages.get(1).map_or("", |p| p.0.as_str())
    ));
    Ok(())
}
