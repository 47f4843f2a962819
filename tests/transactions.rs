//! The transaction promise: the factory never commits or ends the caller's transaction, and an
//! operation that fails, is cancelled or panics leaves nothing of itself behind — whatever
//! happens, on every backend. What is durable is checked from a second connection.

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

use tx::{Blob, Book, Entry, Slugged, bounded, schema_sql};

/// `n` rows of a batch, counted from 0, whose `name` is NULL: that row breaks NOT NULL.
fn break_row(n: usize) -> impl Fn(&mut Entry) + Send + Sync + 'static {
    let counter = Arc::new(AtomicUsize::new(0));
    move |entry: &mut Entry| {
        if counter.fetch_add(1, Ordering::SeqCst) == n {
            entry.name = None;
        }
    }
}

/// An `after_create` hook that creates an `Entry` on the operation's connection, then fails.
macro_rules! writes_then_refuses {
    () => {
        |_, conn| {
            Box::pin(async move {
                Entry::factory().with_session(conn).create().await?;
                Err("the hook refuses".into())
            })
        }
    };
}

fn sleeping_hook<'a, C: Send>(
    _: &'a Entry,
    _: &'a mut C,
) -> sqlx_factory::__private::BoxFuture<'a, Result<(), sqlx::error::BoxDynError>> {
    Box::pin(async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        Ok(())
    })
}

on_every_pool! {
    /// A savepoint operation cancelled by a timeout, then the caller drops its
    /// transaction: the connection goes back at depth 0 and the next user's commit is durable.
    async fn cancelled_savepoint_then_drop(pool, observer, kind) {
        let _ = kind;
        let mut tx = bounded(pool.begin()).await.unwrap();
        let slow = Entry::factory().with_session(&mut tx).in_savepoint().after_create(sleeping_hook).create();
        assert!(timeout(Duration::from_millis(300), slow).await.is_err(), "the timeout fires");
        drop(tx);
        next_user_commits!(pool, observer);
    }
}

on_every_pool! {
    /// A cancelled savepoint operation, then the caller's `rollback()` instead of a drop.
    async fn cancelled_savepoint_then_rollback(pool, observer, kind) {
        let _ = kind;
        let mut tx = bounded(pool.begin()).await.unwrap();
        let slow = Entry::factory().with_session(&mut tx).in_savepoint().after_create(sleeping_hook).create();
        assert!(timeout(Duration::from_millis(300), slow).await.is_err(), "the timeout fires");
        bounded(tx.rollback()).await.unwrap();
        next_user_commits!(pool, observer);
        assert_eq!(durable!(observer, "entries"), 1, "only the next user's row");
    }
}

on_every_pool! {
    /// A panicking `after_create` hook inside `tokio::spawn`: the pool's connection comes back
    /// usable.
    async fn panicking_hook_in_spawned_task(pool, observer, kind) {
        let _ = kind;
        let task_pool = pool.clone();
        let task = tokio::spawn(async move {
            let mut tx = task_pool.begin().await.unwrap();
            let _ = Entry::factory()
                .with_session(&mut tx)
                .in_savepoint()
                .after_create(|_, _| Box::pin(async {
                    if true {
                        panic!("a hook panics");
                    }
                    Ok(())
                }))
                .create()
                .await;
        });
        assert!(bounded(task).await.unwrap_err().is_panic());
        next_user_commits!(pool, observer);
        assert_eq!(durable!(observer, "entries"), 1, "only the next user's row");
    }
}

on_every_pool! {
    /// A batch cancelled inside the caller's transaction (during its hook, after its INSERT):
    /// the caller's transaction is intact, at its own depth, and goes on; the batch's rows
    /// belong to it (a savepoint of ours cannot be rolled back without a round trip), so they
    /// go when it rolls back and stay when it commits, as the docs say.
    async fn cancelled_batch_then_the_caller_commits(pool, observer, kind) {
        let _ = kind;
        let mut tx = bounded(pool.begin()).await.unwrap();
        let before = bounded(Entry::factory().with_session(&mut tx).create()).await.unwrap();
        let slow = Entry::factory().with_session(&mut tx).after_create(sleeping_hook).create_batch(3);
        assert!(timeout(Duration::from_millis(300), slow).await.is_err(), "the timeout fires");
        let after = bounded(Entry::factory().with_session(&mut tx).create()).await.unwrap();
        bounded(tx.commit()).await.unwrap();
        let ids: Vec<i64> = bounded(sqlx::query_scalar("SELECT id FROM entries ORDER BY id").fetch_all(&observer)).await.unwrap();
        assert_eq!(ids.len(), 5, "the caller's two rows and the batch's three: {ids:?}");
        assert_eq!((ids[0], ids[4]), (before.id, after.id));
        next_user_commits!(pool, observer);
    }
}

