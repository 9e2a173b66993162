/*!
`b24auth batch`'s flow ([`answer_stdin`]): stdin's lines read in chunks, each chunk of up to 50
parsed lines sent as one `batch` request (REST 3.0 lines each on their own) with up to
`--concurrency` chunks in flight, and one outcome per line written back in input order: an
invalid line, a command `--halt` kept from running, or the portal's answer.
*/

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{anyhow, Result};
use futures_util::stream::{self, StreamExt};
use serde_json::{Map, Value};
use tokio::io::{BufReader, Stdin};

use super::batch::{self, valid_method, CommandResult, MAX_COMMANDS};
use super::{v3, Caller};
use crate::ui::input::LINE_LIMIT;
use crate::ui::Ui;

/// One input line: its number, and its command or why it is not one.
pub(crate) struct InputLine {
    pub line: usize,
    pub command: Result<Line, String>,
}

/// Sends the chunk's valid commands in one `batch` (with `halt`, only those before the first
/// invalid line), each REST 3.0 line on its own, and returns an outcome per entry.
pub(crate) async fn run_chunk(
    caller: &Caller<'_>,
    chunk: &[InputLine],
    halt: bool,
) -> Result<Vec<CommandResult>> {
    let sendable = match halt {
        true => chunk.iter().take_while(|e| e.command.is_ok()).count(),
        false => chunk.len(),
    };
    let commands: Vec<String> = chunk[..sendable]
        .iter()
        .filter_map(|e| e.command.as_ref().ok())
        .filter(|line| !line.v3)
        .map(|line| batch::command(&line.method, &line.params))
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
            Err(why) => CommandResult::Failed {
                error: "INVALID_LINE".into(),
                description: format!("stdin line {}: {why}", entry.line),
            },
            Ok(_) if i >= sendable => CommandResult::NotRun,
            Ok(line) if line.v3 && halt && outcomes.iter().any(failed) => CommandResult::NotRun,
            Ok(line) if line.v3 => v3::outcome(caller.call_v3(&line.method, &line.params).await),
            Ok(_) => answered.next().unwrap_or(CommandResult::NotRun),
        });
    }
    Ok(outcomes)
}

fn failed(outcome: &CommandResult) -> bool {
    !matches!(outcome, CommandResult::Done { .. })
}

/// Stdin as it is read: its lines and how many have been read.
struct Input {
    lines: BufReader<Stdin>,
    read: usize,
}

/// `batch`'s run: stdin's lines read in chunks of 50 while up to `--concurrency` chunks are in
/// flight ([`run_chunk`]); the outcomes written to `out` in input order, one JSON line each.
/// `halt`: stop at the first failure (one request at a time then, so nothing after it runs).
pub(crate) async fn answer_stdin(
    caller: &Caller<'_>,
    halt: bool,
    ui: &Ui,
    out: &mut impl Write,
) -> Result<()> {
    let in_flight = match halt {
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
    let answered = chunks
        .map(|chunk| async move {
            let chunk = chunk?;
            let outcomes = run_chunk(caller, &chunk, halt).await;
            stop.fetch_or(outcomes.is_err(), Ordering::Relaxed);
            Ok((chunk, outcomes))
        })
        .buffered(in_flight);
    let mut answered = std::pin::pin!(answered);
    let mut report = Report::default();
    let progress = crate::ui::progress::Progress::on_terminal(ui, "commands", None);
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
        report.write(out, &chunk, outcomes, halt)?;
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
    /// A chunk's outcomes, one JSON line each; with `halt`, the first failure ends the run.
    fn write(
        &mut self,
        out: &mut impl Write,
        chunk: &[InputLine],
        outcomes: Vec<CommandResult>,
        halt: bool,
    ) -> Result<()> {
        for (entry, outcome) in chunk.iter().zip(outcomes) {
            if matches!(outcome, CommandResult::NotRun) && halt {
                break;
            }
            serde_json::to_writer(&mut *out, &outcome.to_line())?;
            out.write_all(b"\n")?;
            if let CommandResult::Failed { error, description } = &outcome {
                self.failed += 1;
                if halt && self.error.is_none() {
                    out.flush()?;
                    return Err(anyhow!(
                        "line {} failed: {error}: {description}; --halt stopped there",
                        entry.line
                    ));
                }
            }
        }
        Ok(())
    }

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
            command: parse_line(&line),
        });
    }
    Ok(chunk)
}

/// One input line of `b24auth batch`: a method, its parameters, and whether it is a REST 3.0
/// call (sent on its own, not in a `batch`).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub method: String,
    pub params: Map<String, Value>,
    pub v3: bool,
}

/// One input line of `b24auth batch`: `{"method": …, "params": {…}}` (with `"v3": true` for
/// REST 3.0) or `[method, params]`.
pub fn parse_line(line: &str) -> Result<Line, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON ({e})"))?;
    let (method, params) = match &v {
        Value::Object(o) => (o.get("method"), o.get("params")),
        Value::Array(a) if (1..=2).contains(&a.len()) => (a.first(), a.get(1)),
        _ => return Err("expected {\"method\": …, \"params\": {…}} or [method, params]".into()),
    };
    let method = method
        .and_then(Value::as_str)
        .filter(|m| valid_method(m))
        .ok_or("the method must be a name like crm.deal.list")?;
    let params = match params {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => return Err("params must be a JSON object".into()),
    };
    let v3 = match v.get("v3") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(_) => return Err("v3 must be true or false".into()),
    };
    Ok(Line {
        method: method.to_string(),
        params,
        v3,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn batch_input_lines() {
        let line = |method: &str, params: Map<String, Value>, v3| Line {
            method: method.into(),
            params,
            v3,
        };
        assert_eq!(
            parse_line(r#"{"method": "crm.deal.get", "params": {"id": 1}}"#),
            Ok(line("crm.deal.get", obj(json!({"id": 1})), false))
        );
        assert_eq!(
            parse_line(r#"["user.current"]"#),
            Ok(line("user.current", Map::new(), false))
        );
        assert_eq!(
            parse_line(r#"{"method": "tasks.task.get", "params": {"id": 1}, "v3": true}"#),
            Ok(line("tasks.task.get", obj(json!({"id": 1})), true))
        );
        assert!(parse_line(r#"{"method": "tasks.task.get", "v3": "yes"}"#).is_err());
        for bad in [
            "nope",
            "1",
            r#"{"method": "a?b=1"}"#,
            r#"["x", 1]"#,
            r#"{"params": {}}"#,
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
    }
}
