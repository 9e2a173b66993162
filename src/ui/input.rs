/*!
Input b24auth reads whole into memory (`import FILE`, `call --data @FILE`, stdin), with a size
limit each, documented in the commands' help: a file must be a regular file (a FIFO would block forever,
`/dev/zero` never ends), and stdin is read up to its limit and refused beyond it.
*/

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{anyhow, Result};

/// `import`'s file or stdin: a pair file is a few KiB.
pub const PAIR_LIMIT: u64 = 1024 * 1024;
/// `call --data @FILE` / `@-`: a REST request's parameters.
pub const DATA_LIMIT: u64 = 64 * 1024 * 1024;
/// `token --rejected -`: one token.
pub const TOKEN_LIMIT: u64 = 64 * 1024;
/// One `batch` line on stdin: one command and its parameters. Up to 50 lines per request and
/// `--concurrency` requests are held at once, so a line is kept small.
pub const LINE_LIMIT: u64 = 1024 * 1024;

/// The next line of `reader` without its line break, `None` at the end; a line longer than
/// `limit` bytes is refused (an endless line would otherwise grow without bound).
pub async fn next_line<R>(reader: &mut R, limit: u64, what: &str) -> Result<Option<String>>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut buf = Vec::new();
    let n = reader
        .take(limit + 1)
        .read_until(b'\n', &mut buf)
        .await
        .map_err(|e| anyhow!("cannot read {what} ({e})"))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() as u64 > limit {
        return Err(too_large(what, limit));
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| crate::exit::usage(format!("{what} is not UTF-8 text")))
}

/// Reads `path` (a regular file) whole, refusing it beyond `limit` bytes; `what` names it in
/// errors ("--data file x.json").
pub fn read_file(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    // Non-blocking open: a FIFO with no writer would otherwise hang here, before any check.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| anyhow!("cannot read {what}: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| anyhow!("cannot read {what}: {e}"))?;
    if !meta.is_file() {
        return Err(crate::exit::usage(format!(
            "{what} is not a regular file (a FIFO, device or directory): pass a regular file, or pipe it through stdin"
        )));
    }
    if meta.len() > limit {
        return Err(too_large(what, limit));
    }
    read_bounded(file, limit, what)
}

/// Reads stdin to its end, refusing it beyond `limit` bytes.
pub fn read_stdin(limit: u64, what: &str) -> Result<Vec<u8>> {
    read_bounded(std::io::stdin().lock(), limit, what)
}

fn read_bounded(source: impl Read, limit: u64, what: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    // A regular file never answers EAGAIN, even opened non-blocking; stdin blocks as usual.
    source
        .take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| anyhow!("cannot read {what}: {e}"))?;
    if buf.len() as u64 > limit {
        return Err(too_large(what, limit));
    }
    Ok(buf)
}

fn too_large(what: &str, limit: u64) -> anyhow::Error {
    crate::exit::usage(format!(
        "{what} is larger than {} (b24auth's limit for it); nothing was used",
        human(limit)
    ))
}

fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{} MiB", n >> 20),
        n => format!("{} KiB", n >> 10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_fifos_are_refused_at_once() {
        let e = read_file(Path::new("/dev/zero"), PAIR_LIMIT, "the file /dev/zero").unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let dir =
            std::env::temp_dir().join(format!("b24auth-fifo-{}", crate::secret::random_hex(6)));
        std::fs::create_dir(&dir).unwrap();
        let fifo = dir.join("f");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_file(&fifo, PAIR_LIMIT, "the file f").unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stream_beyond_the_limit_is_refused() {
        let e = read_bounded(std::io::repeat(0), 1024, "stdin").unwrap_err();
        assert!(e.to_string().contains("larger than 1 KiB"), "{e}");
        assert_eq!(read_bounded(&b"{}"[..], 1024, "stdin").unwrap(), b"{}");
    }
}
