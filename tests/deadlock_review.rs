//! Attacks on get_or_create's answer to a PostgreSQL deadlock (rows sent again one at a time,
//! their savepoints nested, a back-off before each resend): rows that fail for another reason
//! after the resend, a deadlock on the caller's own rows that no resend can cure, a
//! cancellation after the deadlock, and a batch of thousands of rows sent one at a time.

#![cfg(feature = "postgres")]

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgPool};
use sqlx_factory::Factory;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "dlr_plans", get_or_create(code))]
struct Plan {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "unset".to_string())]
    code: String,
    #[factory(default = "mine".to_string())]
    title: String,
    #[factory(default = 1)]
    amount: i32,
    label: Option<String>,
}

const SCHEMA: &str = "CREATE TABLE dlr_plans (id BIGSERIAL PRIMARY KEY, \
    code VARCHAR(50) NOT NULL UNIQUE, title VARCHAR(50) NOT NULL, \
    amount INT NOT NULL CHECK (amount > 0), label VARCHAR(50) UNIQUE)";

/// Gives the built plans, in turn, `codes` and (when given) `amounts` and `labels`.
fn next_plan(
    codes: &[&str],
    amounts: &[i32],
    labels: &[Option<&str>],
) -> impl Fn(&mut Plan) + Send + Sync + 'static {
    let codes = Mutex::new(codes.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let amounts = Mutex::new(amounts.to_vec());
    let labels = Mutex::new(
        labels
            .iter()
            .map(|l| l.map(str::to_string))
            .collect::<Vec<_>>(),
    );
    move |p: &mut Plan| {
        p.code = codes.lock().unwrap().remove(0);
        let mut amounts = amounts.lock().unwrap();
        if !amounts.is_empty() {
            p.amount = amounts.remove(0);
        }
        let mut labels = labels.lock().unwrap();
        if !labels.is_empty() {
            p.label = labels.remove(0);
        }
    }
}

/// Waits (bounded) until a backend waits for the transaction of `other`.
async fn until_waits_for(pool: &PgPool, other: i32) {
    for _ in 0..600 {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_locks w JOIN pg_locks h ON h.transactionid = w.transactionid \
             WHERE h.pid = $1 AND h.granted AND w.pid <> $1 AND NOT w.granted",
        )
        .bind(other)
        .fetch_one(pool)
        .await
        .unwrap();
        if n > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no backend ever waited for {other}");
}

/// A connection of the pool with `deadlock_timeout` 20 s (so the other side of a deadlock,
/// with the server's 1 s, is its victim) in a transaction that inserted `codes`; and its pid.
async fn other_holding(
    pool: &PgPool,
    codes: &[&str],
) -> (sqlx::pool::PoolConnection<sqlx::Postgres>, i32) {
    let mut other = pool.acquire().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *other)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET deadlock_timeout = '20s'; BEGIN; INSERT INTO dlr_plans (code, title, amount) \
         SELECT c, 'other', 1 FROM unnest('{{{}}}'::text[]) c",
        codes.join(",")
    )))
    .execute(&mut *other)
    .await
    .unwrap();
    (other, pid)
}

/// The end of a batch that no resend could cure: the caller's transaction still answers and
/// holds `kept` rows (its own, none of the batch's); its rollback frees the other, whose
/// INSERT (`waiting`) then goes through.
async fn caller_rolls_back(
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    kept: i64,
    waiting: tokio::task::JoinHandle<(
        Result<(), sqlx::Error>,
        sqlx::pool::PoolConnection<sqlx::Postgres>,
    )>,
) {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dlr_plans")
        .fetch_one(&mut *tx)
        .await
        .expect("the caller's transaction stays usable");
    assert_eq!(count, kept, "the caller's rows, none of the batch's");
    tx.rollback().await.unwrap();
    let (r, mut other) = common::bounded(waiting).await.unwrap();
    r.expect("the other goes on once the caller rolls back");
    sqlx::raw_sql("ROLLBACK; RESET deadlock_timeout")
        .execute(&mut *other)
        .await
        .unwrap();
}

/// Runs `op` (a batch whose rows begin with plans `a`, `b`) against another transaction that
/// holds plan `b`; once `op`'s INSERT waits, the other inserts `a`: a deadlock, ours the
/// victim. The other then rolls back. Returns `op`'s result.
async fn against_deadlock<T: Send + 'static>(
    pool: &PgPool,
    op: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    sqlx::raw_sql(SCHEMA).execute(pool).await.unwrap();
    let (mut other, pid) = other_holding(pool, &["b"]).await;
    let task = tokio::spawn(op);
    until_waits_for(pool, pid).await;
    common::bounded(
        sqlx::query("INSERT INTO dlr_plans (code, title, amount) VALUES ('a', 'other', 1)")
            .execute(&mut *other),
    )
    .await
    .unwrap();
    sqlx::raw_sql("ROLLBACK; RESET deadlock_timeout")
        .execute(&mut *other)
        .await
        .unwrap();
    common::bounded(task).await.unwrap()
}

