//! Review of the measured row size on MariaDB (`Insert::wire_size`): newtypes, options of
//! newtypes, byte newtypes, parents, get-or-create keys, `insert_many`, values whose `Encode`
//! panics or fails, and rows at the three-quarter budget. What is durable is checked from a
//! second connection where that is the point.

mod common;

use std::time::Duration;

use sqlx::Connection;
use sqlx_factory::Factory;

use common::Kind;

/// Every wait of a test is bounded.
async fn bounded<F: std::future::IntoFuture>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f.into_future())
        .await
        .expect("bounded wait: the operation hung")
}

#[derive(Debug, Clone, PartialEq, sqlx::Type)]
#[sqlx(transparent)]
struct Body(String);

#[derive(Debug, Clone, PartialEq, sqlx::Type)]
#[sqlx(transparent)]
struct Bytes(Vec<u8>);

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "entries")]
struct Entry {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("entry-{n}"))]
    name: String,
}

/// `Option` of a newtype: Some large, or None.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "docs")]
struct Doc {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = Some(Body("x".repeat(100_000))))]
    body: Option<Body>,
}

/// A newtype around bytes.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "files")]
struct File {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = Bytes(vec![7u8; 100_000]))]
    data: Bytes,
}

/// A parent with a large newtype value, created through its children's association.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "parents")]
struct Parent {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = Body("p".repeat(100_000)))]
    body: Body,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "kids")]
struct Kid {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Parent)]
    parent_id: i64,
}

/// A child with a large newtype value, seeded with its parents (`with_children`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "notes")]
struct Note {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Parent)]
    parent_id: i64,
    #[factory(default = Body("n".repeat(100_000)))]
    body: Body,
}

/// A get-or-create model whose key is a large newtype value.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "keyed", get_or_create(code))]
struct Keyed {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| Body(format!("{n}-{}", "k".repeat(100_000))))]
    code: Body,
}

fn schema(kind: Kind) -> String {
    let pk = kind.serial_pk();
    let (text, bytes) = match kind {
        Kind::MariaDb => ("LONGTEXT", "LONGBLOB"),
        Kind::Postgres => ("TEXT", "BYTEA"),
        Kind::Sqlite => ("TEXT", "BLOB"),
    };
    format!(
        "CREATE TABLE entries (id {pk}, name TEXT NOT NULL); \
         CREATE TABLE docs (id {pk}, body {text}); \
         CREATE TABLE files (id {pk}, data {bytes} NOT NULL); \
         CREATE TABLE parents (id {pk}, body {text} NOT NULL); \
         CREATE TABLE kids (id {pk}, parent_id BIGINT NOT NULL REFERENCES parents (id)); \
         CREATE TABLE notes (id {pk}, parent_id BIGINT NOT NULL REFERENCES parents (id), body {text} NOT NULL); \
         CREATE TABLE keyed (id {pk}, code {text} NOT NULL)"
    )
}

/// A second connection to the test's database (MariaDB), for what is durable.
#[cfg(feature = "mysql")]
async fn observer(test: &str) -> sqlx::MySqlConnection {
    let url = std::env::var("DATABASE_URL_MARIADB").unwrap();
    let options: sqlx::mysql::MySqlConnectOptions = url.parse().unwrap();
    let options = options.database(&common::mariadb_database(&url, test));
    bounded(sqlx::MySqlConnection::connect_with(&options))
        .await
        .unwrap()
}

#[cfg(feature = "mysql")]
async fn count(conn: &mut sqlx::MySqlConnection, table: &str) -> i64 {
    bounded(
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(conn),
    )
    .await
    .unwrap()
}

