//! With `#[sqlx::test]`: a fresh database per test, migrations applied, and the pool or a
//! connection handed to the test. Factories bind to either (SQLite here: `#[sqlx::test]` needs
//! no server for it; for PostgreSQL it reads `DATABASE_URL`). Such a test owns its database:
//! `local_sequences()` numbers its rows from 1, and with a seed its data is the same run after
//! run.

mod common;

use std::collections::BTreeSet;

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqlitePool};
use sqlx_factory::{Factory, inherit, local_sequences};

#[path = "common/child.rs"]
mod child;

use child::{printed, run_self};

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("user{n}@example.com"))]
    email: String,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "posts")]
struct Post {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User)]
    author_id: i64,
    #[factory(sequence = |n| format!("post {n}"))]
    title: String,
}

/// The pool form: bind the pool itself (each call commits), or a transaction begun on it.
#[sqlx::test(migrations = "tests/migrations")]
async fn with_a_pool(pool: SqlitePool) -> sqlx::Result<()> {
    let posts = Post::factory()
        .with_session(&pool)
        .create_batch(3)
        .await
        .map_err(|e| e.into_sqlx())?;
    let mut tx = pool.begin().await?;
    User::factory()
        .with_session(&mut tx)
        .create()
        .await
        .map_err(|e| e.into_sqlx())?;
    tx.commit().await?;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await?;
    assert_eq!((posts.len(), users), (3, 4));
    Ok(())
}

/// The connection form: bind it directly.
#[sqlx::test(migrations = "tests/migrations")]
async fn with_a_connection(mut conn: PoolConnection<Sqlite>) -> sqlx::Result<()> {
    let ann = User::factory()
        .with_session(&mut conn)
        .name("Ann")
        .create()
        .await
        .map_err(|e| e.into_sqlx())?;
    let post = Post::factory()
        .with_session(&mut conn)
        .author_id(ann.id)
        .create()
        .await
        .map_err(|e| e.into_sqlx())?;
    let author: String = sqlx::query_scalar(
        "SELECT u.name FROM posts p JOIN users u ON u.id = p.author_id WHERE p.id = ?",
    )
    .bind(post.id)
    .fetch_one(&mut *conn)
    .await?;
    assert_eq!(author, "Ann");
    Ok(())
}

fn number(email: &str) -> u64 {
    email
        .trim_start_matches("user")
        .trim_end_matches("@example.com")
        .parse()
        .unwrap()
}

#[test]
fn numbers_from_one_per_table_while_the_guard_lives() {
    let _sequences = local_sequences();
    let emails: Vec<String> = User::factory()
        .build_batch(3)
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(
        emails,
        [
            "user1@example.com",
            "user2@example.com",
            "user3@example.com"
        ]
    );
    let titles: Vec<String> = Post::factory()
        .build_batch(2)
        .into_iter()
        .map(|p| p.title)
        .collect();
    assert_eq!(titles, ["post 1", "post 2"], "each table counts on its own");
    {
        let _inner = local_sequences();
        assert_eq!(User::factory().build().email, "user1@example.com");
    }
    assert_eq!(
        User::factory().build().email,
        "user4@example.com",
        "the outer scope goes on where it was"
    );
}

#[test]
fn machine_wide_again_after_the_guard() {
    let before = number(&User::factory().build().email);
    {
        let _sequences = local_sequences();
        assert_eq!(User::factory().build().email, "user1@example.com");
    }
    let after = number(&User::factory().build().email);
    assert!(after > before, "{after} after {before}");
}

/// Tasks inherited inside the scope share its counters, on whatever worker they run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inherited_tasks_share_the_scope() {
    let _sequences = local_sequences();
    let mut numbers = vec![number(&User::factory().build().email)];
    let tasks: Vec<_> = (0..4)
        .map(|_| tokio::spawn(inherit(async { User::factory().build_batch(5) })))
        .collect();
    for task in tasks {
        numbers.extend(task.await.unwrap().iter().map(|u| number(&u.email)));
    }
    let distinct: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(distinct, (1..=21).collect());
}

/// A `#[sqlx::test]` owns its database: its rows are numbered from 1, parents made by
/// associations included.
#[sqlx::test(migrations = "tests/migrations")]
async fn a_sqlx_test_numbers_its_rows_from_one(pool: SqlitePool) {
    let _sequences = local_sequences();
    Post::factory()
        .with_session(&pool)
        .create_batch(2)
        .await
        .unwrap();
    let users: Vec<String> = sqlx::query_scalar("SELECT email FROM users ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let posts: Vec<String> = sqlx::query_scalar("SELECT title FROM posts ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(users, ["user1@example.com", "user2@example.com"]);
    assert_eq!(posts, ["post 1", "post 2"]);
}

const SNAPSHOT_VAR: &str = "SQLX_FACTORY_TEST_SNAPSHOT";

/// Child body: makes rows in a database of its own (in memory: the file a `#[sqlx::test]`
/// makes is named after the test, which parent and child share) and prints every column.
#[tokio::test]
async fn snapshot_child() {
    if std::env::var(SNAPSHOT_VAR).is_err() {
        return;
    }
    let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
    sqlx::migrate!("tests/migrations").run(&pool).await.unwrap();
    let _sequences = local_sequences();
    Post::factory()
        .with_session(&pool)
        .create_batch(3)
        .await
        .unwrap();
    User::factory().with_session(&pool).create().await.unwrap();
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, email, name FROM users ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let posts: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT id, author_id, title FROM posts ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    println!("ROWS {rows:?} {posts:?}");
}

fn snapshot(seed: &str) -> String {
    let output = run_self(
        &["--exact", "snapshot_child"],
        &[("SQLX_FACTORY_SEED", Some(seed)), (SNAPSHOT_VAR, Some("1"))],
    );
    printed(&output, "ROWS ")
}

/// With a seed, a test that owns its database gets the same rows on every run, to the last
/// column (what a snapshot test of a page compares).
#[test]
fn with_a_seed_the_whole_data_is_the_same_run_after_run() {
    let first = snapshot("5");
    assert_eq!(snapshot("5"), first);
    assert_eq!(snapshot("5"), first);
    assert!(first.contains("\"user4@example.com\""), "{first}");
    assert!(first.contains("\"post 3\""), "{first}");
    let other = snapshot("6");
    assert_ne!(other, first, "another seed, other names");
    assert!(other.contains("\"user4@example.com\""), "{other}");
}

/// The schema check on the migrated tables: no error for models whose creates succeed there.
#[sqlx::test(migrations = "tests/migrations")]
async fn check_every_model(mut conn: PoolConnection<Sqlite>) {
    check_clean!(&mut *conn, common::Kind::Sqlite, User, Post);
}
