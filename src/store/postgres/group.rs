/*!
Group commit for the event queue: concurrent callers' rows go to the database in one statement,
so 50 senders cost one commit (one WAL flush) instead of 50 in a row on the one connection.

Whoever finds the writer free takes everything waiting (at most [`GROUP_MAX`]) and writes it;
the others wait for their answer, or for the writer to be free again when their row was not in
that group. No task is spawned (the store lives on the caller's runtime), and a writer that is
dropped mid-write (its request cancelled) only fails the rows it took: the next caller writes on.
*/

use std::future::Future;
use std::sync::Mutex;

use anyhow::{anyhow, Result};
use tokio::sync::oneshot;

/// The most rows one statement takes.
pub(super) const GROUP_MAX: usize = 256;

type Waiting<T> = Vec<(T, oneshot::Sender<Result<(), String>>)>;

pub(super) struct Group<T> {
    waiting: Mutex<Waiting<T>>,
    writer: tokio::sync::Mutex<()>,
}

impl<T> Default for Group<T> {
    fn default() -> Self {
        Group {
            waiting: Mutex::new(Vec::new()),
            writer: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T> Group<T> {
    /// Returns once `item` has been written by `write` (with the items waiting beside it).
    pub async fn submit<F, Fut>(&self, item: T, write: F) -> Result<()>
    where
        F: Fn(Vec<T>) -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let (answer, mut answered) = oneshot::channel();
        self.lock().push((item, answer));
        loop {
            tokio::select! {
                biased;
                got = &mut answered => {
                    return match got {
                        Ok(r) => r.map_err(|e| anyhow!(e)),
                        // Its writer was dropped mid-write: whether the row is kept is unknown.
                        Err(_) => Err(anyhow!("the write was cancelled")),
                    };
                }
                _turn = self.writer.lock() => {
                    let taken: Waiting<T> = {
                        let mut w = self.lock();
                        let n = w.len().min(GROUP_MAX);
                        w.drain(..n).collect()
                    };
                    if taken.is_empty() {
                        continue;
                    }
                    let (items, answers): (Vec<T>, Vec<_>) = taken.into_iter().unzip();
                    let written = write(items).await.map_err(|e| format!("{e:#}"));
                    for a in answers {
                        let _ = a.send(written.clone());
                    }
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting<T>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_rows_share_a_write_and_each_is_answered() {
        let group = Group::<u32>::default();
        let writes = RefCell::new(Vec::new());
        let write = |items: Vec<u32>| {
            writes.borrow_mut().push(items);
            async {
                tokio::task::yield_now().await;
                Ok(())
            }
        };
        let all = futures_util::future::join_all((0..10).map(|i| group.submit(i, write))).await;
        assert!(all.iter().all(|r| r.is_ok()));
        let writes = writes.into_inner();
        let mut rows: Vec<u32> = writes.iter().flatten().copied().collect();
        rows.sort();
        assert_eq!(rows, (0..10).collect::<Vec<_>>());
        assert!(writes.len() < 10, "grouped: {writes:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_write_fails_each_row_it_took() {
        let group = Group::<u32>::default();
        let write = |_: Vec<u32>| async { Err(anyhow!("disk full")) };
        let all = futures_util::future::join_all((0..3).map(|i| group.submit(i, write))).await;
        assert!(all
            .iter()
            .all(|r| r.as_ref().is_err_and(|e| e.to_string() == "disk full")));
    }
}
