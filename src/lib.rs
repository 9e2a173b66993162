/*!
b24auth: get and keep Bitrix24 OAuth 2.0 tokens for local applications.

[`run`] prints a fresh `token` with no runtime at all, else builds the one async runtime and
dispatches one subcommand, and turns the outcome into the process's exit code (the one place that
maps errors to codes: [`exit_code`]). A token travels one path: the listener or the OAuth client makes a
[`profile::Profile`], the [`session::Session`] hands it to the store and refreshes it.
*/

mod bitrix;
mod capture;
pub mod cli;
mod commands;
mod events;
mod exit;
mod profile;
mod rest;
mod secret;
mod session;
mod setup;
mod signals;
mod store;
mod ui;

use std::io::ErrorKind;

use cli::{Cli, Command};
use exit::ExitCode;
use session::config::RunConfig;
use session::Session;

/// Runs one command line and returns the exit code; errors are printed here as one line.
pub fn run(cli: Cli) -> i32 {
    match start(cli) {
        Ok(()) => 0,
        // A reader that went away (`| head -1`) is not an error: end quietly, as ripgrep does.
        Err(err) if is_closed_pipe(&err) => 0,
        Err(err) => {
            // One line, whatever the causes' own formatting.
            // Control characters a server put in its text never reach the terminal.
            let msg = ui::sanitize::strip_controls(&format!("{err:#}"));
            match signals::is_stop(&err) {
                true => eprintln!("b24auth: {msg}"),
                false => eprintln!("b24auth: error: {msg}"),
            }
            exit_code(&err)
        }
    }
}

/// A fresh `token` is printed before anything else exists (no async runtime, no signal
/// handlers, no lock, no network: `$(b24auth token)` must cost about a `cat`); every other run
/// gets the signal handlers, then the runtime.
fn start(cli: Cli) -> anyhow::Result<()> {
    ui::log::init(cli.global.verbose);
    let cfg = cli::resolve::resolve(cli.global)?;
    if let Command::Token(args) = &cli.command {
        if let Some(printed) = commands::token::fresh(&cfg, args) {
            return printed;
        }
    }
    // Before the runtime starts threads of its own: see `signals`.
    signals::install();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::Error::new(e).context("cannot start the async runtime"))?;
    rt.block_on(dispatch(cfg, cli.command))?;
    // A stop deferred by a flow that answered its caller first ends the run here.
    Ok(signals::checkpoint()?)
}

async fn dispatch(cfg: RunConfig, command: Command) -> anyhow::Result<()> {
    let session = || Session::open(cfg.clone());
    match command {
        Command::Completions { shell } => commands::generate::completions(shell),
        Command::Man { dir } => commands::generate::man(dir.as_deref(), &cfg.ui),
        Command::Store {
            action: cli::StoreCommand::Copy(args),
        } => commands::store_copy::run(&cfg, &args).await,
        Command::Setup => commands::setup::run(&cfg).await,
        Command::InstallListen(args) => commands::install_listen::run(&session()?, &args).await,
        Command::Authorize(args) => commands::authorize::run(&session()?, &args).await,
        Command::Refresh(args) => commands::refresh::run(&session()?, &args).await,
        Command::Show(args) => commands::show::run(&session()?, &args).await,
        Command::Token(args) => commands::token::run(&session()?, &args).await,
        Command::Call(args) => commands::call::run(&session()?, &args).await,
        Command::Batch(args) => commands::batch::run(&session()?, &args).await,
        Command::Exec(args) => commands::exec::run(&session()?, &args).await,
        Command::Import(args) => commands::import::run(&session()?, &args).await,
        Command::List(args) => commands::list::run(&session()?, &args).await,
        Command::Forget(args) => commands::forget::run(&session()?, &args).await,
        Command::Events { action } => commands::events::run(&session()?, &action).await,
        Command::Serve(args) => commands::serve::run(&session()?, &args).await,
    }
}

/// The exit code for an error: the first typed cause in its chain decides.
fn exit_code(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<exit::Error>() {
            return e.code();
        }
        if cause.is::<bitrix::errors::ClientRefused>() {
            return ExitCode::Usage as i32;
        }
        if let Some(stop) = cause.downcast_ref::<signals::Stopped>() {
            return stop.code() as i32;
        }
        if let Some(e) = cause.downcast_ref::<bitrix::errors::ServerError>() {
            return if e.code.is_client_refusal() {
                ExitCode::Usage as i32
            } else if e.code.needs_reauthorization() {
                ExitCode::AuthNeeded as i32
            } else {
                ExitCode::Failure as i32
            };
        }
    }
    ExitCode::Failure as i32
}

fn is_closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
    })
}
