//! Database errors: the message names factory, operation and table; the sqlx error is the source;
//! nothing is committed.

mod common;

use std::error::Error as _;

use sqlx::Connection;
use sqlx_factory::{Factory, Operation, run_seed};

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "members")]
struct Member {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("member{n}@example.com"))]
    email: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "no_such_table")]
struct Ghost {
    name: String,
}

/// A parent whose table is missing.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "no_such_table")]
struct Phantom {
    #[factory(primary_key)]
    id: i64,
}

/// A child whose parent table is missing: the error has a chain of two factories.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "cards")]
struct Card {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Phantom)]
    ghost_id: i64,
}

/// The line `Debug` ends with, so `unwrap()` shows the replay right under the message.
fn replay_line() -> String {
    format!(
        "\n\nReplay this run's data with SQLX_FACTORY_SEED={}",
        run_seed()
    )
}

/// The table of [`Member`].
fn members_ddl(kind: common::Kind) -> String {
    format!(
        "CREATE TABLE members (id {}, email {} NOT NULL UNIQUE)",
        kind.serial_pk(),
        kind.varchar()
    )
}

fn is_unique_violation(e: &sqlx_factory::Error) -> bool {
    match e.as_sqlx() {
        Some(sqlx::Error::Database(db)) => db.is_unique_violation(),
        _ => false,
    }
}

on_every_backend! {
    async fn unique_violation_names_factory_table_and_operation(conn, kind) {
        exec!(conn, members_ddl(kind));
        let mut tx = conn.begin().await.unwrap();
        Member::factory().with_session(&mut tx).email("dup@example.com").create().await.unwrap();
        let err = Member::factory()
            .with_session(&mut tx)
            .email("dup@example.com")
            .create()
            .await
            .unwrap_err();
        // The database's message, detail and code; constraint when the message lacks it;
        // never sqlx's "at line 2039" (the server's C source line) or "(code: 2067)" prefix.
        let cause = match kind {
            Kind::Sqlite => "UNIQUE constraint failed: members.email (SQLite error 2067)",
            Kind::Postgres => "duplicate key value violates unique constraint \"members_email_key\": \
                Key (email)=(dup@example.com) already exists. (PostgreSQL error 23505)",
            Kind::MariaDb => "Duplicate entry 'dup@example.com' for key 'email' (MariaDB error 1062, SQLSTATE 23000)",
        };
        let text = format!("MemberFactory::create into table `members` failed: {cause}");
        assert_eq!(err.to_string(), text);
        // `unwrap()` and `?` print Debug: the message, which says it all, and the seed to replay.
        assert_eq!(format!("{err:?}"), format!("{text}{}", replay_line()));
        assert!(err.source().is_none(), "the message already says the database's error");
        assert_eq!((err.factory(), err.table(), err.operation()), ("MemberFactory", "members", Operation::Create));
        assert!(is_unique_violation(&err), "as_sqlx() is the sqlx::Error: {err:?}");
        // As anyhow and eyre print it: the database's message once.
        let message = match kind {
            Kind::Sqlite => "UNIQUE constraint failed: members.email",
            Kind::Postgres => "duplicate key value violates unique constraint \"members_email_key\"",
            Kind::MariaDb => "Duplicate entry 'dup@example.com' for key 'email'",
        };
        assert_reads_once(err, message);
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    async fn batch_error_names_the_batch(conn, kind) {
        exec!(conn, members_ddl(kind));
        let err = Member::factory()
            .with_session(&mut *conn)
            .email("same@example.com")
            .create_batch(3)
            .await
            .unwrap_err();
        assert_eq!(err.operation(), Operation::CreateBatch { rows: 3 });
        assert!(
            err.to_string().starts_with("MemberFactory::create_batch(3) into table `members` failed: "),
            "{err}"
        );
        assert!(is_unique_violation(&err));
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(count, 0, "the failed statement inserted nothing");
    }
}

on_every_backend! {
    async fn missing_table_is_named(conn, _kind) {
        let err = Ghost::factory().with_session(&mut *conn).create().await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("GhostFactory::create into table `no_such_table` failed: "), "{text}");
        assert!(text.contains("no_such_table"), "{text}");
        assert!(matches!(err.as_sqlx().unwrap(), sqlx::Error::Database(_)));
    }
}

/// The README quotes this error as a user sees it; the two must agree.
#[tokio::test]
async fn readme_quotes_the_sqlite_error() {
    let mut conn = common::sqlite().await;
    exec!(
        &mut conn,
        "CREATE TABLE members (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)".to_string()
    );
    Member::factory()
        .with_session(&mut conn)
        .email("a@example.com")
        .create()
        .await
        .unwrap();
    let err = Member::factory()
        .with_session(&mut conn)
        .email("a@example.com")
        .create()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(
        text,
        "MemberFactory::create into table `members` failed: UNIQUE constraint failed: members.email (SQLite error 2067)"
    );
    let readme = include_str!("../README.md")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        readme.contains(&text.replace("Member", "User").replace("members", "users")),
        "README.md does not quote:\n{text}"
    );
}

