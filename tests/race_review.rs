//! A `get_or_create` batch that loses the race for some of its keys, attacked: errors at every
//! row position of the rows sent again, keys repeated in the batch, a batch of more than one
//! statement, hooks and transient values, every kind of session, a cancel at every poll, and
//! rows with parents to create. Each case sets up the race the same way: another transaction
//! inserts some of the batch's keys and holds them uncommitted; the batch looks its keys up
//! (none stored), its INSERT waits on the other's keys, then the other commits.
//!
//! What must hold after each case is checked from a second connection: a batch that succeeds
//! stored one row per key and returned the stored rows in its order; a batch that fails left
//! nothing of its own (the other's keys alone), and the caller's transaction and the pool's
//! next user work.
//!
//! SQLite inside the caller's transaction is not raced (its lookup holds a read snapshot, and
//! a write after another connection's commit fails with SQLITE_BUSY). MariaDB is not swept
//! for cancellation (sqlx's MariaDB connection is not cancel-safe mid-statement).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::Connection;
use sqlx_factory::Factory;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::bounded;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "raced", get_or_create(code))]
struct Raced {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "unset".to_string())]
    code: String,
    /// UNIQUE: a clash here is no race on the key.
    #[factory(default = "unset".to_string())]
    other: String,
    /// NOT NULL, CHECK (n > 0).
    #[factory(default = Some(1))]
    n: Option<i64>,
    #[factory(transient, default = -1)]
    #[sqlx(skip)]
    tag: i32,
}

/// A get_or_create model whose rows have a parent to create.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "raced_kids", get_or_create(code))]
struct Kid {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = tx::Author)]
    author_id: i64,
    #[factory(default = "unset".to_string())]
    code: String,
    #[factory(transient, default = -1)]
    #[sqlx(skip)]
    tag: i32,
}

fn schema_sql(kind: Kind) -> String {
    let (pk, text) = (kind.serial_pk(), kind.varchar());
    format!(
        "{}; CREATE TABLE raced (id {pk}, code {text} NOT NULL UNIQUE, other {text} NOT NULL UNIQUE, \
             n BIGINT NOT NULL CHECK (n > 0)); \
         CREATE TABLE raced_kids (id {pk}, author_id BIGINT NOT NULL REFERENCES authors (id), \
             code {text} NOT NULL UNIQUE)",
        tx::schema_sql(kind)
    )
}

/// One row of a batch: its key, its other unique value, its `n`.
#[derive(Clone)]
struct Spec {
    code: String,
    other: String,
    n: Option<i64>,
}

/// `c0`, `c1`, ... with `other` `o0`, `o1`, ... and `n` 1.
fn specs(n: usize) -> Vec<Spec> {
    (0..n)
        .map(|i| Spec {
            code: format!("c{i}"),
            other: format!("o{i}"),
            n: Some(1),
        })
        .collect()
}

/// Where the batch runs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Bound to a pool of two connections.
    Pool,
    /// Bound to a pool of one connection (the other transaction has a pool of its own).
    PoolOfOne,
    /// A bare connection of the pool.
    Bare,
    /// The caller's transaction, which writes a marker before and after, and commits even
    /// after an error (what lands must be its markers and, on success, the batch).
    CallerTx,
    /// `.in_savepoint()` in the caller's transaction, as `CallerTx`.
    InSavepoint,
    /// `.in_savepoint()` on a bare connection.
    InSavepointBare,
}

const MODES: [Mode; 6] = [
    Mode::Pool,
    Mode::PoolOfOne,
    Mode::Bare,
    Mode::CallerTx,
    Mode::InSavepoint,
    Mode::InSavepointBare,
];

impl Mode {
    fn in_caller_tx(self) -> bool {
        matches!(self, Mode::CallerTx | Mode::InSavepoint)
    }
}

/// What a case does besides the batch.
#[derive(Clone, Copy, Default)]
struct Extra {
    /// An after_create hook that records the rows it sees (and fails when `fail_hook`).
    hook: bool,
    fail_hook: bool,
}

