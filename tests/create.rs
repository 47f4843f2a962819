//! `create()`: one `INSERT ... RETURNING` per object, in the caller's transaction, never committed.

mod common;

use sqlx::Connection;
use sqlx_factory::Factory;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("user{n}@example.com"))]
    email: String,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
    #[factory(default = 30)]
    age: i32,
    bio: Option<String>,
    #[factory(generated)]
    created_at: String,
    #[factory(column = "display")]
    display_name: String,
}

async fn create_users_table<C>(conn: &mut C, kind: common::Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    let sql = format!(
        "CREATE TABLE users (id {pk}, email {text} NOT NULL UNIQUE, name TEXT NOT NULL,
         age INTEGER NOT NULL, bio TEXT, created_at {created}, display TEXT NOT NULL)",
        pk = kind.serial_pk(),
        text = kind.varchar(),
        created = kind.created_at(),
    );
    exec!(conn, sql);
}

on_every_backend! {
    /// A plain `create()` boxes its future at every call, so the future stays small: at most
    /// what glibc's per-thread cache serves (blocks up to 1 032 bytes). It was 2 968 bytes in a
    /// release build, sqlx's pool `acquire` future inside it whatever the session, and
    /// allocating and filling it was a quarter of what the factory added to a hand-written
    /// `query_as(..).fetch_one` (callgrind, `benches/vs_raw.rs` `create_loop`).
    async fn plain_create_future_stays_small(conn, kind) {
        create_users_table(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let pending = std::future::IntoFuture::into_future(
            User::factory().with_session(&mut tx).create(),
        );
        let size = std::mem::size_of_val(&*pending);
        assert!(size <= 1024, "a plain create()'s future is {size} bytes");
        let user = pending.await.unwrap();
        let stored: (i64, String) = sqlx::query_as("SELECT id, email FROM users")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(stored, (user.id, user.email));
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// The returned object is the row as stored: DB-generated id and default included, and a
    /// plain SELECT finds the same values.
    async fn returns_the_stored_row(conn, kind) {
        create_users_table(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let ann = User::factory()
            .with_session(&mut tx)
            .name("Ann")
            .bio("likes SQL".to_string())
            .display_name("ann")
            .create()
            .await
            .unwrap();
        let bob = User::factory().with_session(&mut tx).create().await.unwrap();

        assert!(ann.id > 0, "the database gave an id: {ann:?}");
        assert!(bob.id > ann.id);
        assert!(ann.created_at.len() >= 10, "DB default read back: {:?}", ann.created_at);
        assert_eq!((ann.name.as_str(), ann.age), ("Ann", 30));
        assert_eq!(ann.bio.as_deref(), Some("likes SQL"));
        assert!(!bob.name.is_empty() && bob.email != ann.email);

        let stored: Vec<(i64, String, String, i32, Option<String>, String)> = sqlx::query_as(
            "SELECT id, email, name, age, bio, display FROM users ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        assert_eq!(
            stored,
            [&ann, &bob]
                .map(|u| (u.id, u.email.clone(), u.name.clone(), u.age, u.bio.clone(), u.display_name.clone()))
                .to_vec()
        );
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// The factory never commits: after the caller rolls back, the rows are gone.
    async fn rollback_leaves_nothing(conn, kind) {
        create_users_table(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        User::factory().with_session(&mut tx).create().await.unwrap();
        User::factory().with_session(&mut tx).create_batch(20).await.unwrap();
        let inside: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(inside, 21);
        tx.rollback().await.unwrap();

        let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(after, 0);
    }
}

on_every_backend! {
    /// A `generated` or `primary_key` column given a value is sent instead of left to the DB.
    async fn db_filled_columns_can_be_set(conn, kind) {
        create_users_table(conn, kind).await;
        let set = User::factory()
            .with_session(&mut *conn)
            .id(4242)
            .created_at("2001-02-03 04:05:06")
            .create()
            .await
            .unwrap();
        assert_eq!((set.id, set.created_at.as_str()), (4242, "2001-02-03 04:05:06"));
        let stored: (i64, String) = sqlx::query_as("SELECT id, created_at FROM users")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(stored, (4242, "2001-02-03 04:05:06".to_string()));
    }
}

on_every_backend! {
    /// A plain connection, a transaction and a nested transaction (savepoint) all bind.
    async fn binds_connection_and_transaction(conn, kind) {
        create_users_table(conn, kind).await;
        User::factory().with_session(&mut *conn).name("plain").create().await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        User::factory().with_session(&mut tx).name("tx").create().await.unwrap();
        let mut nested = tx.begin().await.unwrap();
        User::factory().with_session(&mut nested).name("nested").create().await.unwrap();
        nested.rollback().await.unwrap();
        tx.commit().await.unwrap();
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM users ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(names, ["plain", "tx"]);
    }
}

/// A pooled connection binds too, and so does a transaction begun on the pool.
#[tokio::test]
async fn binds_pool_connection() {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    create_users_table(&mut *conn, common::Kind::Sqlite).await;
    let from_conn = User::factory()
        .with_session(&mut conn)
        .create()
        .await
        .unwrap();
    drop(conn);
    let mut tx = pool.begin().await.unwrap();
    let from_tx = User::factory()
        .with_session(&mut tx)
        .create()
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 2);
    assert_ne!(from_conn.id, from_tx.id);
}

/// `#[sqlx(default)]` is still a column: it has a setter, is sent, and is read back.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "roles")]
struct WithRole {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(default)]
    #[factory(default = "member".to_string())]
    role: String,
}

/// The table of [`WithRole`] (its test runs on SQLite).
const ROLES: &str = "CREATE TABLE roles (id INTEGER PRIMARY KEY, role TEXT NOT NULL)";

/// A helper that takes `&mut Transaction`, as test helpers do, and binds it again.
async fn make_admin(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>) -> WithRole {
    WithRole::factory()
        .with_session(tx)
        .role("admin")
        .create()
        .await
        .unwrap()
}

#[tokio::test]
async fn sqlx_default_field_is_a_column_and_helpers_rebind() {
    let mut conn = common::sqlite().await;
    exec!(&mut conn, ROLES.to_string());
    let mut tx = conn.begin().await.unwrap();
    let admin = make_admin(&mut tx).await;
    let member = WithRole::factory()
        .with_session(&mut &mut tx)
        .create()
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let roles: Vec<String> = sqlx::query_scalar("SELECT role FROM roles ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(roles, ["admin", "member"]);
    assert_eq!(
        (admin.role.as_str(), member.role.as_str()),
        ("admin", "member")
    );
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there.
    async fn check_every_model(conn, kind) {
        create_users_table(conn, kind).await;
        check_clean!(&mut *conn, kind, User);
        if kind == common::Kind::Sqlite {
            exec!(conn, ROLES.to_string());
            check_clean!(&mut *conn, kind, WithRole);
        }
    }
}