on_every_backend! {
    /// 300 rows of 100 kB `Option<Body>` (30 MB), Some and None mixed, a byte newtype, and
    /// 300 children whose 300 parents carry 100 kB newtypes: all created in the caller's
    /// transaction, which goes on.
    async fn newtype_shapes_are_split(conn, kind) {
        exec!(conn, schema(kind));
        let mut tx = bounded(conn.begin()).await.unwrap();
        let before = bounded(Entry::factory().with_session(&mut tx).create()).await.unwrap();
        let docs = bounded(Doc::factory().with_session(&mut tx).create_batch(300)).await.unwrap();
        assert_eq!(docs.len(), 300);
        assert!(docs.iter().all(|d| d.body.as_ref().map(|b| b.0.len()) == Some(100_000)));
        let nones = bounded(Doc::factory().with_session(&mut tx).body(None).create_batch(3)).await.unwrap();
        assert!(nones.iter().all(|d| d.body.is_none()));
        assert_eq!(bounded(Doc::factory().with_session(&mut tx).insert_many(300)).await.unwrap(), 300);
        let files = bounded(File::factory().with_session(&mut tx).create_batch(300)).await.unwrap();
        assert!(files.iter().all(|f| f.data.0.len() == 100_000));
        assert_eq!(bounded(File::factory().with_session(&mut tx).insert_many(300)).await.unwrap(), 300);
        let kids = bounded(Kid::factory().with_session(&mut tx).create_batch(300)).await.unwrap();
        assert_eq!(kids.len(), 300);
        let parent_ids: Vec<i64> = kids.iter().map(|k| k.parent_id).collect();
        assert_eq!(bounded(Kid::factory().with_session(&mut tx).insert_many(300).parents_from::<Parent>(parent_ids)).await.unwrap(), 300);
        // Parents seeded with 100 kB children each (their key read back per statement).
        assert_eq!(bounded(Parent::factory().with_session(&mut tx).insert_many(300).with_children(1, Note::factory())).await.unwrap(), 300);
        let after = bounded(Entry::factory().with_session(&mut tx).create()).await.unwrap();
        bounded(tx.commit()).await.unwrap();
        let n = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
        assert_eq!(bounded(n("SELECT COUNT(*) FROM docs").fetch_one(&mut *conn)).await.unwrap(), 603);
        assert_eq!(bounded(n("SELECT COUNT(*) FROM files").fetch_one(&mut *conn)).await.unwrap(), 600);
        assert_eq!(bounded(n("SELECT COUNT(*) FROM parents").fetch_one(&mut *conn)).await.unwrap(), 600);
        assert_eq!(bounded(n("SELECT COUNT(*) FROM kids").fetch_one(&mut *conn)).await.unwrap(), 600);
        assert_eq!(bounded(n("SELECT COUNT(*) FROM notes").fetch_one(&mut *conn)).await.unwrap(), 300);
        let ids: Vec<i64> = bounded(sqlx::query_scalar("SELECT id FROM entries ORDER BY id").fetch_all(&mut *conn)).await.unwrap();
        assert_eq!(ids, [before.id, after.id]);
    }
}

on_every_backend! {
    /// A get-or-create batch of 300 distinct 100 kB newtype keys (30 MB of keys): looked up,
    /// inserted, and looked up again (all found), in the caller's transaction.
    async fn large_lookup_keys(conn, kind) {
        exec!(conn, schema(kind));
        let mut tx = bounded(conn.begin()).await.unwrap();
        let before = bounded(Entry::factory().with_session(&mut tx).create()).await.unwrap();
        let rows = bounded(Keyed::factory().with_session(&mut tx).create_batch(300)).await.unwrap();
        assert_eq!(rows.len(), 300);
        let codes: Vec<Body> = rows.iter().map(|r| r.code.clone()).collect();
        let again = bounded(Keyed::factory().with_session(&mut tx).after_build({
            let codes = codes.clone();
            let i = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            move |k: &mut Keyed| k.code = codes[i.fetch_add(1, std::sync::atomic::Ordering::SeqCst)].clone()
        }).create_batch(300)).await.unwrap();
        assert_eq!(again, rows, "each key is the stored row");
        let after = bounded(Entry::factory().with_session(&mut tx).create()).await.unwrap();
        bounded(tx.commit()).await.unwrap();
        let keyed: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM keyed").fetch_one(&mut *conn)).await.unwrap();
        assert_eq!(keyed, 300);
        let ids: Vec<i64> = bounded(sqlx::query_scalar("SELECT id FROM entries ORDER BY id").fetch_all(&mut *conn)).await.unwrap();
        assert_eq!(ids, [before.id, after.id]);
    }
}