/// Waits (bounded) until a statement of the batch waits on the other transaction: on
/// PostgreSQL a backend blocked by `$pid`, on MariaDB an INSERT into `$table` of the test's
/// database running; on SQLite the task must still run after 100 ms (it reaches the lock in a
/// few; the busy timeout then holds it for seconds). Returns whether it did.
macro_rules! wait_blocked {
    ($kind:expr, $observer:expr, $pid:expr, $table:literal, $task:expr) => {{
        match $kind {
            Kind::Sqlite => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                !$task.is_finished()
            }
            kind => {
                let mut waited = false;
                for _ in 0..300 {
                    let n: i64 = if kind == Kind::Postgres {
                        bounded(
                            sqlx::query_scalar(
                                "SELECT COUNT(*) FROM pg_stat_activity \
                                 WHERE CAST($1 AS INT) = ANY(pg_blocking_pids(pid))",
                            )
                            .bind($pid)
                            .fetch_one(&$observer),
                        )
                        .await
                        .unwrap()
                    } else {
                        bounded(
                            sqlx::query_scalar(concat!(
                                "SELECT CAST(COUNT(*) AS SIGNED) FROM information_schema.PROCESSLIST \
                                 WHERE DB = DATABASE() AND INFO LIKE 'INSERT INTO `",
                                $table,
                                "`%'"
                            ))
                            .fetch_one(&$observer),
                        )
                        .await
                        .unwrap()
                    };
                    if n > 0 {
                        // Seen before it reaches the lock (MariaDB): let it get there.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        waited = true;
                        break;
                    }
                    if $task.is_finished() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                waited
            }
        }
    }};
}

/// The other transaction's connection id (PostgreSQL's backend pid; 0 elsewhere).
macro_rules! backend_pid {
    ($kind:expr, $conn:expr) => {{
        if $kind == Kind::Postgres {
            let pid: i32 =
                bounded(sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *$conn))
                    .await
                    .unwrap();
            pid
        } else {
            0
        }
    }};
}

/// The bound factory `$f` with `.in_savepoint()` when `$mode` asks for it, and the hook `$hook`
/// (`Some((seen, fail))`: records each row's code it runs on, then fails when `fail`).
macro_rules! decorate {
    ($f:expr, $mode:expr, $hook:expr) => {{
        let f = $f;
        let f = match $mode {
            Mode::InSavepoint | Mode::InSavepointBare => f.in_savepoint(),
            _ => f,
        };
        let hook: Option<(Arc<Mutex<Vec<String>>>, bool)> = $hook;
        match hook {
            Some((seen, fail)) => f.after_create(move |r, _conn| {
                let (seen, code) = (seen.clone(), r.code.clone());
                Box::pin(async move {
                    seen.lock().unwrap().push(code);
                    if fail {
                        return Err("the hook fails".into());
                    }
                    Ok(())
                })
            }),
            None => f,
        }
    }};
}

