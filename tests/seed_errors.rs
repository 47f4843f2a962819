//! `insert_many` on its error and cancellation paths, in every kind of session: a value that
//! fails to encode in the middle of a seed (PostgreSQL: while its `COPY` is open), a server
//! error before it, and a seed cancelled through a pool. Afterwards the error names the row,
//! nothing of the seed is durable (seen from a second connection), the connection answers
//! its own queries, and the caller's transaction goes on.

mod common;

use std::cell::Cell;
use std::future::IntoFuture;
use std::time::Duration;

use sqlx_factory::Factory;
use tokio::time::timeout;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::bounded;

thread_local! {
    /// Rows drawn so far on this test's thread.
    static DRAWN: Cell<u64> = const { Cell::new(0) };
    /// The row whose `hits` does not fit the `BIGINT` it is bound as (0: none).
    static UNENCODABLE: Cell<u64> = const { Cell::new(0) };
    /// The row whose `name` holds a NUL byte, which PostgreSQL's text refuses (0: none).
    static NUL: Cell<u64> = const { Cell::new(0) };
}

/// Plans the next seed on this thread: which row fails to encode, which carries a NUL.
fn plan(unencodable: u64, nul: u64) {
    DRAWN.set(0);
    UNENCODABLE.set(unencodable);
    NUL.set(nul);
}

fn next_hits() -> u64 {
    let row = DRAWN.get() + 1;
    DRAWN.set(row);
    if row == UNENCODABLE.get() {
        u64::MAX
    } else {
        row
    }
}

fn next_name() -> String {
    if DRAWN.get() == NUL.get() {
        "nul\0byte".to_string()
    } else {
        format!("hit-{}", DRAWN.get())
    }
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "hits")]
struct Hit {
    #[factory(primary_key)]
    id: i64,
    // Bound as `i64`: `u64::MAX` fails to convert, a client-side encode error.
    #[sqlx(try_from = "i64")]
    #[factory(default = next_hits())]
    hits: u64,
    #[factory(default = next_name())]
    name: String,
}

fn schema_sql(kind: Kind) -> String {
    format!(
        "CREATE TABLE hits (id {pk}, hits BIGINT NOT NULL, name TEXT NOT NULL)",
        pk = kind.serial_pk()
    )
}

const ROWS: u64 = 20_000;
const BAD_ROW: u64 = 15_001;

/// `SELECT 'answer 5'` then `.. 6` on `conn`: each gets its own answer.
macro_rules! answers_its_own_queries {
    ($conn:expr) => {{
        for n in [5, 6] {
            let got: String = bounded(
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT 'answer {n}'")))
                    .fetch_one(&mut *$conn),
            )
            .await
            .unwrap_or_else(|e| panic!("SELECT {n} after the failed seed: {e}"));
            assert_eq!(
                got,
                format!("answer {n}"),
                "the connection answers SELECT {n} with another query's answer"
            );
        }
    }};
}

/// How many rows of `hits` the observer sees, and how many of them are named `$name`.
macro_rules! seen {
    ($observer:expr, $name:literal) => {{
        let rows: Vec<String> =
            bounded(sqlx::query_scalar("SELECT name FROM hits ORDER BY id").fetch_all(&$observer))
                .await
                .unwrap();
        (rows.len(), rows.iter().filter(|n| *n == $name).count())
    }};
}

