/*!
b24auth: get and keep Bitrix24 OAuth 2.0 tokens for local applications.

[`run`] dispatches one subcommand. A token travels one road: the listener or the OAuth client
makes a [`profile::Profile`], and the [`store::Store`] keeps it.
*/

pub mod address;
pub mod cli;
pub mod commands;
pub mod context;
pub mod exit;
pub mod hint;
pub mod listener;
pub mod log;
pub mod man;
pub mod oauth;
pub mod pages;
pub mod profile;
pub mod redirect;
pub mod rest;
pub mod secret;
pub mod store;
pub mod ui;

use cli::{Cli, Command};
use context::Context;

pub fn run(cli: Cli) -> anyhow::Result<()> {
    log::init(cli.global.verbose);
    let ctx = Context::new(cli.global)?;
    match cli.command {
        Command::InstallListen(args) => commands::install_listen::run(&ctx, &args),
        Command::Authorize(args) => commands::authorize::run(&ctx, &args),
        Command::Refresh(args) => commands::refresh::run(&ctx, &args),
        Command::Show(args) => commands::show::run(&ctx, &args),
        Command::Token(args) => commands::token::run(&ctx, &args),
        Command::Call(args) => commands::call::run(&ctx, &args),
        Command::Exec(args) => commands::exec::run(&ctx, &args),
        Command::List(args) => commands::list::run(&ctx, &args),
        Command::Forget(args) => commands::forget::run(&ctx, &args),
        Command::Store {
            action: cli::StoreCommand::Copy(args),
        } => commands::store_copy::run(&ctx, &args),
        Command::Completions { shell } => commands::generate::completions(shell),
        Command::Man { dir } => commands::generate::man(dir.as_deref()),
    }
}