/// Runs the factory expression `$factory` (a `Raced` or `Kid` factory, unbound) as
/// `get_or_create_batch($n)` in `$mode` on `$pool`, with the hook `$hook` (see [`decorate!`]);
/// the caller's markers go to `entries`.
macro_rules! batch_task {
    ($pool:expr, $mode:expr, $n:expr, $factory:expr, $hook:expr) => {{
        let (pool, mode, n, hook) = ($pool.clone(), $mode, $n, $hook);
        tokio::spawn(async move {
            let factory = $factory;
            let mut caller = Vec::new();
            let rows = match mode {
                Mode::Pool | Mode::PoolOfOne => {
                    decorate!(factory.with_session(&pool), mode, hook)
                        .get_or_create_batch(n)
                        .await
                }
                Mode::Bare | Mode::InSavepointBare => {
                    let mut conn = pool.acquire().await.unwrap();
                    decorate!(factory.with_session(&mut *conn), mode, hook)
                        .get_or_create_batch(n)
                        .await
                }
                Mode::CallerTx | Mode::InSavepoint => {
                    let mut conn = pool.acquire().await.unwrap();
                    let mut t = conn.begin().await.unwrap();
                    sqlx::query("INSERT INTO entries (name) VALUES ('before')")
                        .execute(&mut *t)
                        .await
                        .unwrap();
                    let rows = decorate!(factory.with_session(&mut *t), mode, hook)
                        .get_or_create_batch(n)
                        .await;
                    if let Err(e) = sqlx::query("INSERT INTO entries (name) VALUES ('after')")
                        .execute(&mut *t)
                        .await
                    {
                        caller.push(format!("the caller's INSERT after the batch failed: {e}"));
                    }
                    if let Err(e) = t.commit().await {
                        caller.push(format!("the caller's commit failed: {e}"));
                    }
                    rows
                }
            };
            (
                rows.map(|rows| {
                    rows.into_iter()
                        .map(|(r, c)| (r.id, r.code, c, r.tag))
                        .collect::<Vec<_>>()
                })
                .map_err(|e| e.to_string()),
                caller,
            )
        })
    }};
}

/// The race around a batch: `$other_pool`'s transaction inserts `$raced` (codes of `$table`)
/// uncommitted, the batch task starts, waits on them, then the other commits. Returns the
/// batch's outcome, the caller's problems, and whether the batch waited.
macro_rules! race {
    ($kind:expr, $observer:expr, $other_pool:expr, $table:literal, $raced:expr, $task:expr) => {{
        let mut other = bounded($other_pool.begin()).await.unwrap();
        let pid = backend_pid!($kind, other);
        for code in $raced {
            let sql = if $table == "raced" {
                format!("INSERT INTO raced (code, other, n) VALUES ('{code}', 'won-{code}', 1)")
            } else {
                // The author's id as each backend gives it (not `SELECT MAX(id)`: MariaDB
                // would lock the end of the index, and the batch's own authors wait on it).
                let last_id = match $kind {
                    Kind::Sqlite => "last_insert_rowid()",
                    Kind::Postgres => "currval(pg_get_serial_sequence('authors', 'id'))",
                    Kind::MariaDb => "LAST_INSERT_ID()",
                };
                format!(
                    "INSERT INTO authors (name) VALUES ('won'); \
                     INSERT INTO raced_kids (author_id, code) VALUES ({last_id}, '{code}')"
                )
            };
            bounded(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut *other))
                .await
                .unwrap();
        }
        let task = $task;
        let waited = wait_blocked!($kind, $observer, pid, $table, task);
        bounded(other.commit()).await.unwrap();
        let (rows, caller) = bounded(task).await.unwrap();
        (rows, caller, waited)
    }};
}

/// Every row of `raced` a second connection sees: (id, code, other), by code.
macro_rules! stored {
    ($observer:expr) => {{
        let rows: Vec<(i64, String, String)> = bounded(
            sqlx::query_as("SELECT id, code, other FROM raced ORDER BY code").fetch_all(&$observer),
        )
        .await
        .unwrap();
        rows
    }};
}

/// The durable markers of the caller (`before`, `after`).
macro_rules! markers {
    ($observer:expr) => {{
        let rows: Vec<String> = bounded(
            sqlx::query_scalar(
                "SELECT name FROM entries WHERE name IN ('before', 'after') ORDER BY name",
            )
            .fetch_all(&$observer),
        )
        .await
        .unwrap();
        rows
    }};
}

/// Empties the tables the cases write, from the observer.
macro_rules! clean {
    ($observer:expr) => {
        for sql in [
            "DELETE FROM raced",
            "DELETE FROM raced_kids",
            "DELETE FROM books",
            "DELETE FROM authors",
            "DELETE FROM entries",
        ] {
            bounded(sqlx::query(sql).execute(&$observer)).await.unwrap();
        }
    };
}

