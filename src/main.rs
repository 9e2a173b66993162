use clap::Parser;

fn main() {
    b24auth::cli::unset_empty_env();
    let cli = b24auth::cli::Cli::try_parse().unwrap_or_else(|e| b24auth::cli::exit_on(e));
    if let Err(err) = b24auth::run(cli) {
        // One line, whatever the causes' own formatting.
        let msg = format!("{err:#}").replace('\n', " ");
        eprintln!("b24auth: error: {msg}");
        std::process::exit(b24auth::exit::code_of(&err) as i32);
    }
}
