//! `#[factory(get_or_create(..))]`: a create whose key matches an existing row returns that row
//! instead of failing on the UNIQUE constraint, in the caller's transaction, without aborting
//! it on PostgreSQL.

// Some cases run only on a server and exist only with its feature; without one, what they
// share is unused.
#![cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(unused))]

mod common;

use sqlx::Connection;
use sqlx_factory::Factory;

use common::Kind;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "accounts", get_or_create(email))]
struct Account {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("account{n}@example.com"))]
    email: String,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
}

async fn schema<C>(conn: &mut C, kind: Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    exec!(
        conn,
        format!(
            "CREATE TABLE accounts (id {}, email {} NOT NULL UNIQUE, name TEXT NOT NULL)",
            kind.serial_pk(),
            kind.varchar()
        )
    );
}

on_every_backend! {
    /// The second create with the same email returns the first row, as stored; the
    /// transaction goes on and commits both rows' worth of work.
    async fn existing_row_is_returned(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let first = Account::factory().with_session(&mut tx).email("ann@example.com").name("Ann").create().await.unwrap();
        let again = Account::factory().with_session(&mut tx).email("ann@example.com").name("Other").create().await.unwrap();
        assert_eq!(again, first, "the stored row, not the new values");
        let bob = Account::factory().with_session(&mut tx).name("Bob").create().await.unwrap();
        tx.commit().await.unwrap();
        let stored: Vec<(i64, String, String)> = sqlx::query_as("SELECT id, email, name FROM accounts ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(stored, [
            (first.id, "ann@example.com".to_string(), "Ann".to_string()),
            (bob.id, bob.email.clone(), "Bob".to_string()),
        ]);
    }
}

on_every_backend! {
    /// Two batches that overlap: the second returns the rows the first made for the shared
    /// keys, in order, and creates the rest. A key repeated inside one batch is one row.
    async fn overlapping_batches(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        // One seed, one sequence: the first 5 emails of both batches are the same.
        let five = Account::factory().with_session(&mut tx).seed(7).create_batch(5).await.unwrap();
        let eight = Account::factory().with_session(&mut tx).seed(7).create_batch(8).await.unwrap();
        assert_eq!(eight[..5], five[..], "the existing rows, in order");
        assert!(eight[5..].iter().all(|a| a.id > five[4].id), "three new rows");
        let same = Account::factory().with_session(&mut tx).email("dup@example.com").create_batch(3).await.unwrap();
        assert!(same.iter().all(|a| a.id == same[0].id && a.email == "dup@example.com"));
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(total, 9);
        tx.rollback().await.unwrap();
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "plans", get_or_create(code))]
struct Plan {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "shared".to_string())]
    code: String,
    #[factory(sequence = |n| format!("plan{n}"))]
    title: String,
}

fn plans_table(kind: Kind) -> String {
    format!(
        "CREATE TABLE plans (id {}, code {} NOT NULL UNIQUE, title {} NOT NULL UNIQUE)",
        kind.serial_pk(),
        kind.varchar(),
        kind.varchar()
    )
}

const TASKS: usize = 16;
const ROUNDS: usize = 5;

/// How many rows a key has, asked on a connection of the pool's other than the tasks' own.
macro_rules! count_code {
    ($pool:expr, $code:expr, $kind:expr) => {{
        let sql = match $kind {
            Kind::Postgres => "SELECT COUNT(*) FROM plans WHERE code = $1",
            _ => "SELECT COUNT(*) FROM plans WHERE code = ?",
        };
        let mut conn = $pool.acquire().await.unwrap();
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind($code.to_string())
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        n
    }};
}

