//! Relations as real schemas have them (issue 11): keys of exactly the parent's type, natural
//! keys, optional keys created by default, `try_from` fields, hand-written `FromRow`, and keys
//! the application must give.

mod common;

use sqlx::Connection;
use sqlx_factory::Factory;

use common::Kind;

/// A key the application generates (`id TEXT PRIMARY KEY`) but the model leaves without a value.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "api_keys")]
struct ApiKey {
    #[factory(primary_key)]
    id: String,
    label: String,
}

/// A `FromRow` written by hand instead of derived.
#[derive(Debug, Clone, PartialEq, Factory)]
#[factory(table = "notes")]
struct Note {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "hello".to_string())]
    body: String,
    /// Not a column: `#[sqlx(skip)]` must be accepted without sqlx's derive.
    #[factory(skip)]
    #[sqlx(skip)]
    cached: Option<String>,
}

impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for Note
where
    &'r str: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        Ok(Note {
            id: row.try_get("id")?,
            body: row.try_get("body")?,
            cached: None,
        })
    }
}

async fn schema<C>(conn: &mut C, kind: Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    let pk = kind.serial_pk();
    let text = kind.varchar();
    for sql in [
        format!("CREATE TABLE api_keys (id {text} PRIMARY KEY, label TEXT NOT NULL)"),
        format!("CREATE TABLE notes (id {pk}, body TEXT NOT NULL)"),
    ] {
        exec!(conn, sql);
    }
}

on_every_backend! {
    /// A key column the database does not fill and the factory gave no value: the create
    /// fails (SQLite would store NULL and return `id == ""`), and says how to fix the model.
    async fn key_without_value_is_an_error(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let result = ApiKey::factory().with_session(&mut tx).in_savepoint().create().await;
        let error = result.expect_err("a NULL key must not come back as a created row").to_string();
        if kind == Kind::Sqlite {
            assert!(error.contains("NULL for the key `id`") && error.contains("#[factory(default = ..)]"), "{error}");
        }
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(stored, 0, "the row with no key is rolled back with the savepoint");
        // Given a value, the same model works.
        let key = ApiKey::factory().with_session(&mut tx).id("k-1").create().await.unwrap();
        assert_eq!(key.id, "k-1");
    }
}

on_every_backend! {
    /// A hand-written `impl FromRow` works with the derive: create and batch decode through it.
    async fn hand_written_from_row(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let note = Note::factory().with_session(&mut tx).create().await.unwrap();
        assert_eq!(note.body, "hello");
        let notes = Note::factory().with_session(&mut tx).body("b".to_string()).create_batch(3).await.unwrap();
        assert_eq!(notes.len(), 3);
        let stored: Vec<(i64, String)> = sqlx::query_as("SELECT id, body FROM notes ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(stored[0], (note.id, "hello".to_string()));
        assert_eq!(stored.len(), 4);
        assert!(stored[1..].iter().all(|(_, b)| b == "b"));
        let built = Note::factory().build(); // no session, no database
        assert_eq!(built.body, "hello");
    }
}
