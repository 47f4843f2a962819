//! Reproducible data: the run's seed, the per-call generators drawn from it, and sequences.
//!
//! The rule (see docs/DESIGN.md): each thread gets a stream seeded from the run seed and the
//! thread's name (a test's name under `cargo test` and `cargo nextest`), so a test's fake
//! values are the same on every run with the same seed, whatever runs beside it.
//!
//! Sequence numbers are not drawn: they come from a counter per table shared by every process
//! of the machine (a file in the temp dir, read and advanced under an exclusive lock), handed
//! out in blocks, so they are unique across threads, tasks and processes whatever the seed, and short:
//! they count the numbers handed out so far. A factory with `.seed(s)` replays its sequence
//! too, from a base of its own above the shared counter's range.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// The shared counter hands out numbers below this; past it, it starts again at 1 (after five
/// billion numbers handed out on one machine).
const SHARED_END: u64 = 5_000_000_000;
/// A seeded factory's sequence starts at one of the 4 999 bases `SHARED_END + k * SEEDED_SPAN`,
/// so its numbers have 10 digits and never meet the shared counter's. One seeded call that
/// draws more than `SEEDED_SPAN` numbers runs into the next base; two seeds share a base with
/// probability 1/4 999.
const SEEDED_SPAN: u64 = 1_000_000;
const SEEDED_BASES: u64 = (10_000_000_000 - SHARED_END) / SEEDED_SPAN - 1;

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
}

thread_local! {
    static STREAM: ThreadStream = ThreadStream::for_this_thread();
}

/// Whether any factory drew values in this process: the panic hook prints the seed then, on
/// whichever thread the failing assertion runs (a factory in a spawned task counts).
static USED: AtomicBool = AtomicBool::new(false);

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
        ThreadStream {
            state: Cell::new(hash_str(run_seed(), &name) ^ mix(occurrence)),
        }
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
                seeded_stub: None,
            }
        }
    }
}

/// The seed a parent of association number `index` inherits from a seeded child, so that
/// `.seed(s).create()` makes the same parents every run too.
pub fn child_seed(seed: Option<u64>, index: usize) -> Option<u64> {
    seed.map(|s| mix(s ^ mix(index as u64 + 1)))
}

/// The next sequence number of `table`'s rows: the seeded factory's own, or the machine-wide
/// counter of that table's.
pub fn next_sequence(draw: &mut Draw, table: &'static str) -> u64 {
    match &mut draw.seeded_base {
        Some(base) => {
            *base += 1;
            *base
        }
        None => SharedCounter::next(table),
    }
}

/// This process's block of a table's machine-wide sequence counter: `[next, end)`.
struct SharedCounter {
    next: u64,
    end: u64,
    /// The size of the next block: small first, so a process that makes few rows wastes few
    /// numbers, doubling up to a cap, so one that makes many locks the file rarely.
    block: u64,
}

impl SharedCounter {
    fn next(table: &'static str) -> u64 {
        static COUNTERS: Mutex<Vec<(&'static str, SharedCounter)>> = Mutex::new(Vec::new());
        let mut counters = COUNTERS.lock().unwrap_or_else(PoisonError::into_inner);
        let i = match counters.iter().position(|(t, _)| *t == table) {
            Some(i) => i,
            None => {
                let fresh = SharedCounter {
                    next: 0,
                    end: 0,
                    block: 16,
                };
                counters.push((table, fresh));
                counters.len() - 1
            }
        };
        let counter = &mut counters[i].1;
        if counter.next == counter.end {
            let block = counter.block;
            counter.block = (block * 2).min(1 << 16);
            counter.next = reserve(table, block);
            counter.end = counter.next + block;
        }
        counter.next += 1;
        counter.next - 1
    }
}

/// Reserves `block` numbers of `table`'s machine-wide counter and returns the first.
fn reserve(table: &str, block: u64) -> u64 {
    let dir = std::env::temp_dir().join("sqlx-factory-sequences");
    let name: String = table
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let reserved =
        std::fs::create_dir_all(&dir).and_then(|()| reserve_in_file(&dir.join(name), block));
    match reserved {
        Ok(first) => first,
        // No writable temp dir: numbers unique to this process id, longer (up to 16 digits).
        Err(_) => {
            static LOCAL: Mutex<u64> = Mutex::new(0);
            let mut local = LOCAL.lock().unwrap_or_else(PoisonError::into_inner);
            let first = 10_000_000_000 + u64::from(std::process::id()) * 1_000_000_000 + *local;
            *local += block;
            first
        }
    }
}

fn reserve_in_file(path: &std::path::Path, block: u64) -> std::io::Result<u64> {
    use std::io::{Read, Seek, Write};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    // Held until `file` is closed: no other process reads between our read and our write.
    file.lock()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    let used: u64 = text.trim().parse().unwrap_or(0);
    let first = if used + block >= SHARED_END {
        1
    } else {
        used + 1
    };
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", first + block - 1)?;
    Ok(first)
}

/// Notes that this process uses factories and installs, once, the panic hook that prints the
/// seed.
fn note_use() {
    static HOOK: Once = Once::new();
    USED.store(true, Ordering::Relaxed);
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            if USED.load(Ordering::Relaxed) {
                eprintln!(
                    "sqlx-factory: the factory data of this run came from seed {seed}; \
                     replay it with {SEED_VAR}={seed}",
                    seed = run_seed()
                );
            }
        }));
    });
}
