use clap::Parser;

fn main() {
    let cli = b24auth::cli::Cli::parse();
    if let Err(err) = b24auth::run(cli) {
        eprintln!("b24auth: error: {err:#}");
        std::process::exit(b24auth::exit::code_of(&err) as i32);
    }
}
