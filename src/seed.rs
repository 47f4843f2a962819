//! Reproducible data: the run's seed, the per-call generators drawn from it, and sequences.
//!
//! The rule (see docs/DESIGN.md): each thread gets a stream seeded from the run seed and the
//! thread's name (a test's name under `cargo test` and `cargo nextest`), so a test's data is
//! the same on every run with the same seed, whatever runs beside it. Sequence numbers are
//! `base + k` with `k` counted per thread and model, and `base` a bucket drawn from that same
//! stream, so two threads or two processes (even with one seed, as long as the test names
//! differ) do not collide on a UNIQUE column.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Mutex, Once, OnceLock, PoisonError};

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

/// Sequence numbers of one thread and model lie in `[base, base + SEQUENCE_SPAN)`.
const SEQUENCE_SPAN: u64 = 10_000_000;
/// How many bases there are: 10⁹, so `n` stays under 10¹⁶.
const SEQUENCE_BUCKETS: u64 = 1_000_000_000;

/// The seed of this run: `SQLX_FACTORY_SEED` if set, else drawn once from the OS.
///
/// Printed when a thread that used a factory panics, so a failing test can be replayed with
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

struct ThreadStream {
    /// The next per-call seed is `mix(state)`; the state advances by one each call.
    state: Cell<u64>,
    /// This thread's sequence base.
    base: u64,
}

thread_local! {
    static STREAM: ThreadStream = ThreadStream::for_this_thread();
    static USED: Cell<bool> = const { Cell::new(false) };
}

impl ThreadStream {
    fn for_this_thread() -> Self {
        // Threads that share a name (tokio's workers) are told apart by the order they start.
        static SEEN: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("<unnamed>").to_owned();
        let occurrence = {
            let mut seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
            let count = seen
                .get_or_insert_with(HashMap::new)
                .entry(name.clone())
                .or_insert(0);
            *count += 1;
            *count - 1
        };
        let identity = hash_str(run_seed(), &name) ^ mix(occurrence);
        ThreadStream {
            state: Cell::new(identity),
            base: sequence_base(identity),
        }
    }
}

fn sequence_base(identity: u64) -> u64 {
    (1 + mix(identity ^ 0x5EC5) % (SEQUENCE_BUCKETS - 1)) * SEQUENCE_SPAN
}

/// The generator of one factory call and the base of its sequence numbers.
pub struct Draw {
    /// The generator of this call.
    pub rng: FactoryRng,
    /// `Some(base)` when the factory was seeded: its sequence restarts at `base + 1`.
    pub seeded_base: Option<u64>,
}

/// Starts a factory call: seeded by `.seed(s)` if given, else the next seed of this thread.
pub fn draw(seed: Option<u64>) -> Draw {
    match seed {
        Some(seed) => Draw {
            rng: FactoryRng::seed_from_u64(mix(seed)),
            seeded_base: Some(sequence_base(mix(seed))),
        },
        None => {
            note_use();
            let seed = STREAM.with(|s| {
                let state = s.state.get();
                s.state.set(state.wrapping_add(1));
                mix(state)
            });
            Draw {
                rng: FactoryRng::seed_from_u64(seed),
                seeded_base: None,
            }
        }
    }
}

/// The seed a parent of association number `index` inherits from a seeded child, so that
/// `.seed(s).create()` makes the same parents every run too.
pub fn child_seed(seed: Option<u64>, index: usize) -> Option<u64> {
    seed.map(|s| mix(s ^ mix(index as u64 + 1)))
}

/// The next number of a per-thread, per-model sequence counter.
pub fn next_sequence(counter: &'static std::thread::LocalKey<Cell<u64>>, draw: &mut Draw) -> u64 {
    match &mut draw.seeded_base {
        Some(base) => {
            *base += 1;
            *base
        }
        None => {
            let k = counter.with(|c| {
                let k = c.get() + 1;
                c.set(k);
                k
            });
            STREAM.with(|s| s.base) + k
        }
    }
}

/// Marks this thread as using factories and installs, once, the panic hook that prints the
/// seed.
fn note_use() {
    static HOOK: Once = Once::new();
    USED.with(|u| u.set(true));
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            if USED.with(Cell::get) {
                eprintln!(
                    "sqlx-factory: this thread's factory data came from seed {seed}; \
                     replay it with {SEED_VAR}={seed}",
                    seed = run_seed()
                );
            }
        }));
    });
}