/// The end of a case: its problems as one finding (`$at` names the case), the pools closed,
/// the tables emptied.
macro_rules! end_case {
    ($findings:ident, $problems:ident, $at:expr, $pool:expr, $other_pool:expr, $observer:expr) => {{
        if !$problems.is_empty() {
            let finding = format!("{}: {}", $at, $problems.join("; "));
            eprintln!("FINDING {finding}");
            $findings.push(finding);
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), $pool.close()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), $other_pool.close()).await;
        clean!($observer);
    }};
}

/// One case on `raced`: the batch `$specs` in `$mode`, racing for `$raced`; `$want_err`:
/// `None` when it must succeed, else text its error must contain. Problems go to `$findings`.
macro_rules! case {
    ($findings:ident, $mk:ident, $observer:ident, $kind:ident, $name:expr, $mode:expr, $specs:expr, $raced:expr, $extra:expr, $want_err:expr) => {{
        let (name, mode, specs, extra): (&str, Mode, Vec<Spec>, Extra) = ($name, $mode, $specs, $extra);
        let raced: Vec<&str> = $raced;
        let want_err: Option<&str> = $want_err;
        let pool = $mk(if mode == Mode::Pool { 2 } else { 1 }).await.unwrap();
        let other_pool = $mk(1).await.unwrap();
        // A stored row whose `other` the cases clash with.
        bounded(sqlx::query("INSERT INTO raced (code, other, n) VALUES ('stored', 'taken', 1)").execute(&$observer)).await.unwrap();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let n = specs.len();
        let specs2 = Arc::new(specs.clone());
        let next = Arc::new(AtomicUsize::new(0));
        let hook = extra.hook.then(|| (seen.clone(), extra.fail_hook));
        // The batch starts once the other holds its keys.
        let (rows, caller, waited) = race!($kind, $observer, other_pool, "raced", raced.iter(), batch_task!(pool, mode, n, {
            Raced::factory().after_build(move |r: &mut Raced| {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let s = &specs2[i % specs2.len()];
                r.code = s.code.clone();
                r.other = s.other.clone();
                r.n = s.n;
                r.tag = i as i32;
            })
        }, hook));
        let at = format!("[{:?}] {name} in {mode:?}", $kind);
        let mut problems: Vec<String> = caller;
        if !waited {
            problems.push("the batch never waited on the other transaction".into());
        }
        let stored = stored!($observer);
        let markers = markers!($observer);
        if mode.in_caller_tx() && markers != ["after", "before"] {
            problems.push(format!("the caller's markers: {markers:?}"));
        }
        match (&rows, want_err) {
            (Ok(rows), None) => {
                // One row per key; the batch's rows are the stored ones, in its order.
                let mut codes: Vec<&str> = specs.iter().map(|s| s.code.as_str()).chain(raced.iter().copied()).chain(["stored"]).collect();
                codes.sort();
                codes.dedup();
                let got: Vec<&str> = stored.iter().map(|(_, c, _)| c.as_str()).collect();
                if got != codes {
                    problems.push(format!("stored codes {got:?}, expected {codes:?}"));
                }
                for (i, (s, (id, code, created, tag))) in specs.iter().zip(rows).enumerate() {
                    let first = specs.iter().position(|x| x.code == s.code) == Some(i);
                    let want_created = first && !raced.contains(&s.code.as_str());
                    let stored_id = stored.iter().find(|(_, c, _)| *c == s.code).map(|(id, _, _)| *id);
                    if *code != s.code || Some(*id) != stored_id || *created != want_created || *tag != i as i32 {
                        problems.push(format!(
                            "row {i}: got (id {id}, {code}, created {created}, tag {tag}), expected (id {stored_id:?}, {}, created {want_created}, tag {i})",
                            s.code
                        ));
                    }
                }
                if rows.len() != specs.len() {
                    problems.push(format!("{} rows returned for {}", rows.len(), specs.len()));
                }
                if extra.hook {
                    let seen = seen.lock().unwrap().clone();
                    let want: Vec<String> = specs.iter().map(|s| s.code.clone()).collect();
                    if seen != want {
                        problems.push(format!("the hook saw {seen:?}, expected {want:?}"));
                    }
                }
            }
            (Ok(rows), Some(text)) => problems.push(format!("succeeded ({} rows), expected an error containing {text:?}", rows.len())),
            (Err(e), None) => problems.push(format!("failed: {e}")),
            (Err(e), Some(text)) => {
                if !e.to_lowercase().contains(text) {
                    problems.push(format!("error without {text:?}: {e}"));
                }
                // Nothing of the batch: the stored row and the other's keys alone.
                let mut codes: Vec<&str> = raced.iter().copied().chain(["stored"]).collect();
                codes.sort();
                let got: Vec<&str> = stored.iter().map(|(_, c, _)| c.as_str()).collect();
                if got != codes {
                    problems.push(format!("the failed batch left rows: stored {got:?}, expected {codes:?}"));
                }
                eprintln!("{at}: error as expected: {e}");
            }
        }
        next_user!(problems, pool, $observer);
        end_case!($findings, problems, at, pool, other_pool, $observer);
    }};
}

