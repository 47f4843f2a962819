//! Database errors a user meets, in the words they see; savepoints that keep the caller's
//! transaction usable; cancellation that leaves nothing behind.

mod common;

use std::time::Duration;

use sqlx::Connection;
use sqlx_factory::{Factory, Operation};

use common::Kind;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "members")]
struct Member {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("member{n}@example.com"))]
    email: String,
    #[factory(default = Some("Ann".to_string()))]
    name: Option<String>,
    #[factory(default = 30)]
    age: i32,
}

/// The same table, seen by a model with a column the table does not have.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "members")]
struct MemberWithNickname {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("nick{n}@example.com"))]
    email: String,
    nickname: String,
}

/// The same table, with `age` as text.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "members")]
struct MemberWithTextAge {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("text{n}@example.com"))]
    email: String,
    #[factory(default = "thirty".to_string())]
    age: String,
}

async fn schema<C>(conn: &mut C, kind: Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    // STRICT: SQLite checks column types, as the servers do.
    let strict = if kind == Kind::Sqlite { " STRICT" } else { "" };
    exec!(
        conn,
        format!(
            "CREATE TABLE members (id {}, email {} NOT NULL UNIQUE, name TEXT NOT NULL DEFAULT 'x', age INTEGER NOT NULL DEFAULT 1){strict}",
            kind.serial_pk(),
            kind.varchar()
        )
    );
}

/// The message starts with our context and carries the backend's own words for the problem.
fn assert_error(err: &sqlx_factory::Error, factory: &str, words: &[&str]) {
    let text = err.to_string();
    let context = format!("{factory}::create into table `members` failed: ");
    assert!(text.starts_with(&context), "{text}");
    for word in words {
        assert!(text.contains(word), "{word:?} not in {text:?}");
    }
    assert!(err.as_sqlx().is_some(), "the sqlx::Error is kept: {err:?}");
}

on_every_backend! {
    async fn unique_violation_names_column_or_constraint(conn, kind) {
        schema(conn, kind).await;
        Member::factory().with_session(&mut *conn).email("a@example.com").create().await.unwrap();
        let err = Member::factory().with_session(&mut *conn).email("a@example.com").create().await.unwrap_err();
        let words: &[&str] = match kind {
            Kind::Sqlite => &["UNIQUE constraint failed: members.email"],
            Kind::Postgres => &["members_email_key", "Key (email)=(a@example.com) already exists"],
            Kind::MariaDb => &["Duplicate entry 'a@example.com' for key 'email'"],
        };
        assert_error(&err, "MemberFactory", words);
    }
}

on_every_backend! {
    async fn not_null_violation_names_column(conn, kind) {
        schema(conn, kind).await;
        let err = Member::factory().with_session(&mut *conn).name(None).create().await.unwrap_err();
        let words: &[&str] = match kind {
            Kind::Sqlite => &["NOT NULL constraint failed: members.name"],
            Kind::Postgres => &["null value in column \"name\"", "violates not-null constraint"],
            Kind::MariaDb => &["Column 'name' cannot be null"],
        };
        assert_error(&err, "MemberFactory", words);
    }
}

on_every_backend! {
    async fn missing_column_is_named(conn, kind) {
        schema(conn, kind).await;
        let err = MemberWithNickname::factory().with_session(&mut *conn).create().await.unwrap_err();
        let words: &[&str] = match kind {
            Kind::Sqlite => &["table members has no column named nickname"],
            Kind::Postgres => &["column \"nickname\" of relation \"members\" does not exist"],
            Kind::MariaDb => &["Unknown column 'nickname'"],
        };
        assert_error(&err, "MemberWithNicknameFactory", words);
    }
}

on_every_backend! {
    async fn wrong_type_is_reported(conn, kind) {
        schema(conn, kind).await;
        let err = MemberWithTextAge::factory().with_session(&mut *conn).create().await.unwrap_err();
        let words: &[&str] = match kind {
            Kind::Sqlite => &["cannot store TEXT value in INTEGER column members.age"],
            Kind::Postgres => &["column \"age\" is of type integer but expression is of type text"],
            Kind::MariaDb => &["Incorrect integer value: 'thirty' for column", "`age`"],
        };
        assert_error(&err, "MemberWithTextAgeFactory", words);
    }
}

on_every_backend! {
    /// `in_savepoint()` on a bare connection opens a transaction of its own: a failure leaves
    /// nothing behind, a success is committed.
    async fn savepoint_on_a_bare_connection(conn, kind) {
        schema(conn, kind).await;
        Member::factory().with_session(&mut *conn).email("x@example.com").in_savepoint().create().await.unwrap();
        let err = Member::factory()
            .with_session(&mut *conn)
            .email("x@example.com")
            .in_savepoint()
            .create_batch(2)
            .await
            .unwrap_err();
        assert!(err.as_sqlx().is_some(), "{err}");
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(count, 1);
    }
}

