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

use std::cell::Cell;
use std::future::IntoFuture;
use std::time::Duration;

use sqlx_factory::Factory;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::{bounded, catch};

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
    /// The row of `kids` whose `n` panics while it is drawn (0: none).
    static KID_PANIC: Cell<u64> = const { Cell::new(0) };
}

/// Plans the next seed on this thread.
fn plan(unencodable: u64, panic_at: u64, kid_unencodable: u64) {
    DRAWN.set(0);
    UNENCODABLE.set(unencodable);
    PANIC_AT.set(panic_at);
    KIDS_DRAWN.set(0);
    KID_UNENCODABLE.set(kid_unencodable);
    KID_PANIC.set(0);
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
    if row == KID_PANIC.get() {
        panic!("a default expression panics at child {row}");
    }
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

/// The caller's own row, written in its transaction `$tx`.
macro_rules! callers_row {
    ($tx:expr) => {
        bounded(sqlx::query("INSERT INTO hits (hits, name) VALUES (1, 'mine')").execute(&mut *$tx))
            .await
            .unwrap()
    };
}

/// Empties `kids` and `hits` through `$executor`.
macro_rules! clear {
    ($executor:expr) => {{
        bounded(sqlx::query("DELETE FROM kids").execute($executor))
            .await
            .unwrap();
        bounded(sqlx::query("DELETE FROM hits").execute($executor))
            .await
            .unwrap();
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

/// The seed of `$position` (one of [`POSITIONS`]) on `$session`, which must fail naming its
/// row.
macro_rules! failing_at {
    ($session:expr, $position:expr) => {{
        let (rows, chunk_rows, bad) = $position;
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
        for (i, &position) in POSITIONS.iter().enumerate() {
            let mut conn = bounded(pool.acquire()).await.unwrap();
            let what = failing_at!(&mut *conn, position);
            answers_its_own_queries!(conn, what);
            drop(conn);

            let mut tx = bounded(pool.begin()).await.unwrap();
            let what = failing_at!(&mut tx, position);
            answers_its_own_queries!(tx, what);
            callers_row!(tx);
            bounded(tx.commit()).await.unwrap();

            let what = failing_at!(&pool, position);
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
        callers_row!(tx);
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
            callers_row!(tx);
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

#[cfg(feature = "postgres")]
mod postgres_tables {
    use super::*;
    use sqlx::Connection;

    /// A `json` value under two domains, a `json[]` column.
    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "documents")]
    struct Document {
        #[factory(primary_key)]
        id: i64,
        #[factory(sequence = |n| sqlx::types::JsonValue::from(vec![format!("doc {n}")]))]
        body: sqlx::types::JsonValue,
        #[factory(sequence = |n| vec![sqlx::types::JsonValue::from(n as i64), sqlx::types::JsonValue::from("x")])]
        parts: Vec<sqlx::types::JsonValue>,
    }

    /// Each column of `documents` as the seed stores it equals what was drawn.
    async fn stored_as_drawn(conn: &mut sqlx::PgConnection) {
        let mut tx = conn.begin().await.unwrap();
        let seeded = Document::factory()
            .with_session(&mut tx)
            .seed(3)
            .insert_many(30)
            .await
            .unwrap();
        assert_eq!(seeded, 30);
        let drawn = Document::factory().seed(3).build_batch(30);
        let stored: Vec<Document> = sqlx::query_as(
            "SELECT id, body::json AS body, parts::json[] AS parts FROM documents ORDER BY id",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        let values = |d: &Document| (d.body.clone(), d.parts.clone());
        assert_eq!(
            stored.iter().map(values).collect::<Vec<_>>(),
            drawn.iter().map(values).collect::<Vec<_>>()
        );
        tx.rollback().await.unwrap();
    }

    /// A domain over a domain over `json` (beside a `jsonb[]`, which needs no rewriting):
    /// stored as drawn.
    #[tokio::test]
    async fn postgres_seed_nested_json_domain() {
        common::bounded_test(async {
            let mut conn = common::postgres("postgres_seed_nested_json_domain").await;
            exec!(
                &mut conn,
                "CREATE DOMAIN doc_json AS json;
                 CREATE DOMAIN checked_doc AS doc_json CHECK (VALUE IS NOT NULL);
                 CREATE TABLE documents (id BIGSERIAL PRIMARY KEY, body checked_doc NOT NULL,
                   parts jsonb[] NOT NULL)"
            );
            check_clean!(&mut conn, Kind::Postgres, Document);
            stored_as_drawn(&mut conn).await;
        })
        .await
    }

    /// A `json[]` column (sqlx binds `jsonb[]`): stored as drawn.
    #[tokio::test]
    async fn postgres_seed_json_array() {
        common::bounded_test(async {
            let mut conn = common::postgres("postgres_seed_json_array").await;
            exec!(
                &mut conn,
                "CREATE TABLE documents (id BIGSERIAL PRIMARY KEY, body jsonb NOT NULL,
                   parts json[] NOT NULL)"
            );
            check_clean!(&mut conn, Kind::Postgres, Document);
            stored_as_drawn(&mut conn).await;
        })
        .await
    }

    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "labels")]
    struct Label {
        #[factory(primary_key)]
        id: i64,
        #[factory(sequence = |n| if n % 3 == 0 { Vec::new() } else { vec![Some(format!("v{}", n % 100)), None] })]
        names: Vec<Option<String>>,
        #[factory(sequence = |n| vec![format!("{}", n % 10), "ab".to_string()])]
        codes: Vec<String>,
        #[factory(default = None)]
        maybe: Option<Vec<String>>,
    }

    /// `varchar[]` with NULL elements and empty arrays, `char(n)[]` (padded by the server),
    /// a NULL array: stored as drawn.
    #[tokio::test]
    async fn postgres_seed_varchar_arrays_with_nulls_and_char_arrays() {
        common::bounded_test(async {
            let mut conn = common::postgres("postgres_seed_varchar_nulls").await;
            exec!(
                &mut conn,
                "CREATE TABLE labels (id BIGSERIAL PRIMARY KEY, names varchar(6)[] NOT NULL,
                   codes char(3)[] NOT NULL, maybe varchar[])"
            );
            check_clean!(&mut conn, Kind::Postgres, Label);
            let mut tx = conn.begin().await.unwrap();
            let seeded = Label::factory()
                .with_session(&mut tx)
                .seed(5)
                .insert_many(30)
                .await
                .unwrap();
            assert_eq!(seeded, 30);
            let drawn = Label::factory().seed(5).build_batch(30);
            type Values = (Vec<Option<String>>, Vec<String>, Option<Vec<String>>);
            let stored: Vec<Values> = sqlx::query_as(
                "SELECT names::text[], ARRAY(SELECT rtrim(c) FROM unnest(codes) c), \
                     maybe::text[] FROM labels ORDER BY id",
            )
            .fetch_all(&mut *tx)
            .await
            .unwrap();
            let drawn: Vec<_> = drawn
                .iter()
                .map(|l| (l.names.clone(), l.codes.clone(), l.maybe.clone()))
                .collect();
            assert_eq!(stored, drawn);
            tx.rollback().await.unwrap();
        })
        .await
    }

    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "parts")]
    struct Part {
        #[factory(primary_key)]
        id: i64,
        #[factory(sequence = |n| format!("part{n}"))]
        name: String,
    }

    /// The keys `returning_keys` hands back are those of the stored rows, read from a second
    /// connection after the commit, in the order drawn.
    async fn keys_are_the_stored_ones(conn: &mut sqlx::PgConnection, table: &str) {
        let mut tx = conn.begin().await.unwrap();
        let keys = Part::factory()
            .with_session(&mut tx)
            .insert_many(25)
            .chunk_rows(10)
            .returning_keys()
            .await
            .unwrap();
        let stored: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, name FROM {table} ORDER BY substr(name, 5)::int"
        )))
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(stored.len(), 25, "{table}");
        assert_eq!(
            keys,
            stored.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            "{table}: the keys handed back are the stored rows' keys"
        );
    }

    /// A `BEFORE INSERT` trigger that replaces the key, disabled: keys reserved are stored.
    /// The same trigger on the partition of a partitioned table: the keys it stores are
    /// handed back.
    #[tokio::test]
    async fn postgres_seed_disabled_trigger_and_partition_trigger() {
        common::bounded_test(async {
            let mut conn = common::postgres("postgres_seed_partition_trigger").await;
            exec!(
                &mut conn,
                "CREATE FUNCTION shift_id() RETURNS trigger LANGUAGE plpgsql AS
                   $$ BEGIN NEW.id := NEW.id + 1000000; RETURN NEW; END $$;
                 CREATE TABLE parts (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL);
                 CREATE TRIGGER shift BEFORE INSERT ON parts FOR EACH ROW EXECUTE FUNCTION shift_id();
                 ALTER TABLE parts DISABLE TRIGGER shift;"
            );
            check_clean!(&mut conn, Kind::Postgres, Part);
            keys_are_the_stored_ones(&mut conn, "parts").await;
            exec!(
                &mut conn,
                "DROP TABLE parts;
                 CREATE TABLE parts (id BIGSERIAL, name TEXT NOT NULL) PARTITION BY LIST (name);
                 CREATE TABLE parts_any PARTITION OF parts DEFAULT;
                 CREATE TRIGGER shift BEFORE INSERT ON parts_any FOR EACH ROW EXECUTE FUNCTION shift_id();"
            );
            check_clean!(&mut conn, Kind::Postgres, Part);
            keys_are_the_stored_ones(&mut conn, "parts").await;
            exec!(&mut conn, "DROP TRIGGER shift ON parts_any;");
            keys_are_the_stored_ones(&mut conn, "parts").await;
            // An identity column that refuses values in INSERTs: `COPY` writes the reserved
            // keys, as `OVERRIDING SYSTEM VALUE` would.
            exec!(
                &mut conn,
                "DROP TABLE parts;
                 CREATE TABLE parts (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                   name TEXT NOT NULL);"
            );
            check_clean!(&mut conn, Kind::Postgres, Part);
            keys_are_the_stored_ones(&mut conn, "parts").await;
        })
        .await
    }

    /// A table with an `INSERT` rule (which `COPY` does not apply) and one with row-level
    /// security for the role that seeds (which refuses `COPY FROM`): the seed does what
    /// `create_batch` does, and hands back the stored keys.
    #[tokio::test]
    async fn postgres_seed_rule_and_row_level_security() {
        common::bounded_test(async {
            let mut conn = common::postgres("postgres_seed_rule_rls").await;
            exec!(
                &mut conn,
                "CREATE TABLE parts (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL);
                 CREATE TABLE part_log (part_id BIGINT NOT NULL);
                 CREATE RULE logged AS ON INSERT TO parts DO ALSO
                   INSERT INTO part_log VALUES (NEW.id);"
            );
            let mut tx = conn.begin().await.unwrap();
            let seeded = Part::factory()
                .with_session(&mut tx)
                .insert_many(7)
                .await
                .unwrap();
            assert_eq!(seeded, 7);
            let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM part_log")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!(
                logged, 7,
                "the rule ran for each row, as it does for create_batch"
            );
            tx.rollback().await.unwrap();

            exec!(
                &mut conn,
                "DROP RULE logged ON parts;
                 DO $$ BEGIN CREATE ROLE sqlx_factory_seeder;
                   EXCEPTION WHEN duplicate_object THEN NULL; END $$;
                 GRANT USAGE ON SCHEMA sqlx_factory_postgres_seed_rule_rls TO sqlx_factory_seeder;
                 GRANT SELECT, INSERT ON parts TO sqlx_factory_seeder;
                 GRANT USAGE, SELECT ON SEQUENCE parts_id_seq TO sqlx_factory_seeder;
                 ALTER TABLE parts ENABLE ROW LEVEL SECURITY;
                 CREATE POLICY everything ON parts TO sqlx_factory_seeder
                   USING (true) WITH CHECK (true);"
            );
            let mut tx = conn.begin().await.unwrap();
            exec!(&mut *tx, "SET LOCAL ROLE sqlx_factory_seeder");
            let keys = Part::factory()
                .with_session(&mut tx)
                .insert_many(7)
                .returning_keys()
                .await
                .unwrap();
            let stored: Vec<i64> = sqlx::query_scalar("SELECT id FROM parts ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            assert_eq!(keys, stored);
            tx.rollback().await.unwrap();
            exec!(
                &mut conn,
                "DROP SCHEMA sqlx_factory_postgres_seed_rule_rls CASCADE"
            );
        })
        .await
    }

    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "elsewhere.Mixed Parts")]
    struct Elsewhere {
        #[factory(primary_key)]
        id: i64,
        #[factory(sequence = |n| format!("part{n}"))]
        name: String,
        #[factory(default = sqlx::types::JsonValue::from(1))]
        body: sqlx::types::JsonValue,
    }

    /// A table in another schema, with a mixed-case name holding a space, and a `json`
    /// column: the catalogue query finds it (a `json` value stored as drawn), and keys are
    /// reserved from its sequence.
    #[tokio::test]
    async fn postgres_seed_table_in_another_schema_mixed_case() {
        common::bounded_test(async {
            let mut conn = common::postgres("postgres_seed_other_schema").await;
            exec!(
                &mut conn,
                "DROP SCHEMA IF EXISTS elsewhere CASCADE; CREATE SCHEMA elsewhere;
                 CREATE TABLE elsewhere.\"Mixed Parts\" (id BIGSERIAL PRIMARY KEY,
                   name TEXT NOT NULL, body json NOT NULL)"
            );
            check_clean!(&mut conn, Kind::Postgres, Elsewhere);
            let mut tx = conn.begin().await.unwrap();
            let keys = Elsewhere::factory()
                .with_session(&mut tx)
                .insert_many(12)
                .chunk_rows(5)
                .returning_keys()
                .await
                .unwrap();
            let stored: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, body::text FROM elsewhere.\"Mixed Parts\" ORDER BY id")
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap();
            assert_eq!(keys, stored.iter().map(|(id, _)| *id).collect::<Vec<_>>());
            assert!(stored.iter().all(|(_, body)| body == "1"), "{stored:?}");
            tx.rollback().await.unwrap();
            exec!(&mut conn, "DROP SCHEMA elsewhere CASCADE");
        })
        .await
    }

    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "part_view")]
    struct ViewPart {
        #[factory(primary_key)]
        id: i64,
        #[factory(sequence = |n| format!("part{n}"))]
        name: String,
    }

    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "pieces")]
    struct Piece {
        #[factory(primary_key)]
        id: i64,
        #[factory(association = ViewPart)]
        part_id: i64,
    }

    /// A view with `returning_keys` and `with_children`: keys are those of the rows stored
    /// through the view, and each has its children.
    #[tokio::test]
    async fn postgres_seed_view_with_keys_and_children() {
        common::bounded_test(async {
            let mut conn = common::postgres("postgres_seed_view_children").await;
            exec!(
                &mut conn,
                "CREATE TABLE parts (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL);
                 CREATE VIEW part_view AS SELECT id, name FROM parts;
                 CREATE TABLE pieces (id BIGSERIAL PRIMARY KEY,
                   part_id BIGINT NOT NULL REFERENCES parts (id))"
            );
            check_clean!(&mut conn, Kind::Postgres, ViewPart, Piece);
            let mut tx = conn.begin().await.unwrap();
            let keys = ViewPart::factory()
                .with_session(&mut tx)
                .insert_many(9)
                .chunk_rows(4)
                .with_children(2, Piece::factory())
                .returning_keys()
                .await
                .unwrap();
            let stored: Vec<i64> = sqlx::query_scalar("SELECT id FROM parts ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
            assert_eq!(keys, stored);
            let per_part: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT part_id, COUNT(*) FROM pieces GROUP BY part_id ORDER BY part_id",
            )
            .fetch_all(&mut *tx)
            .await
            .unwrap();
            assert_eq!(per_part, stored.iter().map(|k| (*k, 2)).collect::<Vec<_>>());
            tx.rollback().await.unwrap();
        })
        .await
    }
}

