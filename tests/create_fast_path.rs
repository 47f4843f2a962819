//! The plain `create()` (one row, no parent, lookup, hook or savepoint: `create_job` in
//! src/create/mod.rs), which has a small future of its own, so every promise the general path
//! keeps is checked again here: cancellation at every poll, panics, encode and decode
//! failures, NULL read back, renamed, generated and transient fields, transaction vs bare
//! connection vs pool, a `tracing` subscriber, and a row over 1 MiB (which leaves the fast
//! path). Errors are compared with the exact text the general path gave.

mod common;

use std::future::Future;
use std::time::Duration;

use sqlx::Connection;
use sqlx::error::BoxDynError;
use sqlx_factory::{Factory, Step};
use tokio::time::timeout;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::{Blob, Entry, Op, bounded, drop_after};

#[cfg(feature = "tracing")]
#[path = "common/spans.rs"]
mod recorder;

/// A renamed column, a column the database fills, a transient parameter.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "people")]
struct Person {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(rename = "full_name")]
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
    #[factory(default = 30)]
    age: i32,
    #[factory(generated)]
    created_at: String,
    #[factory(transient, default = 0)]
    #[sqlx(skip)]
    tag: i32,
}

/// `n` is filled by the database with 5 000 000 000, which no `i32` holds.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "wide")]
struct Wide {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "w".to_string())]
    label: String,
    #[factory(generated)]
    n: i32,
}

/// `note` is left to the database, which stores NULL: it comes back NULL into a `String`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "notes")]
struct Note {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "n".to_string())]
    label: String,
    #[factory(generated)]
    note: String,
}

/// A value whose `Encode` fails ("refuse", "refuse too") or panics ("panic").
#[derive(Debug, Clone, PartialEq)]
struct Touchy(String);

impl<DB: sqlx::Database> sqlx::Type<DB> for Touchy
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for Touchy
where
    String: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, BoxDynError> {
        match self.0.as_str() {
            "refuse" => Err("Touchy refuses to be encoded".into()),
            "refuse too" => Err("Touchy refuses this one too".into()),
            "panic" => panic!("Touchy panics while encoding"),
            _ => self.0.encode_by_ref(buf),
        }
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for Touchy
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(value: <DB as sqlx::Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Touchy(String::decode(value)?))
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "touchy")]
struct TouchyRow {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = Touchy("fine".to_string()))]
    body: Touchy,
}

/// Two columns whose `Encode` may fail or panic, bound in field order.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "touchy_pair")]
struct TouchyPair {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = Touchy("fine".to_string()))]
    body: Touchy,
    #[factory(default = Touchy("fine".to_string()))]
    tail: Touchy,
}

fn explode() -> String {
    panic!("a default expression panics")
}

/// A `default = ..` expression that panics when the row is drawn.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "touchy")]
struct Exploding {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = explode())]
    body: String,
}

/// tx.rs's tables (`entries`, `authors`, `books`, `blobs`) and this file's.
fn schema_sql(kind: Kind) -> String {
    let pk = kind.serial_pk();
    let text = kind.varchar();
    format!(
        "{}; CREATE TABLE people (id {pk}, full_name {text} NOT NULL, age INT NOT NULL, \
             created_at {created}); \
         CREATE TABLE wide (id {pk}, label {long} NOT NULL, n BIGINT NOT NULL DEFAULT 5000000000); \
         CREATE TABLE notes (id {pk}, label {text} NOT NULL, note {text}); \
         CREATE TABLE touchy (id {pk}, body {text} NOT NULL); \
         CREATE TABLE touchy_pair (id {pk}, body {text} NOT NULL, tail {text} NOT NULL)",
        tx::schema_sql(kind),
        created = kind.created_at(),
        long = if kind == Kind::MariaDb {
            "LONGTEXT"
        } else {
            "TEXT"
        },
    )
}

/// Polls `fut` to completion, catching a panic of any poll; `Err` holds the panic's message.
async fn catch_panic<F: Future>(fut: F) -> Result<F::Output, String> {
    tx::catch(fut).await.map_err(tx::panic_text)
}

const STAYS: &str = "; the INSERT succeeded, so its row stays in the caller's transaction: roll \
                     back, or create with `.in_savepoint()` to undo it on failure";
