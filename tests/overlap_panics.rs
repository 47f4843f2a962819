//! A panic in user code (a `default`/`fake`/`sequence` expression) while the rows of the next
//! statement are drawn, which since `future::overlap` happens while the previous statement is
//! in flight: `insert_many` (SQLite, MariaDB), `insert_many(..).returning_keys()` and a
//! streamed `create_batch(n)` (every backend), in the caller's transaction, on a bare
//! connection and bound to a pool. The panic is caught by the caller (`catch_unwind` around
//! the future, as a test harness or a `tokio::spawn` does); afterwards a second connection
//! must see nothing of the operation, the caller's transaction must still answer (its own
//! earlier row intact), and the connection must serve the pool's next user.

mod common;

use std::cell::Cell;
use std::time::Duration;

use sqlx_factory::Factory;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::{Author, Book, Op, bounded, catch, drop_after, try_bounded};

thread_local! {
    /// Rows drawn on this thread (each `#[tokio::test]` runs on a thread of its own).
    static DRAWN: Cell<u64> = const { Cell::new(0) };
    /// The drawn row whose name panics.
    static PANIC_AT: Cell<u64> = const { Cell::new(u64::MAX) };
}

fn name() -> String {
    let n = DRAWN.with(|d| {
        let n = d.get() + 1;
        d.set(n);
        n
    });
    if PANIC_AT.with(Cell::get) == n {
        panic!("drawing row {n} panics");
    }
    format!("entry-{n}")
}

/// Arms the panic at the `at`-th row drawn from now on.
fn arm(at: u64) {
    DRAWN.with(|d| d.set(0));
    PANIC_AT.with(|p| p.set(at));
}

fn disarm() {
    PANIC_AT.with(|p| p.set(u64::MAX));
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "entries")]
struct Bomb {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = name())]
    name: String,
}

/// `duds.name` is UNIQUE: a row named as one already there fails its statement.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "duds")]
struct Dud {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = name())]
    name: String,
}

fn schema_sql(kind: Kind) -> String {
    format!(
        "{}; CREATE TABLE duds (id {}, name {} NOT NULL UNIQUE)",
        tx::schema_sql(kind),
        kind.serial_pk(),
        kind.varchar()
    )
}

const OPS: [&str; 3] = [
    "insert_many(6000)",
    "insert_many(6000).chunk_rows(700).returning_keys()",
    "create_batch(3000)",
];

/// Runs operation `op` on the session `$s`, catching its panic; true if it panicked.
macro_rules! run_op {
    ($op:expr, $s:expr, $kind:expr) => {{
        let s = $s;
        let panicked = match $op {
            0 if $kind != Kind::Postgres => catch(
                Bomb::factory()
                    .with_session(s)
                    .insert_many(6000)
                    .into_future(),
            )
            .await
            .map(|r| r.is_ok()),
            1 => catch(
                Bomb::factory()
                    .with_session(s)
                    .insert_many(6000)
                    .chunk_rows(700)
                    .returning_keys()
                    .into_future(),
            )
            .await
            .map(|r| r.is_ok()),
            _ => catch(
                Bomb::factory()
                    .with_session(s)
                    .create_batch(3000)
                    .into_future(),
            )
            .await
            .map(|r| r.is_ok()),
        };
        disarm();
        match panicked {
            Err(_) => true,
            Ok(ok) => panic!("the operation did not panic (ok: {ok})"),
        }
    }};
}

/// Rows at which the panic fires: in the first statement's draw (nothing in flight), and in
/// the draws of the 2nd, 3rd, .. statements (one in flight).
const PANIC_ROWS: [u64; 4] = [1, 2, 1200, 2600];