/// The seeds the cancellation sweeps drop: each sends several statements or `COPY`s.
const SEEDS: [&str; 3] = [
    "insert_many(200).chunk_rows(50)",
    "insert_many(60).chunk_rows(20).with_children(2, Kid)",
    "insert_many(200).chunk_rows(50).returning_keys()",
];

/// The rows of `hits` and `kids` each seed of [`SEEDS`] inserts.
const WHOLE: [(i64, i64); 3] = [(200, 0), (60, 120), (200, 0)];

/// Seed `$op` of [`SEEDS`] on the session `$s`, boxed.
macro_rules! seed_future {
    ($op:expr, $s:expr) => {{
        let s = $s;
        plan(0, 0, 0);
        let f: tx::Op<'_> = match $op {
            0 => Box::pin(async move {
                let _ = Hit::factory()
                    .with_session(s)
                    .insert_many(200)
                    .chunk_rows(50)
                    .await;
            }),
            1 => Box::pin(async move {
                let _ = Hit::factory()
                    .with_session(s)
                    .insert_many(60)
                    .chunk_rows(20)
                    .with_children(2, Kid::factory())
                    .await;
            }),
            _ => Box::pin(async move {
                let _ = Hit::factory()
                    .with_session(s)
                    .insert_many(200)
                    .chunk_rows(50)
                    .returning_keys()
                    .await;
            }),
        };
        f
    }};
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Each seed through one pool of two, dropped after its k-th poll for every k until it
    /// completes: after each drop both connections of the pool answer their own queries at
    /// once (none leaked, none handed back mid-statement), the pool has at most two, and
    /// a dropped seed is durable whole (its `COMMIT` was in flight) or not at all.
    async fn cancel_sweep_seeds_through_a_pool(mk, observer, kind) {
        let pool = mk(2).await.unwrap();
        let mut findings = Vec::new();
        for (op, name) in SEEDS.iter().enumerate() {
            for k in 1..200 {
                let completed = tx::drive(&mut seed_future!(op, &pool), k).await;
                let at = format!("[{kind:?}] `{name}` dropped after poll {k}");
                let both = tokio::time::timeout(Duration::from_secs(5), async {
                    let mut a = pool.acquire().await?;
                    let mut b = pool.acquire().await?;
                    let x: String = sqlx::query_scalar("SELECT 'a'").fetch_one(&mut *a).await?;
                    let y: String = sqlx::query_scalar("SELECT 'b'").fetch_one(&mut *b).await?;
                    Ok::<_, sqlx::Error>((x, y))
                })
                .await;
                match both {
                    Ok(Ok((x, y))) if x == "a" && y == "b" => {}
                    other => findings.push(format!("{at}: the pool's two connections gave {other:?}")),
                }
                if pool.size() > 2 {
                    findings.push(format!("{at}: the pool has {} connections", pool.size()));
                }
                let durable = (count!(observer, "hits"), count!(observer, "kids"));
                clear!(&observer);
                if completed {
                    break;
                }
                // Dropped while its `COMMIT` was in flight, the whole seed is durable.
                if durable != (0, 0) && durable != WHOLE[op] {
                    findings.push(format!("{at}: {durable:?} rows are durable"));
                }
            }
        }
        assert!(findings.is_empty(), "{} findings:\n{}", findings.len(), findings.join("\n"));
    }
}

