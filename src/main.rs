use clap::Parser;

fn main() {
    // Before anything else, while this is the only thread: see `signals`.
    b24auth::signals::install();
    let cli = b24auth::cli::Cli::parse();
    // A stop deferred by a flow that answered its caller first ends the run here.
    let result = b24auth::run(cli).and_then(|()| Ok(b24auth::signals::checkpoint()?));
    if let Err(err) = result {
        // One line, whatever the causes' own formatting.
        let msg = format!("{err:#}").replace('\n', " ");
        if b24auth::signals::is_stop(&err) {
            eprintln!("b24auth: {msg}");
        } else {
            eprintln!("b24auth: error: {msg}");
        }
        std::process::exit(b24auth::exit::code_of(&err) as i32);
    }
}
