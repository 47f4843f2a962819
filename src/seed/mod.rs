//! Reproducible data: the run's seed, the per-call generators drawn from it, and sequences.
//!
//! The rule (see docs/DESIGN.md): each thread gets a stream seeded from the run seed and the
//! thread's name (a test's name under `cargo test` and `cargo nextest`), so a test's fake
//! values are the same on every run with the same seed, whatever runs beside it. A future
//! wrapped in [`inherit`] takes a stream of its own from its parent's, so a test's spawned
//! tasks replay too, on whatever thread they run.
//!
//! Sequence numbers are not drawn: they come from a counter per table shared by every process
//! of the user on the machine (a file in a directory of the user's own under the temp dir,
//! read and advanced under an exclusive lock), handed out in blocks, so they are unique across
//! threads, tasks and processes whatever the seed, and short: they count the numbers handed
//! out so far. A factory with `.seed(s)` replays its sequence too, from a base of its own
//! above the shared counter's range, and a [`local_sequences`] scope counts from 1 per table.

mod counter;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll};

use counter::{ByTable, SHARED_END, SharedCounter};
use fake::rand::SeedableRng;
use fake::rand::rngs::Xoshiro256PlusPlus;

/// The generator every factory call draws its values from: fixed algorithm, so a seed gives
/// the same values on every machine.
pub type FactoryRng = Xoshiro256PlusPlus;

/// The environment variable that fixes the run's seed: `SQLX_FACTORY_SEED=42 cargo test`.
///
/// ```
/// assert_eq!(sqlx_factory::SEED_VAR, "SQLX_FACTORY_SEED");
/// ```
pub const SEED_VAR: &str = "SQLX_FACTORY_SEED";

/// A seeded factory's sequence starts at one of the 4 999 bases `SHARED_END + k * SEEDED_SPAN`,
/// so its numbers have 10 digits and never meet the shared counter's. One seeded call that
/// draws more than `SEEDED_SPAN` numbers runs into the next base; two seeds share a base with
/// probability 1/4 999.
const SEEDED_SPAN: u64 = 1_000_000;
const SEEDED_BASES: u64 = (10_000_000_000 - SHARED_END) / SEEDED_SPAN - 1;

/// The seed of this run: `SQLX_FACTORY_SEED` if set, else drawn once from the OS.
///
/// Printed when a test that drew factory data panics, so it can be replayed with
/// `SQLX_FACTORY_SEED=<seed> cargo test <name>`.
///
/// ```
/// let seed = sqlx_factory::run_seed();
/// assert_eq!(seed, sqlx_factory::run_seed()); // fixed for the whole run
/// ```
pub fn run_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        match std::env::var(SEED_VAR)
            .ok()
            .and_then(|v| v.trim().parse().ok())
        {
            Some(seed) => seed,
            None => fake::rand::random(),
        }
    })
}

/// SplitMix64: a stable mixing function, the same on every platform and Rust version.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hash_str(seed: u64, s: &str) -> u64 {
    s.bytes().fold(mix(seed), |h, b| mix(h ^ u64::from(b)))
}

/// Where the factory calls of a thread or task take their seeds from.
struct Stream {
    /// Names the stream: the streams of the tasks it starts with [`inherit`] derive from it.
    key: u64,
    /// The next per-call seed is `mix(state)`; the state advances by one each call.
    state: u64,
    /// How many tasks [`inherit`] started from this stream: the next one's number.
    tasks: u64,
    /// The counters of the [`local_sequences`] scope in force, shared with the tasks
    /// inherited from this stream.
    local: Option<Local>,
    /// Set when a factory drew from this stream, or from a task's inherited from it: whether
    /// the test drew factory data, for the panic hook.
    drew: Arc<AtomicBool>,
}

impl Stream {
    fn new(key: u64, local: Option<Local>, drew: Arc<AtomicBool>) -> Stream {
        Stream {
            key,
            state: key,
            tasks: 0,
            local,
            drew,
        }
    }

    fn next_seed(&mut self) -> u64 {
        let state = self.state;
        self.state = state.wrapping_add(1);
        mix(state)
    }

    /// The stream of the next task started from this one: it depends on this stream and on
    /// how many tasks it started before, not on the thread the task runs on nor on when.
    fn task(&mut self) -> Stream {
        self.tasks += 1;
        Stream::new(
            mix(self.key ^ mix(self.tasks ^ 0x7A5C_7A5C)),
            in_force(self.local.as_ref()),
            self.drew.clone(),
        )
    }
}

