/*!
Where an export's items go: JSON lines on stdout, or one JSON array written as it comes; and,
for `--by-id`'s ranges read side by side, the order they are written in (the first unfinished
range writes through, the ones ahead of it spill to unlinked temp files).
*/

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, StdoutLock, Write};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::rest::list_items::{as_u64, count};

/// Items as the JSON lines they are written as, and how many.
#[derive(Default)]
pub struct Chunk {
    pub lines: Vec<u8>,
    pub count: usize,
}

impl Chunk {
    pub fn of(items: Vec<Value>, shown: impl Fn(Value) -> Value) -> Result<Chunk> {
        let mut chunk = Chunk::default();
        for item in items {
            serde_json::to_writer(&mut chunk.lines, &shown(item))?;
            chunk.lines.push(b'\n');
            chunk.count += 1;
        }
        Ok(chunk)
    }
}

/// Where the items go: JSON lines on stdout, or one JSON array written as it comes.
pub struct Sink<'a> {
    out: BufWriter<StdoutLock<'a>>,
    array: bool,
    progress: crate::ui::progress::Progress,
    seen: usize,
}

impl Sink<'_> {
    pub fn new(array: bool, progress: bool) -> Sink<'static> {
        Sink {
            out: BufWriter::with_capacity(64 * 1024, std::io::stdout().lock()),
            array,
            progress: crate::ui::progress::Progress::new(progress, "items", None),
            seen: 0,
        }
    }

    /// Writes a chunk's items; on a terminal, shows how far it got.
    pub fn write(&mut self, chunk: &Chunk, total: Option<&Value>) -> Result<()> {
        for line in chunk.lines.split_inclusive(|b| *b == b'\n') {
            self.line(line)?;
        }
        self.out.flush()?;
        if let Some(t) = count(total).and_then(as_u64) {
            self.progress.set_total(t);
        }
        self.progress.set_position(self.seen as u64);
        Ok(())
    }

    /// One item's line (with its newline).
    fn line(&mut self, line: &[u8]) -> Result<()> {
        if self.array {
            self.out
                .write_all(if self.seen == 0 { b"[" } else { b"," })?;
            self.out
                .write_all(line.strip_suffix(b"\n").unwrap_or(line))?;
        } else {
            self.out.write_all(line)?;
        }
        self.seen += 1;
        Ok(())
    }

    /// Copies a spool file's lines out.
    pub fn drain(&mut self, spool: File) -> Result<()> {
        let mut reader = BufReader::with_capacity(64 * 1024, spool);
        reader.rewind()?;
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line)? > 0 {
            self.line(&line)?;
            line.clear();
        }
        self.out.flush()?;
        self.progress.set_position(self.seen as u64);
        Ok(())
    }

    /// Clears the progress line after a failure (the items written so far stay written).
    pub fn abandon(mut self) {
        self.progress.finish();
        let _ = self.out.flush();
    }

    /// Clears the progress line and closes the array.
    pub fn finish(mut self) -> Result<()> {
        self.progress.finish();
        if self.array {
            self.out
                .write_all(if self.seen == 0 { b"[]\n" } else { b"]\n" })?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// Chains' output in range order: the first unfinished range writes through, the others
/// spill to unlinked temp files until their turn.
pub struct Ordered<'s, 'a> {
    sink: &'s mut Sink<'a>,
    current: usize,
    done: Vec<bool>,
    spools: Vec<Option<File>>,
}

impl<'s, 'a> Ordered<'s, 'a> {
    pub fn new(sink: &'s mut Sink<'a>, n: usize) -> Ordered<'s, 'a> {
        Ordered {
            sink,
            current: 0,
            done: vec![false; n],
            spools: (0..n).map(|_| None).collect(),
        }
    }

    pub fn emit(&mut self, i: usize, chunk: Chunk) -> Result<()> {
        if i == self.current {
            return self.sink.write(&chunk, None);
        }
        let spool = match &mut self.spools[i] {
            Some(f) => f,
            empty => empty.insert(
                tempfile::tempfile().context("cannot create a temp file for --by-id's ranges")?,
            ),
        };
        spool
            .write_all(&chunk.lines)
            .context("cannot spill --by-id's ranges to a temp file")
    }

    /// Range `i` has ended: the next ones take their turn, their spills copied out first.
    pub fn finished(&mut self, i: usize) -> Result<()> {
        self.done[i] = true;
        while self.current < self.done.len() && self.done[self.current] {
            self.current += 1;
            if let Some(spool) = self.spools.get_mut(self.current).and_then(Option::take) {
                self.sink.drain(spool)?;
            }
        }
        Ok(())
    }
}