/// The seed of [`ROWS`] rows that fails at [`BAD_ROW`], and its error text.
macro_rules! failing_seed {
    ($session:expr) => {{
        let error = bounded(Hit::factory().with_session($session).insert_many(ROWS))
            .await
            .expect_err("row 15001 does not fit BIGINT")
            .to_string();
        assert!(
            error.contains(&format!("sending row {BAD_ROW}:")),
            "the error names the row that failed: {error}"
        );
        assert!(
            error.contains("out of range"),
            "the conversion's own words: {error}"
        );
        error
    }};
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A bare connection: after the failed seed it answers its own queries and keeps nothing.
    async fn encode_error_on_a_bare_connection(mk, observer, kind) {
        let _ = kind;
        let pool = mk(1).await.unwrap();
        let mut conn = bounded(pool.acquire()).await.unwrap();
        plan(BAD_ROW, 0);
        failing_seed!(&mut *conn);
        answers_its_own_queries!(conn);
        assert_eq!(seen!(observer, "-"), (0, 0), "nothing of the seed is durable");
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// The caller's transaction: it answers its own queries, takes a row of the caller's, and
    /// commits it; none of the seed's rows.
    async fn encode_error_in_the_callers_transaction(mk, observer, kind) {
        let _ = kind;
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        plan(BAD_ROW, 0);
        failing_seed!(&mut tx);
        answers_its_own_queries!(tx);
        bounded(sqlx::query("INSERT INTO hits (hits, name) VALUES (1, 'mine')").execute(&mut *tx))
            .await
            .unwrap();
        bounded(tx.commit()).await.unwrap();
        assert_eq!(seen!(observer, "mine"), (1, 1), "the caller's row, and only it");
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A pool of one: the next user of the same connection gets its own answers.
    async fn encode_error_through_a_pool(mk, observer, kind) {
        let _ = kind;
        let pool = mk(1).await.unwrap();
        plan(BAD_ROW, 0);
        failing_seed!(&pool);
        let mut conn = bounded(pool.acquire()).await.unwrap();
        answers_its_own_queries!(conn);
        assert_eq!(seen!(observer, "-"), (0, 0), "nothing of the seed is durable");
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A value the server refuses early in the seed (PostgreSQL: a NUL byte in text, which it
    /// finds while the client still draws), then one the client cannot encode: on PostgreSQL
    /// the `COPY` has already failed on the server when the client gives up on it. The
    /// connection still answers its own queries, in every kind of session.
    async fn server_error_then_encode_error(mk, observer, kind) {
        let pool = mk(1).await.unwrap();
        let early = 2;
        let late = 10_001;

        let mut conn = bounded(pool.acquire()).await.unwrap();
        plan(late, early);
        let _ = bounded(Hit::factory().with_session(&mut *conn).insert_many(ROWS)).await.unwrap_err();
        answers_its_own_queries!(conn);
        drop(conn);

        let mut tx = bounded(pool.begin()).await.unwrap();
        plan(late, early);
        let _ = bounded(Hit::factory().with_session(&mut tx).insert_many(ROWS)).await.unwrap_err();
        answers_its_own_queries!(tx);
        bounded(sqlx::query("INSERT INTO hits (hits, name) VALUES (1, 'mine')").execute(&mut *tx))
            .await
            .unwrap();
        bounded(tx.commit()).await.unwrap();

        plan(late, early);
        let error = bounded(Hit::factory().with_session(&pool).insert_many(ROWS)).await.unwrap_err();
        let mut conn = bounded(pool.acquire()).await.unwrap();
        answers_its_own_queries!(conn);
        assert_eq!(seen!(observer, "mine"), (1, 1), "the caller's row, and only it");
        if kind == Kind::Postgres {
            let error = error.to_string();
            assert!(error.contains("0x00"), "PostgreSQL's own words for the NUL byte: {error}");
        }
    }
}

on_dbs! {
    [postgres]
    /// A server error in the middle of a `COPY` alone (a NUL byte in text at row 15 001): the
    /// seed fails with the server's words and the connection stays in step.
    async fn server_error_mid_copy(mk, observer, kind) {
        let _ = kind;
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        plan(0, BAD_ROW);
        let error = bounded(Hit::factory().with_session(&mut tx).insert_many(ROWS))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("0x00"), "{error}");
        answers_its_own_queries!(tx);
        bounded(tx.commit()).await.unwrap();
        plan(0, BAD_ROW);
        let _ = bounded(Hit::factory().with_session(&pool).insert_many(ROWS)).await.unwrap_err();
        let mut conn = bounded(pool.acquire()).await.unwrap();
        answers_its_own_queries!(conn);
        assert_eq!(seen!(observer, "-"), (0, 0), "nothing of the seeds is durable");
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A seed through a pool of one, cancelled by a `timeout` after 1 to 150 ms (in the middle
    /// of a `COPY` or a statement): the connection we owned is not handed back broken, so the
    /// pool's next user gets its own answer, and nothing of the seed is durable.
    async fn cancelled_seed_through_a_pool(mk, observer, kind) {
        let _ = kind;
        let pool = mk(1).await.unwrap();
        for ms in [1, 1, 2, 2, 2, 3, 3, 5, 8, 13, 21, 34, 55, 89, 150] {
            plan(0, 0);
            // Far more rows than any machine seeds in 150 ms (SQLite in memory on a quiet
            // machine seeded 300 000 in less): the timeout always lands inside the seed.
            let seed = Hit::factory().with_session(&pool).insert_many(5_000_000);
            let cancelled = timeout(Duration::from_millis(ms), seed.into_future()).await;
            assert!(
                cancelled.is_err(),
                "5 000 000 rows take longer than {ms} ms: {cancelled:?}"
            );
            let answer = timeout(
                Duration::from_secs(5),
                sqlx::query_scalar::<_, String>("SELECT 'answer 7'").fetch_one(&pool),
            )
            .await;
            match answer {
                Ok(Ok(answer)) if answer == "answer 7" => {}
                other => panic!("after a seed cancelled at {ms} ms the pool's next user got {other:?}"),
            }
            assert_eq!(seen!(observer, "-"), (0, 0), "nothing of a cancelled seed is durable");
        }
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `create_batch` through a pool of one, cancelled in the middle of its statements: the
    /// pool's next user gets its own answer, and all of the batch or nothing is durable.
    async fn cancelled_batch_through_a_pool(mk, observer, kind) {
        let _ = kind;
        let pool = mk(1).await.unwrap();
        for ms in [1, 1, 2, 2, 3, 3, 5, 8, 13, 21] {
            plan(0, 0);
            let batch = Hit::factory().with_session(&pool).create_batch(20_000);
            let cancelled = timeout(Duration::from_millis(ms), batch.into_future()).await;
            assert!(cancelled.is_err(), "20 000 rows take longer than {ms} ms");
            let answer = timeout(
                Duration::from_secs(5),
                sqlx::query_scalar::<_, String>("SELECT 'answer 8'").fetch_one(&pool),
            )
            .await;
            match answer {
                Ok(Ok(answer)) if answer == "answer 8" => {}
                other => panic!("after a batch cancelled at {ms} ms the pool's next user got {other:?}"),
            }
            // 20 000 short rows are one INSERT, sent without a transaction of ours: dropped
            // while it is in flight, the server still runs it, so all of it or nothing.
            let durable = seen!(observer, "-");
            assert!(
                durable == (0, 0) || durable == (20_000, 0),
                "all of a cancelled batch or nothing is durable: {durable:?}"
            );
            if durable != (0, 0) {
                bounded(sqlx::query("DELETE FROM hits").execute(&pool)).await.unwrap();
            }
        }
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// The schema check on the table these tests create: no error for a model whose creates
    /// succeed there (unless a test plans a failing row, which the check's draws never are).
    async fn check_every_model(mk, observer, kind) {
        let pool = mk(1).await.unwrap();
        let mut conn = bounded(pool.acquire()).await.unwrap();
        check_clean!(&mut *conn, kind, Hit);
    }
}
