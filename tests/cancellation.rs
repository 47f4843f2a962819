//! Cancellation at every await point of an operation, and what the caller and the pool's next
//! user see afterwards from a second connection: the transaction promise checked at every point
//! where a caller can give up. A sweep polls an operation k times, drops it, ends the caller's
//! transaction in each way a caller can, and records every deviation, so one failing run shows
//! all of them.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sqlx::Connection;
use sqlx_factory::Factory;
use tokio::time::timeout;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::{Book, Entry, Op, Slugged, bounded, drop_after};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "pairs", get_or_create(a, b))]
struct Pair {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "x".to_string())]
    a: String,
    #[factory(default = None)]
    b: Option<String>,
    #[factory(transient, default = 0)]
    #[sqlx(skip)]
    tag: i32,
}

/// The shared tables and two of get_or_create's.
fn schema_sql(kind: Kind) -> String {
    let (pk, text) = (kind.serial_pk(), kind.varchar());
    format!(
        "{}; CREATE TABLE pairs (id {pk}, a {text} NOT NULL, b {text}, UNIQUE (a, b)); \
         CREATE TABLE slugged (id {pk}, author_id BIGINT NOT NULL REFERENCES authors (id), slug {text} NOT NULL UNIQUE)",
        tx::schema_sql(kind)
    )
}

const OPS: [&str; 4] = [
    "Entry in_savepoint create",
    "Entry create_batch(1200)",
    "Book create_batch(2) + parents + hook with nested in_savepoint create",
    "lint!(Entry, Book)",
];

/// The operation `op` on the session `$s` (a `&mut` transaction or connection), boxed.
macro_rules! op_future {
    ($op:expr, $s:expr) => {{
        let s = $s;
        let f: Op<'_> = match $op {
            0 => Box::pin(async move {
                let _ = Entry::factory()
                    .with_session(s)
                    .in_savepoint()
                    .create()
                    .await;
            }),
            1 => Box::pin(async move {
                let _ = Entry::factory().with_session(s).create_batch(1200).await;
            }),
            2 => Box::pin(async move {
                let _ = Book::factory()
                    .with_session(s)
                    .after_create(|_, conn| {
                        Box::pin(async move {
                            Entry::factory()
                                .with_session(conn)
                                .in_savepoint()
                                .create()
                                .await?;
                            Ok(())
                        })
                    })
                    .create_batch(2)
                    .await;
            }),
            _ => Box::pin(async move {
                let _ = sqlx_factory::lint!(s, Entry, Book).await;
            }),
        };
        f
    }};
}

const MODES: [&str; 5] = ["commit", "commit-direct", "rollback", "drop", "nested"];

/// Outside any caller's transaction: the durable markers are exactly `$markers`, and the
/// operation's rows are all durable or none (a cancel that lands on its final `COMMIT` may
/// find it done; `lint!`, op 3, never commits).
macro_rules! all_or_nothing {
    ($problems:ident, $observer:expr, $op:expr, $markers:expr) => {{
        let (markers, [entries, books, authors]) = seen!($observer);
        let expected: &[&str] = $markers;
        if markers != expected {
            $problems.push(format!(
                "durable markers {markers:?}, expected {expected:?}"
            ));
        }
        let whole = [(1, 0, 0), (1200, 0, 0), (2, 2, 2), (0, 0, 0)][$op];
        let durable = (entries, books, authors);
        if durable != (0, 0, 0) && ($op == 3 || durable != whole) {
            $problems.push(format!(
                "durable factory rows: {entries} entries, {books} books, {authors} authors"
            ));
        }
    }};
}

