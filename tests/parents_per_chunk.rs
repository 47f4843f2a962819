//! A streamed `create_batch(n)` whose rows create their parents chunk by chunk
//! (`create::run_lazy`): kid -> elder -> grand, 1 200 kids, so three chunks each sending
//! grands, elders, then kids, while the next chunk's kids are drawn. Every way the batch can
//! end early (a drop after any poll, a panic in a parent's or the child's value at a row of
//! chunk 2 or 3, a parent INSERT refused in chunk 2, a failing hook) must leave no kid and no
//! parent of any chunk, the caller's transaction usable, and name what failed.

mod common;

use std::cell::Cell;
use std::time::Duration;

use sqlx_factory::Factory;
use tokio::time::timeout;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::{Op, bounded, catch, try_bounded};

thread_local! {
    /// Values drawn on this thread, per table (each `#[tokio::test]` runs on its own thread).
    static DRAWN: Cell<[u64; 3]> = const { Cell::new([0; 3]) };
    /// (table, row, what): the row of that table whose name panics (0) or is 'bad' (1).
    static ARMED: Cell<Option<(usize, u64, u8)>> = const { Cell::new(None) };
}

const GRAND: usize = 0;
const ELDER: usize = 1;
const KID: usize = 2;

fn name(table: usize) -> String {
    let n = DRAWN.with(|d| {
        let mut all = d.get();
        all[table] += 1;
        d.set(all);
        all[table]
    });
    match ARMED.with(Cell::get) {
        Some((t, at, 0)) if t == table && at == n => {
            panic!("drawing row {n} of table {table} panics")
        }
        Some((t, at, _)) if t == table && at == n => "bad".to_string(),
        _ => format!("{}-{n}", ["grand", "elder", "kid"][table]),
    }
}

fn arm(table: usize, at: u64, what: u8) {
    DRAWN.with(|d| d.set([0; 3]));
    ARMED.with(|a| a.set(Some((table, at, what))));
}

fn disarm() {
    DRAWN.with(|d| d.set([0; 3]));
    ARMED.with(|a| a.set(None));
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "grands")]
struct Grand {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = name(GRAND))]
    name: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "elders")]
struct Elder {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Grand)]
    grand_id: i64,
    #[factory(default = name(ELDER))]
    name: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "kids")]
struct Kid {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Elder)]
    elder_id: i64,
    #[factory(default = name(KID))]
    name: String,
}

/// An optional association: NULL unless asked for with `elder_id_with`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "strays")]
struct Stray {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Elder)]
    elder_id: Option<i64>,
    #[factory(default = "stray".to_string())]
    name: String,
}

/// The shared tables (for the `seen!`/`next_user!` markers) and the chain: `grands.name` is
/// UNIQUE, every `name` has a CHECK refusing 'bad'.
fn schema_sql(kind: Kind) -> String {
    let (pk, text) = (kind.serial_pk(), kind.varchar());
    format!(
        "{}; CREATE TABLE grands (id {pk}, name {text} NOT NULL UNIQUE CHECK (name <> 'bad')); \
         CREATE TABLE elders (id {pk}, grand_id BIGINT NOT NULL REFERENCES grands (id), \
             name {text} NOT NULL CHECK (name <> 'bad')); \
         CREATE TABLE kids (id {pk}, elder_id BIGINT NOT NULL REFERENCES elders (id), \
             name {text} NOT NULL CHECK (name <> 'bad')); \
         CREATE TABLE strays (id {pk}, elder_id BIGINT REFERENCES elders (id), name {text} NOT NULL)",
        tx::schema_sql(kind)
    )
}

/// As `tx::drop_after`, with 1 ms between polls instead of 3 (a 1 200-row chain takes about
/// 60 polls; the sweep stays a few seconds on SQLite).
async fn drop_after(fut: Op<'_>, k: usize, settle: bool) -> bool {
    tx::drop_after_every(fut, k, settle, Duration::from_millis(1)).await
}

