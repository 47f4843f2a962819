//! `insert_many` attacked where its `COPY` (PostgreSQL) or its statements (SQLite, MariaDB)
//! can be left half done: a value that fails to encode at each row position that ends or
//! starts something (the first row, the last row of a piece, the first row of the second
//! `COPY` with `.chunk_rows(n)`, the very last row), inside `with_children`'s children and
//! inside `returning_keys`; a panic in a `default` expression in the middle of a `COPY`. Then
//! the connection answers its own queries, the caller's transaction goes on, the pool serves
//! its next user at its size, and nothing of the seed is durable. PostgreSQL tables of the
//! kinds real schemas have: a domain over a domain over `json`, `varchar[]` with NULL
//! elements and empty arrays, `char(n)[]`, a disabled trigger, a partitioned table, a table
//! in another schema and a mixed-case name.

mod common;

use std::any::Any;
use std::cell::Cell;
use std::future::{Future, IntoFuture, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use sqlx_factory::Factory;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::bounded;

thread_local! {
    /// Rows of `hits` drawn so far on this test's thread.
    static DRAWN: Cell<u64> = const { Cell::new(0) };
    /// The row whose `hits` does not fit the `BIGINT` it is bound as (0: none).
    static UNENCODABLE: Cell<u64> = const { Cell::new(0) };
    /// The row whose `name` panics while it is drawn (0: none).
    static PANIC_AT: Cell<u64> = const { Cell::new(0) };
    /// Rows of `kids` drawn so far, and the one that does not fit its `BIGINT` (0: none).
    static KIDS_DRAWN: Cell<u64> = const { Cell::new(0) };
    static KID_UNENCODABLE: Cell<u64> = const { Cell::new(0) };
}

/// Plans the next seed on this thread.
fn plan(unencodable: u64, panic_at: u64, kid_unencodable: u64) {
    DRAWN.set(0);
    UNENCODABLE.set(unencodable);
    PANIC_AT.set(panic_at);
    KIDS_DRAWN.set(0);
    KID_UNENCODABLE.set(kid_unencodable);
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
    if DRAWN.get() == PANIC_AT.get() {
        panic!("a default expression panics at row {}", DRAWN.get());
    }
    format!("hit-{}", DRAWN.get())
}

fn next_kid() -> u64 {
    let row = KIDS_DRAWN.get() + 1;
    KIDS_DRAWN.set(row);
    if row == KID_UNENCODABLE.get() {
        u64::MAX
    } else {
        row
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

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "kids")]
struct Kid {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Hit)]
    hit_id: i64,
    #[sqlx(try_from = "i64")]
    #[factory(default = next_kid())]
    n: u64,
}

fn schema_sql(kind: Kind) -> String {
    format!(
        "CREATE TABLE hits (id {pk}, hits BIGINT NOT NULL, name TEXT NOT NULL);
         CREATE TABLE kids (id {pk}, hit_id BIGINT NOT NULL, n BIGINT NOT NULL)",
        pk = kind.serial_pk()
    )
}

/// Polls `fut` to its end, catching a panic of any poll.
async fn catch<F: Future>(fut: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut fut = pin!(fut);
    poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(panic)),
        },
    )
    .await
}

/// `SELECT 'answer 5'` then `.. 6` on `conn`: each gets its own answer.
macro_rules! answers_its_own_queries {
    ($conn:expr, $what:expr) => {{
        for n in [5, 6] {
            let got = tokio::time::timeout(
                Duration::from_secs(5),
                sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                    "SELECT 'answer {n}'"
                )))
                .fetch_one(&mut *$conn),
            )
            .await;
            match got {
                Ok(Ok(got)) if got == format!("answer {n}") => {}
                other => panic!("after {}, SELECT {n} got {other:?}", $what),
            }
        }
    }};
}

/// How many rows of `$table` the observer sees.
macro_rules! count {
    ($observer:expr, $table:literal) => {{
        let n: i64 = bounded(
            sqlx::query_scalar(concat!("SELECT COUNT(*) FROM ", $table)).fetch_one(&$observer),
        )
        .await
        .unwrap();
        n
    }};
}