/// A thread's stream, seeded from the run seed and the thread's name (a test's, under libtest
/// and nextest). Threads that share a name (a runtime's workers) are told apart by how many
/// of that name drew before in the process, so no two threads draw the same values; that
/// count depends on the threads before it, which is why such a thread's values replay only
/// through [`inherit`].
fn thread_stream() -> Stream {
    static SEEN: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let occurrence = {
        let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
        match seen.iter_mut().find(|(n, _)| n == name) {
            Some((_, count)) => {
                *count += 1;
                *count - 1
            }
            None => {
                seen.push((name.to_owned(), 1));
                0
            }
        }
    };
    let drew = Arc::new(AtomicBool::new(false));
    if thread.name().is_none_or(is_helper) {
        let mut helpers = HELPERS.lock().unwrap_or_else(PoisonError::into_inner);
        helpers.retain(|helper| helper.strong_count() > 0);
        helpers.push(Arc::downgrade(&drew));
    }
    Stream::new(hash_str(run_seed(), name) ^ mix(occurrence), None, drew)
}

thread_local! {
    static THREAD: RefCell<Option<Stream>> = const { RefCell::new(None) };
    /// The stream of the [`inherit`]ed task being polled on this thread.
    static TASK: RefCell<Option<Stream>> = const { RefCell::new(None) };
}

/// Runs `f` on the stream in force: the polled task's if it was [`inherit`]ed, else the
/// thread's.
fn with_stream<R>(f: impl FnOnce(&mut Stream) -> R) -> R {
    TASK.with_borrow_mut(|task| match task {
        Some(stream) => f(stream),
        None => THREAD.with_borrow_mut(|thread| f(thread.get_or_insert_with(thread_stream))),
    })
}

/// The streams of the live threads that run other threads' work, unnamed ones and runtimes'
/// workers ([`is_helper`]): what a task spawned without [`inherit`] draws from. Which test
/// spawned it cannot be told, so while such a thread that drew is alive, any panic prints the
/// seed.
static HELPERS: Mutex<Vec<Weak<AtomicBool>>> = Mutex::new(Vec::new());

/// Whether a thread of this name runs other threads' work (a runtime's worker or blocking
/// thread: tokio's `tokio-rt-worker`), rather than a test: libtest and nextest name a test's
/// thread by the test's path, which has nothing but letters, digits, `_` and `::`.
fn is_helper(name: &str) -> bool {
    !name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == ':')
}

/// Whether a factory drew from the stream in force on this thread (the test's, or the polled
/// task's), read without making one.
fn drew_here() -> bool {
    let task = TASK.try_with(|task| {
        task.try_borrow()
            .ok()
            .and_then(|task| task.as_ref().map(|s| s.drew.load(Ordering::Relaxed)))
    });
    if let Ok(Some(drew)) = task {
        return drew;
    }
    THREAD
        .try_with(|thread| {
            thread.try_borrow().ok().is_some_and(|thread| {
                thread
                    .as_ref()
                    .is_some_and(|t| t.drew.load(Ordering::Relaxed))
            })
        })
        .unwrap_or(false)
}

/// Whether a live helper thread (see [`HELPERS`]) drew from its own stream.
fn helpers_drew() -> bool {
    // The hook must not wait: a thread that panicked holding the lock would never give it back.
    let Ok(helpers) = HELPERS.try_lock() else {
        return false;
    };
    helpers
        .iter()
        .filter_map(Weak::upgrade)
        .any(|drew| drew.load(Ordering::Relaxed))
}

/// Carries the stream of the test (or task) that calls it into `future`, typically a task it
/// spawns: `tokio::spawn(sqlx_factory::inherit(async move { .. }))`.
///
/// Without it, a factory in a task on a multi-thread runtime draws from the stream of the
/// worker thread that happens to poll it, shared with every task that worker runs: the
/// values then depend on scheduling, and a seed does not replay them. An inherited task
/// draws from a stream of its own, derived from its parent's and from how many tasks the
/// parent started before it, on whatever thread it runs: with `SQLX_FACTORY_SEED`, it gets
/// the same values on every run, alone or beside other tests, as long as the parent starts
/// its tasks in the same order.
///
/// ```
/// # #[derive(Debug, Clone, sqlx::FromRow, sqlx_factory::Factory)]
/// # #[factory(table = "users")]
/// # struct User { #[factory(primary_key)] id: i64, name: String }
/// # let runtime = tokio::runtime::Builder::new_multi_thread().build().unwrap();
/// # runtime.block_on(async {
/// let task = tokio::spawn(sqlx_factory::inherit(async { User::factory().build() }));
/// let user = task.await.unwrap();
/// # });
/// ```
pub fn inherit<F: Future>(future: F) -> Inherited<F> {
    Inherited {
        stream: Some(with_stream(Stream::task)),
        future: Box::pin(future),
    }
}