/// (kids, elders, grands, strays) that `$e` (an executor) sees, in one statement: one
/// snapshot, where a cancelled batch's `COMMIT` still landing could otherwise be seen half
/// (its kids counted before it, its elders after).
macro_rules! chain {
    ($e:expr) => {{
        let (kids, elders, grands, strays): (i64, i64, i64, i64) = bounded(
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM kids), (SELECT COUNT(*) FROM elders), \
                        (SELECT COUNT(*) FROM grands), (SELECT COUNT(*) FROM strays)",
            )
            .fetch_one($e),
        )
        .await
        .unwrap();
        [kids, elders, grands, strays]
    }};
}

/// Empties the chain's tables from the observer (children first).
macro_rules! reset_chain {
    ($observer:expr) => {
        for sql in [
            "DELETE FROM strays",
            "DELETE FROM kids",
            "DELETE FROM elders",
            "DELETE FROM grands",
        ] {
            bounded(sqlx::query(sql).execute(&$observer)).await.unwrap();
        }
    };
}

const N: usize = 1_200;

/// The batch under test on `$s` (a `&mut` transaction or connection, or `&pool`), boxed.
macro_rules! batch {
    ($s:expr) => {{
        let s = $s;
        let f: Op<'_> = Box::pin(async move {
            let _ = Kid::factory().with_session(s).create_batch(N).await;
        });
        f
    }};
}

/// `cancel_sweep_<session>` sweeps the batch on that kind of session.
macro_rules! cancel_sweeps {
    ($($name:ident: $mode:literal),+) => {
        $(
        on_dbs! {
            [sqlite, postgres]
            /// The batch dropped after each of its polls, in the caller's transaction (then the
            /// caller's INSERT, and its rollback), on a bare pooled connection (then an autocommitted
            /// INSERT) and bound to a pool: nothing of the batch or any chunk's parents is durable
            /// (or all of it, when the drop finds the batch done), the markers are, and the
            /// connection serves the pool's next user.
            /// One test per session kind: the sweeps wait between polls, so they run side by side.
            async fn $name(mk, observer, kind) {
                let mut findings: Vec<String> = Vec::new();
                let mut iterations = 0;
                let mut sqlx_windows = 0;
                {
                    let mode = $mode;
                    // On SQLite the worker finishes a statement as the next poll comes: waiting before
                    // the drop adds nothing but time. On PostgreSQL the drop after the statement
                    // completed on the server is swept in the caller's transaction (our savepoint),
                    // where a late answer matters most. (SQLite ~5 s, PostgreSQL ~15 s.)
                    let settles: &[bool] = if kind == Kind::Sqlite || mode != "transaction" { &[false] } else { &[false, true] };
                    for &settle in settles {
                        let mut completed = false;
                        // With `settle`, every third poll: the plain pass has swept them all.
                        for k in (1..400).step_by(if settle { 3 } else { 1 }) {
                            iterations += 1;
                            let pool = mk(1).await.unwrap();
                            let mut problems: Vec<String> = Vec::new();
                            let mut expect_after = false;
                            match mode {
                                "transaction" => {
                                    let mut tx = bounded(pool.begin()).await.unwrap();
                                    bounded(sqlx::query("INSERT INTO entries (name) VALUES ('before')").execute(&mut *tx)).await.unwrap();
                                    completed = drop_after(batch!(&mut tx), k, settle).await;
                                    // Inside: the rows sent so far are consistent (each kid has its elder
                                    // and grand; the foreign keys say so) and the transaction answers.
                                    caller_inserts_after!(problems, &mut *tx);
                                    let [kids, elders, grands, _] = chain!(&mut *tx);
                                    if kids > elders || elders > grands {
                                        problems.push(format!("inside the transaction: {kids} kids, {elders} elders, {grands} grands"));
                                    }
                                    if completed && [kids, elders, grands] != [N as i64; 3] {
                                        problems.push(format!("completed, yet {kids} kids, {elders} elders, {grands} grands"));
                                    }
                                    caller_step!(problems, "caller's rollback", tx.rollback());
                                }
                                "bare" => {
                                    let mut conn = bounded(pool.acquire()).await.unwrap();
                                    completed = drop_after(batch!(&mut *conn), k, settle).await;
                                    let in_sqlx_window = in_sqlx_begin_window!(&mut *conn, kind);
                                    if in_sqlx_window {
                                        sqlx_windows += 1;
                                        conn.close_on_drop();
                                    } else {
                                        caller_inserts_after!(problems, &mut *conn);
                                        expect_after = true;
                                    }
                                    drop(conn);
                                }
                                _ => completed = drop_after(batch!(&pool), k, settle).await,
                            }
                            let (markers, _) = seen!(observer);
                            let expected: &[&str] = if expect_after { &["after"] } else { &[] };
                            if markers != expected { problems.push(format!("durable markers {markers:?}, expected {expected:?}")); }
                            let durable = chain!(&observer);
                            let whole = [N as i64, N as i64, N as i64, 0];
                            if durable != [0; 4] && (mode == "transaction" || durable != whole) {
                                problems.push(format!("durable [kids, elders, grands, strays]: {durable:?}"));
                            }
                            next_user!(problems, pool, observer);
                            let at = format!("[{kind:?}] {mode} settle={settle} dropped after poll {k} (completed: {completed})");
                            end_iteration!(findings, problems, at, pool, observer);
                            reset_chain!(observer);
                            if completed { break; }
                        }
                        if !completed { findings.push(format!("[{kind:?}] {mode} settle={settle}: never completed")); }
                    }
                }
                eprintln!("[{kind:?}] {} cancel_sweep: {iterations} iterations, {sqlx_windows} in sqlx's BEGIN window", $mode);
                // The window is the first poll or so of a bare sweep, never most of it.
                assert!(sqlx_windows <= 3, "{sqlx_windows} drops in sqlx's BEGIN window");
                tx::assert_no_findings(&findings);
            }
        }
        )+
    };
}