/// `cancel_sweep_in_transaction_N` sweeps the operation `OPS[N]`: one test per operation, so
/// they run side by side.
macro_rules! cancel_sweeps_in_transaction {
    ($($name:ident: $op:literal),+) => {
        $(
on_dbs! {
    [sqlite, postgres]
    /// Cancel the operation of `OPS` after its k-th poll (k = 1, 2, ... until it completes),
    /// inside the caller's transaction, then end the caller's transaction in each of `MODES`;
    /// check what a second connection sees and that the pool's next user commits durably.
    /// `settle`: wait 10 ms before dropping (the statement in flight completes on the server).
    async fn $name(mk, observer, kind) {
        let _ = kind;
        let mut findings: Vec<String> = Vec::new();
        let only_modes = std::env::var("ATTACK_MODES").ok();
        {
            let (op, op_name): (usize, &str) = ($op, OPS[$op]);
            for mode in MODES {
                if only_modes.as_deref().is_some_and(|m| !m.split(',').any(|x| x == mode)) { continue; }
                for settle in [false, true] {
                    for k in 1..60 {
                        let pool = mk(1).await.unwrap();
                        let mut tx = bounded(pool.begin()).await.unwrap();
                        bounded(sqlx::query("INSERT INTO entries (name) VALUES ('before')").execute(&mut *tx)).await.unwrap();
                        let mut problems: Vec<String> = Vec::new();
                        let completed;
                        if mode == "nested" {
                            let mut inner = bounded(Connection::begin(&mut *tx)).await.unwrap();
                            completed = drop_after(op_future!(op, &mut inner), k, settle).await;
                            caller_inserts_after!(problems, &mut *inner);
                            caller_step!(problems, "caller's inner commit", inner.commit());
                            caller_step!(problems, "caller's outer rollback", tx.rollback());
                        } else {
                            completed = drop_after(op_future!(op, &mut tx), k, settle).await;
                            if mode != "commit-direct" {
                                caller_inserts_after!(problems, &mut *tx);
                            }
                            match mode {
                                "commit" | "commit-direct" => {
                                    caller_step!(problems, "caller's commit", tx.commit());
                                }
                                "rollback" => {
                                    caller_step!(problems, "caller's rollback", tx.rollback());
                                }
                                _ => drop(tx),
                            }
                        }
                        let (markers, [entries, books, authors]) = seen!(observer);
                        let expected: Vec<String> = match mode {
                            "commit" => vec!["after".into(), "before".into()],
                            "commit-direct" => vec!["before".into()],
                            _ => vec![],
                        };
                        let committed_op = completed && matches!(mode, "commit" | "commit-direct") && op != 3;
                        if markers != expected {
                            problems.push(format!("durable markers {markers:?}, expected {expected:?}"));
                        }
                        // Documented: a cancelled operation's rows belong to the caller's
                        // transaction, and stay when it commits.
                        let caller_commits = matches!(mode, "commit" | "commit-direct");
                        if !committed_op && !caller_commits && (entries, books, authors) != (0, 0, 0) {
                            problems.push(format!(
                                "durable factory rows: {entries} entries, {books} books, {authors} authors"
                            ));
                        }
                        next_user!(problems, pool, observer);
                        let at = format!("[{kind:?}] op `{op_name}` mode {mode} settle={settle} cancelled after poll {k} (completed: {completed})");
                        end_iteration!(findings, problems, at, pool, observer);
                        if completed { break; }
                    }
                }
            }
        }
        tx::assert_no_findings(&findings);
    }
}
        )+
    };
}

cancel_sweeps_in_transaction!(
    cancel_sweep_in_transaction_0: 0,
    cancel_sweep_in_transaction_1: 1,
    cancel_sweep_in_transaction_2: 2,
    cancel_sweep_in_transaction_3: 3
);

on_dbs! {
    [sqlite, postgres]
    /// The same sweep on a bare pooled connection: after the cancellation the caller goes on
    /// with an autocommitted INSERT and returns the connection; nothing of the operation may be
    /// durable, the caller's INSERT must be, and so must the next user's.
    async fn cancel_sweep_bare_connection(mk, observer, kind) {
        let mut findings: Vec<String> = Vec::new();
        for (op, op_name) in OPS.iter().enumerate() {
            for settle in [false, true] {
                let mut sqlx_windows = 0;
                for k in 1..60 {
                    let pool = mk(1).await.unwrap();
                    let mut conn = bounded(pool.acquire()).await.unwrap();
                    let mut problems: Vec<String> = Vec::new();
                    let completed = drop_after(op_future!(op, &mut conn), k, settle).await;
                    // Dropped while sqlx's own `BEGIN` was in flight (PostgreSQL; SQLite's
                    // worker rolls such a BEGIN back itself): the caller's INSERT would go into
                    // a transaction sqlx does not know of, as after a dropped `conn.begin()`.
                    let in_sqlx_window = in_sqlx_begin_window!(&mut *conn, kind);
                    let expected: &[&str] = if in_sqlx_window {
                        sqlx_windows += 1;
                        conn.close_on_drop();
                        &[]
                    } else {
                        caller_inserts_after!(problems, &mut *conn);
                        &["after"]
                    };
                    drop(conn);
                    all_or_nothing!(problems, observer, op, expected);
                    next_user!(problems, pool, observer);
                    let at = format!("[{kind:?}] BARE op `{op_name}` settle={settle} cancelled after poll {k} (completed: {completed})");
                    end_iteration!(findings, problems, at, pool, observer);
                    if completed { break; }
                }
                // The window is the first poll or so of a sweep, never most of it.
                if sqlx_windows > 3 {
                    findings.push(format!("[{kind:?}] BARE op `{op_name}` settle={settle}: {sqlx_windows} drops in sqlx's BEGIN window"));
                }
            }
        }
        tx::assert_no_findings(&findings);
    }
}