const COMMITTED: &str =
    "; the INSERT succeeded and, with no transaction on this connection, its row is committed";

on_every_backend! {
    /// The fast path's object is the row as stored: renamed column, database-filled column
    /// and key read back, the transient parameter restored, one row in the table.
    async fn plain_create_reads_back_renamed_generated_and_transient(conn, kind) {
        exec!(conn, schema_sql(kind));
        let mut tx = conn.begin().await.unwrap();
        let p = bounded(Person::factory().with_session(&mut tx).name("Ada").tag(7).create())
            .await
            .unwrap();
        assert_eq!((p.name.as_str(), p.age, p.tag), ("Ada", 30, 7));
        assert!(!p.created_at.is_empty(), "{p:?}");
        let stored: (i64, String, i32, String) =
            sqlx::query_as("SELECT id, full_name, age, created_at FROM people")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
        assert_eq!(stored, (p.id, p.name.clone(), p.age, p.created_at.clone()));
        // A generated column set on purpose is sent, and read back as sent.
        let q = bounded(
            Person::factory()
                .with_session(&mut tx)
                .created_at("yesterday")
                .create(),
        )
        .await
        .unwrap();
        assert_eq!((q.created_at.as_str(), q.tag), ("yesterday", 0));
        tx.rollback().await.unwrap();
    }
}

/// What sqlx itself says reading `$sql`'s row as `$t`: the cause a decode failure must name.
macro_rules! sqlx_says {
    ($t:ty, $conn:expr, $sql:expr) => {
        match sqlx::query_as::<_, $t>($sql).fetch_one($conn).await {
            Ok(row) => format!("sqlx decodes it: {row:?}"),
            Err(e) => e.to_string(),
        }
    };
}

on_every_backend! {
    /// A row the INSERT wrote but that does not decode (5 000 000 000 into an `i32`): step
    /// Decode, sqlx's own cause, and where the row is: in the caller's transaction, or
    /// committed on a bare connection. `.in_savepoint()` (the general path) undoes it.
    async fn value_too_wide_for_the_field(conn, kind) {
        exec!(conn, schema_sql(kind));
        let mut tx = conn.begin().await.unwrap();
        let err = bounded(Wide::factory().with_session(&mut tx).create()).await.unwrap_err();
        let cause = sqlx_says!(Wide, &mut *tx, "SELECT id, label, n FROM wide");
        assert_eq!(
            err.to_string(),
            format!("WideFactory::create into table `wide` failed decoding the row the INSERT returned: {cause}{STAYS}")
        );
        assert_eq!((err.factory(), err.table(), err.step()), ("WideFactory", "wide", Step::Decode));
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM wide").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(n, 1, "the row stays in the caller's transaction, as the error says");
        let err = bounded(Wide::factory().with_session(&mut tx).in_savepoint().create()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("WideFactory::create into table `wide` failed decoding the row the INSERT returned: {cause}")
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM wide").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(n, 1, "the savepoint undid its row");
        // A row over 1 MiB leaves the fast path: the same step and words.
        let big = "w".repeat((1 << 20) + 1);
        let err = bounded(Wide::factory().with_session(&mut tx).label(big).create()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("WideFactory::create into table `wide` failed decoding the row the INSERT returned: {cause}{STAYS}")
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM wide").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(n, 2, "the row stays in the caller's transaction, as the error says");
        tx.rollback().await.unwrap();
        let err = bounded(Wide::factory().with_session(&mut *conn).create()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("WideFactory::create into table `wide` failed decoding the row the INSERT returned: {cause}{COMMITTED}")
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM wide").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(n, 1);
    }
}

on_every_backend! {
    /// NULL read back into a `String` (a `generated` column the database leaves NULL). sqlx's
    /// SQLite decodes a NULL TEXT into `""`, and so does the factory: the row is returned.
    async fn null_read_back_into_a_non_option_field(conn, kind) {
        exec!(conn, schema_sql(kind));
        let mut tx = conn.begin().await.unwrap();
        if kind == Kind::Sqlite {
            let note = bounded(Note::factory().with_session(&mut tx).create()).await.unwrap();
            let cause = sqlx_says!(Note, &mut *tx, "SELECT id, label, note FROM notes");
            assert_eq!(cause, format!("sqlx decodes it: {note:?}"));
            assert_eq!(note.note, "");
            return;
        }
        let err = bounded(Note::factory().with_session(&mut tx).create()).await.unwrap_err();
        let cause = sqlx_says!(Note, &mut *tx, "SELECT id, label, note FROM notes");
        assert!(cause.contains("unexpected null"), "{cause}");
        assert_eq!(
            err.to_string(),
            format!("NoteFactory::create into table `notes` failed decoding the row the INSERT returned: {cause}{STAYS}")
        );
        tx.rollback().await.unwrap();
        let err = bounded(Note::factory().with_session(&mut *conn).create()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("NoteFactory::create into table `notes` failed decoding the row the INSERT returned: {cause}{COMMITTED}")
        );
        // The value set on purpose is sent and read back.
        let note = bounded(Note::factory().with_session(&mut *conn).note("set").create()).await.unwrap();
        assert_eq!(note.note, "set");
    }
}

/// SQLite stores NULL in a `BIGINT PRIMARY KEY` (not the rowid) given no value: the key comes
/// back NULL, which is an error naming it, not a row with key 0.
#[tokio::test]
async fn sqlite_null_primary_key_read_back() {
    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "keyless")]
    struct Keyless {
        #[factory(primary_key)]
        id: i64,
        #[factory(default = "k".to_string())]
        label: String,
    }
    let mut conn = common::sqlite().await;
    exec!(
        &mut conn,
        "CREATE TABLE keyless (id BIGINT PRIMARY KEY, label TEXT NOT NULL)".to_string()
    );
    // The schema check sees it first: the database fills no key here.
    check_finds!(
        &mut conn,
        Kind::Sqlite,
        Keyless,
        "id",
        "the database does not fill"
    );
    let mut tx = conn.begin().await.unwrap();
    let err = bounded(Keyless::factory().with_session(&mut tx).create())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "KeylessFactory::create into table `keyless` failed decoding the row the INSERT returned: {KEYLESS_CAUSE}{STAYS}"
        )
    );
    assert_eq!(err.step(), Step::Decode);
    tx.rollback().await.unwrap();
}

