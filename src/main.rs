fn main() {
    let cli = b24auth::cli::Cli::parse_args();
    if let Err(err) = b24auth::run(cli) {
        // One line, whatever the causes' own formatting.
        let msg = format!("{err:#}").replace('\n', " ");
        eprintln!("b24auth: error: {msg}");
        std::process::exit(b24auth::exit::code_of(&err) as i32);
    }
}