on_every_pool! {
    /// A batch cancelled on a bare connection (its own transaction, during its hook): nothing
    /// of it is committed, and the connection goes back to the pool at depth 0. The same
    /// bound to the pool itself (each operation takes a connection, as on a bare one).
    async fn cancelled_batch_on_a_bare_connection_commits_nothing(pool, observer, kind) {
        let _ = kind;
        let mut conn = bounded(pool.acquire()).await.unwrap();
        let slow = Entry::factory().with_session(&mut conn).after_create(sleeping_hook).create_batch(3);
        assert!(timeout(Duration::from_millis(300), slow).await.is_err(), "the timeout fires");
        drop(conn);
        let slow = Entry::factory().with_session(&pool).after_create(sleeping_hook).create_batch(3);
        assert!(timeout(Duration::from_millis(300), slow).await.is_err(), "the timeout fires");
        assert_eq!(durable!(observer, "entries"), 0);
        next_user_commits!(pool, observer);
        assert_eq!(durable!(observer, "entries"), 1);
    }
}

on_every_pool! {
    /// On a bare connection, and bound to the pool, a batch that fails in its third
    /// INSERT commits nothing; the error names the INSERT and its rows.
    async fn bare_connection_batch_is_atomic(pool, observer, kind) {
        let _ = kind;
        let mut conn = bounded(pool.acquire()).await.unwrap();
        let on_conn = bounded(Entry::factory().with_session(&mut conn).after_build(break_row(1200)).create_batch(2500)).await;
        drop(conn);
        let on_pool = bounded(Entry::factory().with_session(&pool).after_build(break_row(1200)).create_batch(2500)).await;
        for result in [on_conn, on_pool] {
            let err = result.unwrap_err();
            assert!(
                err.to_string().starts_with("EntryFactory::create_batch(2500) into table `entries` failed in INSERT 3 of 5 (rows 1001 to 1500): "),
                "{err}"
            );
        }
        assert_eq!(durable!(observer, "entries"), 0, "no chunk was committed");
        next_user_commits!(pool, observer);
    }
}

on_every_pool! {
    /// Parents and hooks on a bare connection, and bound to the pool: a hook that
    /// wrote a row and then fails leaves no parent, no row and no row of its own.
    async fn bare_connection_parents_and_hooks_are_atomic(pool, observer, kind) {
        let _ = kind;
        let mut conn = bounded(pool.acquire()).await.unwrap();
        let on_conn = bounded(Book::factory().with_session(&mut conn).after_create(writes_then_refuses!()).create_batch(3)).await;
        drop(conn);
        let on_pool = bounded(Book::factory().with_session(&pool).after_create(writes_then_refuses!()).create_batch(3)).await;
        for result in [on_conn, on_pool] {
            assert_eq!(
                result.unwrap_err().to_string(),
                "BookFactory::create_batch(3) into table `books` failed in after-create step 1: the hook refuses"
            );
        }
        let durable = (
            durable!(observer, "authors"),
            durable!(observer, "books"),
            durable!(observer, "entries"),
        );
        assert_eq!(durable, (0, 0, 0), "no parent, book or hook row was committed");
        next_user_commits!(pool, observer);
    }
}

on_every_pool! {
    /// `lint!` on a bare connection commits nothing, as its docs say.
    async fn lint_on_a_bare_connection_commits_nothing(pool, observer, kind) {
        let _ = kind;
        let mut conn = bounded(pool.acquire()).await.unwrap();
        let report = bounded(sqlx_factory::lint!(&mut *conn, Entry, Book)).await;
        assert!(report.is_ok(), "{report}");
        assert_eq!(durable!(observer, "entries"), 0);
        assert_eq!(durable!(observer, "authors"), 0);
        assert_eq!(durable!(observer, "books"), 0);
        drop(conn);
        next_user_commits!(pool, observer);
    }
}

