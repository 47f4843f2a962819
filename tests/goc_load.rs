//! `get_or_create` batches from many tasks through one pool at once, keys new and stored
//! overlapping between the tasks, many rounds: what parallel tests that share default rows do.
//! Every batch returns the stored row of each of its keys and none fails (no deadlock, no
//! duplicate key) when the library owns the transaction, but for the known deadlocks named
//! below; exactly one row per key is stored, seen from a second connection, and exactly one
//! batch created it.
//!
//! Each round stores two of its six keys first; eight tasks each get or create five rows, a
//! key repeated among them (so the batch is more than one statement, in a transaction of its
//! own), the others spread over the six keys in an order of their own. The same for a child
//! whose `get_or_create` key holds its parent, itself got or created by key: the parents
//! are got or created inside the child's transaction; and for batches in transactions of the
//! caller's, where a deadlock ends the caller's transaction and the error must say so.

mod common;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx_factory::Factory;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::bounded;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "load_plans", get_or_create(code))]
struct Plan {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "unset".to_string())]
    code: String,
    #[factory(fake = fake::faker::name::en::Name())]
    title: String,
}

/// A key that holds its parent's: the parent is got or created first, in the child's
/// transaction.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "load_members", get_or_create(plan_id, handle))]
struct Member {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Plan)]
    plan_id: i64,
    #[factory(default = "unset".to_string())]
    handle: String,
}

fn schema_sql(kind: Kind) -> String {
    let (pk, text) = (kind.serial_pk(), kind.varchar());
    format!(
        "CREATE TABLE load_plans (id {pk}, code {text} NOT NULL UNIQUE, title {text} NOT NULL); \
         CREATE TABLE load_members (id {pk}, plan_id BIGINT NOT NULL REFERENCES load_plans (id), \
             handle {text} NOT NULL, UNIQUE (plan_id, handle))"
    )
}

/// Tasks per round (and connections of the pool).
const TASKS: usize = 8;
/// Keys per round, of which [`STORED`] are stored before the tasks start.
const KEYS: usize = 6;
const STORED: [usize; 2] = [1, 4];

/// The codes of task `task`'s five rows in round `round`: a key repeated, the others spread
/// over the round's keys in an order of the task's own.
fn codes(round: usize, task: usize) -> Vec<String> {
    let k = |j: usize| format!("r{round}-k{}", (task + j * (1 + task % 3)) % KEYS);
    vec![k(0), k(1), k(2), k(0), k(3)]
}

/// An `after_build` step that gives each row drawn the next of `codes`.
fn next_of<M: 'static>(
    codes: Vec<String>,
    field: fn(&mut M) -> &mut String,
) -> impl Fn(&mut M) + Send + Sync + 'static {
    let codes = Mutex::new(VecDeque::from(codes));
    move |row: &mut M| *field(row) = codes.lock().unwrap().pop_front().expect("a code per row")
}