/// `TASKS` tasks get_or_create one key at once, `ROUNDS` times (a new key each round), through
/// the pool (`in_tx: false`) or each in a transaction of its own that commits: every task gets
/// the one stored row, and exactly one row exists, seen from a connection of the test's own.
macro_rules! races {
    ($pool:expr, $kind:expr, $in_tx:expr) => {{
        let pool = $pool;
        for round in 0..ROUNDS {
            // A key of its own per pass: a key whose row was just deleted (InnoDB keeps it,
            // delete-marked, until purged) makes concurrent INSERTs of it deadlock on MariaDB,
            // with or without a factory (docs/DESIGN.md, "get_or_create").
            let code = format!("shared{round}-{}", if $in_tx { "tx" } else { "pool" });
            let start = std::sync::Arc::new(tokio::sync::Barrier::new(TASKS));
            let mut tasks = Vec::new();
            for _ in 0..TASKS {
                let (pool, start, code) = (pool.clone(), start.clone(), code.clone());
                tasks.push(tokio::spawn(async move {
                    start.wait().await;
                    if $in_tx {
                        let mut tx = pool.begin().await.unwrap();
                        let plan = Plan::factory()
                            .with_session(&mut tx)
                            .code(code)
                            .get_or_create()
                            .await;
                        if plan.is_ok() {
                            tx.commit().await.unwrap();
                        }
                        plan
                    } else {
                        Plan::factory()
                            .with_session(&pool)
                            .code(code)
                            .get_or_create()
                            .await
                    }
                }));
            }
            let mut got = Vec::new();
            for task in tasks {
                got.push(task.await.unwrap());
            }
            let failed: Vec<String> = got
                .iter()
                .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
                .collect();
            assert!(
                failed.is_empty(),
                "round {round}: {} of {TASKS} failed: {failed:#?}",
                failed.len()
            );
            let plans: Vec<(Plan, bool)> = got.into_iter().map(Result::unwrap).collect();
            let created = plans.iter().filter(|(_, created)| *created).count();
            assert_eq!(
                created, 1,
                "round {round}: one task inserted the row, the others found it"
            );
            let plans: Vec<Plan> = plans.into_iter().map(|(plan, _)| plan).collect();
            assert!(
                plans.iter().all(|p| p.id == plans[0].id && p.code == code),
                "round {round}: every task gets the one row: {plans:?}"
            );
            assert_eq!(
                count_code!(pool, code, $kind),
                1,
                "round {round}: one stored row"
            );
        }
    }};
}

/// The load test on a server: through the pool, then each task in a transaction of its own.
macro_rules! concurrent_on_server {
    ($name:ident, $feature:literal, $pool:path, $kind:expr) => {
        #[cfg(feature = $feature)]
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            common::bounded_test(async {
                let pool = $pool("concurrent_get_or_create").await;
                exec!(pool.acquire().await.unwrap(), plans_table($kind));
                races!(pool.clone(), $kind, false);
                exec!(
                    pool.acquire().await.unwrap(),
                    "DELETE FROM plans".to_string()
                );
                races!(pool, $kind, true);
            })
            .await
        }
    };
}

concurrent_on_server!(
    concurrent_get_or_create_postgres,
    "postgres",
    common::postgres_pool,
    Kind::Postgres
);
concurrent_on_server!(
    concurrent_get_or_create_mariadb,
    "mysql",
    common::mariadb_pool,
    Kind::MariaDb
);

/// SQLite through a pool on one file: writers take turns, and the INSERT that lost the race
/// finds the winner's row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_get_or_create_sqlite() {
    common::bounded_test(async {
        let dir = std::env::temp_dir().join(format!("sqlx_factory_goc_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("race.db");
        let _ = std::fs::remove_file(&path);
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::from_secs(20));
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .unwrap();
        exec!(pool.acquire().await.unwrap(), plans_table(Kind::Sqlite));
        races!(pool.clone(), Kind::Sqlite, false);
        pool.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await
}

on_every_backend! {
    /// An error of `get_or_create()` and `get_or_create_batch(n)` names the method called.
    async fn errors_name_get_or_create(conn, kind) {
        exec!(conn, plans_table(kind));
        Plan::factory().with_session(&mut *conn).code("a").title("same").create().await.unwrap();
        let err = Plan::factory().with_session(&mut *conn).code("b").title("same").get_or_create().await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("PlanFactory::get_or_create into table `plans` failed: "), "{text}");
        let err = Plan::factory().with_session(&mut *conn).title("same").get_or_create_batch(2).await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("PlanFactory::get_or_create_batch(2) into table `plans` failed: "), "{text}");
    }
}

