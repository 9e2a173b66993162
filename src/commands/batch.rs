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
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::stream::{self, StreamExt};
use tokio::io::{BufReader, Stdin};

use crate::cli::BatchArgs;
use crate::rest::lines::{run_chunk, InputLine};
use crate::rest::packing::{self, CommandResult, MAX_COMMANDS};
use crate::rest::Caller;
use crate::session::Session;
use crate::ui::input::LINE_LIMIT;

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
    let input = Some(Input {
        lines: BufReader::new(tokio::io::stdin()),
        read: 0,
    });
    // Set by a chunk that failed or input that could not be read: nothing more is read, and
    // the chunks already in flight finish and print their lines.
    let stop = &AtomicBool::new(false);
    let chunks = stream::unfold(input, move |input| async move {
        let mut input = input.filter(|_| !stop.load(Ordering::Relaxed))?;
        match read_chunk(&mut input).await {
            Ok(chunk) if chunk.is_empty() => None,
            Ok(chunk) => Some((Ok(chunk), Some(input))),
            Err(e) => Some((Err(e), None)),
        }
    });
    let caller = &caller;
    let answered = chunks
        .map(|chunk| async move {
            let chunk = chunk?;
            let outcomes = run_chunk(caller, &chunk, args.halt).await;
            stop.fetch_or(outcomes.is_err(), Ordering::Relaxed);
            Ok((chunk, outcomes))
        })
        .buffered(in_flight);
    let mut answered = std::pin::pin!(answered);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut report = Report::default();
    let progress = crate::ui::progress::Progress::on_terminal(&s.cfg.ui, "commands", None);
    while let Some(step) = answered.next().await {
        let (chunk, outcomes) = match step {
            Ok(step) => step,
            Err(unreadable) => {
                stop.store(true, Ordering::Relaxed);
                report.note(unreadable);
                continue;
            }
        };
        report.count += chunk.len();
        progress.add(chunk.len() as u64);
        let outcomes = outcomes.unwrap_or_else(|e| report.chunk_failed(&chunk, e));
        for (entry, outcome) in chunk.iter().zip(outcomes) {
            if matches!(outcome, CommandResult::NotRun) && args.halt {
                break;
            }
            serde_json::to_writer(&mut out, &outcome.to_line())?;
            out.write_all(b"\n")?;
            if let CommandResult::Failed { error, description } = &outcome {
                report.failed += 1;
                if args.halt && report.error.is_none() {
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
    progress.finish();
    report.end()
}

/// What a `batch` run has come to: commands answered, failed, and the first request that
/// failed or the input that could not be read.
#[derive(Default)]
struct Report {
    count: usize,
    failed: usize,
    error: Option<anyhow::Error>,
}

impl Report {
    /// Keeps the first error (the ones after it follow from the same cause, or are told by
    /// their lines).
    fn note(&mut self, e: anyhow::Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// A chunk's request failed: an error line for each of its commands, and the error kept
    /// naming the chunk's input lines.
    fn chunk_failed(&mut self, chunk: &[InputLine], e: anyhow::Error) -> Vec<CommandResult> {
        let (first, last) = (chunk[0].line, chunk[chunk.len() - 1].line);
        let description = format!("{e:#}");
        self.note(e.context(format!(
            "the batch request for stdin lines {first}-{last} failed, so nothing after them was read (their outcome is unknown: check them before running them again)"
        )));
        chunk
            .iter()
            .map(|_| CommandResult::Failed {
                error: "REQUEST_FAILED".into(),
                description: description.clone(),
            })
            .collect()
    }

    fn end(self) -> Result<()> {
        match (self.error, self.failed) {
            (Some(e), _) => Err(e),
            (None, 0) => Ok(()),
            (None, n) => Err(anyhow!(
                "{n} of {} commands failed; their output lines say why",
                self.count
            )),
        }
    }
}

/// Up to 50 non-blank input lines.
async fn read_chunk(input: &mut Input) -> Result<Vec<InputLine>> {
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
        chunk.push(InputLine {
            line: input.read,
            command: packing::parse_line(&line),
        });
    }
    Ok(chunk)
}