/// A future that draws from a stream of its own, made by [`inherit`].
#[must_use = "futures do nothing unless polled"]
pub struct Inherited<F> {
    stream: Option<Stream>,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Inherited<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _entered = Entered::new(&mut this.stream);
        this.future.as_mut().poll(cx)
    }
}

/// A [`local_sequences`] scope: the last number per table, whether its guard was dropped, and
/// the scope it was opened in. A stream (or a draw) may still hold a scope whose guard was
/// dropped elsewhere (in another task, or before a scope opened inside it): [`in_force`] skips
/// it, so a dropped guard ends its scope wherever the guard went and in whatever order.
struct LocalScope {
    counters: Mutex<ByTable<u64>>,
    ended: AtomicBool,
    outer: Option<Local>,
}

type Local = Arc<LocalScope>;

/// The innermost scope of `local`'s chain whose guard still lives.
fn in_force(mut local: Option<&Local>) -> Option<Local> {
    while let Some(scope) = local {
        if !scope.ended.load(Ordering::Acquire) {
            return Some(scope.clone());
        }
        local = scope.outer.as_ref();
    }
    None
}

/// Restarts every sequence at 1, per table, for the test (thread) or task that calls it, until
/// the guard is dropped: for a test that owns its database, such as a `#[sqlx::test]`, so
/// that its rows are numbered alike on every run (`user1@example.com`, `user2@…`) and, with
/// `SQLX_FACTORY_SEED` set, its whole data is the same run after run.
///
/// Without it, `n` counts machine-wide, so rows of tests that share a database never
/// collide. Inside the scope numbers are unique only within it: a second scope, another test
/// writing the same tables, or a task spawned without [`inherit`] (whose machine-wide numbers
/// start at 1 too) can meet the same numbers. Tasks started with [`inherit`] inside the scope
/// share its counters; other threads and tasks keep the machine-wide ones, and a factory with
/// `.seed(s)` keeps its own. Dropping the guard restores what was in force before (an outer
/// scope goes on where it was). The guard is not `Send`: make it in the test, and let the
/// tasks it spawns [`inherit`] the scope.
///
/// ```
/// # #[derive(Debug, Clone, sqlx::FromRow, sqlx_factory::Factory)]
/// # #[factory(table = "users")]
/// # struct User {
/// #     #[factory(primary_key)] id: i64,
/// #     #[factory(sequence = |n| format!("user{n}@example.com"))] email: String,
/// # }
/// let _sequences = sqlx_factory::local_sequences();
/// let users = User::factory().build_batch(2);
/// assert_eq!(users[0].email, "user1@example.com");
/// assert_eq!(users[1].email, "user2@example.com");
/// ```
pub fn local_sequences() -> LocalSequences {
    let scope = with_stream(|s| {
        let fresh = Arc::new(LocalScope {
            counters: Mutex::new(ByTable::new()),
            ended: AtomicBool::new(false),
            outer: in_force(s.local.as_ref()),
        });
        s.local = Some(fresh.clone());
        fresh
    });
    LocalSequences {
        scope,
        _thread: PhantomData,
    }
}

/// The guard of a [`local_sequences`] scope: sequences count from 1 while it lives.
#[must_use = "the sequences are local only while the guard lives: `let _sequences = local_sequences();`"]
pub struct LocalSequences {
    scope: Local,
    /// It applies to the thread or task that made it, so it stays there.
    _thread: PhantomData<*const ()>,
}

impl Drop for LocalSequences {
    fn drop(&mut self) {
        self.scope.ended.store(true, Ordering::Release);
        // Dropped where it was made: the stream forgets the ended scopes now. Elsewhere, the
        // stream that holds it skips it when it draws.
        with_stream(|s| s.local = in_force(s.local.as_ref()));
    }
}

impl std::fmt::Debug for LocalSequences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalSequences")
    }
}