/// The table of [`Card`] (its test runs on SQLite).
const CARDS: &str = "CREATE TABLE cards (id INTEGER PRIMARY KEY, ghost_id INTEGER NOT NULL)";

/// A parent's failure: the message says both levels and the database's error, so Debug and
/// anyhow add no cause that would repeat them.
#[tokio::test]
async fn debug_prints_the_cause_chain() {
    let mut conn = common::sqlite().await;
    exec!(&mut conn, CARDS.to_string());
    let err = Card::factory()
        .with_session(&mut conn)
        .create()
        .await
        .unwrap_err();
    let inner = "PhantomFactory::create into table `no_such_table` failed: no such table: no_such_table (SQLite error 1)";
    let text = format!(
        "CardFactory::create into table `cards` failed creating the `ghost_id` parent: {inner}"
    );
    assert_eq!(err.to_string(), text);
    assert_eq!(format!("{err:?}"), format!("{text}{}", replay_line()));
    // anyhow prints the message and then each `source()`: nothing comes twice.
    let anyhow = format!("{:?}", anyhow::Error::new(err));
    assert_eq!(
        anyhow.matches("no such table: no_such_table").count(),
        1,
        "{anyhow}"
    );
    assert_eq!(anyhow.matches("PhantomFactory").count(), 1, "{anyhow}");
}

on_every_backend! {
    /// After a failed statement PostgreSQL rejects every statement of the transaction; the
    /// next factory's error says so and how to avoid it. The other backends go on.
    async fn aborted_transaction_has_a_hint(conn, kind) {
        exec!(conn, members_ddl(kind));
        let mut tx = conn.begin().await.unwrap();
        Member::factory().with_session(&mut tx).email("dup@example.com").create().await.unwrap();
        Member::factory().with_session(&mut tx).email("dup@example.com").create().await.unwrap_err();
        let next = Member::factory().with_session(&mut tx).create().await;
        if kind != Kind::Postgres {
            assert!(next.is_ok(), "{next:?}");
            return;
        }
        let err = next.unwrap_err();
        let cause = "current transaction is aborted, commands ignored until end of transaction block \
            (PostgreSQL error 25P02)";
        let hint = "\n  hint: an earlier statement in this transaction failed, not this one; \
            call `.in_savepoint()` on the create you expect to fail, so the transaction stays usable";
        let text = format!("MemberFactory::create into table `members` failed: {cause}{hint}");
        assert_eq!(err.to_string(), text);
        assert_eq!(format!("{err:?}"), format!("{text}{}", replay_line()));
    }
}

/// sqlx 0.9 cannot decode a derived enum from a MariaDB `ENUM(..) NOT NULL` column after the
/// INSERT: the error names the column, the limitation and the way out.
#[cfg(feature = "mysql")]
#[tokio::test]
async fn mariadb_enum_not_null_is_explained() {
    #[derive(Debug, Clone, Copy, PartialEq, sqlx::Type, fake::Dummy)]
    #[sqlx(rename_all = "lowercase")]
    enum Size {
        Small,
        Large,
    }

    #[derive(Debug, Clone, sqlx::FromRow, Factory)]
    #[factory(table = "shirts")]
    struct Shirt {
        #[factory(primary_key)]
        id: i64,
        size: Size,
    }

    let mut conn = common::mariadb("mariadb_enum_not_null_is_explained").await;
    exec!(
        &mut conn,
        "CREATE TABLE shirts (id BIGINT AUTO_INCREMENT PRIMARY KEY, size ENUM('small', 'large') NOT NULL)"
            .to_string()
    );
    // The schema check says it first, with the way out.
    check_finds!(
        &mut conn,
        common::Kind::MariaDb,
        Shirt,
        "size",
        "make an ENUM column nullable"
    );
    let err = Shirt::factory()
        .with_session(&mut conn)
        .size(Size::Large)
        .create()
        .await
        .unwrap_err();
    let cause = "column `size` could not be read back: sqlx 0.9 \
        cannot decode a derived enum from a MariaDB `ENUM(..) NOT NULL` column; declare the \
        column without `NOT NULL` (see the README, \"Backends and column types\")";
    assert_eq!(
        err.to_string(),
        format!(
            "ShirtFactory::create into table `shirts` failed decoding the row the INSERT \
             returned: {cause}; the INSERT succeeded and, with no transaction on this \
             connection, its row is committed"
        )
    );
    let debug = format!("{err:?}");
    assert!(
        debug.starts_with(&format!(
            "{err}\n\nCaused by:\n    0: mismatched types; Rust type "
        )),
        "{debug}"
    );
}