/// One round: `TASKS` tasks start at once, task `task` running `$batch` (a future of
/// `Result<Vec<(row, created)>, sqlx_factory::Error>`, with `pool`, `round` and `task` in
/// scope); returns each task's result, errors as text.
macro_rules! round {
    ($pool:expr, $round:expr, |$p:ident, $r:ident, $t:ident| $batch:expr) => {{
        let start = Arc::new(tokio::sync::Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|$t| {
                let ($p, start, $r) = ($pool.clone(), start.clone(), $round);
                tokio::spawn(async move {
                    start.wait().await;
                    $batch.await.map_err(|e| e.to_string())
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(bounded(task).await.unwrap());
        }
        results
    }};
}

/// Stores the round's [`STORED`] keys of `load_plans`, committed, through `$observer`.
macro_rules! store_plans {
    ($observer:expr, $round:expr) => {
        for i in STORED {
            let sql = format!(
                "INSERT INTO load_plans (code, title) VALUES ('r{}-k{i}', 'stored')",
                $round
            );
            bounded(sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&$observer))
                .await
                .unwrap();
        }
    };
}

/// A task's batch: its rows, each with whether it created it, or its error's text.
type Outcome<R> = Result<Vec<(R, bool)>, String>;

/// What each task of a round (its index, its result) must have got: for each of its codes,
/// the one stored row of that code (`stored`: code → row), created only when the code was not
/// stored before the round, and by one batch alone when every batch succeeded.
fn check_round<R: std::fmt::Debug + PartialEq>(
    round: usize,
    results: Vec<(usize, Outcome<R>)>,
    stored: &HashMap<String, R>,
    code_of: impl Fn(&R) -> String,
    findings: &mut Vec<String>,
) {
    let all_ok = results.iter().all(|(_, r)| r.is_ok());
    let mut creators: HashMap<String, usize> = HashMap::new();
    for (task, result) in results {
        let rows = match result {
            Ok(rows) => rows,
            Err(e) => {
                findings.push(format!("round {round}, task {task} failed: {e}"));
                continue;
            }
        };
        let want = codes(round, task);
        let got: Vec<String> = rows.iter().map(|(r, _)| code_of(r)).collect();
        if got != want {
            findings.push(format!(
                "round {round}, task {task}: codes {got:?}, expected {want:?}"
            ));
        }
        for (row, created) in &rows {
            let code = code_of(row);
            if stored.get(&code) != Some(row) {
                findings.push(format!(
                    "round {round}, task {task}: got {row:?}, stored {:?}",
                    stored.get(&code)
                ));
            }
            if *created && STORED.iter().any(|i| code.ends_with(&format!("-k{i}"))) {
                findings.push(format!(
                    "round {round}, task {task}: {row:?} created, but its key was stored before"
                ));
            }
            if *created {
                *creators.entry(code).or_default() += 1;
            }
        }
    }
    if all_ok {
        for (code, row) in stored {
            let new = !STORED.iter().any(|i| code.ends_with(&format!("-k{i}")));
            let by = creators.get(code).copied().unwrap_or(0);
            if new && by != 1 {
                findings.push(format!(
                    "round {round}: {row:?} created by {by} batches, not one"
                ));
            }
        }
    }
}

/// Rounds per test.
const ROUNDS: usize = 30;

/// The round's plans a second connection sees, by code; a code stored twice is a finding.
macro_rules! stored_plans {
    ($observer:expr, $round:expr, $findings:expr) => {{
        let round = $round;
        let stored: Vec<Plan> = bounded(
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT id, code, title FROM load_plans WHERE code LIKE 'r{round}-%'"
            )))
            .fetch_all(&$observer),
        )
        .await
        .unwrap();
        let count = stored.len();
        let stored: HashMap<String, Plan> =
            stored.into_iter().map(|p| (p.code.clone(), p)).collect();
        if stored.len() != count {
            $findings.push(format!("round {round}: a code stored twice"));
        }
        stored
    }};
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Eight tasks × 30 rounds of `Plan` get_or_create batches through one pool.
    async fn concurrent_batches(mk, observer, kind) {
        let pool = mk(TASKS as u32).await.unwrap();
        let mut findings: Vec<String> = Vec::new();
        for round in 0..ROUNDS {
            store_plans!(observer, round);
            let results = round!(pool, round, |pool, round, task| {
                Plan::factory()
                    .after_build(next_of(codes(round, task), |p: &mut Plan| &mut p.code))
                    .with_session(&pool)
                    .get_or_create_batch(5)
            });
            let stored = stored_plans!(observer, round, findings);
            let results = results.into_iter().enumerate().collect();
            check_round(round, results, &stored, |p: &Plan| p.code.clone(), &mut findings);
        }
        tx::assert_no_findings(&findings);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Eight tasks × 30 rounds of `Member` get_or_create batches through one pool: each
    /// member's plan (its key's parent) is got or created by code first, in the member's
    /// transaction, then the members by `(plan_id, handle)`.
    async fn concurrent_batches_with_parents(mk, observer, kind) {
        let pool = mk(TASKS as u32).await.unwrap();
        let mut findings: Vec<String> = Vec::new();
        let mut known = 0usize;
        for round in 0..ROUNDS {
            store_plans!(observer, round);
            let results = round!(pool, round, |pool, round, task| {
                Member::factory()
                    .plan_id_with(|p| p.after_build(next_of(codes(round, task), |p: &mut Plan| &mut p.code)))
                    .after_build(next_of(handles(task), |m: &mut Member| &mut m.handle))
                    .with_session(&pool)
                    .get_or_create_batch(5)
            });
            let stored: Vec<(i64, i64, String, String)> = bounded(
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT m.id, m.plan_id, m.handle, p.code FROM load_members m \
                     JOIN load_plans p ON p.id = m.plan_id WHERE p.code LIKE 'r{round}-%'"
                )))
                .fetch_all(&observer),
            )
            .await
            .unwrap();
            let count = stored.len();
            // Keyed by the plan's code and the handle, as `codes` names them.
            let stored: HashMap<String, Member> = stored
                .into_iter()
                .map(|(id, plan_id, handle, code)| (format!("{code}/{handle}"), Member { id, plan_id, handle }))
                .collect();
            if stored.len() != count {
                findings.push(format!("round {round}: a member stored twice"));
            }
            let by_id: HashMap<i64, String> = stored
                .iter()
                .map(|(k, m)| (m.id, k.clone()))
                .collect();
            for (task, result) in results.into_iter().enumerate() {
                let rows = match result {
                    Ok(rows) => rows,
                    Err(e) if known_child_deadlock(kind, &e) => {
                        known += 1;
                        continue;
                    }
                    Err(e) => {
                        findings.push(format!("round {round}, task {task} failed: {e}"));
                        continue;
                    }
                };
                let want: Vec<String> = codes(round, task)
                    .into_iter()
                    .zip(handles(task))
                    .map(|(c, h)| format!("{c}/{h}"))
                    .collect();
                let got: Vec<String> = rows
                    .iter()
                    .map(|(m, _)| by_id.get(&m.id).cloned().unwrap_or_else(|| format!("no stored member {m:?}")))
                    .collect();
                if got != want {
                    findings.push(format!("round {round}, task {task}: {got:?}, expected {want:?}"));
                }
                for (m, _) in &rows {
                    if by_id.get(&m.id).and_then(|k| stored.get(k)) != Some(m) {
                        findings.push(format!("round {round}, task {task}: {m:?} is not the stored row"));
                    }
                }
            }
        }
        if known > 0 {
            eprintln!("[{kind:?}] {known} of {} batches met a known deadlock", ROUNDS * TASKS);
        }
        tx::assert_no_findings(&findings);
    }
}

