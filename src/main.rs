use clap::Parser;

fn main() {
    let cli = b24auth::cli::Cli::parse();
    std::process::exit(b24auth::run(cli));
}
