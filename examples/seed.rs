//! Fills a database from the blog's models with `insert_many` (seeding mode) and prints rows/s:
//!
//! ```sh
//! cargo run --release --example seed -- --users 1000000 --posts-per-user 5
//! cargo run --release --example seed --features postgres -- --url postgres://postgres@127.0.0.1/h5
//! cargo run --release --example seed --features mysql -- --url mysql://root@127.0.0.1/h5
//! ```
//!
//! SQLite by default (a file in the temp dir), PostgreSQL (schema `sqlx_factory_seed`) or
//! MariaDB (database `<url's database>__sf_seed`) by `--url`. The tables are recreated, the
//! rows committed. Users are seeded with `--posts-per-user` posts each (`with_children`).

use std::io::Write;
use std::time::Instant;

use sqlx::Connection;
use sqlx_factory::{Factory, Progress};

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
    #[factory(sequence = |n| format!("user{n}@example.com"))]
    email: String,
    #[factory(default = false)]
    admin: bool,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "posts")]
struct Post {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User)]
    author_id: i64,
    #[factory(fake = fake::faker::lorem::en::Sentence(3..6))]
    title: String,
}

struct Args {
    users: u64,
    posts_per_user: u64,
    url: String,
}

fn args() -> Args {
    let mut args = Args {
        users: 10_000,
        posts_per_user: 5,
        url: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--users" => args.users = value.parse().expect("--users N"),
            "--posts-per-user" => args.posts_per_user = value.parse().expect("--posts-per-user N"),
            "--url" => args.url = value,
            other => panic!("unknown flag {other}: --users N --posts-per-user N --url URL"),
        }
    }
    args
}

/// A progress bar on stderr, redrawn per chunk.
fn bar(label: &'static str, start: Instant) -> impl Fn(Progress) + Send + Sync + 'static {
    let shown = std::sync::atomic::AtomicU64::new(u64::MAX);
    move |p: Progress| {
        // Redrawn when the percentage changes, not per chunk.
        let percent = p.rows * 100 / p.total.max(1);
        if shown.swap(percent, std::sync::atomic::Ordering::Relaxed) == percent {
            return;
        }
        let done = p.rows as f64 / p.total.max(1) as f64;
        let filled = (done * 30.0) as usize;
        let rate = p.rows as f64 / start.elapsed().as_secs_f64().max(1e-9);
        eprint!(
            "\r{label:<6} [{}{}] {:>3.0}% {}/{} rows, {:.0} rows/s ",
            "#".repeat(filled),
            " ".repeat(30 - filled),
            done * 100.0,
            p.rows,
            p.total,
            rate
        );
        if p.rows == p.total {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
    }
}

/// Seeds users and their posts in one transaction it commits, and prints rows/s.
macro_rules! seed {
    ($conn:expr, $args:expr) => {{
        let conn = $conn;
        let args = $args;
        // Each factory against its table first: a seed that fails at row 40 000 costs more.
        sqlx_factory::check!(&mut *conn, User, Post)
            .await
            .into_result()?;
        let start = Instant::now();
        let mut tx = conn.begin().await?;
        // Each INSERT of users returns their keys alone, and their posts follow at once
        // (`COPY` on PostgreSQL): one statement's keys in memory, whatever the count.
        let users = User::factory()
            .with_session(&mut tx)
            .insert_many(args.users)
            .with_children(args.posts_per_user, Post::factory())
            .on_progress(bar("users", start))
            .await?;
        tx.commit().await?;
        let total = start.elapsed();
        let posts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM posts")
            .fetch_one(&mut *conn)
            .await?;
        let rows = users + posts as u64;
        println!(
            "{users} users and {posts} posts ({} per user) in {:.2} s: {:.0} rows/s, commit included",
            args.posts_per_user,
            total.as_secs_f64(),
            rows as f64 / total.as_secs_f64()
        );
    }};
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args();
    #[cfg(feature = "postgres")]
    if args.url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(&args.url).await?;
        sqlx::raw_sql(
            "CREATE SCHEMA IF NOT EXISTS sqlx_factory_seed; SET search_path TO sqlx_factory_seed;
             DROP TABLE IF EXISTS posts; DROP TABLE IF EXISTS users;
             CREATE TABLE users (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL,
                                 email TEXT NOT NULL UNIQUE, admin BOOLEAN NOT NULL);
             CREATE TABLE posts (id BIGSERIAL PRIMARY KEY,
                                 author_id BIGINT NOT NULL REFERENCES users (id), title TEXT NOT NULL);",
        )
        .execute(&mut conn)
        .await?;
        seed!(&mut conn, &args);
        return Ok(());
    }
    #[cfg(feature = "mysql")]
    if args.url.starts_with("mysql") || args.url.starts_with("mariadb") {
        let options: sqlx::mysql::MySqlConnectOptions = args.url.parse()?;
        let database = format!("{}__sf_seed", options.get_database().unwrap_or("test"));
        let mut conn = sqlx::MySqlConnection::connect_with(&options).await?;
        let setup = format!(
            "DROP DATABASE IF EXISTS {database}; CREATE DATABASE {database}; USE {database};
             CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, name TEXT NOT NULL,
                                 email VARCHAR(255) NOT NULL UNIQUE, admin BOOLEAN NOT NULL);
             CREATE TABLE posts (id BIGINT AUTO_INCREMENT PRIMARY KEY,
                                 author_id BIGINT NOT NULL REFERENCES users (id), title TEXT NOT NULL);"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
            .execute(&mut conn)
            .await?;
        seed!(&mut conn, &args);
        return Ok(());
    }
    if !args.url.is_empty() && !args.url.starts_with("sqlite") {
        return Err(format!(
            "{}: not a URL of an enabled backend (features postgres, mysql)",
            args.url
        )
        .into());
    }
    let url = if args.url.is_empty() {
        let path = std::env::temp_dir().join("sqlx-factory-seed.db");
        let _ = std::fs::remove_file(&path);
        format!("sqlite://{}?mode=rwc", path.display())
    } else {
        args.url.clone()
    };
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS posts; DROP TABLE IF EXISTS users;
         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
                             admin BOOLEAN NOT NULL);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES users (id),
                             title TEXT NOT NULL);",
    )
    .execute(&mut conn)
    .await?;
    seed!(&mut conn, &args);
    Ok(())
}
