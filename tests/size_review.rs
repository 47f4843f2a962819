//! The measured row size on MariaDB (`Insert::wire_size`): newtypes, options of
//! newtypes, byte newtypes, parents, get-or-create keys, `insert_many`, values whose `Encode`
//! panics or fails, and rows at the three-quarter budget. What is durable is checked from a
//! second connection where that is the point.

mod common;

use sqlx::Connection;
use sqlx_factory::Factory;

use common::{Kind, bounded};

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

/// The caller adds a row of its own after the attacks and commits; a second connection sees
/// exactly its two rows (nothing of the caller's was lost) and is returned.
#[cfg(feature = "mysql")]
async fn caller_commits(
    mut tx: sqlx::Transaction<'_, sqlx::MySql>,
    test: &str,
    before: &Entry,
) -> sqlx::MySqlConnection {
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
    observer
}

/// The error of a row over MariaDB's limit, as `create_batch` words it.
#[cfg(feature = "mysql")]
fn assert_too_large(text: &str, factory: &str, op: &str, table: &str, limit: u64, sent: &str) {
    assert!(
        text.starts_with(&format!("{factory}::{op} into table `{table}` failed"))
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
    let mut observer = caller_commits(tx, test, &before).await;
    assert_eq!(count(&mut observer, "keyed").await, 0);
}

/// A future whose panic on poll is caught: `Err(())`.
#[cfg(feature = "mysql")]
struct CatchUnwind<F>(F);

#[cfg(feature = "mysql")]
impl<F: std::future::Future + Unpin> std::future::Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::pin::Pin::new(inner).poll(cx)
        })) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(_) => std::task::Poll::Ready(Err(())),
        }
    }
}

/// Text whose `Encode` panics on "panic" and fails on "fail" (MariaDB only).
#[cfg(feature = "mysql")]
#[derive(Debug, Clone, PartialEq)]
struct Touchy(String);

#[cfg(feature = "mysql")]
impl sqlx::Type<sqlx::MySql> for Touchy {
    fn type_info() -> sqlx::mysql::MySqlTypeInfo {
        <String as sqlx::Type<sqlx::MySql>>::type_info()
    }
    fn compatible(ty: &sqlx::mysql::MySqlTypeInfo) -> bool {
        <String as sqlx::Type<sqlx::MySql>>::compatible(ty)
    }
}

#[cfg(feature = "mysql")]
impl sqlx::Encode<'_, sqlx::MySql> for Touchy {
    fn encode_by_ref(
        &self,
        buf: &mut Vec<u8>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self.0.as_str() {
            "panic" => panic!("Touchy refuses to encode"),
            "fail" => Err("Touchy cannot be encoded".into()),
            _ => <String as sqlx::Encode<sqlx::MySql>>::encode_by_ref(&self.0, buf),
        }
    }
}

#[cfg(feature = "mysql")]
impl sqlx::Decode<'_, sqlx::MySql> for Touchy {
    fn decode(value: sqlx::mysql::MySqlValueRef<'_>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Touchy(<String as sqlx::Decode<sqlx::MySql>>::decode(
            value,
        )?))
    }
}

#[cfg(feature = "mysql")]
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "touchy")]
struct TouchyRow {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = Touchy("fine".to_string()))]
    body: Touchy,
}

/// A value whose `Encode` panics or fails, measured before it is bound: `create()` panics
/// when its future is polled (not at `create()` nor `into_future()`), `create_batch` and
/// `insert_many` panic or fail; the caller's transaction goes on each time and commits only
/// its own rows.
#[cfg(feature = "mysql")]
#[tokio::test]
async fn mariadb_encode_that_panics_or_fails() {
    use std::panic::AssertUnwindSafe;
    let test = "review_encode_panics";
    let mut conn = common::mariadb(test).await;
    exec!(
        &mut conn,
        format!(
            "{}; CREATE TABLE touchy (id BIGINT AUTO_INCREMENT PRIMARY KEY, body LONGTEXT NOT NULL)",
            schema(Kind::MariaDb)
        )
    );
    check_clean!(&mut conn, Kind::MariaDb, TouchyRow);
    let mut tx = bounded(conn.begin()).await.unwrap();
    let before = bounded(Entry::factory().with_session(&mut tx).create())
        .await
        .unwrap();
    let panics = |s: &str| TouchyRow::factory().body(Touchy(s.to_string()));
    {
        // Not at `create()` nor `into_future()`: only when polled.
        let session = &mut tx;
        let fut = std::panic::catch_unwind(AssertUnwindSafe(move || {
            std::future::IntoFuture::into_future(panics("panic").with_session(session).create())
        }))
        .expect("create() and into_future() run no Encode");
        let polled = bounded(CatchUnwind(Box::pin(fut))).await;
        assert!(polled.is_err(), "the panic surfaces when polled");
    }
    let batch = bounded(CatchUnwind(Box::pin(
        panics("panic")
            .with_session(&mut tx)
            .create_batch(3)
            .into_future(),
    )))
    .await;
    assert!(batch.is_err());
    let seeded = bounded(CatchUnwind(Box::pin(
        panics("panic")
            .with_session(&mut tx)
            .insert_many(3)
            .into_future(),
    )))
    .await;
    assert!(seeded.is_err());
    for op in ["create", "create_batch(3)", "insert_many(3)"] {
        let err = match op {
            "create" => bounded(panics("fail").with_session(&mut tx).create())
                .await
                .map(|_| ()),
            "create_batch(3)" => bounded(panics("fail").with_session(&mut tx).create_batch(3))
                .await
                .map(|_| ()),
            _ => bounded(panics("fail").with_session(&mut tx).insert_many(3))
                .await
                .map(|_| ()),
        }
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.starts_with(&format!(
                "TouchyRowFactory::{op} into table `touchy` failed"
            )),
            "{text}"
        );
        assert!(text.contains("Touchy cannot be encoded"), "{text}");
    }
    let ok = bounded(TouchyRow::factory().with_session(&mut tx).create_batch(2))
        .await
        .unwrap();
    assert_eq!(ok.len(), 2);
    let mut observer = caller_commits(tx, test, &before).await;
    assert_eq!(count(&mut observer, "touchy").await, 2);
}