on_every_pool! {
    /// Inside the caller's transaction a failed batch leaves none of its chunks, and
    /// the transaction goes on (even on PostgreSQL, where the failed INSERT would abort it).
    async fn failed_batch_in_transaction_leaves_nothing(pool, observer, kind) {
        let _ = kind;
        let mut tx = bounded(pool.begin()).await.unwrap();
        let before = bounded(Entry::factory().with_session(&mut tx).create()).await.unwrap();
        let err = bounded(Entry::factory().with_session(&mut tx).after_build(break_row(1200)).create_batch(2500))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("failed in INSERT 3 of 5 (rows 1001 to 1500)"), "{err}");
        let in_tx: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM entries").fetch_one(&mut *tx)).await.unwrap();
        assert_eq!(in_tx, 1, "only the row made before the batch");
        let after = bounded(Entry::factory().with_session(&mut tx).create()).await.unwrap();
        bounded(tx.commit()).await.unwrap();
        let ids: Vec<i64> = bounded(sqlx::query_scalar("SELECT id FROM entries ORDER BY id").fetch_all(&observer)).await.unwrap();
        assert_eq!(ids, [before.id, after.id]);
    }
}

on_every_pool! {
    /// A batch whose own INSERT fails after its parents were created leaves no parent
    /// in the transaction.
    async fn failed_batch_leaves_no_parents(pool, observer, kind) {
        let _ = (kind, &observer);
        let mut tx = bounded(pool.begin()).await.unwrap();
        let err = bounded(Book::factory().with_session(&mut tx).title("bad").create_batch(3)).await.unwrap_err();
        assert!(err.to_string().starts_with("BookFactory::create_batch(3) into table `books` failed: "), "{err}");
        let authors: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM authors").fetch_one(&mut *tx)).await.unwrap();
        assert_eq!(authors, 0, "the parents of the failed batch are gone");
        bounded(tx.rollback()).await.unwrap();
    }
}

on_every_pool! {
    /// 500 rows of 100 kB are more than MariaDB's `max_allowed_packet` (16 MB) in one
    /// statement: the batch is split by bytes as well as binds, and every row arrives.
    async fn large_rows_are_split_by_bytes(pool, observer, kind) {
        let _ = kind;
        let mut tx = bounded(pool.begin()).await.unwrap();
        let rows = bounded(Blob::factory().with_session(&mut tx).create_batch(500)).await.unwrap();
        assert_eq!(rows.len(), 500);
        assert!(rows.iter().all(|b| b.body.len() == 100_000));
        bounded(tx.commit()).await.unwrap();
        assert_eq!(durable!(observer, "blobs"), 500);
        next_user_commits!(pool, observer);
    }
}

/// Text behind a newtype (what `#[sqlx(transparent)]` models a column with): the factory
/// cannot read its length off the type, as it does for `String`.
#[derive(Debug, Clone, PartialEq, sqlx::Type)]
#[sqlx(transparent)]
struct Body(String);

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "blobs")]
struct WrappedBlob {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = Body("x".repeat(100_000)))]
    body: Body,
}

on_every_pool! {
    /// The 100 kB values of the test above behind a newtype: 300 of them (30 MB) are still
    /// split under MariaDB's `max_allowed_packet`, by `create_batch` and by `insert_many`.
    /// Measured as their type's size in memory, they would go in one statement, and the server
    /// would drop the connection with the caller's transaction (its own row lost with it).
    async fn newtype_rows_are_split_by_bytes(pool, observer, kind) {
        let _ = kind;
        let mut tx = bounded(pool.begin()).await.unwrap();
        bounded(Entry::factory().with_session(&mut tx).create()).await.unwrap();
        let rows = bounded(WrappedBlob::factory().with_session(&mut tx).create_batch(300)).await.unwrap();
        assert_eq!(rows.len(), 300);
        assert!(rows.iter().all(|b| b.body.0.len() == 100_000));
        let seeded = bounded(WrappedBlob::factory().with_session(&mut tx).insert_many(300)).await.unwrap();
        assert_eq!(seeded, 300);
        bounded(tx.commit()).await.unwrap();
        assert_eq!(durable!(observer, "blobs"), 600);
        assert_eq!(durable!(observer, "entries"), 1, "the caller's own row");
        next_user_commits!(pool, observer);
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "codes", get_or_create(code))]
struct Coded {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = None)]
    code: Option<String>,
    #[factory(sequence = |n| format!("owner{n}@example.com"))]
    email: String,
}