fn with(mut specs: Vec<Spec>, i: usize, edit: impl FnOnce(&mut Spec)) -> Vec<Spec> {
    edit(&mut specs[i]);
    specs
}

/// The modes a backend races in (SQLite: not inside the caller's transaction).
fn modes(kind: Kind) -> Vec<Mode> {
    MODES
        .into_iter()
        .filter(|m| kind != Kind::Sqlite || !m.in_caller_tx())
        .collect()
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Errors at every position of a partially raced batch (the race on `c2` of five rows):
    /// a clash on the other unique column at row 0, 1, 2 (the raced row itself), 3 and 4;
    /// a NOT NULL and a CHECK failure in a row sent again; in every mode.
    async fn errors_in_a_partially_raced_batch(mk, observer, kind) {
        let mut findings: Vec<String> = Vec::new();
        for mode in modes(kind) {
            for row in [0, 1, 3, 4] {
                // The other's `c2` row holds `won-c2`: a row before `c2` waits on it too.
                let s = with(specs(5), row, |s| s.other = "won-c2".into());
                case!(findings, mk, observer, kind, &format!("clash on `other` at row {row}"), mode, s, vec!["c2"], Extra::default(), Some("other"));
            }
            // The raced row itself clashes on `other`: its key is stored, that row is returned.
            let s = with(specs(5), 2, |s| s.other = "won-c2".into());
            case!(findings, mk, observer, kind, "clash on `other` at the raced row", mode, s, vec!["c2"], Extra::default(), None);
            let s = with(specs(5), 4, |s| s.n = Some(-1));
            case!(findings, mk, observer, kind, "CHECK fails at the last row", mode, s, vec!["c2"], Extra::default(), Some("constraint"));
            let s = with(specs(5), 3, |s| s.n = None);
            case!(findings, mk, observer, kind, "NOT NULL fails at row 3", mode, s, vec!["c2"], Extra::default(), Some("null"));
        }
        tx::assert_no_findings(&findings);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Successes: keys repeated in the batch (the raced one too), a race for the first and the
    /// last row, for every key, a batch of more than one statement raced in its second one,
    /// and hooks (one that fails: nothing stays).
    async fn shapes_of_a_partially_raced_batch(mk, observer, kind) {
        let mut findings: Vec<String> = Vec::new();
        for mode in modes(kind) {
            let mut s = specs(5);
            s[2].code = "c1".into();
            s[4].code = "c1".into();
            s[3].code = "c0".into();
            case!(findings, mk, observer, kind, "repeated keys, the raced one repeated", mode, s, vec!["c1"], Extra::default(), None);
            case!(findings, mk, observer, kind, "race on the first and last rows", mode, specs(5), vec!["c0", "c4"], Extra::default(), None);
            case!(findings, mk, observer, kind, "race on every key", mode, specs(3), vec!["c0", "c1", "c2"], Extra::default(), None);
            case!(findings, mk, observer, kind, "600 rows, race in the second statement", mode, specs(600), vec!["c550"], Extra::default(), None);
            case!(findings, mk, observer, kind, "600 rows, race in both statements", mode, specs(600), vec!["c3", "c599"], Extra::default(), None);
            let s = with(specs(600), 590, |s| s.other = "won-c3".into());
            case!(findings, mk, observer, kind, "600 rows, race in the first, clash in the second", mode, s, vec!["c3"], Extra::default(), Some("other"));
            let hook = Extra { hook: true, fail_hook: false };
            case!(findings, mk, observer, kind, "after_create hook", mode, specs(4), vec!["c1"], hook, None);
            let fails = Extra { hook: true, fail_hook: true };
            case!(findings, mk, observer, kind, "after_create hook that fails", mode, specs(4), vec!["c1"], fails, Some("the hook fails"));
        }
        tx::assert_no_findings(&findings);
    }
}

/// The codes of `raced_kids` and how many authors a second connection sees.
macro_rules! kids {
    ($observer:expr) => {{
        let codes: Vec<String> = bounded(
            sqlx::query_scalar("SELECT code FROM raced_kids ORDER BY code").fetch_all(&$observer),
        )
        .await
        .unwrap();
        let authors: i64 =
            bounded(sqlx::query_scalar("SELECT COUNT(*) FROM authors").fetch_one(&$observer))
                .await
                .unwrap();
        (codes, authors)
    }};
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Rows with a parent to create lose the race for some keys: the batch fails as a whole,
    /// its error says that it lost the race and to run it again, and nothing of it stays (no
    /// parent either). Where it succeeds (SQLite: our transaction waits for the other writer
    /// before the lookup), it returns the stored row of each raced key and creates the others
    /// with one parent each.
    async fn partial_race_with_parents(mk, observer, kind) {
        let mut findings: Vec<String> = Vec::new();
        for mode in modes(kind) {
            for (n, raced) in [(3, vec!["k1"]), (4, vec!["k0", "k3"]), (600, vec!["k2", "k550"])] {
                let pool = mk(if mode == Mode::Pool { 2 } else { 1 }).await.unwrap();
                let other_pool = mk(1).await.unwrap();
                let next = Arc::new(AtomicUsize::new(0));
                let (rows, caller, waited) = race!(kind, observer, other_pool, "raced_kids", raced.iter(), batch_task!(pool, mode, n, {
                    Kid::factory().after_build(move |k: &mut Kid| {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        k.code = format!("k{i}");
                        k.tag = i as i32;
                    })
                }, None));
                let at = format!("[{kind:?}] {n} kids racing for {raced:?} in {mode:?}");
                let mut problems = caller;
                if !waited {
                    problems.push("the batch never waited on the other transaction".into());
                }
                let (codes, authors) = kids!(observer);
                let stored: Vec<(i64, String, i64)> = bounded(
                    sqlx::query_as("SELECT id, code, author_id FROM raced_kids ORDER BY id").fetch_all(&observer),
                ).await.unwrap();
                match &rows {
                    Ok(rows) => {
                        if codes.len() != n || authors != n as i64 {
                            problems.push(format!("{} kids and {authors} authors stored, expected {n} of each", codes.len()));
                        }
                        for (i, (id, code, created, tag)) in rows.iter().enumerate() {
                            let want = format!("k{i}");
                            let stored_id = stored.iter().find(|(_, c, _)| *c == want).map(|(id, _, _)| *id);
                            let want_created = !raced.contains(&want.as_str());
                            if *code != want || Some(*id) != stored_id || *created != want_created || *tag != i as i32 {
                                problems.push(format!("row {i}: got (id {id}, {code}, created {created}, tag {tag}), expected (id {stored_id:?}, {want}, created {want_created}, tag {i})"));
                            }
                        }
                    }
                    // Rows with parents that lost the race for some keys fail as a whole,
                    // saying so, and keep nothing (parents neither).
                    Err(e) => {
                        if !e.contains("lost the race") || !e.contains("Run it again") {
                            problems.push(format!("failed without saying it lost the race: {e}"));
                        }
                        if codes.len() != raced.len() || authors != raced.len() as i64 {
                            problems.push(format!("the failed batch left rows: kids {codes:?}, {authors} authors (the other's: {})", raced.len()));
                        }
                        eprintln!("{at}: {e}");
                    }
                }
                next_user!(problems, pool, observer);
                end_case!(findings, problems, at, pool, other_pool, observer);
            }
        }
        tx::assert_no_findings(&findings);
    }
}

/// Polls `fut` each time it is woken, at most `k` times, then drops it: `Some` with its output
/// when it finished first.
async fn polls<F: std::future::IntoFuture>(fut: F, k: usize) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut.into_future());
    let mut n = 0;
    std::future::poll_fn(|cx| {
        if n == k {
            return std::task::Poll::Ready(None);
        }
        n += 1;
        fut.as_mut().poll(cx).map(Some)
    })
    .await
}