on_dbs! {
    [sqlite, postgres]
    /// The same sweep on a factory bound to a pool of one connection: each operation takes
    /// that connection and runs in a transaction of its own. After the cancellation nothing of
    /// the operation may be durable (or all of it, when the cancel lands on its final COMMIT),
    /// and the next user gets the connection back at depth 0.
    async fn cancel_sweep_pool(mk, observer, kind) {
        let mut findings: Vec<String> = Vec::new();
        for (op, op_name) in OPS.iter().enumerate() {
            for settle in [false, true] {
                for k in 1..60 {
                    let pool = mk(1).await.unwrap();
                    let mut problems: Vec<String> = Vec::new();
                    let completed = drop_after(op_future!(op, &pool), k, settle).await;
                    all_or_nothing!(problems, observer, op, &[]);
                    next_user!(problems, pool, observer);
                    let at = format!("[{kind:?}] POOL op `{op_name}` settle={settle} cancelled after poll {k} (completed: {completed})");
                    end_iteration!(findings, problems, at, pool, observer);
                    if completed { break; }
                }
            }
        }
        tx::assert_no_findings(&findings);
    }
}

on_dbs! {
    [sqlite, postgres]
    /// `tokio::time::timeout` of 1..50 ms around a 20 000-row batch in the caller's
    /// transaction; the caller then commits. None of the batch may be durable.
    async fn timeouts_on_a_large_batch(mk, observer, kind) {
        let _ = kind;
        let mut findings: Vec<String> = Vec::new();
        for ms in [1u64, 2, 3, 5, 8, 13, 21, 34, 50] {
            let pool = mk(1).await.unwrap();
            let mut tx = bounded(pool.begin()).await.unwrap();
            bounded(sqlx::query("INSERT INTO entries (name) VALUES ('before')").execute(&mut *tx)).await.unwrap();
            let r = timeout(Duration::from_millis(ms), Entry::factory().with_session(&mut tx).create_batch(20_000)).await;
            let fired = r.is_err();
            let mut problems = Vec::new();
            // Odd timeouts: the caller commits (its transaction is intact, and the rows the
            // batch had sent belong to it); even ones: it rolls back, and nothing is durable.
            let commits = ms % 2 == 1;
            caller_step!(problems, "caller's commit or rollback", async { if commits { tx.commit().await } else { tx.rollback().await } });
            let (markers, [entries, ..]) = seen!(observer);
            let expected: &[&str] = if commits { &["before"] } else { &[] };
            if markers != expected { problems.push(format!("durable markers {markers:?}, expected {expected:?}")); }
            if !commits && entries != 0 { problems.push(format!("{entries} rows of the cancelled batch are durable after the rollback")); }
            next_user!(problems, pool, observer);
            end_iteration!(findings, problems, format!("[{kind:?}] timeout {ms} ms (fired: {fired})"), pool, observer);
        }
        tx::assert_no_findings(&findings);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Panics in `after_build`, `lazy`-like closures and hooks, inside `tokio::spawn` on a
    /// multi-thread runtime (the test body spawns onto the current runtime; the hook panics
    /// after its nested create).
    async fn panics_in_spawned_tasks(mk, observer, kind) {
        let _ = kind;
        let pool = mk(1).await.unwrap();
        let p = pool.clone();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let handle = rt.handle().clone();
        let t1 = handle.spawn(async move {
            let mut tx = p.begin().await.unwrap();
            sqlx::query("INSERT INTO entries (name) VALUES ('before')").execute(&mut *tx).await.unwrap();
            let _ = Entry::factory().with_session(&mut tx).after_build(|_| panic!("after_build panics")).create_batch(600).await;
        });
        assert!(bounded(t1).await.unwrap_err().is_panic());
        let p = pool.clone();
        let t2 = handle.spawn(async move {
            let mut tx = p.begin().await.unwrap();
            sqlx::query("INSERT INTO entries (name) VALUES ('before')").execute(&mut *tx).await.unwrap();
            let _ = Book::factory()
                .with_session(&mut tx)
                .after_create(|_, conn| Box::pin(async move {
                    Entry::factory().with_session(conn).in_savepoint().create().await?;
                    if true { panic!("hook panics after its nested create"); }
                    Ok(())
                }))
                .create_batch(600)
                .await;
        });
        assert!(bounded(t2).await.unwrap_err().is_panic());
        let (markers, [entries, books, authors]) = seen!(observer);
        assert_eq!((markers.len(), entries, books, authors), (0, 0, 0, 0));
        let mut problems = Vec::new();
        next_user!(problems, pool, observer);
        assert!(problems.is_empty(), "{problems:?}");
        rt.shutdown_background();
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// get_or_create: composite keys with a NULL part, keys repeated in a batch (transients
    /// restored on every row), get_or_create with an association.
    async fn get_or_create_edges(mk, observer, kind) {
        let _ = &observer;
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        let mut findings = Vec::new();
        // NULL part: three rows, each its own.
        let rows = bounded(Pair::factory().with_session(&mut tx).create_batch(3)).await.unwrap();
        let mut ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        ids.sort(); ids.dedup();
        if ids.len() != 3 { findings.push(format!("NULL part: {rows:?}")); }
        // Repeated full key in one batch, with transients.
        let n = Arc::new(AtomicUsize::new(0));
        let rows = bounded(Pair::factory().with_session(&mut tx).b(Some("y".to_string())).after_build({
            let n = n.clone();
            move |p: &mut Pair| p.tag = n.fetch_add(1, Ordering::SeqCst) as i32
        }).create_batch(4)).await;
        match rows {
            Ok(rows) => {
                if rows.iter().any(|r| r.id != rows[0].id) { findings.push(format!("repeated key gave different rows: {rows:?}")); }
                let tags: Vec<i32> = rows.iter().map(|r| r.tag).collect();
                if tags != [0, 1, 2, 3] { findings.push(format!("transients of repeated keys: {tags:?}")); }
            }
            Err(e) => findings.push(format!("repeated key in a batch failed: {e}")),
        }
        let stored: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM pairs").fetch_one(&mut *tx)).await.unwrap();
        if stored != 4 { findings.push(format!("{stored} pairs stored, expected 4")); }
        // Mixed: found, new, repeated-new, NULL part in one batch.
        let k = Arc::new(AtomicUsize::new(0));
        let rows = bounded(Pair::factory().with_session(&mut tx).after_build({
            let k = k.clone();
            move |p: &mut Pair| {
                let i = k.fetch_add(1, Ordering::SeqCst);
                p.b = [Some("y"), Some("z"), Some("z"), None][i % 4].map(str::to_string);
            }
        }).create_batch(8)).await;
        match rows {
            Ok(rows) => {
                if rows[1].id != rows[2].id || rows[1].id != rows[5].id || rows[0].id != rows[4].id || rows[3].id == rows[7].id {
                    findings.push(format!("mixed batch mapping wrong: {:?}", rows.iter().map(|r| (r.id, r.b.clone())).collect::<Vec<_>>()));
                }
            }
            Err(e) => findings.push(format!("mixed batch failed: {e}")),
        }
        // get_or_create with association, repeated in a batch: one author.
        let before: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM authors").fetch_one(&mut *tx)).await.unwrap();
        let rows = bounded(Slugged::factory().with_session(&mut tx).slug("s1").create_batch(3)).await.unwrap();
        let after: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM authors").fetch_one(&mut *tx)).await.unwrap();
        if after - before != 1 || rows.iter().any(|r| r.id != rows[0].id) {
            findings.push(format!("get_or_create with association x3: {} authors made, rows {rows:?}", after - before));
        }
        // Collation: "K" and "k" in one batch.
        let c = Arc::new(AtomicUsize::new(0));
        let r = bounded(Slugged::factory().with_session(&mut tx).after_build({
            let c = c.clone();
            move |s: &mut Slugged| s.slug = ["Kk", "kk", "kk "][c.fetch_add(1, Ordering::SeqCst) % 3].to_string()
        }).create_batch(3)).await;
        let in_tx: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM slugged WHERE slug <> 's1'").fetch_one(&mut *tx)).await.unwrap();
        let authors_now: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM authors").fetch_one(&mut *tx)).await.unwrap();
        eprintln!("[{kind:?}] collation batch: {:?}; rows left in tx {in_tx}; authors {} -> {}", r.as_ref().map(|v| v.len()).map_err(|e| e.to_string()), after, authors_now);
        if r.is_err() && (in_tx != 0 || authors_now != after) {
            findings.push(format!("failed collation batch left {in_tx} rows / {} authors", authors_now - after));
        }
        let _ = bounded(tx.rollback()).await;
        assert!(findings.is_empty(), "{findings:#?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Sequences across processes.

on_dbs! {
    [sqlite, postgres, mariadb]
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there.
    async fn check_every_model(mk, observer, kind) {
        let pool = mk(1).await.expect("a pool of one connection");
        let mut conn = bounded(pool.acquire()).await.unwrap();
        check_clean!(
            &mut *conn,
            kind,
            Pair,
            tx::Entry,
            tx::Blob,
            tx::Author,
            tx::Book,
            tx::Slugged,
        );
    }
}