cancel_sweeps!(
    cancel_sweep_transaction: "transaction",
    cancel_sweep_bare: "bare",
    cancel_sweep_pool: "pool"
);

/// Where a value panics or is refused: (table, row). Rows 501..1000 are chunk 2, 1001.. chunk
/// 3; a kid of chunk 2 is drawn while chunk 1's statements run.
const SPOTS: [(usize, u64, &str); 6] = [
    (GRAND, 700, "grand row 700 (chunk 2)"),
    (GRAND, 1_001, "grand row 1001 (chunk 3)"),
    (ELDER, 700, "elder row 700 (chunk 2)"),
    (KID, 501, "kid row 501 (chunk 2, drawn meanwhile)"),
    (KID, 1_100, "kid row 1100 (chunk 3, drawn meanwhile)"),
    (ELDER, 1, "elder row 1 (chunk 1)"),
];

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A panic in a value of a grand, an elder or a kid at a row of chunk 2 or 3, caught by
    /// the caller: in the caller's transaction (which must answer, hold its own row, take an
    /// INSERT and roll back to nothing), on a bare connection and bound to a pool (nothing
    /// durable, the next user served).
    async fn panics_in_a_later_chunk(mk, observer, kind) {
        let mut findings: Vec<String> = Vec::new();
        for (table, at, spot) in SPOTS {
            for mode in ["transaction", "bare", "pool"] {
                let pool = mk(1).await.unwrap();
                let mut problems: Vec<String> = Vec::new();
                let panicked = match mode {
                    "transaction" => {
                        let mut tx = bounded(pool.begin()).await.unwrap();
                        bounded(sqlx::query("INSERT INTO entries (name) VALUES ('before')").execute(&mut *tx)).await.unwrap();
                        arm(table, at, 0);
                        let r = timeout(tx::LIMIT, catch(Kid::factory().with_session(&mut tx).create_batch(N).into_future())).await.expect("hung");
                        disarm();
                        let r2 = try_bounded(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM entries WHERE name = 'before'").fetch_one(&mut *tx)).await;
                        if !matches!(r2, Some(Ok(1))) { problems.push(format!("caller's own row after the panic: {r2:?}")); }
                        let r3 = try_bounded(sqlx::query("INSERT INTO entries (name) VALUES ('after')").execute(&mut *tx)).await;
                        if !matches!(r3, Some(Ok(_))) { problems.push(format!("caller's INSERT after: {r3:?}")); }
                        let r4 = try_bounded(tx.rollback()).await;
                        if !matches!(r4, Some(Ok(_))) { problems.push(format!("caller's rollback: {r4:?}")); }
                        r.is_err()
                    }
                    "bare" => {
                        let mut conn = bounded(pool.acquire()).await.unwrap();
                        arm(table, at, 0);
                        let r = timeout(tx::LIMIT, catch(Kid::factory().with_session(&mut *conn).create_batch(N).into_future())).await.expect("hung");
                        disarm();
                        let r2 = try_bounded(sqlx::query("INSERT INTO entries (name) VALUES ('after')").execute(&mut *conn)).await;
                        if !matches!(r2, Some(Ok(_))) { problems.push(format!("caller's INSERT after: {r2:?}")); }
                        drop(conn);
                        r.is_err()
                    }
                    _ => {
                        arm(table, at, 0);
                        let r = timeout(tx::LIMIT, catch(Kid::factory().with_session(&pool).create_batch(N).into_future())).await.expect("hung");
                        disarm();
                        r.is_err()
                    }
                };
                if !panicked { problems.push("the batch did not panic".into()); }
                let (markers, _) = seen!(observer);
                let expected: &[&str] = if mode == "bare" { &["after"] } else { &[] };
                if markers != expected { problems.push(format!("durable markers {markers:?}, expected {expected:?}")); }
                let durable = chain!(&observer);
                if durable != [0; 4] { problems.push(format!("durable [kids, elders, grands, strays]: {durable:?}")); }
                next_user!(problems, pool, observer);
                end_iteration!(findings, problems, format!("[{kind:?}] panic at {spot}, {mode}"), pool, observer);
                reset_chain!(observer);
            }
        }
        tx::assert_no_findings(&findings);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A parent INSERT refused in chunk 2 (an elder's CHECK, a grand's UNIQUE name planted by
    /// the test) and a kid's INSERT refused in chunk 3: the error names the table and the
    /// association that failed; chunk 1's kids and parents are gone; on every backend the
    /// caller's transaction answers the next statement (on PostgreSQL: not aborted).
    async fn parent_insert_refused_in_chunk_2(mk, observer, kind) {
        let _ = &observer;
        let pool = mk(1).await.unwrap();
        // (table, row, bad: CHECK / planted: UNIQUE, what the error must name)
        let cases: [(usize, u64, bool, &[&str]); 4] = [
            // The kids' rows whose parents failed, or whose INSERT did.
            (ELDER, 700, true, &["elders", "elder_id", "rows 501 to 1000"]),
            (GRAND, 700, false, &["grands", "grand_id", "elder_id", "rows 501 to 1000"]),
            (GRAND, 1_200, true, &["grands", "grand_id", "elder_id", "rows 1001 to 1200"]),
            (KID, 1_001, true, &["kids", "rows 1001 to 1200"]),
        ];
        let mut findings: Vec<String> = Vec::new();
        for (table, at, check, names) in cases {
            for bare in [false, true] {
                let planted = !check;
                if planted {
                    // The 700th grand will be named 'grand-700'.
                    bounded(sqlx::query("INSERT INTO grands (name) VALUES ('grand-700')").execute(&pool)).await.unwrap();
                }
                let at_name = format!("[{kind:?}] table {table} row {at} bare={bare}");
                // The batch on `$s`, then what `$s` sees right after its error.
                macro_rules! attempt {
                    ($s:expr) => {{
                        if planted { disarm() } else { arm(table, at, 1) }
                        let r = bounded(Kid::factory().with_session($s).create_batch(N)).await;
                        disarm();
                        (r.map(|_| ()), chain!($s))
                    }};
                }
                let (r, seen_now) = if bare {
                    let mut conn = bounded(pool.acquire()).await.unwrap();
                    attempt!(&mut *conn)
                } else {
                    let mut tx = bounded(pool.begin()).await.unwrap();
                    let out = attempt!(&mut *tx);
                    let ok = try_bounded(sqlx::query("INSERT INTO entries (name) VALUES ('after')").execute(&mut *tx)).await;
                    if !matches!(ok, Some(Ok(_))) { findings.push(format!("{at_name}: caller's INSERT after the error: {ok:?}")); }
                    let ok = try_bounded(tx.commit()).await;
                    if !matches!(ok, Some(Ok(_))) { findings.push(format!("{at_name}: caller's commit: {ok:?}")); }
                    out
                };
                match &r {
                    Ok(_) => findings.push(format!("{at_name}: the batch succeeded")),
                    Err(e) => {
                        let text = format!("{e}");
                        let debug = format!("{e:?}");
                        eprintln!("{at_name}: {text}");
                        for n in names {
                            if !text.contains(n) && !debug.contains(n) { findings.push(format!("{at_name}: the error does not name `{n}`: {text}")); }
                        }
                        if !text.contains("1200") { findings.push(format!("{at_name}: the error does not name the batch's 1200 rows: {text}")); }
                    }
                }
                let base = if planted { 1 } else { 0 };
                if seen_now != [0, 0, base, 0] {
                    findings.push(format!("{at_name}: after the error, [kids, elders, grands, strays] = {seen_now:?}"));
                }
                let durable = chain!(&observer);
                if durable != [0, 0, base, 0] {
                    findings.push(format!("{at_name}: durable [kids, elders, grands, strays] = {durable:?}"));
                }
                reset!(observer);
                reset_chain!(observer);
            }
        }
        tx::assert_no_findings(&findings);
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "codes")]
struct Code {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("code-{n}"))]
    code: String,
    #[factory(fake = fake::faker::name::en::Name())]
    owner: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "coded")]
