//! The part of every generated factory that is not a field override.

use std::fmt;

use crate::create::AfterCreate;
use crate::session::{Bound, IntoSession, NoSession};

/// An `after_build` hook: runs on each object right after its values are drawn.
pub type AfterBuild<M> = Box<dyn Fn(&mut M) + Send + Sync>;

/// What a factory carries besides its field overrides: the session state `S`, the hooks and
/// the seed.
pub struct FactoryState<S, M> {
    pub(crate) session: S,
    pub(crate) after_create: Vec<Box<dyn AfterCreate<M, S>>>,
    pub(crate) after_build: Vec<AfterBuild<M>>,
    pub(crate) seed: Option<u64>,
    /// Run the operation inside `SAVEPOINT`, rolled back to on failure.
    pub(crate) savepoint: bool,
}

impl<S: fmt::Debug, M> fmt::Debug for FactoryState<S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FactoryState")
            .field("session", &self.session)
            .field("after_create", &self.after_create.len())
            .field("after_build", &self.after_build.len())
            .field("seed", &self.seed)
            .field("savepoint", &self.savepoint)
            .finish()
    }
}

impl<S: fmt::Debug, M> FactoryState<S, M> {
    /// Adds the session and whatever else is set (seed, hooks, savepoint) to a factory's
    /// `Debug` output.
    pub fn debug_fields(&self, d: &mut fmt::DebugStruct<'_, '_>) {
        d.field("session", &self.session);
        if let Some(seed) = self.seed {
            d.field("seed", &seed);
        }
        if !self.after_build.is_empty() {
            d.field("after_build_hooks", &self.after_build.len());
        }
        if !self.after_create.is_empty() {
            d.field("after_create_steps", &self.after_create.len());
        }
        if self.savepoint {
            d.field("in_savepoint", &true);
        }
    }
}

impl<M> Default for FactoryState<NoSession, M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M> FactoryState<NoSession, M> {
    /// An unbound state with nothing set.
    pub const fn new() -> Self {
        FactoryState {
            session: NoSession,
            after_create: Vec::new(),
            after_build: Vec::new(),
            seed: None,
            savepoint: false,
        }
    }
}

impl<S, M> FactoryState<S, M> {
    /// Binds `session`; the generated `with_session` has checked `S: Unbound`, so there are
    /// no after-create steps to carry over (they can only be added once bound).
    pub fn bind<'c, C>(self, session: &'c mut C) -> FactoryState<Bound<'c, C::Database>, M>
    where
        C: IntoSession + ?Sized,
    {
        FactoryState {
            session: Bound::new(session),
            after_create: Vec::new(),
            after_build: self.after_build,
            seed: self.seed,
            savepoint: false,
        }
    }

    /// Splits off an unbound state with this one's seed and after-build hooks, for the
    /// factory `insert_many` draws from; the session and after-create steps stay here.
    pub fn unbind(mut self) -> (Self, FactoryState<NoSession, M>) {
        let unbound = FactoryState {
            session: NoSession,
            after_create: Vec::new(),
            after_build: std::mem::take(&mut self.after_build),
            seed: self.seed,
            savepoint: false,
        };
        (self, unbound)
    }

    /// Adds an after-create step (`after_create`, `with_related`), run in order.
    pub fn push_after_create(&mut self, step: Box<dyn AfterCreate<M, S>>) {
        self.after_create.push(step);
    }

    /// Adds an after-build hook, run in order.
    pub fn push_after_build(&mut self, hook: AfterBuild<M>) {
        self.after_build.push(hook);
    }

    /// Draws this factory's values from `seed`.
    pub fn set_seed(&mut self, seed: u64) {
        self.seed = Some(seed);
    }

    /// Runs the operation inside a savepoint.
    pub fn set_savepoint(&mut self) {
        self.savepoint = true;
    }

    /// The seed set with `.seed(..)`, if any.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// Runs the after-build hooks on a freshly drawn object.
    pub fn after_build(&self, object: &mut M) {
        for hook in &self.after_build {
            hook(object);
        }
    }
}
