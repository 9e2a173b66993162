/*!
`b24auth batch`: REST calls read as JSON lines on stdin (`{"method": …, "params": {…}}` or
`[method, params]`), sent 50 per `batch` request under the portal's pace with up to
`--concurrency` requests in flight, answered with one JSON line per input line in input order:
`{"result": …}` (with `total`/`next` for list methods) or `{"error": …, "error_description": …}`.
Blank lines are skipped. `--halt` stops at the first failure (one request at a time then, so
nothing after it runs); exit 1 when any command failed, after all output.
*/

use std::io::{BufWriter, Write};

use anyhow::{anyhow, Result};
use futures_util::stream::{self, TryStreamExt};
use serde_json::{Map, Value};
use tokio::io::{BufReader, Stdin};

use crate::cli::BatchArgs;
use crate::rest::batch::{self, Outcome, MAX_COMMANDS};
use crate::rest::Caller;
use crate::session::Session;
use crate::ui::input::LINE_LIMIT;

/// One input line: its number, and its command or why it is not one.
struct Entry {
    line: usize,
    command: Result<(String, Map<String, Value>), String>,
}

/// Stdin as it is read: its lines and how many have been read.
struct Input {
    lines: BufReader<Stdin>,
    read: usize,
}

pub(crate) async fn run(s: &Session, args: &BatchArgs) -> Result<()> {
    let caller = Caller::new(s, args.limit.options(), true).await?;
    let in_flight = match args.halt {
        true => 1,
        false => caller.concurrency(),
    };
    let input = Input {
        lines: BufReader::new(tokio::io::stdin()),
        read: 0,
    };
    let chunks = stream::try_unfold(input, |mut input| async move {
        let chunk = read_chunk(&mut input).await?;
        Ok::<_, anyhow::Error>((!chunk.is_empty()).then_some((chunk, input)))
    });
    let caller = &caller;
    let answered = chunks
        .map_ok(|chunk| async move {
            let outcomes = run_chunk(caller, &chunk, args.halt).await?;
            Ok::<_, anyhow::Error>((chunk, outcomes))
        })
        .try_buffered(in_flight);
    let mut answered = std::pin::pin!(answered);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let (mut count, mut failed) = (0usize, 0usize);
    while let Some((chunk, outcomes)) = answered.try_next().await? {
        count += chunk.len();
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
async fn read_chunk(input: &mut Input) -> Result<Vec<Entry>> {
    let mut chunk = Vec::new();
    while chunk.len() < MAX_COMMANDS {
        let what = format!("stdin line {}", input.read + 1);
        let line = crate::ui::input::next_line(&mut input.lines, LINE_LIMIT, &what).await?;
        let Some(line) = line else {
            break;
        };
        input.read += 1;
        if line.trim().is_empty() {
            continue;
        }
        chunk.push(Entry {
            line: input.read,
            command: batch::parse_line(&line),
        });
    }
    Ok(chunk)
}

/// Sends the chunk's valid commands in one `batch` (with `halt`, only those before the first
/// invalid line) and returns an outcome per entry.
async fn run_chunk(caller: &Caller<'_>, chunk: &[Entry], halt: bool) -> Result<Vec<Outcome>> {
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
            batch::outcomes(answer, commands.len(), halt, &caller.secrets())?
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