/// The schema of the get_or_create cases: `code` and `email` both UNIQUE.
async fn lookup_schema<C>(conn: &mut C, kind: Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    let (pk, text) = (kind.serial_pk(), kind.varchar());
    exec!(
        conn,
        format!(
            "CREATE TABLE codes (id {pk}, code {text} UNIQUE, email {text} NOT NULL UNIQUE); \
             CREATE TABLE authors (id {pk}, name TEXT NOT NULL); \
             CREATE TABLE slugged (id {pk}, author_id BIGINT NOT NULL REFERENCES authors (id), slug {text} NOT NULL UNIQUE)"
        )
    );
}

on_every_backend! {
    /// A lookup key with a NULL never matches (NULL is not equal to NULL): each row is
    /// inserted and returned as itself.
    async fn null_lookup_keys_are_inserted(conn, kind) {
        lookup_schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let rows = bounded(Coded::factory().with_session(&mut tx).create_batch(3)).await.unwrap();
        let one = bounded(Coded::factory().with_session(&mut tx).create()).await.unwrap();
        let mut ids: Vec<i64> = rows.iter().chain([&one]).map(|c| c.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 4, "four rows, each returned as itself: {rows:?} {one:?}");
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM codes").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(stored, 4);
        // Keys with a value still get the stored row, next to NULL keys in one batch.
        let a = bounded(Coded::factory().with_session(&mut tx).code(Some("a".to_string())).create()).await.unwrap();
        let mixed = bounded(Coded::factory().with_session(&mut tx).after_build({
            let n = Arc::new(AtomicUsize::new(0));
            move |c: &mut Coded| if n.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) { c.code = Some("a".to_string()) }
        }).create_batch(4)).await.unwrap();
        assert_eq!(mixed[0], a);
        assert_eq!(mixed[2], a);
        assert!(mixed[1].code.is_none() && mixed[3].code.is_none() && mixed[1].id != mixed[3].id);
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// A clash on another unique column is that column's error, as the database
    /// reports it — never "no rows returned", never another row.
    async fn get_or_create_reports_another_unique_key(conn, kind) {
        let _ = kind;
        lookup_schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let first = bounded(Coded::factory().with_session(&mut tx).code(Some("a".to_string())).email("x@example.com").create()).await.unwrap();
        let err = bounded(Coded::factory().with_session(&mut tx).code(Some("b".to_string())).email("x@example.com").in_savepoint().create())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("CodedFactory::create into table `codes` failed: "), "{text}");
        assert!(text.contains("email") && !text.contains("no rows returned"), "{text}");
        // The same key again is still the stored row.
        let again = bounded(Coded::factory().with_session(&mut tx).code(Some("a".to_string())).create()).await.unwrap();
        assert_eq!(again, first);
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// Keys the database compares equal but Rust does not (a case-insensitive
    /// collation, a trailing space): the stored row is never mistaken for another, and the
    /// error names the real conflict.
    async fn get_or_create_under_a_collation(conn, kind) {
        lookup_schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let first = bounded(Coded::factory().with_session(&mut tx).code(Some("Case@x.io".to_string())).create()).await.unwrap();
        for other in ["case@x.io", "Case@x.io "] {
            let result = bounded(Coded::factory().with_session(&mut tx).code(Some(other.to_string())).in_savepoint().create()).await;
            match kind {
                // MariaDB's default collation is case-insensitive and pads spaces: a clash.
                Kind::MariaDb => {
                    let text = result.unwrap_err().to_string();
                    assert!(text.contains("Duplicate entry") && text.contains("'code'"), "{text}");
                }
                _ => assert_ne!(result.unwrap().id, first.id, "a different key is a new row"),
            }
        }
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// A get whose row exists creates no parent for it.
    async fn get_or_create_makes_no_orphan_parents(conn, kind) {
        lookup_schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let first = bounded(Slugged::factory().with_session(&mut tx).create()).await.unwrap();
        for _ in 0..4 {
            let again = bounded(Slugged::factory().with_session(&mut tx).create()).await.unwrap();
            assert_eq!(again, first);
        }
        let batch = bounded(Slugged::factory().with_session(&mut tx).create_batch(5)).await.unwrap();
        assert!(batch.iter().all(|s| *s == first));
        let authors: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM authors").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(authors, 1, "one post, one author");
        tx.rollback().await.unwrap();
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "narrow")]
struct Narrow {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = 7)]
    n: i32,
}