on_dbs! {
    [sqlite, postgres, mariadb]
    /// In the caller's transaction: after the caught panic the transaction answers, its row
    /// is there, it takes another INSERT, and its rollback leaves nothing durable.
    async fn panic_while_statement_in_flight_in_transaction(mk, observer, kind) {
        let mut findings = Vec::new();
        for (op, op_name) in OPS.iter().enumerate() {
            if op == 0 && kind == Kind::Postgres { continue; }
            for at in PANIC_ROWS {
                for commit in [false, true] {
                    let pool = mk(1).await.unwrap();
                    let mut problems = Vec::new();
                    let mut tx = bounded(pool.begin()).await.unwrap();
                    bounded(sqlx::query("INSERT INTO entries (name) VALUES ('before')").execute(&mut *tx)).await.unwrap();
                    arm(at);
                    run_op!(op, &mut tx, kind);
                    let r = try_bounded(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM entries WHERE name = 'before'").fetch_one(&mut *tx)).await;
                    if !matches!(r, Some(Ok(1))) { problems.push(format!("caller's own row after the panic: {r:?}")); }
                    caller_inserts_after!(problems, &mut *tx);
                    caller_step!(problems, "caller's commit/rollback", async { if commit { tx.commit().await } else { tx.rollback().await } });
                    let (markers, [rows, ..]) = seen!(observer);
                    let expected: Vec<String> = if commit { vec!["after".into(), "before".into()] } else { vec![] };
                    if markers != expected { problems.push(format!("durable markers {markers:?}, expected {expected:?}")); }
                    if !commit && rows != 0 { problems.push(format!("{rows} rows of the panicked operation durable after the rollback")); }
                    reset!(observer);
                    next_user!(problems, pool);
                    end_iteration!(findings, problems, format!("[{kind:?}] `{op_name}` panic at row {at} commit={commit}"), pool, observer);
                }
            }
        }
        tx::assert_no_findings(&findings);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// On a bare pooled connection: after the caught panic an autocommitted INSERT works and
    /// is durable, nothing of the operation is, and the pool's next user is served.
    async fn panic_while_statement_in_flight_bare_connection(mk, observer, kind) {
        let mut findings = Vec::new();
        for (op, op_name) in OPS.iter().enumerate() {
            if op == 0 && kind == Kind::Postgres { continue; }
            for at in PANIC_ROWS {
                let pool = mk(1).await.unwrap();
                let mut problems = Vec::new();
                let mut conn = bounded(pool.acquire()).await.unwrap();
                arm(at);
                run_op!(op, &mut *conn, kind);
                caller_inserts_after!(problems, &mut *conn);
                drop(conn);
                let (markers, [rows, ..]) = seen!(observer);
                if markers != ["after"] { problems.push(format!("durable markers {markers:?}, expected [\"after\"]")); }
                if rows != 0 { problems.push(format!("{rows} rows of the panicked operation durable")); }
                reset!(observer);
                next_user!(problems, pool);
                end_iteration!(findings, problems, format!("[{kind:?}] BARE `{op_name}` panic at row {at}"), pool, observer);
            }
        }
        tx::assert_no_findings(&findings);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Bound to a pool of one connection: nothing of the operation is durable after the
    /// caught panic, and the connection serves the pool's next user.
    async fn panic_while_statement_in_flight_pool(mk, observer, kind) {
        let mut findings = Vec::new();
        for (op, op_name) in OPS.iter().enumerate() {
            if op == 0 && kind == Kind::Postgres { continue; }
            for at in PANIC_ROWS {
                let pool = mk(1).await.unwrap();
                let mut problems = Vec::new();
                arm(at);
                run_op!(op, &pool, kind);
                let (markers, [rows, ..]) = seen!(observer);
                if !markers.is_empty() || rows != 0 { problems.push(format!("durable after the panic: markers {markers:?}, {rows} rows")); }
                next_user!(problems, pool);
                let (markers, _) = seen!(observer);
                if markers != ["next-auto", "next-tx"] { problems.push(format!("next user's markers {markers:?}")); }
                end_iteration!(findings, problems, format!("[{kind:?}] POOL `{op_name}` panic at row {at}"), pool, observer);
            }
        }
        tx::assert_no_findings(&findings);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Statement k fails (a unique violation on its first row) while drawing statement k+1
    /// panics: the statement's error is returned, naming its rows, as before the draw
    /// overlapped the statement (the next rows were then never drawn); the caller's
    /// transaction is intact.
    async fn statement_error_beats_a_panic_in_the_next_draw(mk, observer, kind) {
        let _ = &observer;
        let pool = mk(1).await.unwrap();
        let mut findings = Vec::new();
        // insert_many: statement 1 is row 1 alone, row 2 is drawn while it runs. create_batch:
        // the first piece is rows 1..=500, row 600 is drawn while it runs.
        for (op, at) in [(0, 2), (1, 2), (2, 600)] {
            // PostgreSQL's `COPY` draws a chunk before sending anything: no overlap there.
            if op < 2 && kind == Kind::Postgres { continue; }
            let mut tx = bounded(pool.begin()).await.unwrap();
            bounded(sqlx::query("INSERT INTO duds (name) VALUES ('entry-1')").execute(&mut *tx)).await.unwrap();
            arm(at);
            let result = match op {
                0 => catch(Dud::factory().with_session(&mut tx).insert_many(3000).into_future()).await.map(|r| r.err().map(|e| e.to_string())),
                1 => catch(Dud::factory().with_session(&mut tx).insert_many(3000).returning_keys().into_future()).await.map(|r| r.err().map(|e| e.to_string())),
                _ => catch(Dud::factory().with_session(&mut tx).create_batch(1500).into_future()).await.map(|r| r.err().map(|e| e.to_string())),
            };
            disarm();
            match result {
                Err(_) => findings.push(format!("[{kind:?}] op {op}: the panic drawing row {at} replaced the failing statement's error")),
                Ok(None) => findings.push(format!("[{kind:?}] op {op}: succeeded")),
                Ok(Some(text)) => {
                    let rows = if op == 2 { "INSERT 1 of 3 (rows 1 to 500)" } else { "sending row 1:" };
                    if !text.contains(rows) {
                        findings.push(format!("[{kind:?}] op {op}: the error does not name {rows}: {text}"));
                    }
                }
            }
            let r = try_bounded(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM duds").fetch_one(&mut *tx)).await;
            if !matches!(r, Some(Ok(1))) { findings.push(format!("[{kind:?}] op {op}: caller's rows after: {r:?}")); }
            let _ = bounded(tx.rollback()).await;
        }
        tx::assert_no_findings(&findings);
    }
}

const SWEPT: [&str; 3] = [
    "insert_many(1500).chunk_rows(500)",
    "insert_many(1500).chunk_rows(500).returning_keys()",
    "Author insert_many(300).chunk_rows(100).with_children(2, Book)",
];

/// The swept operation `op` on the session `$s`, boxed.
macro_rules! swept {
    ($op:expr, $s:expr) => {{
        let s = $s;
        let f: Op<'_> = match $op {
            0 => Box::pin(async move {
                let _ = Bomb::factory()
                    .with_session(s)
                    .insert_many(1500)
                    .chunk_rows(500)
                    .await;
            }),
            1 => Box::pin(async move {
                let _ = Bomb::factory()
                    .with_session(s)
                    .insert_many(1500)
                    .chunk_rows(500)
                    .returning_keys()
                    .await;
            }),
            _ => Box::pin(async move {
                let _ = Author::factory()
                    .with_session(s)
                    .insert_many(300)
                    .chunk_rows(100)
                    .with_children(2, Book::factory())
                    .await;
            }),
        };
        f
    }};
}

/// `insert_many_cancel_sweep_N[_session]` sweeps the operation `SWEPT[N]` on those sessions.
macro_rules! insert_many_cancel_sweeps {
    ($($name:ident: $op:literal, [$($session:literal),+]),+) => {
        $(
        on_dbs! {
            [sqlite]
            /// insert_many (one statement in flight, the next drawn meanwhile) dropped after each of
            /// its polls, in the caller's transaction, on a bare connection and bound to a pool (as
            /// tests/cancellation.rs sweeps create_batch): the caller's transaction answers and its
            /// rollback leaves nothing, the bare connection's next INSERT is durable and nothing of
            /// the operation is, a whole operation or nothing on a pool, and the pool's next user is
            /// served. SQLite only: the overlap is SQLite's and MariaDB's path, and sqlx's MariaDB
            /// connection is not cancel-safe in the middle of a statement (tests/common/tx.rs);
            /// PostgreSQL seeds by `COPY`, which sqlx cannot cancel mid-`COPY` (docs/DESIGN.md).
            /// One test per operation of [`SWEPT`] and kind of session, so they run side by side.
            async fn $name(mk, observer, kind) {
                let mut findings = Vec::new();
                {
                    let (op, op_name) = ($op, SWEPT[$op]);
                    let whole = [[1500, 0, 0], [1500, 0, 0], [0, 600, 300]][op];
                    for session in [$($session),+] {
                        for settle in [false, true] {
                            for k in 1..80 {
                                let pool = mk(1).await.unwrap();
                                let mut problems = Vec::new();
                                let completed;
                                match session {
                                    "tx" => {
                                        let mut tx = bounded(pool.begin()).await.unwrap();
                                        bounded(sqlx::query("INSERT INTO entries (name) VALUES ('before')").execute(&mut *tx)).await.unwrap();
                                        completed = drop_after(swept!(op, &mut tx), k, settle).await;
                                        let r = try_bounded(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM entries WHERE name = 'before'").fetch_one(&mut *tx)).await;
                                        if !matches!(r, Some(Ok(1))) { problems.push(format!("caller's own row: {r:?}")); }
                                        caller_step!(problems, "caller's rollback", tx.rollback());
                                        let (markers, rows) = seen!(observer);
                                        if !markers.is_empty() || rows != [0, 0, 0] { problems.push(format!("durable after the caller's rollback: {markers:?} {rows:?}")); }
                                    }
                                    "bare" => {
                                        let mut conn = bounded(pool.acquire()).await.unwrap();
                                        completed = drop_after(swept!(op, &mut *conn), k, settle).await;
                                        caller_inserts_after!(problems, &mut *conn);
                                        drop(conn);
                                        let (markers, rows) = seen!(observer);
                                        if markers != ["after"] { problems.push(format!("durable markers {markers:?}")); }
                                        if rows != [0, 0, 0] && rows != whole { problems.push(format!("durable factory rows {rows:?}")); }
                                    }
                                    _ => {
                                        completed = drop_after(swept!(op, &pool), k, settle).await;
                                        let (_, rows) = seen!(observer);
                                        if rows != [0, 0, 0] && rows != whole { problems.push(format!("durable factory rows {rows:?}")); }
                                    }
                                }
                                reset!(observer);
                                next_user!(problems, pool);
                                let (markers, _) = seen!(observer);
                                if markers != ["next-auto", "next-tx"] { problems.push(format!("next user's markers {markers:?}")); }
                                end_iteration!(findings, problems, format!("[{kind:?}] `{op_name}` {session} settle={settle} dropped after poll {k} (completed: {completed})"), pool, observer);
                                if completed { break; }
                                assert!(k < 79, "`{op_name}` {session} settle={settle}: not completed after 79 polls");
                            }
                        }
                    }
                }
                tx::assert_no_findings(&findings);
            }
        }
        )+
    };
}

insert_many_cancel_sweeps!(
    insert_many_cancel_sweep_0: 0, ["tx", "bare", "pool"],
    insert_many_cancel_sweep_1_tx: 1, ["tx"],
    insert_many_cancel_sweep_1_bare: 1, ["bare"],
    insert_many_cancel_sweep_1_pool: 1, ["pool"],
    insert_many_cancel_sweep_2_tx: 2, ["tx"],
    insert_many_cancel_sweep_2_bare: 2, ["bare"],
    insert_many_cancel_sweep_2_pool: 2, ["pool"]
);

/// A text primary key the factory gives no value: SQLite stores NULL in it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "api_keys")]
struct ApiKey {
    #[factory(primary_key)]
    id: String,
    #[factory(default = name())]
    label: String,
}

/// The table of [`ApiKey`] (its test runs on SQLite).
const API_KEYS: &str = "CREATE TABLE api_keys (id TEXT PRIMARY KEY, label TEXT NOT NULL)";

/// `returning_keys()` on SQLite, where a non-`INTEGER` primary key given no value is stored
/// as NULL, which sqlx decodes into a `String` as "": an error naming the key and the
/// statement's rows, not 3 000 empty keys, and nothing stays in the caller's transaction.
#[tokio::test]
async fn null_keys_with_returning_keys_are_an_error() {
    common::bounded_test(async {
        let mut conn = common::sqlite().await;
        exec!(&mut conn, API_KEYS.to_string());
        let mut tx = sqlx::Connection::begin(&mut conn).await.unwrap();
        let err = bounded(
            ApiKey::factory()
                .with_session(&mut tx)
                .insert_many(3000)
                .chunk_rows(1000)
                .returning_keys(),
        )
        .await
        .expect_err("NULL keys must not come back as keys");
        // Our own words, right after the step: no prefix of sqlx's ("encountered unexpected or
        // invalid data", "error occurred while decoding").
        assert!(
            err.to_string().contains(
                "failed sending rows 1 to 1000: the database returned NULL for the key `id`"
            ),
            "{err}"
        );
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(n, 0, "nothing of the failed seed stays");
        tx.rollback().await.unwrap();
        common::reads_as_ours(err);
    })
    .await
}

/// A row whose parent is an [`ApiKey`].
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "api_uses")]
struct ApiUse {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = ApiKey)]
    key_id: String,
}

/// The table of [`ApiUse`].
const API_USES: &str =
    "CREATE TABLE api_uses (id INTEGER PRIMARY KEY, key_id TEXT NOT NULL REFERENCES api_keys (id))";

/// `create` of a row whose parent's text key comes back NULL (SQLite): our error, naming the
/// parent's table, printed the same way.
#[tokio::test]
async fn null_parent_key_on_create_is_an_error() {
    common::bounded_test(async {
        let mut conn = common::sqlite().await;
        exec!(&mut conn, format!("{API_KEYS}; {API_USES}"));
        let err = bounded(ApiUse::factory().with_session(&mut conn).create())
            .await
            .expect_err("a NULL parent key must not be stored as \"\"");
        assert!(
            err.to_string()
                .contains("the database returned NULL for the key `id` of a `api_keys`"),
            "{err}"
        );
        common::reads_as_ours(err);
    })
    .await
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A row larger than the server takes in one statement (MariaDB's 16 MiB
    /// `max_allowed_packet`): `insert_many` refuses it with an error, as `create_batch`
    /// does, and the caller's transaction keeps its row and takes the next statement.
    async fn oversized_row_in_insert_many(mk, observer, kind) {
        let _ = &observer;
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        bounded(sqlx::query("INSERT INTO entries (name) VALUES ('before')").execute(&mut *tx)).await.unwrap();
        let limit: i64 = if kind == Kind::MariaDb {
            bounded(sqlx::query_scalar("SELECT CAST(@@max_allowed_packet AS SIGNED)").fetch_one(&mut *tx)).await.unwrap()
        } else {
            16 << 20
        };
        let body = "x".repeat(limit as usize + 1024);
        let r = try_bounded(tx::Blob::factory().with_session(&mut tx).body(body).insert_many(2).into_future()).await;
        match r {
            Some(Err(e)) if kind == Kind::MariaDb => assert!(
                e.to_string().contains("failed sending row 1: row 1 is about")
                    && e.to_string().contains("more than fits one statement under MariaDB's max_allowed_packet"),
                "{e}"
            ),
            Some(Ok(2)) if kind != Kind::MariaDb => {}
            other => panic!("[{kind:?}] {:?}", other.map(|r| r.map_err(|e| e.to_string()))),
        }
        let own = try_bounded(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM entries WHERE name = 'before'").fetch_one(&mut *tx)).await;
        assert!(matches!(own, Some(Ok(1))), "[{kind:?}] the caller's transaction after the oversized row: {own:?}");
        let _ = bounded(tx.rollback()).await;
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there, and an error for `ApiKey` on SQLite, whose key the database leaves NULL.
    async fn check_every_model(mk, observer, kind) {
        let pool = mk(1).await.unwrap();
        let mut conn = bounded(pool.acquire()).await.unwrap();
        check_clean!(&mut *conn, kind, Bomb, Dud, tx::Entry, tx::Blob, Author, Book);
        if kind == Kind::Sqlite {
            exec!(&mut *conn, format!("{API_KEYS}; {API_USES}"));
            check_finds!(&mut *conn, kind, ApiKey, "id", "the database does not fill");
            check_clean!(&mut *conn, kind, ApiUse);
        }
    }
}
