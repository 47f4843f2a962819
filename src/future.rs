//! The one future type shared by the backend, model and insert modules: below all of them, so
//! none imports another for it.

use std::future::Future;
use std::pin::Pin;

/// A boxed future that may cross threads, as `tokio::spawn` wants.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