on_dbs! {
    [sqlite]
    /// Each seed on a bare connection and in the caller's transaction, dropped after its k-th
    /// poll for every k: the connection answers its own queries, a seed dropped on the bare
    /// connection is durable whole (its `COMMIT` was in flight) or not at all, and the
    /// caller's transaction commits its own row.
    /// (PostgreSQL mid-`COPY` and MariaDB mid-statement drops on a borrowed connection are
    /// documented limitations: docs/DESIGN.md "What users must do after a cancellation".)
    async fn cancel_sweep_seeds_on_borrowed_connections(mk, observer, kind) {
        let pool = mk(1).await.unwrap();
        let mut findings = Vec::new();
        for (op, name) in SEEDS.iter().enumerate() {
            for k in 1..200 {
                let at = format!("[{kind:?}] `{name}` dropped after poll {k}");
                let mut conn = bounded(pool.acquire()).await.unwrap();
                let completed = tx::drive(&mut seed_future!(op, &mut *conn), k).await;
                answers_its_own_queries!(conn, at);
                drop(conn);
                let durable = (count!(observer, "hits"), count!(observer, "kids"));
                if !completed && durable != (0, 0) && durable != WHOLE[op] {
                    findings.push(format!("{at}, bare: {durable:?} rows are durable"));
                }
                clear!(&observer);

                let mut tx = bounded(pool.begin()).await.unwrap();
                let _ = tx::drive(&mut seed_future!(op, &mut tx), k).await;
                answers_its_own_queries!(tx, at);
                bounded(sqlx::query("DELETE FROM hits").execute(&mut *tx)).await.unwrap();
                callers_row!(tx);
                bounded(tx.commit()).await.unwrap();
                let names: Vec<String> = bounded(sqlx::query_scalar("SELECT name FROM hits").fetch_all(&observer))
                    .await
                    .unwrap();
                if names != ["mine"] {
                    findings.push(format!("{at}, transaction: durable {names:?}"));
                }
                clear!(&observer);
                if completed {
                    break;
                }
            }
        }
        assert!(findings.is_empty(), "{} findings:\n{}", findings.len(), findings.join("\n"));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A panic while `with_children`'s children are drawn (PostgreSQL: in the second piece
    /// of the children's `COPY`) and while `returning_keys` rows are drawn (in the second
    /// piece of a `COPY` whose keys were reserved): the caller catches it, its transaction
    /// answers and commits its own row, and nothing of the seed is kept.
    async fn panic_in_children_and_with_returning_keys(mk, observer, kind) {
        let _ = kind;
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        plan(0, 0, 0);
        KID_PANIC.set(15_000);
        let seed = Hit::factory()
            .with_session(&mut tx)
            .insert_many(10)
            .with_children(2_000, Kid::factory());
        assert!(catch(seed.into_future()).await.is_err(), "child 15 000 panics");
        answers_its_own_queries!(tx, "a child's panic");
        plan(0, 15_000, 0);
        let seed = Hit::factory().with_session(&mut tx).insert_many(20_000).returning_keys();
        assert!(catch(seed.into_future()).await.is_err(), "row 15 000 panics");
        answers_its_own_queries!(tx, "a panic with returning_keys");
        callers_row!(tx);
        bounded(tx.commit()).await.unwrap();
        if kind == Kind::Postgres {
            // PostgreSQL rolls the seed's savepoint back before the panic goes on.
            assert_eq!((count!(observer, "hits"), count!(observer, "kids")), (1, 0));
        }

        let mut conn = bounded(pool.acquire()).await.unwrap();
        clear!(&mut *conn);
        plan(0, 0, 0);
        KID_PANIC.set(15_000);
        let seed = Hit::factory()
            .with_session(&mut *conn)
            .insert_many(10)
            .with_children(2_000, Kid::factory());
        assert!(catch(seed.into_future()).await.is_err(), "child 15 000 panics");
        answers_its_own_queries!(conn, "a child's panic, bare connection");
        drop(conn);
        assert_eq!((count!(observer, "hits"), count!(observer, "kids")), (0, 0));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `.in_savepoint()` inside the caller's transaction, on a seed and on a `create` whose
    /// value fails to encode, then a seed that succeeds: the caller's transaction answers,
    /// keeps the successful seed and its own row, and commits them.
    async fn in_savepoint_in_the_callers_transaction(mk, observer, kind) {
        let _ = kind;
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        plan(12_000, 0, 0);
        let error = bounded(Hit::factory().with_session(&mut tx).in_savepoint().insert_many(20_000))
            .await
            .expect_err("row 12 000 does not fit BIGINT")
            .to_string();
        assert!(error.contains("sending row 12000:"), "{error}");
        answers_its_own_queries!(tx, "a failed seed in a savepoint");
        plan(1, 0, 0);
        let error = bounded(Hit::factory().with_session(&mut tx).in_savepoint().create())
            .await
            .expect_err("the row does not fit BIGINT")
            .to_string();
        assert!(error.contains("out of range"), "{error}");
        answers_its_own_queries!(tx, "a failed create in a savepoint");
        plan(0, 0, 0);
        let seeded = bounded(Hit::factory().with_session(&mut tx).in_savepoint().insert_many(15_000))
            .await
            .unwrap();
        assert_eq!(seeded, 15_000);
        callers_row!(tx);
        bounded(tx.commit()).await.unwrap();
        assert_eq!(count!(observer, "hits"), 15_001, "the seed that succeeded and the caller's row");
    }
}

on_dbs! {
    [postgres, mariadb]
    /// A seed through a pool that ends, with its rows or with an error (a value that fails to
    /// encode, in a `COPY` on PostgreSQL), hands its connection back: the pool's next user
    /// gets the same server session, not a new one.
    async fn ended_seeds_hand_their_connection_back(mk, observer, kind) {
        let pool = mk(1).await.unwrap();
        let session_id = if kind == Kind::Postgres {
            "SELECT pg_backend_pid()::bigint"
        } else {
            "SELECT CAST(CONNECTION_ID() AS SIGNED)"
        };
        let first: i64 = bounded(sqlx::query_scalar(session_id).fetch_one(&pool)).await.unwrap();
        plan(0, 0, 0);
        bounded(Hit::factory().with_session(&pool).insert_many(30).chunk_rows(7)).await.unwrap();
        plan(15_000, 0, 0);
        bounded(Hit::factory().with_session(&pool).insert_many(20_000))
            .await
            .expect_err("row 15 000 does not fit BIGINT");
        plan(0, 0, 0);
        bounded(Hit::factory().with_session(&pool).insert_many(5).returning_keys()).await.unwrap();
        let last: i64 = bounded(sqlx::query_scalar(session_id).fetch_one(&pool)).await.unwrap();
        assert_eq!(first, last, "the seeds that ended handed the connection back");
        assert_eq!(count!(observer, "hits"), 35);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there (unless a test plans a failing row, which the check's draws never are).
    async fn check_every_model(mk, observer, kind) {
        let pool = mk(1).await.unwrap();
        let mut conn = bounded(pool.acquire()).await.unwrap();
        check_clean!(&mut *conn, kind, Hit, Kid);
    }
}
