//! Everything the generated code names, and nothing a user should: not part of the API.

pub use ::core;
pub use ::fake;
pub use ::sqlx;
pub use ::std::vec::Vec;

pub use crate::backend::Backend;
pub use crate::create::{Create, CreateBatch};
pub use crate::model::{Insert, Model};
pub use crate::session::{Bound, IntoSession, NoSession, Session, Unbound};
pub use crate::sql::{Column, ColumnSet, SqlCache};

use std::sync::atomic::{AtomicU64, Ordering};

use fake::{Dummy, Faker};

/// The random source of `build`: the thread's generator.
pub type Rng = fake::rand::rngs::ThreadRng;

/// The generator a factory draws its fake values from.
pub fn rng() -> Rng {
    fake::rand::rng()
}

/// The state every generated factory carries besides its fields: the session.
#[derive(Debug)]
pub struct FactoryState<S> {
    pub session: S,
}

impl Default for FactoryState<NoSession> {
    fn default() -> Self {
        Self::new()
    }
}

impl FactoryState<NoSession> {
    pub const fn new() -> Self {
        FactoryState { session: NoSession }
    }
}

impl<S> FactoryState<S> {
    /// Binds `session`; the caller has checked `S: Unbound`.
    pub fn bind<'c, C>(self, session: &'c mut C) -> FactoryState<Bound<'c, C::Database>>
    where
        C: IntoSession + ?Sized,
    {
        FactoryState {
            session: Bound::new(session),
        }
    }
}

/// One model's sequence: `n` for `#[factory(sequence = |n| ..)]`, unique per model in a process.
#[derive(Debug)]
pub struct Sequence(AtomicU64);

impl Default for Sequence {
    fn default() -> Self {
        Self::new()
    }
}

impl Sequence {
    pub const fn new() -> Self {
        Sequence(AtomicU64::new(1))
    }

    /// The next number, starting at 1.
    pub fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

/// A field type with a fake value, for fields with no value attribute.
#[diagnostic::on_unimplemented(
    message = "the field type `{Self}` has no fake value",
    label = "this field has no `#[factory]` attribute that gives it a value",
    note = "give the field a value: `#[factory(default = ..)]`, `#[factory(fake = ..)]` or `#[factory(sequence = |n| ..)]`, or implement `fake::Dummy<fake::Faker>` for `{Self}`"
)]
pub trait FakeValue: Sized {
    fn fake_value<R: fake::RngExt + ?Sized>(rng: &mut R) -> Self;
}

// Reported as `FakeValue` (our message), not as the `Dummy` bound behind it.
#[diagnostic::do_not_recommend]
impl<T: Dummy<Faker>> FakeValue for T {
    fn fake_value<R: fake::RngExt + ?Sized>(rng: &mut R) -> Self {
        T::dummy_with_rng(&Faker, rng)
    }
}

/// Calls a `sequence` closure, so that `|n| ..` infers `n: u64` and its result type is checked.
pub fn sequence<T, F: FnOnce(u64) -> T>(f: F, n: u64) -> T {
    f(n)
}

/// Draws a value of `T` from a `fake` expression.
pub fn fake<T, F, R>(faker: &F, rng: &mut R) -> T
where
    T: Dummy<F>,
    R: fake::RngExt + ?Sized,
{
    T::dummy_with_rng(faker, rng)
}
