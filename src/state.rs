//! The part of every generated factory that is not a field override.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use sqlx::error::BoxDynError;

use crate::db::Backend;
use crate::error::Error;
use crate::future::BoxFuture;
use crate::session::{Bound, Cloneable, NoSession};

/// Something to do once rows are created, in the same session: an `after_create` hook or the
/// related rows of `with_related`. `S` is the factory's session state. Not generic over the
/// model, so that a factory's list of steps is the same type for every model (its drop is
/// compiled once, not once per model).
pub trait AfterCreate<S>: Send + Sync {
    /// Runs on all rows the operation created, in order: `created` is the `Vec` of the model's
    /// rows, as the step (made for one model) knows.
    fn run<'a>(
        &'a self,
        created: &'a dyn Any,
        session: &'a mut S,
    ) -> BoxFuture<'a, Result<(), BoxDynError>>;
}

/// The rows `created` holds, as [`AfterCreate::run`] is given them (none if they are not `M`'s,
/// which cannot be: a step is made for its factory's model).
pub(crate) fn created_rows<M: 'static>(created: &dyn Any) -> &[M] {
    created.downcast_ref::<Vec<M>>().map_or(&[], Vec::as_slice)
}

/// A factory's `after_build` hooks: each runs on every object right after its values are
/// drawn. Shared, so a cloned factory keeps them. Not generic over the model (each hook takes
/// the object as `dyn Any` and downcasts it), so that their drop and clone are compiled once,
/// not once per model.
#[derive(Clone, Default)]
pub struct AfterBuild(Vec<ErasedHook>);

/// One `after_build` hook, taking the object as `dyn Any`.
type ErasedHook = Arc<dyn Fn(&mut dyn Any) + Send + Sync>;

impl AfterBuild {
    /// Adds `hook`, for objects of `M`.
    fn push<M: 'static>(&mut self, hook: impl Fn(&mut M) + Send + Sync + 'static) {
        self.0.push(Arc::new(move |object: &mut dyn Any| {
            if let Some(object) = object.downcast_mut::<M>() {
                hook(object);
            }
        }));
    }

    /// The number of hooks.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No hook.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Runs the hooks on `object`.
    pub fn run(&self, object: &mut dyn Any) {
        for hook in &self.0 {
            hook(object);
        }
    }
}

/// What a factory carries besides its field overrides: the session state `S`, the hooks and
/// the seed. Not generic over the model, so that its methods and drop are compiled once per
/// session state in a model crate, not once per model.
pub struct FactoryState<S> {
    pub(crate) session: S,
    pub(crate) after_create: Vec<Box<dyn AfterCreate<S>>>,
    pub(crate) after_build: AfterBuild,
    pub(crate) seed: Option<u64>,
    /// Run the operation inside `SAVEPOINT`, rolled back to on failure.
    pub(crate) savepoint: bool,
}

impl<S: fmt::Debug> fmt::Debug for FactoryState<S> {
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

impl<S: fmt::Debug> FactoryState<S> {
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

impl Default for FactoryState<NoSession> {
    fn default() -> Self {
        Self::new()
    }
}

impl FactoryState<NoSession> {
    /// An unbound state with nothing set.
    pub const fn new() -> Self {
        FactoryState {
            session: NoSession,
            after_create: Vec::new(),
            after_build: AfterBuild(Vec::new()),
            seed: None,
            savepoint: false,
        }
    }
}

impl<S> FactoryState<S> {
    /// Binds the session `with_session` got from [`BindSession`](crate::BindSession). The
    /// generated `with_session` has checked `S: Unbound`, so there are no after-create steps to
    /// carry over (they can only be added once bound).
    pub fn bind<'c, DB: Backend>(self, session: Bound<'c, DB>) -> FactoryState<Bound<'c, DB>> {
        FactoryState {
            session,
            after_create: Vec::new(),
            after_build: self.after_build,
            seed: self.seed,
            savepoint: false,
        }
    }

    /// Splits off an unbound state with this one's seed and after-build hooks, for the
    /// factory `insert_many` draws from; the session and after-create steps stay here.
    pub fn unbind(mut self) -> (Self, FactoryState<NoSession>) {
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
    pub fn push_after_create(&mut self, step: Box<dyn AfterCreate<S>>) {
        self.after_create.push(step);
    }

    /// Adds an after-build hook, run in order.
    pub fn push_after_build<M: 'static>(&mut self, hook: impl Fn(&mut M) + Send + Sync + 'static) {
        self.after_build.push(hook);
    }

    /// A copy of an unbound state: the hooks are shared. Only unbound states are [`Cloneable`]
    /// (a bound one holds `&mut` of the connection), and they have no after-create steps,
    /// which can only be added once bound.
    pub fn clone_unbound<M>(&self) -> Self
    where
        S: Cloneable<M>,
    {
        debug_assert!(self.after_create.is_empty());
        FactoryState {
            session: self.session.clone_session(),
            after_create: Vec::new(),
            after_build: self.after_build.clone(),
            seed: self.seed,
            savepoint: self.savepoint,
        }
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

    /// The after-build hooks, for the generated (non-generic) code that draws objects.
    pub fn after_build_hooks(&self) -> &AfterBuild {
        &self.after_build
    }
}

/// The futures `create()` / `create_batch()` resolve to in each state.
///
/// Implemented for every state and every model, with no further bound, so that `.await` on
/// the result of a `create()` the compiler rejected adds no second error to the first.
pub trait Pending<M> {
    /// The future of one insert.
    type Create: Future<Output = Result<M, Error>>;
    /// The future of a batch insert.
    type CreateBatch: Future<Output = Result<Vec<M>, Error>>;
    /// The future of a seed (`insert_many`).
    type InsertMany: Future<Output = Result<u64, Error>>;
    /// The future of a `get_or_create()`: the row, and whether it was inserted.
    type GetOrCreate: Future<Output = Result<(M, bool), Error>>;
    /// The future of a `get_or_create_batch(n)`: each row, and whether it was inserted.
    type GetOrCreateBatch: Future<Output = Result<Vec<(M, bool)>, Error>>;
}

/// Never awaited: `create` requires [`Session`], which [`NoSession`] does not implement.
impl<M> Pending<M> for NoSession {
    type Create = std::future::Pending<Result<M, Error>>;
    type CreateBatch = std::future::Pending<Result<Vec<M>, Error>>;
    type InsertMany = std::future::Pending<Result<u64, Error>>;
    type GetOrCreate = std::future::Pending<Result<(M, bool), Error>>;
    type GetOrCreateBatch = std::future::Pending<Result<Vec<(M, bool)>, Error>>;
}

impl<'c, DB: Backend, M> Pending<M> for Bound<'c, DB> {
    type Create = BoxFuture<'c, Result<M, Error>>;
    type CreateBatch = BoxFuture<'c, Result<Vec<M>, Error>>;
    type InsertMany = BoxFuture<'c, Result<u64, Error>>;
    type GetOrCreate = BoxFuture<'c, Result<(M, bool), Error>>;
    type GetOrCreateBatch = BoxFuture<'c, Result<Vec<(M, bool)>, Error>>;
}