on_every_backend! {
    /// A new key whose row clashes on another UNIQUE column is the database's error, not a
    /// row of someone else's; the caller's transaction goes on without the failed attempt.
    async fn clash_on_another_unique_column_is_an_error(conn, kind) {
        exec!(conn, plans_table(kind));
        let mut tx = conn.begin().await.unwrap();
        let first = Plan::factory().with_session(&mut tx).code("a").title("same").create().await.unwrap();
        let err = Plan::factory().with_session(&mut tx).code("b").title("same").create().await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("PlanFactory::create into table `plans` failed: "), "{text}");
        assert!(matches!(err.as_sqlx(), Some(sqlx::Error::Database(db)) if db.is_unique_violation()), "{text}");
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, code FROM plans").fetch_all(&mut *tx).await.unwrap();
        assert_eq!(rows, [(first.id, "a".to_string())], "the transaction is usable and holds the first row alone");
        tx.rollback().await.unwrap();
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "authors", get_or_create(email))]
struct Author {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "admin@example.com".to_string())]
    email: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "posts", get_or_create(author_id, title))]
struct Post {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Author)]
    author_id: i64,
    #[factory(default = "Welcome".to_string())]
    title: String,
}

async fn posts_schema<C>(conn: &mut C, kind: Kind, unique: bool)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    exec!(
        conn,
        format!(
            "CREATE TABLE authors (id {}, email {} NOT NULL UNIQUE)",
            kind.serial_pk(),
            kind.varchar()
        )
    );
    let key = if unique {
        ", UNIQUE (author_id, title)"
    } else {
        ""
    };
    exec!(
        conn,
        format!(
            "CREATE TABLE posts (id {}, author_id BIGINT NOT NULL, title {} NOT NULL{key})",
            kind.serial_pk(),
            kind.varchar()
        )
    );
}

on_every_backend! {
    /// A key with an association field: the parent is got or created first, and the child is
    /// looked up by the parent's real key, so the second create finds the first post.
    async fn association_in_key_create_twice(conn, kind) {
        posts_schema(conn, kind, true).await;
        let mut tx = conn.begin().await.unwrap();
        let first = Post::factory().with_session(&mut tx).create().await.unwrap();
        let again = Post::factory().with_session(&mut tx).create().await.unwrap();
        assert_eq!(again, first);
        let counts: (i64, i64) = sqlx::query_as("SELECT (SELECT COUNT(*) FROM authors), (SELECT COUNT(*) FROM posts)").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(counts, (1, 1));
        tx.commit().await.unwrap();
    }
}

on_every_backend! {
    /// The same in one batch, and without a UNIQUE constraint that would have said so: two
    /// rows of one key are one stored post.
    async fn association_in_key_batch(conn, kind) {
        posts_schema(conn, kind, false).await;
        let mut tx = conn.begin().await.unwrap();
        let posts = Post::factory().with_session(&mut tx).create_batch(2).await.unwrap();
        assert_eq!(posts[0], posts[1]);
        let more = Post::factory().with_session(&mut tx).create_batch(2).await.unwrap();
        assert_eq!(more, posts);
        let counts: (i64, i64) = sqlx::query_as("SELECT (SELECT COUNT(*) FROM authors), (SELECT COUNT(*) FROM posts)").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(counts, (1, 1));
        tx.commit().await.unwrap();
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "members", get_or_create(email))]
struct Member {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "Ann@Example.com".to_string())]
    email: String,
}

/// `members`, with a trigger that stores every email in lower case.
async fn members_schema<C>(conn: &mut C, kind: Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    exec!(
        conn,
        format!(
            "CREATE TABLE members (id {}, email {} NOT NULL)",
            kind.serial_pk(),
            kind.varchar()
        )
    );
    exec!(conn, match kind {
        Kind::Sqlite => "CREATE TRIGGER members_lower AFTER INSERT ON members BEGIN \
            UPDATE members SET email = lower(NEW.email) WHERE id = NEW.id; END".to_string(),
        Kind::Postgres => "CREATE FUNCTION members_lower() RETURNS trigger AS $$ BEGIN \
            NEW.email := lower(NEW.email); RETURN NEW; END $$ LANGUAGE plpgsql; \
            CREATE TRIGGER members_lower BEFORE INSERT ON members FOR EACH ROW EXECUTE FUNCTION members_lower()".to_string(),
        Kind::MariaDb => "CREATE TRIGGER members_lower BEFORE INSERT ON members FOR EACH ROW \
            SET NEW.email = LOWER(NEW.email)".to_string(),
    });
}

