//! The future type and the one combinator shared by the backend, model and insert modules:
//! below all of them, so none imports another for them.

use std::future::Future;
use std::pin::{Pin, pin};
use std::task::Poll;

/// A boxed future that may cross threads, as `tokio::spawn` wants.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Polls `send` once, which sends its statement (sqlx writes and flushes it, or hands it to
/// SQLite's worker thread, before its first wait), runs `meanwhile` (drawing the next rows),
/// then waits for `send`: the database works while the rows are drawn. Dropped, it drops
/// `send` as an `.await` on it would be dropped.
pub(crate) async fn overlap<F: Future, U>(
    send: F,
    meanwhile: impl FnOnce() -> U,
) -> (F::Output, U) {
    let mut send = pin!(send);
    let early = std::future::poll_fn(|cx| Poll::Ready(send.as_mut().poll(cx))).await;
    let other = meanwhile();
    let done = match early {
        Poll::Ready(done) => done,
        Poll::Pending => send.await,
    };
    (done, other)
}