/// Whether a child's batch may still fail with MariaDB's deadlock in its own INSERT, after its
/// parents were got or created in its transaction: the parents' rows are then written and
/// spent, so the batch cannot begin the transaction again (7-11 of 240 batches here). Its
/// parents' own INSERTs, the first write of the transaction, are sent again after a deadlock.
const CHILD_DEADLOCK_AFTER_PARENTS: bool = true;

/// [`CHILD_DEADLOCK_AFTER_PARENTS`]: the error is MariaDB's deadlock in the child's own
/// INSERT, which says the transaction ended and nothing of the batch was kept.
fn known_child_deadlock(kind: Kind, e: &str) -> bool {
    CHILD_DEADLOCK_AFTER_PARENTS
        && kind == Kind::MariaDb
        && e.starts_with(
            "MemberFactory::get_or_create_batch(5) into table `load_members` failed: Deadlock found",
        )
        && e.contains("(MariaDB error 1213")
}

/// The handles of task `task`'s five members: two values, so that members repeat.
fn handles(task: usize) -> Vec<String> {
    (0..5).map(|j| format!("h{}", (task + j) % 2)).collect()
}

on_dbs! {
    [postgres, mariadb]
    /// A `get_or_create` through a pool whose one INSERT waits on another transaction's
    /// uncommitted key, cancelled by a `timeout`: the pool closes its connection, but the
    /// server still runs the statement, and when the other transaction rolls back the row lands
    /// after the cancel returned, as a hand-written `execute(&pool)` does.
    async fn cancelled_insert_lands_after_the_cancel(mk, observer, kind) {
        use std::future::IntoFuture;
        let pool = mk(2).await.unwrap();
        let other_pool = mk(1).await.unwrap();
        let mut other = bounded(other_pool.begin()).await.unwrap();
        bounded(sqlx::query("INSERT INTO load_plans (code, title) VALUES ('held', 'other')").execute(&mut *other))
            .await
            .unwrap();
        let create = Plan::factory().code("held").title("mine").with_session(&pool).get_or_create();
        let cancelled = tokio::time::timeout(Duration::from_millis(500), create.into_future()).await;
        assert!(cancelled.is_err(), "the INSERT waits on the other transaction's key: {cancelled:?}");
        let count = "SELECT COUNT(*) FROM load_plans WHERE code = 'held'";
        let seen: i64 = bounded(sqlx::query_scalar(count).fetch_one(&observer)).await.unwrap();
        assert_eq!(seen, 0, "[{kind:?}] nothing is committed when the cancel returns");
        bounded(other.rollback()).await.unwrap();
        let mut landed = 0;
        for _ in 0..100 {
            landed = bounded(sqlx::query_scalar::<_, i64>(count).fetch_one(&observer)).await.unwrap();
            if landed > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let title: Option<String> = bounded(sqlx::query_scalar("SELECT title FROM load_plans WHERE code = 'held'").fetch_optional(&observer))
            .await
            .unwrap();
        assert_eq!((landed, title.as_deref()), (1, Some("mine")), "[{kind:?}] the cancelled INSERT landed after the cancel");
    }
}

on_dbs! {
    [postgres, mariadb]
    /// [`concurrent_batches`] with each batch in a transaction of the caller's, which commits
    /// after a success and rolls back after a failure. The caller's transaction is never
    /// restarted by us: on MariaDB a batch may fail with a deadlock, which ended the caller's
    /// transaction, and its error must say so. Every batch that succeeded returned the stored
    /// rows; one row per key.
    async fn concurrent_batches_in_caller_transactions(mk, observer, kind) {
        let pool = mk(TASKS as u32).await.unwrap();
        let mut findings: Vec<String> = Vec::new();
        let mut deadlocks = 0usize;
        for round in 0..ROUNDS {
            store_plans!(observer, round);
            let results = round!(pool, round, |pool, round, task| {
                async move {
                    let mut t = pool.begin().await.map_err(|e| e.to_string())?;
                    let rows = Plan::factory()
                        .after_build(next_of(codes(round, task), |p: &mut Plan| &mut p.code))
                        .with_session(&mut *t)
                        .get_or_create_batch(5)
                        .await;
                    match rows {
                        Ok(rows) => {
                            t.commit().await.map_err(|e| format!("the caller's commit: {e}"))?;
                            Ok(rows)
                        }
                        Err(e) => {
                            let text = e.to_string();
                            let _ = t.rollback().await;
                            Err(text)
                        }
                    }
                }
            });
            // A deadlock ended the caller's transaction: its batch has nothing to check but
            // its error's words.
            let results: Vec<(usize, Outcome<Plan>)> = results
                .into_iter()
                .enumerate()
                .filter(|(task, r)| match r {
                    Err(e) if kind == Kind::MariaDb && e.contains("(MariaDB error 1213") => {
                        if !e.contains("the database ended the whole transaction") {
                            findings.push(format!("round {round}, task {task}: a deadlock whose error does not say the transaction ended: {e}"));
                        }
                        deadlocks += 1;
                        false
                    }
                    _ => true,
                })
                .collect();
            let stored = stored_plans!(observer, round, findings);
            check_round(round, results, &stored, |p: &Plan| p.code.clone(), &mut findings);
        }
        eprintln!("[{kind:?}] {deadlocks} of {} batches in the caller's transaction met a deadlock", ROUNDS * TASKS);
        tx::assert_no_findings(&findings);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// The schema check on the tables these tests create.
    async fn check_every_model(mk, observer, kind) {
        let pool = mk(1).await.unwrap();
        let mut conn = bounded(pool.acquire()).await.unwrap();
        check_clean!(&mut *conn, kind, Plan, Member);
    }
}