/// The error of a repeated key the database stored in another form names the model, the key
/// and why it was not found.
fn assert_stored_form_error(err: &sqlx_factory::Error) {
    let text = err.to_string();
    assert!(
        text.starts_with("MemberFactory::create_batch(2) into table `members` failed: "),
        "{text}"
    );
    assert!(
        text.contains("`Member`") && text.contains(r#"email = "Ann@Example.com""#),
        "{text}"
    );
    assert!(
        text.contains("stored key differs from the one sent"),
        "{text}"
    );
}

on_every_backend! {
    /// A batch that repeats a key the database stores in another form (a trigger lowercases
    /// it) cannot read that key back: the batch fails as a whole, and leaves no row, neither
    /// on a bare connection nor in the caller's transaction (which stays usable).
    async fn repeated_key_stored_in_another_form(conn, kind) {
        members_schema(conn, kind).await;
        let err = Member::factory().with_session(&mut *conn).create_batch(2).await.unwrap_err();
        assert_stored_form_error(&err);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(count, 0, "no row committed");
        let mut tx = conn.begin().await.unwrap();
        let err = Member::factory().with_session(&mut tx).create_batch(2).await.unwrap_err();
        assert_stored_form_error(&err);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(count, 0, "the transaction is usable and has no row of the batch");
        tx.commit().await.unwrap();
    }
}

/// Through a pool: nothing of the failed batch is committed, seen from another connection.
macro_rules! repeated_key_through_pool {
    ($pool:expr, $kind:expr) => {{
        let pool = $pool;
        members_schema(&mut *pool.acquire().await.unwrap(), $kind).await;
        let err = Member::factory()
            .with_session(&pool)
            .create_batch(2)
            .await
            .unwrap_err();
        assert_stored_form_error(&err);
        let mut other = pool.acquire().await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members")
            .fetch_one(&mut *other)
            .await
            .unwrap();
        assert_eq!(count, 0, "no row committed");
    }};
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn repeated_key_stored_in_another_form_pool_postgres() {
    common::bounded_test(async {
        repeated_key_through_pool!(
            common::postgres_pool("repeated_key_pool").await,
            Kind::Postgres
        );
    })
    .await
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn repeated_key_stored_in_another_form_pool_mariadb() {
    common::bounded_test(async {
        repeated_key_through_pool!(
            common::mariadb_pool("repeated_key_pool").await,
            Kind::MariaDb
        );
    })
    .await
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "logins", get_or_create(email))]
struct Login {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "admin@example.com".to_string())]
    email: String,
    #[factory(lazy = |o: &Login| format!("hash of {}", o.password))]
    password_hash: String,
    /// What the hash is made from: a factory parameter, not a column.
    #[sqlx(skip)]
    #[factory(transient, default = "pw".to_string())]
    password: String,
}