/// Puts a task's stream in force on this thread for one poll, and takes it back after, even
/// when the poll panics.
struct Entered<'a> {
    stream: &'a mut Option<Stream>,
    previous: Option<Stream>,
}

impl<'a> Entered<'a> {
    fn new(stream: &'a mut Option<Stream>) -> Self {
        let previous = TASK.with_borrow_mut(|task| std::mem::replace(task, stream.take()));
        Entered { stream, previous }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        *self.stream = TASK.with_borrow_mut(|task| std::mem::replace(task, self.previous.take()));
    }
}

fn seeded_base(seed: u64) -> u64 {
    SHARED_END + (mix(seed ^ 0x5EC5) % SEEDED_BASES) * SEEDED_SPAN
}

/// The generator of one factory call and the base of its sequence numbers.
pub struct Draw {
    /// The generator of this call.
    pub rng: FactoryRng,
    /// `Some(base)` when the factory was seeded: its sequence restarts at `base + 1`.
    pub seeded_base: Option<u64>,
    /// `Some(last)` when the factory was seeded: the last stub number of this call.
    seeded_stub: Option<u64>,
    /// The counters of the [`local_sequences`] scope in force when the call started.
    local: Option<Local>,
}

/// Stub numbers count from here + 1: 1001, as FactoryBot's `build_stubbed` ids do.
const STUB_BASE: u64 = 1000;

thread_local! {
    /// The last stub number of this thread (a test under `cargo test`).
    static STUB: Cell<u64> = const { Cell::new(STUB_BASE) };
}

/// The number of a row's database-filled values in build mode (`build()` stores no row, so no
/// database gave them): an integer key reads `1001`, text `built-1001`. Counted per thread, so
/// a test's built rows never share a key and read the same on every run; a seeded call counts
/// from 1001 on its own, as it replays everything else.
pub fn next_stub(draw: &mut Draw) -> u64 {
    match &mut draw.seeded_stub {
        Some(last) => {
            *last += 1;
            *last
        }
        None => STUB.with(|last| {
            last.set(last.get() + 1);
            last.get()
        }),
    }
}

/// Starts a factory call: seeded by `.seed(s)` if given, else the next seed of this thread.
pub fn draw(seed: Option<u64>) -> Draw {
    match seed {
        Some(seed) => Draw {
            rng: FactoryRng::seed_from_u64(mix(seed)),
            seeded_base: Some(seeded_base(seed)),
            seeded_stub: Some(STUB_BASE),
            local: None,
        },
        None => {
            note_use();
            let (seed, local) = with_stream(|s| {
                s.drew.store(true, Ordering::Relaxed);
                (s.next_seed(), in_force(s.local.as_ref()))
            });
            Draw {
                rng: FactoryRng::seed_from_u64(seed),
                seeded_base: None,
                seeded_stub: None,
                local,
            }
        }
    }
}

/// The seed a parent of association number `index` inherits from a seeded child, so that
/// `.seed(s).create()` makes the same parents every run too.
pub fn child_seed(seed: Option<u64>, index: usize) -> Option<u64> {
    seed.map(|s| mix(s ^ mix(index as u64 + 1)))
}

/// The next sequence number of `table`'s rows: the seeded factory's own, the local scope's,
/// or the machine-wide counter of that table's (shared by every spelling of its name, see
/// `counter_key`).
pub fn next_sequence(draw: &mut Draw, table: &'static str) -> u64 {
    match (&mut draw.seeded_base, &draw.local) {
        (Some(base), _) => {
            *base += 1;
            *base
        }
        (None, Some(local)) => {
            let mut local = local
                .counters
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let (_, last) = local.get(table, || 0);
            *last += 1;
            *last
        }
        (None, None) => SharedCounter::next(table),
    }
}

/// Installs, once, the panic hook that prints the seed when the panicking test drew factory
/// data: on its own thread or in a task it inherited to, or, since their test cannot be
/// told, on a live helper thread (a task spawned without [`inherit`]).
fn note_use() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            let helpers = helpers_drew();
            if drew_here() || helpers {
                let caveat = if helpers {
                    " (values drawn in tasks spawned without sqlx_factory::inherit on a \
                     multi-thread runtime, or on threads of your own, depend on scheduling \
                     and may differ)"
                } else {
                    ""
                };
                eprintln!(
                    "sqlx-factory: the factory data of this run came from seed {seed}; \
                     replay it with {SEED_VAR}={seed}{caveat}",
                    seed = run_seed()
                );
            }
        }));
    });
}