/// Error reporters print `Display` and then each `source()`'s: the database's message must read
/// once in each, without sqlx's "error returned from database" or the server's C source line.
fn assert_reads_once(err: sqlx_factory::Error, message: &str) {
    assert!(
        matches!(err.as_sqlx(), Some(sqlx::Error::Database(db)) if db.is_unique_violation()),
        "as_sqlx() reaches the database's error: {err}"
    );
    let plain = err.to_string();
    for (how, text) in common::reports(err) {
        assert_eq!(
            text.matches(message).count(),
            1,
            "{how} has the database's message once:\n{text}"
        );
        assert!(
            !text.contains(" at line "),
            "{how} has no server source line:\n{text}"
        );
        assert!(
            !text.contains("error returned from database"),
            "{how}:\n{text}"
        );
        assert!(
            text.starts_with(&plain),
            "{how} starts with the message:\n{text}"
        );
    }
}

/// A hook's own error: the message says it, and its causes, which the message does not say,
/// follow in Debug and in anyhow, each once.
#[tokio::test]
async fn hook_error_causes_follow_the_message() {
    #[derive(Debug)]
    struct BadConfig(std::num::ParseIntError);
    impl std::fmt::Display for BadConfig {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("bad config")
        }
    }
    impl std::error::Error for BadConfig {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    let mut conn = common::sqlite().await;
    exec!(
        &mut conn,
        "CREATE TABLE members (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)".to_string()
    );
    let err = Member::factory()
        .with_session(&mut conn)
        .after_create(|_, _| {
            Box::pin(async move {
                let parsed = "x".parse::<i32>().map_err(BadConfig)?;
                let _ = parsed;
                Ok(())
            })
        })
        .create()
        .await
        .unwrap_err();
    let text =
        "MemberFactory::create into table `members` failed in after-create step 1: bad config";
    assert_eq!(err.to_string(), text);
    let cause = "invalid digit found in string";
    assert_eq!(
        format!("{err:?}"),
        format!("{text}\n\nCaused by:\n    0: {cause}{}", replay_line())
    );
    assert_eq!(
        format!("{:#}", anyhow::Error::new(err)),
        format!("{text}: {cause}")
    );
}

/// A row a trigger skips (SQLite's `RAISE(IGNORE)`, a PostgreSQL `BEFORE` trigger that
/// returns NULL; MariaDB's triggers cannot skip a row): `create()` and `create_batch(n)` say
/// the INSERT returned no row and why, not sqlx's "no rows returned by a query".
macro_rules! skipped_by_a_trigger {
    ($conn:expr, $kind:expr, $trigger:expr) => {{
        let conn = $conn;
        exec!(conn, members_ddl($kind));
        sqlx::raw_sql($trigger).execute(&mut *conn).await.unwrap();
        let err = Member::factory()
            .with_session(&mut *conn)
            .email("skip@example.com")
            .create()
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "MemberFactory::create into table `members` failed: the INSERT returned no row: \
             a trigger or rule on the table skipped it"
        );
        let err = Member::factory()
            .with_session(&mut *conn)
            .email("skip@example.com")
            .create_batch(2)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "MemberFactory::create_batch(2) into table `members` failed: the INSERT of 2 rows \
             returned 0: a trigger or rule on the table skipped rows"
        );
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(stored, 0);
    }};
}

#[tokio::test]
async fn skipped_by_a_trigger_sqlite() {
    let mut conn = common::sqlite().await;
    skipped_by_a_trigger!(
        &mut conn,
        common::Kind::Sqlite,
        "CREATE TRIGGER skip BEFORE INSERT ON members WHEN NEW.email = 'skip@example.com' \
         BEGIN SELECT RAISE(IGNORE); END"
    );
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn skipped_by_a_trigger_postgres() {
    let mut conn = common::postgres("skipped_by_a_trigger").await;
    skipped_by_a_trigger!(
        &mut conn,
        common::Kind::Postgres,
        "CREATE FUNCTION skip_row() RETURNS trigger AS $$ BEGIN \
         IF NEW.email = 'skip@example.com' THEN RETURN NULL; END IF; RETURN NEW; END $$ \
         LANGUAGE plpgsql; \
         CREATE TRIGGER skip BEFORE INSERT ON members FOR EACH ROW EXECUTE FUNCTION skip_row()"
    );
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there, and "no such table" for the two whose table is missing. `Card`'s own
    /// table is right; its create fails creating its `Phantom` parent, which the check of
    /// `Phantom` reports.
    async fn check_every_model(conn, kind) {
        exec!(conn, members_ddl(kind));
        check_clean!(&mut *conn, kind, Member);
        check_finds!(&mut *conn, kind, Ghost, "", "no such table");
        check_finds!(&mut *conn, kind, Phantom, "", "no such table");
        if kind == Kind::Sqlite {
            exec!(conn, CARDS.to_string());
            check_clean!(&mut *conn, kind, Card);
        }
    }
}