/// MariaDB decodes a BIGINT into an `i32`; neither it nor SQLite decodes an integer column into
/// a `String` (while both store the text '7' there, as a number).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "narrow")]
struct Textual {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "7".to_string())]
    n: String,
}

macro_rules! decode_failure_case {
    ($model:ident, $conn:expr) => {{
        let mut tx = $conn.begin().await.unwrap();
        let err = bounded($model::factory().with_session(&mut tx).create()).await.unwrap_err();
        assert!(
            err.to_string().contains("failed decoding the row the INSERT returned: ")
                && err.to_string().ends_with(
                    "; the INSERT succeeded, so its row stays in the caller's transaction: roll back, \
                     or create with `.in_savepoint()` to undo it on failure"
                ),
            "{err}"
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM narrow").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(n, 1, "as the error says");
        let err = bounded($model::factory().with_session(&mut tx).in_savepoint().create()).await.unwrap_err();
        assert!(!err.to_string().contains("stays"), "{err}");
        let err = bounded($model::factory().with_session(&mut tx).create_batch(600)).await.unwrap_err();
        assert!(err.to_string().contains("failed in INSERT 1 of 2 (rows 1 to 500): "), "{err}");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM narrow").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(n, 1, "the savepoint and the two-INSERT batch left nothing");
        tx.rollback().await.unwrap();
        // On a bare connection the one INSERT is committed at once, and the error says so.
        let err = bounded($model::factory().with_session(&mut *$conn).create()).await.unwrap_err();
        assert!(err.to_string().ends_with("with no transaction on this connection, its row is committed"), "{err}");
    }};
}

on_every_backend! {
    /// A row that was inserted but cannot be decoded. A multi-statement operation is
    /// undone; a single INSERT says that its row stays, and where.
    async fn decode_failure_after_insert(conn, kind) {
        let type_ = if kind == Kind::MariaDb { "INT" } else { "BIGINT" };
        exec!(conn, format!("CREATE TABLE narrow (id {}, n {type_} NOT NULL)", kind.serial_pk()));
        match kind {
            // SQLite stores the text '7' in an INTEGER-affinity column as the integer 7, which
            // sqlx does not decode into a `String`.
            Kind::Sqlite => decode_failure_case!(Textual, conn),
            Kind::Postgres => decode_failure_case!(Narrow, conn),
            Kind::MariaDb => decode_failure_case!(Textual, conn),
        }
    }
}

/// On a PostgreSQL transaction that already failed, a savepoint operation (and
/// `lint!`) says so and leaves the transaction as it was: nothing later autocommits.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_savepoint_on_an_aborted_transaction() {
    let test = "tx_aborted_transaction";
    let mut conn = common::postgres(test).await;
    exec!(&mut conn, schema_sql(Kind::Postgres));
    let url = std::env::var("DATABASE_URL_PG").unwrap();
    let mut observer = sqlx::PgConnection::connect(&url).await.unwrap();
    exec!(
        &mut observer,
        format!("SET search_path TO sqlx_factory_{test}")
    );

    let mut tx = bounded(conn.begin()).await.unwrap();
    bounded(Entry::factory().with_session(&mut tx).create())
        .await
        .unwrap();
    assert!(
        bounded(sqlx::query("SELECT 1/0").execute(&mut *tx))
            .await
            .is_err()
    );
    let hint = "an earlier statement in this transaction failed";
    let err = bounded(
        Entry::factory()
            .with_session(&mut tx)
            .in_savepoint()
            .create(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains(hint), "{err}");
    let err = bounded(Entry::factory().with_session(&mut tx).create_batch(3))
        .await
        .unwrap_err();
    assert!(err.to_string().contains(hint), "{err}");
    let err = bounded(Entry::factory().with_session(&mut tx).create())
        .await
        .unwrap_err();
    assert!(err.to_string().contains(hint), "{err}");
    let report = bounded(sqlx_factory::lint!(&mut tx, Entry, Book)).await;
    assert!(report.to_string().contains(hint), "{report}");
    bounded(tx.rollback()).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM entries")
        .fetch_one(&mut observer)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing was committed behind the caller's back");
    assert!(!conn.is_in_transaction());
}

on_every_pool! {
    /// A create cancelled in the middle of its statements (timeouts from 1 to 40 ms
    /// on a 20 000-row batch), then the documented idiom: the transaction is dropped and the
    /// pooled connection closed instead of returned (`close_on_drop`). The next pool user gets
    /// a working connection and its commit is durable; nothing of the cancelled batches is.
    async fn cancelled_mid_statement_then_close_on_drop(pool, observer, kind) {
        let _ = kind;
        for ms in [1, 3, 7, 15, 40] {
            let mut conn = bounded(pool.acquire()).await.unwrap();
            let mut tx = bounded(conn.begin()).await.unwrap();
            let batch = Entry::factory().with_session(&mut tx).create_batch(20_000);
            let _ = timeout(Duration::from_millis(ms), batch).await;
            drop(tx);
            conn.close_on_drop();
            drop(conn);
            next_user_commits!(pool, observer);
        }
        assert_eq!(durable!(observer, "entries"), 5, "only the next users' rows");
    }
}

/// One row alone larger than MariaDB's `max_allowed_packet` (16 MiB here), as a
/// `String` and as a newtype around one: refused with the limit named before anything is
/// sent; the server would otherwise drop the connection and the caller's transaction with
/// it. The transaction goes on.
#[cfg(feature = "mysql")]
#[tokio::test]
async fn mariadb_one_row_over_the_packet_limit() {
    let test = "tx_one_row_over_the_limit";
    let mut conn = common::mariadb(test).await;
    exec!(&mut conn, schema_sql(Kind::MariaDb));
    let limit: u64 = sqlx::query_scalar("SELECT @@max_allowed_packet")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let mut tx = bounded(conn.begin()).await.unwrap();
    let before = bounded(Entry::factory().with_session(&mut tx).create())
        .await
        .unwrap();
    let huge = "x".repeat(usize::try_from(limit).unwrap() + (1 << 20));
    let refused = |err: sqlx_factory::Error, factory: &str| {
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "{factory}::create into table `blobs` failed: row 1 is about "
            )) && text.contains(&format!(
                " bytes, more than fits one statement under MariaDB's max_allowed_packet \
                 ({limit} bytes); nothing was sent"
            )),
            "{text}"
        );
    };
    let err = bounded(
        Blob::factory()
            .with_session(&mut tx)
            .body(huge.clone())
            .create(),
    )
    .await
    .unwrap_err();
    refused(err, "BlobFactory");
    // The same text behind a newtype, whose size the type does not tell (it was sent, and the
    // server dropped the connection with the transaction).
    let err = bounded(
        WrappedBlob::factory()
            .with_session(&mut tx)
            .body(Body(huge))
            .create(),
    )
    .await
    .unwrap_err();
    refused(err, "WrappedBlobFactory");
    let after = bounded(Entry::factory().with_session(&mut tx).create())
        .await
        .unwrap();
    bounded(tx.commit()).await.unwrap();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM entries ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(ids, [before.id, after.id]);
}