/// One newtype row over the limit through `create_batch(1)` and `insert_many(1)` in a
/// transaction, and `create()` through a pool: refused with the limit named, nothing lost.
#[cfg(feature = "mysql")]
#[tokio::test]
async fn mariadb_one_newtype_row_over_the_limit_everywhere() {
    let test = "review_row_over_limit";
    let pool = common::mariadb_pool(test).await;
    let mut conn = bounded(pool.acquire()).await.unwrap();
    exec!(&mut *conn, schema(Kind::MariaDb));
    let limit = packet_limit(&mut conn).await;
    drop(conn);
    let huge = Parent::factory().body(Body("h".repeat(usize::try_from(limit).unwrap() + 1)));
    let err = bounded(huge.clone().with_session(&pool).create())
        .await
        .unwrap_err();
    assert_too_large(
        &err.to_string(),
        "ParentFactory",
        "create",
        "parents",
        limit,
        "nothing was sent",
    );
    let mut tx = bounded(pool.begin()).await.unwrap();
    let before = bounded(Entry::factory().with_session(&mut tx).create())
        .await
        .unwrap();
    let err = bounded(huge.clone().with_session(&mut tx).create_batch(1))
        .await
        .unwrap_err();
    assert_too_large(
        &err.to_string(),
        "ParentFactory",
        "create_batch(1)",
        "parents",
        limit,
        "nothing was sent",
    );
    let err = bounded(huge.clone().with_session(&mut tx).insert_many(1))
        .await
        .unwrap_err();
    assert_too_large(
        &err.to_string(),
        "ParentFactory",
        "insert_many(1)",
        "parents",
        limit,
        "it was not sent",
    );
    // Through a child's association: the parent is refused, the child not sent.
    let big = Body("h".repeat(usize::try_from(limit).unwrap() + 1));
    let err = bounded(
        Kid::factory()
            .parent_id_with(move |p| p.body(big.clone()))
            .with_session(&mut tx)
            .create_batch(2),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("more than fits one statement under MariaDB's max_allowed_packet"),
        "{err}"
    );
    let after = bounded(Entry::factory().with_session(&mut tx).create())
        .await
        .unwrap();
    bounded(tx.commit()).await.unwrap();
    let ids: Vec<i64> =
        bounded(sqlx::query_scalar("SELECT id FROM entries ORDER BY id").fetch_all(&pool))
            .await
            .unwrap();
    assert_eq!(ids, [before.id, after.id]);
    let parents: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM parents").fetch_one(&pool))
        .await
        .unwrap();
    assert_eq!(parents, 0);
}

/// Rows at the three-quarter budget: one just below it is sent alone (two would not fit),
/// one just above it refused.
#[cfg(feature = "mysql")]
#[tokio::test]
async fn mariadb_rows_at_the_budget() {
    let test = "review_budget";
    let mut conn = common::mariadb(test).await;
    exec!(&mut conn, schema(Kind::MariaDb));
    let limit = usize::try_from(packet_limit(&mut conn).await).unwrap();
    let budget = limit / 4 * 3;
    let mut tx = bounded(conn.begin()).await.unwrap();
    // The transparent newtype encodes a length prefix (up to 9 bytes) before its text.
    let below = File::factory().data(Bytes(vec![1u8; budget - 8 - 16]));
    let rows = bounded(below.clone().with_session(&mut tx).create_batch(2))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        bounded(below.with_session(&mut tx).insert_many(2))
            .await
            .unwrap(),
        2
    );
    let above = File::factory().data(Bytes(vec![1u8; budget]));
    let err = bounded(above.clone().with_session(&mut tx).create_batch(2))
        .await
        .unwrap_err();
    assert_too_large(
        &err.to_string(),
        "FileFactory",
        "create_batch(2)",
        "files",
        limit as u64,
        "nothing was sent",
    );
    let err = bounded(above.with_session(&mut tx).create())
        .await
        .unwrap_err();
    assert_too_large(
        &err.to_string(),
        "FileFactory",
        "create",
        "files",
        limit as u64,
        "nothing was sent",
    );
    bounded(tx.commit()).await.unwrap();
    let mut observer = observer(test).await;
    assert_eq!(count(&mut observer, "files").await, 4);
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there (100 kB values in long text and blob columns).
    async fn check_every_model(conn, kind) {
        exec!(conn, schema(kind));
        check_clean!(&mut *conn, kind, Entry, Doc, File, Parent, Kid, Note, Keyed);
    }
}