/// The plans as a second connection sees them: codes in order.
async fn codes(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT code FROM dlr_plans ORDER BY code")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Through a pool (a transaction of the operation's own): after the deadlock the rows are
/// sent one at a time and the third fails its CHECK: the error is the CHECK's, nothing is
/// stored, and the pool's connections work after.
#[tokio::test]
async fn goc_deadlock_then_check_violation_in_pool_postgres() {
    common::bounded_test(async {
        let pool = common::postgres_pool_of("dlr_check_pool", 4).await;
        let p = pool.clone();
        let result = against_deadlock(&pool, async move {
            Plan::factory()
                .after_build(next_plan(&["a", "b", "c"], &[1, 1, -1], &[]))
                .with_session(&p)
                .get_or_create_batch(3)
                .await
        })
        .await;
        let err = result.expect_err("the third row fails its CHECK");
        let text = format!("{err:#}");
        assert!(text.contains("dlr_plans_amount_check"), "{text}");
        assert!(codes(&pool).await.is_empty(), "nothing stored");
        let again = Plan::factory()
            .after_build(next_plan(&["a", "b"], &[], &[]))
            .with_session(&pool)
            .get_or_create_batch(2)
            .await
            .expect("the pool works after");
        assert_eq!(again.len(), 2);
    })
    .await;
}

/// In the caller's transaction: after the deadlock the rows are sent one at a time and the
/// third clashes on another unique column (`label`) with a row of the caller's: the error is
/// that clash, the caller's transaction goes on with its own row and none of the batch's.
#[tokio::test]
async fn goc_deadlock_then_other_unique_clash_in_caller_transaction_postgres() {
    common::bounded_test(async {
        let pool = common::postgres_pool_of("dlr_unique_caller", 4).await;
        let p = pool.clone();
        let (result, next, commit) = against_deadlock(&pool, async move {
            let mut conn = p.acquire().await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            sqlx::query("INSERT INTO dlr_plans (code, title, amount, label) VALUES ('caller', 'x', 1, 'taken')")
                .execute(&mut *tx)
                .await
                .unwrap();
            let result = Plan::factory()
                .after_build(next_plan(&["a", "b", "c"], &[], &[None, None, Some("taken")]))
                .with_session(&mut *tx)
                .get_or_create_batch(3)
                .await;
            let next = sqlx::query("INSERT INTO dlr_plans (code, title, amount) VALUES ('after', 'x', 1)")
                .execute(&mut *tx)
                .await
                .map(drop);
            (result, next, tx.commit().await)
        })
        .await;
        let err = result.expect_err("the third row clashes on label");
        let text = format!("{err:#}");
        assert!(text.contains("dlr_plans_label_key"), "{text}");
        next.expect("the caller's transaction goes on");
        commit.expect("the caller commits");
        assert_eq!(codes(&pool).await, ["after", "caller"], "none of the batch's rows");
    })
    .await;
}

/// In the caller's transaction, the other waits for a row of the caller's (inserted before
/// the batch), not of ours: rolling back our rows cannot cure that deadlock. The batch ends
/// with the deadlock's error after its bounded resends, well within a minute, and the
/// caller's transaction stays usable (its rollback then frees the other).
#[tokio::test]
async fn goc_deadlock_on_callers_own_row_ends_postgres() {
    common::bounded_test(async {
        let pool = common::postgres_pool_of("dlr_callers_row", 4).await;
        sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let caller: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("INSERT INTO dlr_plans (code, title, amount) VALUES ('a', 'caller', 1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        let (mut other, _) = other_holding(&pool, &["b"]).await;
        // The other waits for the caller's `a` (its deadlock check, after 20 s, never runs).
        let waiting = tokio::spawn(async move {
            let r =
                sqlx::query("INSERT INTO dlr_plans (code, title, amount) VALUES ('a', 'other', 1)")
                    .execute(&mut *other)
                    .await
                    .map(drop);
            (r, other)
        });
        until_waits_for(&pool, caller).await;
        // Each row an INSERT tries draws its id, rolled back or not: the server's own count
        // of the rows the batch sent.
        let ids = "SELECT last_value FROM dlr_plans_id_seq";
        let ids_before: i64 = sqlx::query_scalar(ids).fetch_one(&pool).await.unwrap();
        let started = Instant::now();
        let result = common::bounded(
            Plan::factory()
                .after_build(next_plan(&["b", "c"], &[], &[]))
                .with_session(&mut *tx)
                .get_or_create_batch(2),
        )
        .await;
        let took = started.elapsed();
        let ids_after: i64 = sqlx::query_scalar(ids).fetch_one(&pool).await.unwrap();
        // The batch's statement, then `b` alone 6 times (it meets the deadlock first, so `c`
        // is never sent again): the "6 times" of the error is what the server saw.
        assert_eq!(ids_after - ids_before, 1 + 6, "rows the server was sent");
        let err = result.expect_err("no resend can cure a deadlock on the caller's row");
        let text = format!("{err:#}");
        assert!(text.contains("deadlock"), "{text}");
        // The error says that resending was tried, and where such a deadlock comes from.
        assert!(
            text.contains("sent again 6 times after a deadlock"),
            "{text}"
        );
        assert!(
            text.contains("written before this operation in the same transaction"),
            "{text}"
        );
        assert!(took < Duration::from_secs(30), "took {took:?}");
        eprintln!("ended after {took:?}: {text}");
        caller_rolls_back(tx, 1, waiting).await;
    })
    .await;
}

/// The caller drops the batch `delay` after PostgreSQL picked it as the deadlock's victim
/// (while it rolls back to its savepoint, backs off, or sends the rows again); the other then
/// rolls back, and the caller inserts a row of its own and commits (`commits`) or rolls back.
/// Returns that insert's result and the codes stored after.
async fn cancelled_after(
    pool: &PgPool,
    delay: Duration,
    commits: bool,
) -> (Result<(), sqlx::Error>, Vec<String>) {
    sqlx::raw_sql("DROP TABLE IF EXISTS dlr_plans")
        .execute(pool)
        .await
        .unwrap();
    sqlx::raw_sql(SCHEMA).execute(pool).await.unwrap();
    let (mut other, pid) = other_holding(pool, &["b"]).await;
    let p = pool.clone();
    let cancel = std::sync::Arc::new(tokio::sync::Notify::new());
    let signal = cancel.clone();
    let (dropped, was_dropped) = tokio::sync::oneshot::channel();
    let go = std::sync::Arc::new(tokio::sync::Notify::new());
    let went = go.clone();
    let task = tokio::spawn(async move {
        let mut conn = p.acquire().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("INSERT INTO dlr_plans (code, title, amount) VALUES ('caller', 'x', 1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        let batch = Plan::factory()
            .after_build(next_plan(&["a", "b"], &[], &[]))
            .with_session(&mut *tx)
            .get_or_create_batch(2);
        tokio::select! {
            r = batch => panic!("finished before it was dropped: {r:?}"),
            () = signal.notified() => {}
        }
        dropped.send(()).unwrap();
        went.notified().await;
        let next =
            sqlx::query("INSERT INTO dlr_plans (code, title, amount) VALUES ('after', 'x', 1)")
                .execute(&mut *tx)
                .await
                .map(drop);
        let end = match commits {
            true => tx.commit().await,
            false => tx.rollback().await,
        };
        // A commit of an aborted transaction is PostgreSQL's rollback: it answers no error.
        end.expect("the caller ends its transaction");
        next
    });
    until_waits_for(pool, pid).await;
    // Returns once ours is rolled back (the deadlock); the other keeps `b` until it ends.
    common::bounded(
        sqlx::query("INSERT INTO dlr_plans (code, title, amount) VALUES ('a', 'other', 1)")
            .execute(&mut *other),
    )
    .await
    .unwrap();
    tokio::time::sleep(delay).await;
    cancel.notify_one();
    common::bounded(was_dropped).await.unwrap();
    sqlx::raw_sql("ROLLBACK; RESET deadlock_timeout")
        .execute(&mut *other)
        .await
        .unwrap();
    go.notify_one();
    let next = common::bounded(task).await.unwrap();
    (next, codes(pool).await)
}

/// Dropped at points after the deadlock: the caller's transaction goes on (or, dropped before
/// the rollback to our savepoint was sent, PostgreSQL says it is aborted), its rollback leaves
/// nothing, its commit keeps its own rows (and, as documented, those the batch had sent), and
/// the pool's connection works after.
#[tokio::test]
async fn goc_deadlock_cancelled_after_victim_in_caller_transaction_postgres() {
    common::bounded_test(async {
        let pool = common::postgres_pool_of("dlr_cancel_caller", 4).await;
        for (i, millis) in [0, 2, 4, 6, 9, 15, 0, 2, 4, 6, 9, 15]
            .into_iter()
            .enumerate()
        {
            let commits = i < 6;
            let (next, stored) =
                cancelled_after(&pool, Duration::from_millis(millis), commits).await;
            let at = format!("after {millis} ms, commits: {commits}: {next:?}, stored {stored:?}");
            match next {
                Ok(()) if commits => {
                    assert!(
                        ["after", "caller"]
                            .iter()
                            .all(|c| stored.contains(&c.to_string())),
                        "{at}"
                    );
                    assert!(
                        stored
                            .iter()
                            .all(|c| ["a", "after", "b", "caller"].contains(&c.as_str())),
                        "{at}"
                    );
                }
                Ok(()) => assert!(stored.is_empty(), "{at}"),
                Err(sqlx::Error::Database(ref db)) if db.code().as_deref() == Some("25P02") => {
                    assert!(stored.is_empty(), "{at}");
                }
                Err(_) => panic!("{at}"),
            }
            let again = Plan::factory()
                .after_build(next_plan(&["x", "y"], &[], &[]))
                .with_session(&pool)
                .get_or_create_batch(2)
                .await;
            assert!(again.is_ok(), "the pool works after ({at}): {again:?}");
        }
    })
    .await;
}

/// A batch far larger than PostgreSQL's shared lock table (`max_locks_per_transaction` ×
/// connections) whose INSERT statements (500 rows each) all lose a race, on their first key:
/// their rows are sent one at a time. Each row's savepoint left open held a lock there until
/// the batch's transaction ended, so the batch failed with "out of shared memory" (and took
/// the table from every other connection of the server meanwhile).
#[tokio::test]
async fn goc_thousands_of_rows_one_at_a_time_postgres() {
    common::bounded_test(async {
        let pool = common::postgres_pool_of("dlr_many_rows", 4).await;
        sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
        let (locks, connections): (String, String) = sqlx::query_as(
            "SELECT current_setting('max_locks_per_transaction'), \
             (current_setting('max_connections')::int + \
              current_setting('max_prepared_transactions')::int)::text",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        let rows = 3 * locks.parse::<usize>().unwrap() * connections.parse::<usize>().unwrap();
        let names: Vec<String> = (0..rows).map(|i| format!("k{i:06}")).collect();
        let firsts: Vec<&str> = names.iter().step_by(500).map(String::as_str).collect();
        let (mut other, pid) = other_holding(&pool, &firsts).await;
        let p = pool.clone();
        let task = tokio::spawn(async move {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            Plan::factory()
                .after_build(next_plan(&names, &[], &[]))
                .with_session(&p)
                .get_or_create_batch(rows)
                .await
        });
        until_waits_for(&pool, pid).await;
        // The other commits the first key of each statement: each loses the race on it.
        sqlx::raw_sql("COMMIT; RESET deadlock_timeout")
            .execute(&mut *other)
            .await
            .unwrap();
        let result = common::bounded(task).await.unwrap();
        let made = result.expect("every row found or inserted");
        assert_eq!(made.len(), rows);
        assert_eq!(
            (made[0].0.title.as_str(), made[0].1),
            ("other", false),
            "the first key's stored row"
        );
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dlr_plans")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count as usize, rows);
    })
    .await;
}

/// The schema check on the table these tests create.
#[tokio::test]
async fn check_every_model_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("dlr_check").await;
        sqlx::raw_sql(SCHEMA).execute(&mut conn).await.unwrap();
        check_clean!(&mut conn, common::Kind::Postgres, Plan);
    })
    .await;
}

/// In the caller's transaction, a batch too large for one statement: its first statement
/// inserts `a` (its savepoint released), its second meets `b`, held by another transaction
/// that then waits for that `a`. No resend of the second statement's rows frees `a`, so every
/// resend meets the deadlock: what the other waits for was written by this operation itself,
/// not before it, and the error must not say otherwise. The other waits on the caller's
/// transaction once that savepoint is released (PostgreSQL), so it goes on only when the
/// caller rolls back, which the error says to do; the caller's transaction stays usable.
#[tokio::test]
async fn goc_deadlock_on_its_own_earlier_statement_postgres() {
    common::bounded_test(async {
        let pool = common::postgres_pool_of("dlr_own_statement", 4).await;
        sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
        let (mut other, other_pid) = other_holding(&pool, &["b"]).await;
        let mut conn = pool.acquire().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        // At most 500 rows a statement: `a` and 499 more, then `b`.
        let codes: Vec<String> = std::iter::once("a".to_string())
            .chain((1..500).map(|i| format!("p{i:03}")))
            .chain(std::iter::once("b".to_string()))
            .collect();
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        let rows = codes.len();
        let ids = "SELECT last_value FROM dlr_plans_id_seq";
        let ids_before: i64 = sqlx::query_scalar(ids).fetch_one(&pool).await.unwrap();
        let batch = Plan::factory()
            .after_build(next_plan(&codes, &[], &[]))
            .with_session(&mut *tx)
            .get_or_create_batch(rows);
        // Once the batch waits for `b`, the other inserts `a`, which the batch's first
        // statement wrote.
        let p = pool.clone();
        let waiting = tokio::spawn(async move {
            until_waits_for(&p, other_pid).await;
            let r =
                sqlx::query("INSERT INTO dlr_plans (code, title, amount) VALUES ('a', 'other', 1)")
                    .execute(&mut *other)
                    .await
                    .map(drop);
            (r, other)
        });
        let result = common::bounded(batch).await;
        let ids_after: i64 = sqlx::query_scalar(ids).fetch_one(&pool).await.unwrap();
        let err = result.expect_err("no resend frees the row of the batch's first statement");
        let text = format!("{err:#}");
        eprintln!("{text}");
        // Both statements, the other's `a`, then `b` alone 6 times.
        assert_eq!(
            ids_after - ids_before,
            rows as i64 + 1 + 6,
            "rows the server was sent"
        );
        assert!(
            text.contains("sent again 6 times after a deadlock"),
            "{text}"
        );
        assert!(
            text.contains("by an earlier statement of this operation"),
            "the row was written by this operation's own first statement: {text}"
        );
        // Through anyhow and eyre: the deadlock and what was tried, each said once.
        for (how, report) in common::reports(err) {
            for said in [
                "deadlock detected",
                "sent again 6 times",
                "roll the transaction back",
            ] {
                assert_eq!(
                    report.matches(said).count(),
                    1,
                    "{how} says {said:?} once:\n{report}"
                );
            }
        }
        caller_rolls_back(tx, 0, waiting).await;
    })
    .await;
}

/// In the caller's transaction, a batch of 101 rows whose statement a deadlock undoes is sent
/// again one row at a time; past 64 rows their savepoints are released, so another
/// transaction that then inserts one of the first rows waits for the caller's whole
/// transaction, while the batch's last row waits for it: every resend meets that deadlock.
/// What the other waits for was written by this operation's own resend, not before it.
#[tokio::test]
async fn goc_deadlock_on_its_own_resent_rows_postgres() {
    common::bounded_test(async {
        let pool = common::postgres_pool_of("dlr_own_resend", 4).await;
        sqlx::raw_sql(SCHEMA).execute(&pool).await.unwrap();
        let (mut other, other_pid) = other_holding(&pool, &["b"]).await;
        let mut conn = pool.acquire().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        let codes: Vec<String> = (1..=100)
            .map(|i| format!("r{i:03}"))
            .chain(std::iter::once("b".to_string()))
            .collect();
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        let rows = codes.len();
        let batch = Plan::factory()
            .after_build(next_plan(&codes, &[], &[]))
            .with_session(&mut *tx)
            .get_or_create_batch(rows);
        let p = pool.clone();
        let driver = tokio::spawn(async move {
            // The batch's statement waits for `b`: the other waits for its `r010`, a deadlock
            // whose victim is the statement; the other then drops its `r010`.
            until_waits_for(&p, other_pid).await;
            sqlx::raw_sql(
                "SAVEPOINT o; INSERT INTO dlr_plans (code, title, amount) VALUES ('r010', 'o', 1); \
                 ROLLBACK TO SAVEPOINT o",
            )
            .execute(&mut *other)
            .await
            .unwrap();
            // The rows sent again one at a time, past 64, wait for `b`.
            tokio::time::sleep(Duration::from_millis(300)).await;
            until_waits_for(&p, other_pid).await;
            let r = sqlx::query(
                "INSERT INTO dlr_plans (code, title, amount) VALUES ('r010', 'other', 1)",
            )
            .execute(&mut *other)
            .await
            .map(drop);
            (r, other)
        });
        let result = common::bounded(batch).await;
        let err = result.expect_err("no resend frees a row whose savepoint was released");
        let text = format!("{err:#}");
        eprintln!("{text}");
        assert!(
            text.contains("sent again 6 times after a deadlock"),
            "{text}"
        );
        assert!(
            text.contains("or by its own rows sent one at a time"),
            "the row was written by this operation's own resend: {text}"
        );
        caller_rolls_back(tx, 0, driver).await;
    })
    .await;
}