const KEYLESS_CAUSE: &str = "error occurred while decoding column `id`: the database returned \
     NULL for the key `id`: it does not fill this column, so give the field a value with \
     `#[factory(default = ..)]` or `#[factory(sequence = |n| ..)]` (or set it on every create)";

on_every_backend! {
    /// An `Encode` that fails: step Insert, nothing sent. An `Encode` that panics, and a
    /// `default = ..` that panics: the panic reaches the caller, and the caller's transaction
    /// goes on and commits what it wrote, as if the create had not been called.
    async fn encode_failure_and_panics_leave_the_transaction(conn, kind) {
        exec!(conn, schema_sql(kind));
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("INSERT INTO entries (name) VALUES ('before')").execute(&mut *tx).await.unwrap();
        let err = bounded(
            TouchyRow::factory().with_session(&mut tx).body(Touchy("refuse".into())).create(),
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "TouchyRowFactory::create into table `touchy` failed: error occurred while encoding a \
             value: Touchy refuses to be encoded"
        );
        assert_eq!(err.step(), Step::Insert);
        let panic = bounded(catch_panic(
            TouchyRow::factory().with_session(&mut tx).body(Touchy("panic".into())).create().into_future(),
        ))
        .await
        .unwrap_err();
        assert_eq!(panic, "Touchy panics while encoding");
        let panic = bounded(catch_panic(async {
            Exploding::factory().with_session(&mut tx).create().await
        }))
        .await
        .unwrap_err();
        assert_eq!(panic, "a default expression panics");
        sqlx::query("INSERT INTO entries (name) VALUES ('after')").execute(&mut *tx).await.unwrap();
        let fine = bounded(TouchyRow::factory().with_session(&mut tx).create()).await.unwrap();
        tx.commit().await.unwrap();
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM entries ORDER BY name")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(names, ["after", "before"]);
        let bodies: Vec<(i64, String)> = sqlx::query_as("SELECT id, body FROM touchy")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(bodies, [(fine.id, "fine".to_string())]);
    }
}

