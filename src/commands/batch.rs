/*!
`b24auth batch`: REST calls read as JSON lines on stdin (`{"method": …, "params": {…}}` or
`[method, params]`), sent 50 per `batch` request under the rate limiter, answered with one JSON
line per input line in input order: `{"result": …}` (with `total`/`next` for list methods) or
`{"error": …, "error_description": …}`. Blank lines are skipped. `--halt` stops at the first
failure; exit 1 when any command failed, after all output.
*/

use std::io::{BufRead, BufWriter, Write};

use anyhow::{anyhow, Result};
use serde_json::{Map, Value};

use crate::cli::BatchArgs;
use crate::rest::batch::{self, Outcome, MAX_COMMANDS};
use crate::rest::Caller;
use crate::session::Session;

/// One input line: its number, and its command or why it is not one.
struct Entry {
    line: usize,
    command: Result<(String, Map<String, Value>), String>,
}

pub(crate) async fn run(s: &Session, args: &BatchArgs) -> Result<()> {
    let mut caller = Caller::new(s, args.limit.bucket()).await?;
    let mut input = std::io::stdin().lock().lines().enumerate();
    let mut out = BufWriter::new(std::io::stdout().lock());
    let (mut count, mut failed) = (0usize, 0usize);
    loop {
        let chunk = read_chunk(&mut input)?;
        if chunk.is_empty() {
            break;
        }
        count += chunk.len();
        let outcomes = run_chunk(&mut caller, &chunk, args.halt).await?;
        for (entry, outcome) in chunk.iter().zip(outcomes) {
            if matches!(outcome, Outcome::NotRun) && args.halt {
                break;
            }
            serde_json::to_writer(&mut out, &outcome.to_line())?;
            out.write_all(b"\n")?;
            if let Outcome::Failed { error, description } = &outcome {
                failed += 1;
                if args.halt {
                    out.flush()?;
                    return Err(anyhow!(
                        "line {} failed: {error}: {description}; --halt stopped there",
                        entry.line
                    ));
                }
            }
        }
        out.flush()?;
    }
    match failed {
        0 => Ok(()),
        n => Err(anyhow!(
            "{n} of {count} commands failed; their output lines say why"
        )),
    }
}

/// Up to 50 non-blank input lines.
fn read_chunk(
    input: &mut impl Iterator<Item = (usize, std::io::Result<String>)>,
) -> Result<Vec<Entry>> {
    let mut chunk = Vec::new();
    while chunk.len() < MAX_COMMANDS {
        let Some((i, line)) = input.next() else {
            break;
        };
        let line = line.map_err(|e| anyhow!("cannot read stdin ({e})"))?;
        if line.trim().is_empty() {
            continue;
        }
        chunk.push(Entry {
            line: i + 1,
            command: batch::parse_line(&line),
        });
    }
    Ok(chunk)
}

/// Sends the chunk's valid commands in one `batch` (with `halt`, only those before the first
/// invalid line) and returns an outcome per entry.
async fn run_chunk(caller: &mut Caller<'_>, chunk: &[Entry], halt: bool) -> Result<Vec<Outcome>> {
    let sendable = match halt {
        true => chunk.iter().take_while(|e| e.command.is_ok()).count(),
        false => chunk.len(),
    };
    let commands: Vec<String> = chunk[..sendable]
        .iter()
        .filter_map(|e| e.command.as_ref().ok())
        .map(|(m, p)| batch::command(m, p))
        .collect();
    let mut answered = match commands.is_empty() {
        true => Vec::new(),
        false => {
            let answer = caller
                .call("batch", &batch::request(&commands, halt))
                .await?;
            batch::outcomes(answer, commands.len())?
        }
    }
    .into_iter();
    let mut outcomes = Vec::with_capacity(chunk.len());
    for (i, entry) in chunk.iter().enumerate() {
        outcomes.push(match &entry.command {
            Err(why) => Outcome::Failed {
                error: "INVALID_LINE".into(),
                description: format!("stdin line {}: {why}", entry.line),
            },
            Ok(_) if i >= sendable => Outcome::NotRun,
            Ok(_) => answered.next().unwrap_or(Outcome::NotRun),
        });
    }
    Ok(outcomes)
}