/// Every row position that starts or ends a piece, a statement or a `COPY`: rows in the seed,
/// `chunk_rows`, the row that fails to encode.
const POSITIONS: [(u64, Option<usize>, u64); 8] = [
    (20_000, None, 1),
    (20_000, None, 10_000),
    (20_000, None, 10_001),
    (20_000, None, 20_000),
    (20, Some(7), 1),
    (20, Some(7), 7),
    (20, Some(7), 8),
    (20, Some(7), 20),
];

/// The seed of `POSITIONS[$i]` on `$session`, which must fail naming its row.
macro_rules! failing_at {
    ($session:expr, $i:expr) => {{
        let (rows, chunk_rows, bad) = POSITIONS[$i];
        plan(bad, 0, 0);
        let mut seed = Hit::factory().with_session($session).insert_many(rows);
        if let Some(n) = chunk_rows {
            seed = seed.chunk_rows(n);
        }
        let error = bounded(seed)
            .await
            .expect_err("a value does not fit BIGINT")
            .to_string();
        assert!(
            error.contains(&format!("sending row {bad}:")) && error.contains("out of range"),
            "rows {rows}, chunk_rows {chunk_rows:?}: the error names row {bad}: {error}"
        );
        format!("a seed failing at row {bad} of {rows} (chunk_rows {chunk_rows:?})")
    }};
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A value that fails to encode at every position, on a bare connection, in the caller's
    /// transaction and through a pool of one: the error names the row, the connection answers
    /// its own queries, only the caller's row is kept.
    async fn encode_error_at_every_position(mk, observer, kind) {
        let _ = kind;
        let pool = mk(1).await.unwrap();
        for i in 0..POSITIONS.len() {
            let mut conn = bounded(pool.acquire()).await.unwrap();
            let what = failing_at!(&mut *conn, i);
            answers_its_own_queries!(conn, what);
            drop(conn);

            let mut tx = bounded(pool.begin()).await.unwrap();
            let what = failing_at!(&mut tx, i);
            answers_its_own_queries!(tx, what);
            bounded(sqlx::query("INSERT INTO hits (hits, name) VALUES (1, 'mine')").execute(&mut *tx))
                .await
                .unwrap();
            bounded(tx.commit()).await.unwrap();

            let what = failing_at!(&pool, i);
            let mut conn = bounded(pool.acquire()).await.unwrap();
            answers_its_own_queries!(conn, what);
            drop(conn);
            assert_eq!(count!(observer, "hits"), i as i64 + 1, "{what}: only the caller's rows");
        }
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A child of `with_children` that fails to encode (the first child of the second
    /// statement of parents, so after parents and children were sent): nothing of the parents
    /// or the children stays, and the caller's transaction answers and commits its own row.
    async fn encode_error_in_a_child(mk, observer, kind) {
        let _ = kind;
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        plan(0, 0, 3 * 7 + 1);
        let error = bounded(
            Hit::factory()
                .with_session(&mut tx)
                .insert_many(20)
                .chunk_rows(7)
                .with_children(3, Kid::factory()),
        )
        .await
        .expect_err("child 22 does not fit BIGINT")
        .to_string();
        assert!(error.contains("out of range") && error.contains("kids"), "{error}");
        answers_its_own_queries!(tx, "a child that failed to encode");
        bounded(sqlx::query("INSERT INTO hits (hits, name) VALUES (1, 'mine')").execute(&mut *tx))
            .await
            .unwrap();
        bounded(tx.commit()).await.unwrap();
        assert_eq!((count!(observer, "hits"), count!(observer, "kids")), (1, 0));

        let mut conn = bounded(pool.acquire()).await.unwrap();
        plan(0, 0, 3 * 7 + 1);
        let _ = bounded(
            Hit::factory()
                .with_session(&mut *conn)
                .insert_many(20)
                .chunk_rows(7)
                .with_children(3, Kid::factory()),
        )
        .await
        .expect_err("child 22 does not fit BIGINT");
        answers_its_own_queries!(conn, "a child that failed to encode, bare connection");
        drop(conn);
        assert_eq!((count!(observer, "hits"), count!(observer, "kids")), (1, 0));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `returning_keys` with a row that fails to encode after keys were reserved (PostgreSQL)
    /// or returned: the error names the row, and the connection stays in step.
    async fn encode_error_with_returning_keys(mk, observer, kind) {
        let _ = kind;
        let pool = mk(1).await.unwrap();
        for bad in [1, 7, 8, 20] {
            let mut conn = bounded(pool.acquire()).await.unwrap();
            plan(bad, 0, 0);
            let error = bounded(
                Hit::factory()
                    .with_session(&mut *conn)
                    .insert_many(20)
                    .chunk_rows(7)
                    .returning_keys(),
            )
            .await
            .expect_err("a value does not fit BIGINT")
            .to_string();
            assert!(error.contains(&format!("sending row {bad}:")), "{error}");
            answers_its_own_queries!(conn, format!("returning_keys failing at row {bad}"));
            drop(conn);
            plan(0, 0, 0);
            let keys = bounded(Hit::factory().with_session(&pool).insert_many(3).returning_keys())
                .await
                .unwrap();
            let stored: Vec<i64> = bounded(sqlx::query_scalar("SELECT id FROM hits ORDER BY id").fetch_all(&observer))
                .await
                .unwrap();
            assert_eq!(keys, stored, "after a failed seed the keys handed on are the stored ones");
            bounded(sqlx::query("DELETE FROM hits").execute(&observer)).await.unwrap();
        }
    }
}

/// Runs a seed of 20 000 rows whose `name` panics at `$at`, catching the panic.
macro_rules! panicking_seed {
    ($session:expr, $at:expr) => {{
        plan(0, $at, 0);
        let caught = catch(
            Hit::factory()
                .with_session($session)
                .insert_many(20_000)
                .into_future(),
        )
        .await;
        assert!(
            caught.is_err(),
            "the default expression panics at row {}",
            $at
        );
        format!("a seed whose default panicked at row {}", $at)
    }};
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A `default` expression that panics in the middle of a seed (PostgreSQL: in the
    /// second piece of its first `COPY`, while the `COPY` is open; at the first row too): the
    /// caller catches the panic, and the connection answers its own queries, on a bare
    /// connection, in the caller's transaction and through a pool, which stays at its size.
    async fn panic_in_a_default_mid_seed(mk, observer, kind) {
        let _ = kind;
        let pool = mk(2).await.unwrap();
        for at in [10_001, 1, 20_000] {
            let mut conn = bounded(pool.acquire()).await.unwrap();
            let what = panicking_seed!(&mut *conn, at);
            answers_its_own_queries!(conn, what);
            drop(conn);

            assert_eq!(count!(observer, "hits"), 0, "{what}: nothing is durable");

            // Inside the caller's transaction a panicking operation's rows belong to that
            // transaction (docs/DESIGN.md): the caller goes on, and here rolls back.
            let mut tx = bounded(pool.begin()).await.unwrap();
            let what = panicking_seed!(&mut tx, at);
            answers_its_own_queries!(tx, what);
            bounded(sqlx::query("INSERT INTO hits (hits, name) VALUES (1, 'mine')").execute(&mut *tx))
                .await
                .unwrap();
            let mine: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM hits WHERE name = 'mine'").fetch_one(&mut *tx))
                .await
                .unwrap();
            assert_eq!(mine, 1, "{what}: the caller's row");
            bounded(tx.rollback()).await.unwrap();

            let what = panicking_seed!(&pool, at);
            for _ in 0..2 {
                let mut conn = bounded(pool.acquire()).await.unwrap();
                answers_its_own_queries!(conn, what);
            }
            assert!(pool.size() <= 2, "{what}: the pool has {} connections", pool.size());
            assert_eq!(count!(observer, "hits"), 0, "{what}: nothing is durable");
        }
    }
}
