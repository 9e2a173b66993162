use clap::Parser;

fn main() {
    let cli = b24auth::cli::Cli::parse();
    if let Err(err) = b24auth::run(cli) {
        // One line, whatever the causes' own formatting.
        // Control characters a server put in its text never reach the terminal.
        let msg = b24auth::boundary::strip_controls(&format!("{err:#}"));
        eprintln!("b24auth: error: {msg}");
        std::process::exit(b24auth::exit::code_of(&err) as i32);
    }
}