on_every_pool! {
    /// Bound to a pool (what `#[sqlx::test]` hands out), each operation takes one connection,
    /// commits what it wrote, and gives the connection back (the pool has ONE connection, so a
    /// connection kept or taken twice would hang the next call). A hook runs on the operation's
    /// connection, and its rows commit with the operation.
    async fn pool_session_commits_each_operation(pool, observer, kind) {
        let _ = kind;
        let one = bounded(Entry::factory().with_session(&pool).create()).await.unwrap();
        assert_eq!(durable!(observer, "entries"), 1);
        let stored: Option<String> = bounded(
            sqlx::query_scalar("SELECT name FROM entries").fetch_one(&observer),
        )
        .await
        .unwrap();
        assert_eq!(stored, one.name);
        let books = bounded(Book::factory().with_session(&pool).create_batch(3)).await.unwrap();
        assert_eq!(books.len(), 3);
        assert_eq!((durable!(observer, "authors"), durable!(observer, "books")), (3, 3));
        let mut by_mut = pool.clone();
        bounded(Entry::factory().with_session(pool.clone()).create_batch(2500)).await.unwrap();
        bounded(Entry::factory().with_session(&mut by_mut).create()).await.unwrap();
        assert_eq!(durable!(observer, "entries"), 2502);
        bounded(
            Entry::factory()
                .with_session(&pool)
                .after_create(|_, conn| {
                    Box::pin(async move {
                        Entry::factory().with_session(conn).create().await?;
                        Ok(())
                    })
                })
                .create(),
        )
        .await
        .unwrap();
        assert_eq!(durable!(observer, "entries"), 2504);
        let report = bounded(sqlx_factory::lint!(&pool, Entry, Book)).await;
        assert!(report.is_ok(), "{report}");
        assert_eq!(durable!(observer, "entries"), 2504, "lint! commits nothing");
        next_user_commits!(pool, observer);
    }
}

