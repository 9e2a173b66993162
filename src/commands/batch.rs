/*!
`b24auth batch`: REST calls read as JSON lines on stdin (`{"method": …, "params": {…}}` or
`[method, params]`), sent 50 per `batch` request under the portal's pace with up to
`--concurrency` requests in flight, answered with one JSON line per input line in input order:
`{"result": …}` (with `total`/`next` for list methods) or `{"error": …, "error_description": …}`.
Blank lines are skipped. `--halt` stops at the first failure (one request at a time then, so
nothing after it runs); exit 1 when any command failed, after all output.
*/

use std::io::BufWriter;

use anyhow::Result;

use crate::cli::BatchArgs;
use crate::rest::lines;
use crate::rest::Caller;
use crate::session::Session;

/// Flags -> the flow ([`lines::answer_stdin`]), its lines on stdout.
pub(crate) async fn run(s: &Session, args: &BatchArgs) -> Result<()> {
    let caller = Caller::new(s, args.limit.options(), true).await?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    lines::answer_stdin(&caller, args.halt, &s.cfg.ui, &mut out).await
}