on_every_backend! {
    /// A row whose two columns fail to encode: the error is the first column's, and no row is
    /// stored.
    async fn first_failing_column_is_the_error(conn, kind) {
        exec!(conn, schema_sql(kind));
        let mut tx = conn.begin().await.unwrap();
        for batch in [false, true] {
            let factory = TouchyPair::factory()
                .with_session(&mut tx)
                .body(Touchy("refuse".into()))
                .tail(Touchy("refuse too".into()));
            let err = match batch {
                false => bounded(factory.create()).await.map(|_| ()).unwrap_err(),
                true => bounded(factory.create_batch(2)).await.map(|_| ()).unwrap_err(),
            };
            assert!(
                err.to_string()
                    .ends_with("error occurred while encoding a value: Touchy refuses to be encoded"),
                "{err}"
            );
            assert_eq!(err.step(), Step::Insert);
        }
        tx.commit().await.unwrap();
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM touchy_pair")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(stored, 0);
    }
}

on_every_backend! {
    /// Rows over 1 MiB leave the fast path (the statement limit is asked first) and are created
    /// whole, in the caller's transaction.
    async fn rows_over_one_mib_are_created(conn, kind) {
        exec!(conn, schema_sql(kind));
        let mut tx = conn.begin().await.unwrap();
        for len in [(1 << 20) - 64, (1 << 20) + 1, 3 << 20] {
            let blob = bounded(Blob::factory().with_session(&mut tx).body("y".repeat(len)).create())
                .await
                .unwrap();
            let sql = format!("SELECT body FROM blobs WHERE id = {}", blob.id);
            let stored: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!((blob.body.len(), stored.len()), (len, len));
        }
        tx.rollback().await.unwrap();
    }
}

/// One row alone over MariaDB's `max_allowed_packet`, on a bare connection: refused before
/// anything is sent (the server would drop the connection), and the connection goes on.
#[cfg(feature = "mysql")]
#[tokio::test]
async fn mariadb_one_row_over_the_packet_limit_bare() {
    let mut conn = common::mariadb("fast_one_row_over_the_limit_bare").await;
    exec!(&mut conn, schema_sql(Kind::MariaDb));
    let limit: u64 = sqlx::query_scalar("SELECT @@max_allowed_packet")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let huge = "x".repeat(usize::try_from(limit).unwrap() + 1);
    let err = bounded(Blob::factory().with_session(&mut conn).body(huge).create())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("BlobFactory::create into table `blobs` failed: row 1 is about ")
            && text.ends_with(&format!(
                " bytes, more than fits one statement under MariaDB's max_allowed_packet \
                 ({limit} bytes); nothing was sent. Make its values smaller, or raise the limit"
            )),
        "{text}"
    );
    let e = bounded(Entry::factory().with_session(&mut conn).create())
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM entries WHERE id = ?")
        .bind(e.id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let blobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM blobs")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!((n, blobs), (1, 0));
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A pool session: each create acquires (a pool of one connection: each gives it back),
    /// its row is committed and seen from a second connection, transients are restored, and a
    /// row that does not decode is reported as committed, as it is.
    async fn pool_session_commits(mk, observer, kind) {
        let pool = mk(1).await.unwrap();
        let mut made = Vec::new();
        for tag in 0..3 {
            let p = bounded(Person::factory().with_session(&pool).tag(tag).create()).await.unwrap();
            assert_eq!(p.tag, tag);
            made.push((p.id, p.name));
        }
        let seen: Vec<(i64, String)> = bounded(sqlx::query_as("SELECT id, full_name FROM people ORDER BY id").fetch_all(&observer)).await.unwrap();
        assert_eq!(seen, made);
        let err = bounded(Wide::factory().with_session(&pool).create()).await.unwrap_err();
        let mut conn = bounded(observer.acquire()).await.unwrap();
        let cause = sqlx_says!(Wide, &mut *conn, "SELECT id, label, n FROM wide");
        drop(conn);
        assert_eq!(
            err.to_string(),
            format!("WideFactory::create into table `wide` failed decoding the row the INSERT returned: {cause}{COMMITTED}"),
            "[{kind:?}]"
        );
        let n: i64 = bounded(sqlx::query_scalar("SELECT COUNT(*) FROM wide").fetch_one(&observer)).await.unwrap();
        assert_eq!(n, 1, "committed, as the error says");
        let mut problems: Vec<String> = Vec::new();
        next_user!(problems, pool, observer);
        assert!(problems.is_empty(), "{problems:?}");
        // A create waiting for the pool's one connection, cancelled by a timeout: the wait is
        // given up, and the connection serves the next create once it is back.
        let held = bounded(pool.acquire()).await.unwrap();
        let waited = timeout(Duration::from_millis(100), Entry::factory().with_session(&pool).create()).await;
        assert!(waited.is_err(), "the create could not have had the connection: {waited:?}");
        drop(held);
        let e = bounded(Entry::factory().with_session(&pool).create()).await.unwrap();
        let sql = format!("SELECT COUNT(*) FROM entries WHERE id = {}", e.id);
        let n: i64 = bounded(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&observer)).await.unwrap();
        assert_eq!(n, 1, "the create after the cancelled wait is committed");
        pool.close().await;
        let err = bounded(Entry::factory().with_session(&pool).create()).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "EntryFactory::create into table `entries` failed: attempted to acquire a connection on a closed pool"
        );
    }
}

