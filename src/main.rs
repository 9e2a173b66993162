fn main() {
    b24auth::cli::unset_empty_env();
    let cli = b24auth::cli::Cli::parse_args();
    std::process::exit(b24auth::run(cli));
}