on_every_backend! {
    /// `in_savepoint()` inside an after-create hook of a factory that is itself in a
    /// savepoint: nested savepoints do not collide.
    async fn nested_savepoints(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let outer = Member::factory()
            .with_session(&mut tx)
            .in_savepoint()
            .after_create(|m, conn| Box::pin(async move {
                let dup = Member::factory().with_session(&mut *conn).email(m.email.clone()).in_savepoint().create().await;
                assert!(dup.is_err(), "the inner create fails on the UNIQUE email");
                Member::factory().with_session(conn).in_savepoint().create().await?;
                Ok(())
            }))
            .create()
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(count, 2, "the outer row and the hook's second row: {outer:?}");
    }
}

on_every_backend! {
    /// `in_savepoint()`: a failed create is rolled back to its savepoint and the caller's
    /// transaction goes on; on PostgreSQL, without it, the whole transaction is aborted.
    async fn savepoint_keeps_transaction_usable(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        Member::factory().with_session(&mut tx).email("dup@example.com").create().await.unwrap();
        let err = Member::factory()
            .with_session(&mut tx)
            .email("dup@example.com")
            .in_savepoint()
            .create()
            .await
            .unwrap_err();
        match err.as_sqlx() {
            Some(sqlx::Error::Database(db)) => assert!(db.is_unique_violation(), "{err}"),
            _ => panic!("not a database error: {err:?}"),
        }
        let ok = Member::factory().with_session(&mut tx).in_savepoint().create().await.unwrap();
        Member::factory().with_session(&mut tx).create_batch(3).await.unwrap();
        tx.commit().await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(count, 5);
        assert!(ok.id > 0);

        if kind == Kind::Postgres {
            let mut tx = conn.begin().await.unwrap();
            let _ = Member::factory().with_session(&mut tx).email("dup@example.com").create().await.unwrap_err();
            let err = Member::factory().with_session(&mut tx).create().await.unwrap_err();
            assert!(err.to_string().contains("current transaction is aborted"), "{err}");
        }
    }
}

/// A batch dropped mid-flight (a timeout) leaves nothing once its transaction is dropped (which
/// rolls it back), and the pool goes on serving. The transaction is dropped, not reused: sqlx
/// connections are not cancel-safe mid-statement (MariaDB's can be left waiting for the rest of
/// a packet), and the pool tests a returned connection before reusing it.
macro_rules! cancellation_test {
    ($name:ident, $pool:expr, $kind:expr) => {
        #[tokio::test]
        async fn $name() {
            let pool = $pool;
            let mut conn = pool.acquire().await.unwrap();
            schema(&mut *conn, $kind).await;
            drop(conn);
            let mut tx = pool.begin().await.unwrap();
            let batch = Member::factory().with_session(&mut tx).create_batch(60_000);
            let cancelled = tokio::time::timeout(Duration::from_millis(20), batch).await;
            assert!(
                cancelled.is_err(),
                "the batch was still running when dropped"
            );
            drop(tx);
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(count, 0, "no partial chunk is visible");
            let mut conn = pool.acquire().await.unwrap();
            let after = Member::factory()
                .with_session(&mut conn)
                .create()
                .await
                .unwrap();
            assert!(after.id > 0);
        }
    };
}

cancellation_test!(
    cancelled_batch_leaves_nothing_sqlite,
    // One connection: the next acquire waits until the dropped transaction's connection has
    // been rolled back and returned (SQLite's shared cache would fail on its table locks
    // instead of waiting).
    sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap(),
    Kind::Sqlite
);

#[cfg(feature = "postgres")]
cancellation_test!(
    cancelled_batch_leaves_nothing_postgres,
    common::postgres_pool("cancelled_batch_leaves_nothing").await,
    Kind::Postgres
);

#[cfg(feature = "mysql")]
cancellation_test!(
    cancelled_batch_leaves_nothing_mariadb,
    common::mariadb_pool("cancelled_batch_leaves_nothing").await,
    Kind::MariaDb
);

/// A create inside `tokio::spawn`: the futures are `Send`.
#[tokio::test]
async fn create_future_is_send() {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    schema(&mut *conn, Kind::Sqlite).await;
    let task = tokio::spawn(async move {
        let created = Member::factory()
            .with_session(&mut conn)
            .create_batch(2)
            .await;
        created.map(|rows| rows.len())
    });
    assert_eq!(task.await.unwrap().unwrap(), 2);
}

#[test]
fn operation_and_debug_are_readable() {
    assert_eq!(
        Operation::CreateBatch { rows: 3 }.to_string(),
        "create_batch(3)"
    );
    let factory = Member::factory().email("x@example.com").age(41).seed(9);
    assert_eq!(
        format!("{factory:?}"),
        r#"MemberFactory { session: NoSession, seed: 9, email: "x@example.com", age: 41 }"#
    );
}

on_every_backend! {
    /// The schema check on the table these tests create: no error for `Member`, whose creates
    /// succeed, and the planted mismatch of each other model, on its column.
    async fn check_every_model(conn, kind) {
        schema(conn, kind).await;
        check_clean!(&mut *conn, kind, Member);
        check_finds!(&mut *conn, kind, MemberWithNickname, "nickname", "the table does not have");
        let refused = match kind {
            Kind::Sqlite => "are TEXT, which this STRICT table's `INTEGER` column refuses to store",
            _ => "sqlx cannot decode `String`",
        };
        check_finds!(&mut *conn, kind, MemberWithTextAge, "age", refused);
    }
}