on_dbs! {
    [sqlite, postgres]
    /// Cancel a plain create after its k-th poll (k = 1, 2, .. until it completes) in each
    /// session: the caller's transaction (then committed, rolled back or dropped), a bare
    /// pooled connection, a pool. The caller's own rows are durable exactly when it commits;
    /// the create's row is durable only where the caller commits or there is no transaction
    /// (it is one autocommitted statement); the pool's next user commits durably.
    async fn plain_create_cancel_sweep(mk, observer, kind) {
        let mut findings: Vec<String> = Vec::new();
        for session in ["tx-commit", "tx-rollback", "tx-drop", "bare", "pool"] {
            for settle in [false, true] {
                for k in 1..40 {
                    let pool = mk(1).await.unwrap();
                    let mut problems: Vec<String> = Vec::new();
                    let completed;
                    let expected: &[&str];
                    match session {
                        "pool" => {
                            let op: Op<'_> = Box::pin(async {
                                let _ = Entry::factory().with_session(&pool).create().await;
                            });
                            completed = drop_after(op, k, settle).await;
                            expected = &[];
                        }
                        "bare" => {
                            let mut conn = bounded(pool.acquire()).await.unwrap();
                            let op: Op<'_> = Box::pin(async {
                                let _ = Entry::factory().with_session(&mut conn).create().await;
                            });
                            completed = drop_after(op, k, settle).await;
                            caller_inserts_after!(problems, &mut *conn);
                            drop(conn);
                            expected = &["after"];
                        }
                        _ => {
                            let mut tx = bounded(pool.begin()).await.unwrap();
                            bounded(sqlx::query("INSERT INTO entries (name) VALUES ('before')").execute(&mut *tx)).await.unwrap();
                            let op: Op<'_> = Box::pin(async {
                                let _ = Entry::factory().with_session(&mut tx).create().await;
                            });
                            completed = drop_after(op, k, settle).await;
                            caller_inserts_after!(problems, &mut *tx);
                            match session {
                                "tx-commit" => {
                                    caller_step!(problems, "caller's commit", tx.commit());
                                    expected = &["after", "before"];
                                }
                                "tx-rollback" => {
                                    caller_step!(problems, "caller's rollback", tx.rollback());
                                    expected = &[];
                                }
                                _ => {
                                    drop(tx);
                                    expected = &[];
                                }
                            }
                        }
                    }
                    let (markers, [entries, ..]) = seen!(observer);
                    if markers != expected {
                        problems.push(format!("durable markers {markers:?}, expected {expected:?}"));
                    }
                    let kept_possible = matches!(session, "tx-commit" | "bare" | "pool");
                    if entries > 1 || (entries == 1 && !kept_possible) || (completed && kept_possible && entries != 1) {
                        problems.push(format!("{entries} durable factory rows (completed: {completed})"));
                    }
                    next_user!(problems, pool, observer);
                    let at = format!("[{kind:?}] {session} settle={settle} cancelled after poll {k} (completed: {completed})");
                    end_iteration!(findings, problems, at, pool, observer);
                    if completed {
                        eprintln!("[{kind:?}] {session} settle={settle}: completed at poll {k}");
                        break;
                    }
                }
            }
        }
        tx::assert_no_findings(&findings);
    }
}

