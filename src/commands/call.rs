/*!
`b24auth call METHOD [KEY=VALUE | KEY:=JSON …]`: a REST call with the stored authorization,
printed as JSON (`--v3`: on REST 3.0); `--all` reads every page (`rest/export/`) under the rate
limit.
*/

use std::io::{IsTerminal, Write};

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};

use crate::cli::CallArgs;
use crate::exit;
use crate::rest::export::{self, Sink};
use crate::rest::{pairs_to_json, Caller};
use crate::session::config::RunConfig;
use crate::session::Session;
use crate::ui::{self, input};

pub(crate) async fn run(s: &Session, args: &CallArgs) -> Result<()> {
    let mut params = match &args.data {
        Some(data) => read_data(data)?,
        None => Map::new(),
    };
    params.extend(pairs_to_json(&args.pairs)?);
    let caller = Caller::new(s, args.limit.options(), args.all).await?;
    if args.all {
        call_all(&s.cfg, &caller, args, params).await
    } else {
        let response = match args.v3 {
            true => caller.call_v3(&args.method, &params).await?,
            false => caller.call(&args.method, &params).await?,
        };
        let shown = match args.result {
            true => response.get("result").cloned().unwrap_or(Value::Null),
            false => Value::Object(response),
        };
        print(&shown)
    }
}

/// Every page of a list method (see `rest/export/`), as JSON lines or one array.
async fn call_all(
    cfg: &RunConfig,
    caller: &Caller<'_>,
    args: &CallArgs,
    params: Map<String, Value>,
) -> Result<()> {
    // Not over the items themselves when they go to the same terminal.
    let progress =
        !cfg.ui.is_quiet() && ui::stderr_is_terminal() && !std::io::stdout().is_terminal();
    let mut sink = Sink::new(args.array, progress);
    let done = match args.by_id {
        true => export::by_id(caller, &args.method, params, &mut sink).await,
        false => export::by_start(caller, &args.method, params, &mut sink).await,
    };
    // An array is closed only when every item is in it: a half export is no valid array.
    match done {
        Ok(()) => sink.finish(),
        Err(e) => {
            sink.abandon();
            Err(e)
        }
    }
}

/// The parameters of `--data`: the argument, `@FILE` or `@-` (stdin), a JSON object.
pub fn read_data(data: &str) -> Result<Map<String, Value>> {
    let bytes = match data.strip_prefix('@') {
        Some("-") => input::read_stdin(input::DATA_LIMIT, "--data @- (stdin)")?,
        Some(path) => input::read_file(
            std::path::Path::new(path),
            input::DATA_LIMIT,
            &format!("--data file {path}"),
        )?,
        None => data.as_bytes().to_vec(),
    };
    let text = String::from_utf8(bytes).map_err(|_| exit::usage("--data is not UTF-8 text"))?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(exit::usage("--data must be a JSON object")),
        Err(e) => Err(exit::usage(format!("--data is not valid JSON ({e})"))),
    }
}

/// Pretty for people on a terminal, one compact line for scripts.
fn print(value: &Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let text = if std::io::stdout().is_terminal() {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .map_err(|e| anyhow!("cannot print the answer ({e})"))?;
    writeln!(out, "{text}")?;
    Ok(())
}
