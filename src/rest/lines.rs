/*!
`batch`'s input lines sent to the portal: a chunk of up to 50 parsed lines goes out as one
`batch` request (REST 3.0 lines each on their own), and comes back as one outcome per line, in
order: an invalid line, a command `--halt` kept from running, or the portal's answer.
*/

use anyhow::Result;

use super::packing::{self, CommandResult, Line};
use super::{v3, Caller};

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
        .map(|line| packing::command(&line.method, &line.params))
        .collect();
    let mut answered = match commands.is_empty() {
        true => Vec::new(),
        false => {
            let answer = caller
                .call("batch", &packing::request(&commands, halt))
                .await?;
            packing::outcomes(answer, commands.len(), halt, &caller.secrets())?
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