struct Coded {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Code)]
    code_id: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "coded_twice")]
struct CodedTwice {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Coded)]
    coded_id: i64,
}

/// The tables of [`Code`], [`Coded`] and [`CodedTwice`].
fn codes_ddl(kind: Kind) -> String {
    format!(
        "CREATE TABLE codes (id {pk}, code {text} NOT NULL UNIQUE, owner TEXT NOT NULL); \
         CREATE TABLE coded (id {pk}, code_id BIGINT NOT NULL REFERENCES codes (id)); \
         CREATE TABLE coded_twice (id {pk}, coded_id BIGINT NOT NULL REFERENCES coded (id))",
        pk = kind.serial_pk(),
        text = kind.varchar()
    )
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// An unseeded batch whose parent factory has a seed of its own (`code_id_with(|c|
    /// c.seed(42))`): one stream of 1 200 parents, as `Code::factory().seed(42)
    /// .create_batch(1200)` draws them, so distinct `sequence` codes (UNIQUE) and the same
    /// values. Streamed per chunk, each chunk's parents would restart that seed.
    async fn seeded_parent_of_an_unseeded_batch(mk, observer, kind) {
        let _ = kind;
        bounded(sqlx::raw_sql(sqlx::AssertSqlSafe(codes_ddl(kind))).execute(&observer)).await.unwrap();
        let pool = mk(1).await.unwrap();
        let eager: Vec<(String, String)> = Code::factory().seed(42).build_batch(N).into_iter().map(|c| (c.code, c.owner)).collect();
        let made = bounded(Coded::factory().with_session(&pool).code_id_with(|c| c.seed(42)).create_batch(N)).await;
        let made = made.unwrap_or_else(|e| panic!("the batch failed: {e}"));
        assert_eq!(made.len(), N);
        let stored: Vec<(String, String)> = bounded(sqlx::query_as("SELECT c.code, c.owner FROM coded d JOIN codes c ON c.id = d.code_id ORDER BY d.id").fetch_all(&pool)).await.unwrap();
        assert_eq!(stored, eager, "the parents' values are those of one seeded stream of 1 200");
        // The seed two levels up: grandparents drawn in one stream too.
        bounded(sqlx::raw_sql("DELETE FROM coded; DELETE FROM codes").execute(&pool)).await.unwrap();
        let made = bounded(CodedTwice::factory().with_session(&pool).coded_id_with(|c| c.code_id_with(|p| p.seed(42))).create_batch(N)).await;
        let made = made.unwrap_or_else(|e| panic!("the batch with a seeded grandparent failed: {e}"));
        assert_eq!(made.len(), N);
        let stored: Vec<(String, String)> = bounded(sqlx::query_as("SELECT c.code, c.owner FROM coded_twice t JOIN coded d ON d.id = t.coded_id JOIN codes c ON c.id = d.code_id ORDER BY t.id").fetch_all(&pool)).await.unwrap();
        assert_eq!(stored, eager, "the grandparents' values are those of one seeded stream of 1 200");
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// The options of a streamed batch with parents, in the caller's transaction: an optional
    /// association (NULL, then asked for with a customised parent), `in_savepoint`, an
    /// `after_create` hook and `with_related` run once per row of every chunk; a hook failing
    /// at the last row undoes every chunk's kids and parents and leaves the transaction usable;
    /// a panic in a customised parent's `after_build` at a row of chunk 2 leaves it usable.
    async fn options_of_a_streamed_batch(mk, observer, kind) {
        let _ = &observer;
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        disarm();
        // Optional: NULL, no elder made.
        let strays = bounded(Stray::factory().with_session(&mut tx).create_batch(N)).await.unwrap();
        assert!(strays.iter().all(|s| s.elder_id.is_none()));
        assert_eq!(chain!(&mut *tx), [0, 0, 0, N as i64]);
        // Asked for, customised: one elder (and grand) per stray, each its own.
        let strays = bounded(Stray::factory().with_session(&mut tx).elder_id_with(|e| e.name("custom")).create_batch(N)).await.unwrap();
        let mut ids: Vec<i64> = strays.iter().map(|s| s.elder_id.expect("asked for")).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), N);
        let custom: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM strays s JOIN elders e ON e.id = s.elder_id JOIN grands g ON g.id = e.grand_id WHERE e.name = 'custom'").fetch_one(&mut *tx)).await.unwrap();
        assert_eq!(custom, N as i64);
        bounded(sqlx::raw_sql("DELETE FROM strays; DELETE FROM elders; DELETE FROM grands").execute(&mut *tx)).await.unwrap();

        // in_savepoint, a hook and with_related on every row of the three chunks.
        let hooked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let kids = bounded(
            Kid::factory()
                .with_session(&mut tx)
                .in_savepoint()
                .after_create({
                    let hooked = hooked.clone();
                    move |_, _| {
                        hooked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        Box::pin(async { Ok(()) })
                    }
                })
                .with_related(1, |k: &Kid| Stray::factory().elder_id(k.elder_id))
                .create_batch(N),
        )
        .await
        .unwrap();
        assert_eq!(kids.len(), N);
        assert_eq!(hooked.load(std::sync::atomic::Ordering::SeqCst), N);
        assert_eq!(chain!(&mut *tx), [N as i64; 4]);
        let linked: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM strays s JOIN kids k ON k.elder_id = s.elder_id").fetch_one(&mut *tx)).await.unwrap();
        assert_eq!(linked, N as i64);
        bounded(sqlx::raw_sql("DELETE FROM strays; DELETE FROM kids; DELETE FROM elders; DELETE FROM grands").execute(&mut *tx)).await.unwrap();

        // A hook failing at the last row (after every chunk's parents were made): nothing stays.
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let r = bounded(
            Kid::factory()
                .with_session(&mut tx)
                .after_create({
                    let seen = seen.clone();
                    move |_, conn| {
                        let last = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == N;
                        Box::pin(async move {
                            if last {
                                // A statement that fails, so PostgreSQL marks the transaction.
                                sqlx::query("INSERT INTO kids (elder_id, name) VALUES (NULL, 'x')").execute(&mut *conn).await?;
                            }
                            Ok(())
                        })
                    }
                })
                .with_related(1, |k: &Kid| Stray::factory().elder_id(k.elder_id))
                .create_batch(N),
        )
        .await;
        let e = r.expect_err("the hook fails at the last row");
        let text = e.to_string();
        assert!(text.contains("kids") && text.contains("1200"), "{text}");
        assert_eq!(chain!(&mut *tx), [0; 4], "after the hook's error: {text}");

        // A panic in a customised parent's `after_build` at the 700th elder (chunk 2).
        arm(ELDER, 700, 0);
        let r = timeout(
            tx::LIMIT,
            catch(Kid::factory().with_session(&mut tx).elder_id_with(|e| e.after_build(|e| e.name = name(ELDER))).create_batch(N).into_future()),
        )
        .await
        .expect("hung");
        disarm();
        assert!(r.is_err(), "the customised parent's after_build panics");
        let n: Option<Result<i64, _>> = try_bounded(sqlx::query_scalar("SELECT COUNT(*) FROM entries").fetch_one(&mut *tx)).await;
        assert!(matches!(n, Some(Ok(0))), "the caller's transaction answers: {n:?}");
        bounded(tx.rollback()).await.unwrap();
        assert_eq!(chain!(&observer), [0; 4]);
    }
}