/// With the `tracing` feature: a subscriber (here the thread's default, so other tests of this
/// binary run without one) sees one `sqlx_factory::insert` span per create, with its fields,
/// entered and exited around the insert, on every backend and session, also after creates that
/// ran with no subscriber, and for a row over 1 MiB.
#[cfg(feature = "tracing")]
mod spans {
    use super::*;
    use recorder::Recorder;

    fn span(factory: &str, table: &str) -> String {
        format!(
            r#"sqlx_factory::insert factory="{factory}" table="{table}" operation=create rows=1"#
        )
    }

    on_every_backend! {
        async fn create_is_traced(conn, kind) {
            exec!(conn, schema_sql(kind));
            // Creates with no subscriber first: the span's callsite is registered then.
            bounded(Entry::factory().with_session(&mut *conn).create()).await.unwrap();
            let spans = Recorder::default();
            let guard = tracing::subscriber::set_default(spans.clone());
            let mut tx = conn.begin().await.unwrap();
            bounded(Entry::factory().with_session(&mut tx).create()).await.unwrap();
            let p = bounded(Person::factory().with_session(&mut tx).tag(3).create()).await.unwrap();
            assert_eq!(p.tag, 3);
            bounded(Blob::factory().with_session(&mut tx).body("z".repeat(2 << 20)).create()).await.unwrap();
            let err = bounded(Wide::factory().with_session(&mut tx).create()).await.unwrap_err();
            assert_eq!(err.step(), Step::Decode);
            tx.rollback().await.unwrap();
            drop(guard);
            // And none once the subscriber is gone.
            bounded(Entry::factory().with_session(&mut *conn).create()).await.unwrap();
            let seen = spans.seen();
            assert_eq!(
                seen.lines,
                [
                    span("EntryFactory", "entries"),
                    span("PersonFactory", "people"),
                    span("BlobFactory", "blobs"),
                    span("WideFactory", "wide"),
                ]
            );
            assert!(seen.enters >= 4 && seen.enters == seen.exits, "{} enters, {} exits", seen.enters, seen.exits);
        }
    }

    on_dbs! {
        [sqlite, postgres, mariadb]
        async fn pool_create_is_traced(mk, observer, kind) {
            let _ = (kind, &observer);
            let pool = mk(1).await.unwrap();
            let spans = Recorder::default();
            let guard = tracing::subscriber::set_default(spans.clone());
            bounded(Entry::factory().with_session(&pool).create()).await.unwrap();
            drop(guard);
            assert_eq!(spans.seen().lines, [span("EntryFactory", "entries")]);
            pool.close().await;
        }
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// 64 plain creates spawned on a multi-thread runtime, sharing a pool of 2 connections:
    /// each waits its turn for a connection, all are committed, none is lost or doubled.
    async fn concurrent_pool_creates(mk, observer, kind) {
        let _ = kind;
        let pool = mk(2).await.unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..64)
            .map(|tag| {
                let pool = pool.clone();
                rt.spawn(async move {
                    let p = Person::factory().with_session(&pool).tag(tag).create().await.unwrap();
                    assert_eq!(p.tag, tag);
                    p.id
                })
            })
            .collect();
        let mut ids = Vec::new();
        for t in tasks {
            ids.push(bounded(t).await.unwrap());
        }
        ids.sort();
        let seen: Vec<i64> = bounded(sqlx::query_scalar("SELECT id FROM people ORDER BY id").fetch_all(&observer)).await.unwrap();
        assert_eq!(seen, ids);
        rt.shutdown_background();
        pool.close().await;
    }
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there, and an error for each whose create fails: `Wide` reads 5 000 000 000 into
    /// an `i32`, `Note` reads NULL into a `String` (not on SQLite, whose `String` reads NULL as
    /// ""), `Exploding` panics drawing a value.
    async fn check_every_model(conn, kind) {
        exec!(conn, schema_sql(kind));
        check_clean!(&mut *conn, kind, Person, TouchyRow, TouchyPair, Entry, Blob, tx::Author, tx::Book);
        check_finds!(&mut *conn, kind, Wide, "n", "which `i32` cannot hold");
        if kind == Kind::Sqlite {
            check_clean!(&mut *conn, kind, Note);
        } else {
            check_finds!(&mut *conn, kind, Note, "note", "it reads back NULL");
        }
        check_finds!(&mut *conn, kind, Exploding, "", "drawing an object panics");
    }
}
