//! The future type and the combinators every layer shares: boxing, overlapping a statement
//! with drawing the next rows, and yielding between chunks.
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::Poll;

/// A boxed future that may cross threads, as `tokio::spawn` wants.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Polls `send` once, which sends its statement (sqlx writes and flushes it, or hands it to
/// SQLite's worker thread, before its first wait), runs `meanwhile` (drawing the next rows),
/// then waits for `send`: the database works while the rows are drawn. Dropped, it drops
/// `send` as an `.await` on it would be dropped.
///
/// `meanwhile` runs user code (`fake`, `sequence`, `lazy`), which may panic: the panic is held
/// until `send` is done, so it never unwinds with the statement in the middle of its answer
/// (a MariaDB connection left so hangs on its next statement, the caller's and the `ROLLBACK`
/// our scope queues alike). Then `send`'s error, if any, is returned first, as it was before
/// the draw overlapped the statement (the next rows were not drawn then): the caller gets the
/// statement's error, and the operation's savepoint is rolled back. Otherwise the panic is
/// resumed, between two statements, where it came before.
pub(crate) async fn overlap<F, T, E, U>(send: F, meanwhile: impl FnOnce() -> U) -> Result<(T, U), E>
where
    F: Future<Output = Result<T, E>>,
{
    let mut send = pin!(send);
    let early = std::future::poll_fn(|cx| Poll::Ready(send.as_mut().poll(cx))).await;
    // Unwind safety: after a panic nothing reads what `meanwhile` touched.
    let other = std::panic::catch_unwind(std::panic::AssertUnwindSafe(meanwhile));
    let done = match early {
        Poll::Ready(done) => done,
        Poll::Pending => send.await,
    }?;
    match other {
        Ok(other) => Ok((done, other)),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
/// Gives the runtime a turn between chunks: a long seed is then cancellable (a `timeout`
/// fires) and shares its thread, even when every write completes without waiting.
pub(crate) async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}