on_every_pool! {
    /// Bound to a pool, a hook that panics inside `tokio::spawn` after the operation's INSERT:
    /// nothing of it is committed, and the connection goes back to the pool at depth 0.
    async fn pool_session_panicking_hook_commits_nothing(pool, observer, kind) {
        let _ = kind;
        let task_pool = pool.clone();
        let task = tokio::spawn(async move {
            let _ = Book::factory()
                .with_session(task_pool)
                .after_create(|_, conn| Box::pin(async move {
                    Entry::factory().with_session(conn).create().await?;
                    if true {
                        panic!("a hook panics");
                    }
                    Ok(())
                }))
                .create_batch(2)
                .await;
        });
        assert!(bounded(task).await.unwrap_err().is_panic());
        let durable = (
            durable!(observer, "authors"),
            durable!(observer, "books"),
            durable!(observer, "entries"),
        );
        assert_eq!(durable, (0, 0, 0), "nothing of the panicked operation is committed");
        next_user_commits!(pool, observer);
    }
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there, and an error for each whose create fails reading its row back: `Narrow`
    /// (an `i32`) on PostgreSQL's BIGINT, `Textual` (a `String`) on every integer column.
    async fn check_every_model(conn, kind) {
        exec!(conn, schema_sql(kind));
        check_clean!(&mut *conn, kind, Entry, Blob, tx::Author, Book, WrappedBlob);
        exec!(conn, "DROP TABLE books; DROP TABLE authors".to_string());
        lookup_schema(conn, kind).await;
        check_clean!(&mut *conn, kind, Coded, Slugged);
        let type_ = if kind == Kind::MariaDb { "INT" } else { "BIGINT" };
        exec!(conn, format!("CREATE TABLE narrow (id {}, n {type_} NOT NULL)", kind.serial_pk()));
        match kind {
            Kind::Sqlite => {
                check_clean!(&mut *conn, kind, Narrow);
                check_finds!(&mut *conn, kind, Textual, "n", "sqlx cannot decode `String` from INTEGER");
            }
            Kind::Postgres => {
                check_finds!(&mut *conn, kind, Narrow, "n", "sqlx cannot decode `i32`");
                check_finds!(&mut *conn, kind, Textual, "n", "sqlx cannot decode `String`");
            }
            Kind::MariaDb => {
                check_clean!(&mut *conn, kind, Narrow);
                check_finds!(&mut *conn, kind, Textual, "n", "sqlx cannot decode `String`");
            }
        }
    }
}