on_dbs! {
    [sqlite, postgres]
    /// A partially raced batch (five rows, `c1` raced) dropped after its k-th poll, for every
    /// k until it completes, through a pool of one, a bare connection (which the caller then
    /// writes on) and the caller's transaction (which it then rolls back, as after any
    /// cancel): nothing of the batch is durable unless it completed, and the pool's next user
    /// commits. (A bare PostgreSQL connection dropped while sqlx's `BEGIN` is in flight stays
    /// in a transaction sqlx does not count, docs/DESIGN.md: the caller's write after is not
    /// checked for durability.)
    async fn cancel_a_partially_raced_batch(mk, observer, kind) {
        let mut findings: Vec<String> = Vec::new();
        let mut modes = vec!["pool", "bare"];
        if kind != Kind::Sqlite {
            modes.extend(["tx-rollback", "tx-in-savepoint"]);
        }
        for mode in modes {
            for k in 1..200 {
                let pool = mk(1).await.unwrap();
                let other_pool = mk(1).await.unwrap();
                let mut other = bounded(other_pool.begin()).await.unwrap();
                let pid = backend_pid!(kind, other);
                bounded(sqlx::query("INSERT INTO raced (code, other, n) VALUES ('c1', 'won-c1', 1)").execute(&mut *other)).await.unwrap();
                let dropped = Arc::new(tokio::sync::Notify::new());
                let committer = {
                    let (observer, dropped) = (observer.clone(), dropped.clone());
                    tokio::spawn(async move {
                        let blocked = async {
                            if kind == Kind::Sqlite {
                                tokio::time::sleep(Duration::from_millis(200)).await;
                                return;
                            }
                            loop {
                                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE CAST($1 AS INT) = ANY(pg_blocking_pids(pid))")
                                    .bind(pid).fetch_one(&observer).await.unwrap();
                                if n > 0 { return; }
                                tokio::time::sleep(Duration::from_millis(5)).await;
                            }
                        };
                        tokio::select! {
                            () = blocked => {}
                            () = dropped.notified() => {}
                        }
                        other.commit().await.unwrap();
                    })
                };
                let next = Arc::new(AtomicUsize::new(0));
                let factory = Raced::factory().after_build(move |r: &mut Raced| {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    r.code = format!("c{i}");
                    r.other = format!("o{i}");
                });
                let mut problems: Vec<String> = Vec::new();
                let completed;
                match mode {
                    "pool" => {
                        completed = polls(factory.with_session(&pool).get_or_create_batch(5), k).await.is_some();
                        dropped.notify_one();
                    }
                    "bare" => {
                        let mut conn = bounded(pool.acquire()).await.unwrap();
                        completed = polls(factory.with_session(&mut *conn).get_or_create_batch(5), k).await.is_some();
                        dropped.notify_one();
                        // The statement in flight when the batch was dropped may fail after
                        // it (its key won by the other): sqlx hands that error to the next
                        // statement on the connection. Then the connection works.
                        let after = "INSERT INTO entries (name) VALUES ('after')";
                        if bounded(sqlx::query(after).execute(&mut *conn)).await.is_err() {
                            caller_inserts_after!(problems, &mut *conn);
                        }
                    }
                    _ => {
                        // After a cancel the caller rolls back (README): the statement in
                        // flight may have failed in its transaction.
                        let mut t = bounded(pool.begin()).await.unwrap();
                        let factory = factory.with_session(&mut *t);
                        let factory = if mode == "tx-in-savepoint" { factory.in_savepoint() } else { factory };
                        completed = polls(factory.get_or_create_batch(5), k).await.is_some();
                        dropped.notify_one();
                        // The statement in flight may fail after the drop: sqlx hands its error
                        // to the rollback, and rolls back on the connection's next use.
                        let _ = bounded(t.rollback()).await;
                    }
                }
                bounded(committer).await.unwrap();
                let stored: Vec<String> = stored!(observer).into_iter().map(|(_, c, _)| c).collect();
                let whole = ["c0", "c1", "c2", "c3", "c4"];
                let durable_ok = match mode {
                    "pool" | "bare" => (stored == ["c1"] && !completed) || stored == whole,
                    _ => stored == ["c1"],
                };
                if !durable_ok {
                    problems.push(format!("durable after the cancel: {stored:?}"));
                }
                next_user!(problems, pool, observer);
                let at = format!("[{kind:?}] {mode} cancelled after poll {k} (completed: {completed})");
                end_case!(findings, problems, at, pool, other_pool, observer);
                if completed {
                    eprintln!("[{kind:?}] {mode}: completed after {k} polls");
                    break;
                }
            }
        }
        tx::assert_no_findings(&findings);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// The schema check on the tables these tests create.
    async fn check_every_model(mk, observer, kind) {
        let pool = mk(1).await.expect("a pool of one connection");
        let mut conn = bounded(pool.acquire()).await.unwrap();
        check_clean!(&mut *conn, kind, Raced, Kid, tx::Author, tx::Entry);
    }
}

on_dbs! {
    [postgres, mariadb]
    /// Two transactions get_or_create the key another transaction holds uncommitted; both
    /// wait on it, then it commits: both lose the race, and both get the stored row (neither
    /// deadlocks on the other while it sends its row again), five rounds.
    async fn two_losers_of_one_race(mk, observer, kind) {
        let mut findings: Vec<String> = Vec::new();
        for round in 0..5 {
            let pool = mk(3).await.unwrap();
            let other_pool = mk(1).await.unwrap();
            let mut other = bounded(other_pool.begin()).await.unwrap();
            let pid = backend_pid!(kind, other);
            bounded(sqlx::query("INSERT INTO raced (code, other, n) VALUES ('c0', 'won-c0', 1)").execute(&mut *other)).await.unwrap();
            let loser = |i: usize| {
                batch_task!(pool, Mode::CallerTx, 1, {
                    Raced::factory().after_build(move |r: &mut Raced| {
                        r.code = "c0".into();
                        r.other = format!("mine-{i}");
                    })
                }, None)
            };
            let (first, second) = (loser(1), loser(2));
            let waited = wait_blocked!(kind, observer, pid, "raced", first);
            // Let the second reach the lock too.
            tokio::time::sleep(Duration::from_millis(300)).await;
            bounded(other.commit()).await.unwrap();
            let mut problems: Vec<String> = Vec::new();
            if !waited {
                problems.push("the batches never waited on the other transaction".into());
            }
            let stored = stored!(observer);
            for task in [first, second] {
                let (rows, caller) = bounded(task).await.unwrap();
                problems.extend(caller);
                match rows {
                    Ok(rows) if rows.len() == 1 && rows[0].0 == stored[0].0 && !rows[0].2 => {}
                    other => problems.push(format!("got {other:?}, expected the stored row {stored:?}, not created")),
                }
            }
            let at = format!("[{kind:?}] round {round}");
            end_case!(findings, problems, at, pool, other_pool, observer);
        }
        tx::assert_no_findings(&findings);
    }
}