on_every_backend! {
    /// `get_or_create()` says whether the row was inserted: a login helper can tell that the
    /// found row's password is not the one it passed (its hash is the stored one).
    async fn get_or_create_tells_found_from_created(conn, kind) {
        exec!(conn, format!("CREATE TABLE logins (id {}, email {} NOT NULL UNIQUE, password_hash TEXT NOT NULL)", kind.serial_pk(), kind.varchar()));
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let (first, created) = Login::factory().with_session(&mut tx).get_or_create().await.unwrap();
        assert!(created);
        assert_eq!((first.password.as_str(), first.password_hash.as_str()), ("pw", "hash of pw"));
        let (found, created) = Login::factory().with_session(&mut tx).password("other").get_or_create().await.unwrap();
        assert!(!created, "the stored row was found");
        assert_eq!(found.id, first.id);
        assert_eq!(found.password_hash, "hash of pw", "stored columns as stored");
        assert_eq!(found.password, "other", "transient fields hold this call's values");

        // Per row in a batch: a found key, a new key, and the new key again.
        let rows = Login::factory()
            .with_session(&mut tx)
            .get_or_create_batch(3)
            .await
            .unwrap();
        assert_eq!(rows.iter().map(|(_, created)| *created).collect::<Vec<_>>(), [false, false, false], "one key, stored: found three times");
        assert!(rows.iter().all(|(login, _)| login.id == first.id));
        let fresh = Login::factory().with_session(&mut tx).email("new@example.com").get_or_create_batch(3).await.unwrap();
        let flags: Vec<bool> = fresh.iter().map(|(_, created)| *created).collect();
        assert_eq!(flags, [true, false, false], "a new key, then the same key again");
        assert!(fresh.iter().all(|(login, _)| login.id == fresh[0].0.id));
        // One seed, one sequence: the batch's first key is the stored one, its second new.
        let one = Account::factory().with_session(&mut tx).seed(11).create_batch(1).await.unwrap();
        let two = Account::factory().with_session(&mut tx).seed(11).get_or_create_batch(2).await.unwrap();
        assert_eq!((&two[0].0, two[0].1), (&one[0], false));
        assert!(two[1].1 && two[1].0.id != one[0].id);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM logins").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(count, 2);
        tx.rollback().await.unwrap();
    }
}

#[cfg(feature = "chrono")]
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "ticks", get_or_create(at))]
struct Tick {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = sqlx::types::chrono::DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap().naive_utc())]
    at: sqlx::types::chrono::NaiveDateTime,
}

/// A timestamp with nanoseconds, stored to the microsecond: the repeated key cannot be read
/// back; the batch fails as a whole, names the key, and leaves no row in the transaction.
#[cfg(feature = "chrono")]
macro_rules! nanosecond_key {
    ($conn:expr, $column:literal, $kind:expr) => {{
        let conn = $conn;
        exec!(
            conn,
            format!(
                "CREATE TABLE ticks (id {}, at {} NOT NULL)",
                $kind.serial_pk(),
                $column
            )
        );
        let mut tx = conn.begin().await.unwrap();
        let err = Tick::factory()
            .with_session(&mut tx)
            .create_batch(2)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`Tick`") && text.contains("at = 2023-11-14T22:13:20.123456789"),
            "{text}"
        );
        assert!(
            text.contains("stored key differs from the one sent"),
            "{text}"
        );
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ticks")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(
            count, 0,
            "the transaction is usable and has no row of the batch"
        );
        tx.rollback().await.unwrap();
    }};
}

#[cfg(all(feature = "chrono", feature = "postgres"))]
#[tokio::test]
async fn nanosecond_key_postgres() {
    common::bounded_test(async {
        nanosecond_key!(
            &mut common::postgres("nanosecond_key").await,
            "TIMESTAMP",
            Kind::Postgres
        );
    })
    .await
}

#[cfg(all(feature = "chrono", feature = "mysql"))]
#[tokio::test]
async fn nanosecond_key_mariadb() {
    common::bounded_test(async {
        nanosecond_key!(
            &mut common::mariadb("nanosecond_key").await,
            "DATETIME(6)",
            Kind::MariaDb
        );
    })
    .await
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there (`Post` draws a true warning: `posts.author_id` has no FOREIGN KEY).
    async fn check_every_model(conn, kind) {
        schema(conn, kind).await;
        exec!(conn, plans_table(kind));
        posts_schema(conn, kind, true).await;
        members_schema(conn, kind).await;
        exec!(conn, format!("CREATE TABLE logins (id {}, email {} NOT NULL UNIQUE, password_hash TEXT NOT NULL)", kind.serial_pk(), kind.varchar()));
        check_clean!(&mut *conn, kind, Account, Plan, Author, Post, Member, Login);
        #[cfg(feature = "chrono")]
        if kind != Kind::Sqlite {
            let column = if kind == Kind::Postgres { "TIMESTAMP" } else { "DATETIME(6)" };
            exec!(conn, format!("CREATE TABLE ticks (id {}, at {column} NOT NULL)", kind.serial_pk()));
            check_clean!(&mut *conn, kind, Tick);
        }
    }
}