on_every_backend! {
    /// 300 rows of ONE 100 kB get-or-create key: inserted once, the 299 repeats read back
    /// (once, not as 30 MB of keys), all the same row.
    async fn one_large_key_repeated(conn, kind) {
        exec!(conn, schema(kind));
        let mut tx = bounded(conn.begin()).await.unwrap();
        let code = Body("r".repeat(100_000));
        let rows = bounded(Keyed::factory().with_session(&mut tx).code(code.clone()).create_batch(300)).await.unwrap();
        assert_eq!(rows.len(), 300);
        assert!(rows.iter().all(|r| r == &rows[0] && r.code == code));
        bounded(tx.commit()).await.unwrap();
        let keyed: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM keyed").fetch_one(&mut *conn)).await.unwrap();
        assert_eq!(keyed, 1);
    }
}

/// The error of a row over MariaDB's limit, as `create_batch` words it.
#[cfg(feature = "mysql")]
fn assert_too_large(text: &str, factory: &str, op: &str, table: &str, limit: u64, sent: &str) {
    assert!(
        text.starts_with(&format!("{factory}::{op} into table `{table}` failed: "))
            && text.contains(&format!(
                " bytes, more than fits one statement under MariaDB's max_allowed_packet \
                 ({limit} bytes); {sent}"
            )),
        "{text}"
    );
}

#[cfg(feature = "mysql")]
async fn packet_limit(conn: &mut sqlx::MySqlConnection) -> u64 {
    bounded(sqlx::query_scalar("SELECT @@max_allowed_packet").fetch_one(conn))
        .await
        .unwrap()
}

/// A get-or-create key alone over `max_allowed_packet`, by `create()` and `create_batch`:
/// refused before the lookup is sent (the server dropped the connection on it, and the
/// caller's transaction with it); the transaction goes on and commits its own rows.
#[cfg(feature = "mysql")]
#[tokio::test]
async fn mariadb_one_lookup_key_over_the_packet_limit() {
    let test = "review_key_over_limit";
    let mut conn = common::mariadb(test).await;
    exec!(&mut conn, schema(Kind::MariaDb));
    let limit = packet_limit(&mut conn).await;
    let mut tx = bounded(conn.begin()).await.unwrap();
    let before = bounded(Entry::factory().with_session(&mut tx).create())
        .await
        .unwrap();
    let huge = Body("k".repeat(usize::try_from(limit).unwrap() + (1 << 20)));
    let err = bounded(
        Keyed::factory()
            .with_session(&mut tx)
            .code(huge.clone())
            .create(),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert_too_large(
        &text,
        "KeyedFactory",
        "create",
        "keyed",
        limit,
        "nothing was sent",
    );
    assert!(text.contains("failed: row 1 is about "), "{text}");
    let err = bounded(
        Keyed::factory()
            .with_session(&mut tx)
            .after_build({
                let i = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
                move |k: &mut Keyed| {
                    if i.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 2 {
                        k.code = huge.clone()
                    }
                }
            })
            .create_batch(5),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert_too_large(
        &text,
        "KeyedFactory",
        "create_batch(5)",
        "keyed",
        limit,
        "nothing was sent",
    );
    assert!(text.contains("failed: row 3 is about "), "{text}");
    let after = bounded(Entry::factory().with_session(&mut tx).create())
        .await
        .unwrap();
    bounded(tx.commit()).await.unwrap();
    let mut observer = observer(test).await;
    let ids: Vec<i64> =
        bounded(sqlx::query_scalar("SELECT id FROM entries ORDER BY id").fetch_all(&mut observer))
            .await
            .unwrap();
    assert_eq!(ids, [before.id, after.id]);
    assert_eq!(count(&mut observer, "keyed").await, 0);
}