/// SQLite stores NULL in a `TEXT PRIMARY KEY` given no value: the key a parent returns.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "labels")]
struct Label {
    #[factory(primary_key)]
    code: String,
    #[factory(default = "l".to_string())]
    name: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "labelled")]
struct Labelled {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Label)]
    label_code: Option<String>,
}

/// The tables of [`Label`] and [`Labelled`] (their test runs on SQLite).
const LABELS: &str = "CREATE TABLE labels (code TEXT PRIMARY KEY, name TEXT NOT NULL); \
     CREATE TABLE labelled (id INTEGER PRIMARY KEY, label_code TEXT REFERENCES labels (code))";

/// A parent whose key comes back NULL, in a streamed batch (the optional association asked
/// for): an error naming the key and the table, and nothing of the batch stays, in the
/// caller's transaction and on a bare connection.
#[tokio::test]
async fn null_parent_keys_in_a_streamed_batch() {
    let mut conn = common::sqlite().await;
    sqlx::raw_sql(LABELS).execute(&mut conn).await.unwrap();
    for in_tx in [true, false] {
        let r = if in_tx {
            let mut tx = bounded(sqlx::Connection::begin(&mut conn)).await.unwrap();
            let r = bounded(
                Labelled::factory()
                    .with_session(&mut tx)
                    .label_code_with(|l| l)
                    .create_batch(N),
            )
            .await;
            bounded(sqlx::query("SELECT 1").execute(&mut *tx))
                .await
                .expect("the caller's transaction answers");
            bounded(tx.commit()).await.unwrap();
            r
        } else {
            bounded(
                Labelled::factory()
                    .with_session(&mut conn)
                    .label_code_with(|l| l)
                    .create_batch(N),
            )
            .await
        };
        let text = r.expect_err("a NULL key").to_string();
        assert!(
            text.contains("NULL") && text.contains("labels") && text.contains("label_code"),
            "{text}"
        );
        let left: (i64, i64) = bounded(
            sqlx::query_as("SELECT (SELECT COUNT(*) FROM labels), (SELECT COUNT(*) FROM labelled)")
                .fetch_one(&mut conn),
        )
        .await
        .unwrap();
        assert_eq!(left, (0, 0), "in_tx={in_tx}: {text}");
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there, and an error for `Label` on SQLite, whose key the database leaves NULL
    /// (`Labelled` creates fine without its optional parent).
    async fn check_every_model(mk, observer, kind) {
        bounded(sqlx::raw_sql(sqlx::AssertSqlSafe(codes_ddl(kind))).execute(&observer)).await.unwrap();
        let pool = mk(1).await.unwrap();
        let mut conn = bounded(pool.acquire()).await.unwrap();
        check_clean!(&mut *conn, kind, Grand, Elder, Kid, Stray, Code, Coded, CodedTwice, tx::Entry, tx::Author, tx::Book);
        if kind == Kind::Sqlite {
            exec!(&mut *conn, LABELS);
            check_clean!(&mut *conn, kind, Labelled);
            check_finds!(&mut *conn, kind, Label, "code", "the database does not fill");
        }
    }
}
