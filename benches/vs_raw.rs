//! Factory against hand-written sqlx on the same connection and schema, interleaved, per
//! backend: `cargo bench --bench vs_raw -- --quick` (under a minute) or the full run, which
//! also writes the table into docs/PERFORMANCE.md. PostgreSQL and MariaDB run when
//! `DATABASE_URL_PG` / `DATABASE_URL_MARIADB` are set.
//!
//! Each line: `scenario backend factory_per_s raw_per_s ratio` (ratio = factory / raw).

#[path = "common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{Post, User, title, user_literal, user_values};
use sqlx::{Connection, QueryBuilder};

struct Config {
    rounds: u32,
    build: usize,
    create_loop: usize,
    batch: usize,
    association: usize,
}

const QUICK: Config = Config {
    rounds: 3,
    build: 100_000,
    create_loop: 300,
    batch: 10_000,
    association: 1_000,
};

const FULL: Config = Config {
    rounds: 10,
    build: 500_000,
    create_loop: 1_000,
    batch: 10_000,
    association: 1_000,
};

struct Line {
    scenario: &'static str,
    backend: &'static str,
    factory_per_s: f64,
    raw_per_s: f64,
}

impl Line {
    fn new(
        scenario: &'static str,
        backend: &'static str,
        items: usize,
        (factory, raw): (Duration, Duration),
    ) -> Line {
        let line = Line {
            scenario,
            backend,
            factory_per_s: items as f64 / factory.as_secs_f64(),
            raw_per_s: items as f64 / raw.as_secs_f64(),
        };
        println!(
            "{:<24} {:<10} {:>12.0} {:>12.0} {:>6.2}",
            line.scenario,
            line.backend,
            line.factory_per_s,
            line.raw_per_s,
            line.ratio()
        );
        line
    }

    fn ratio(&self) -> f64 {
        self.factory_per_s / self.raw_per_s
    }
}

/// Runs the factory and the hand-written side `rounds` times each, alternating which goes
/// first, each in a transaction rolled back afterwards; returns the total time of each side.
macro_rules! measure {
    ($conn:expr, $rounds:expr, |$tx:ident| factory $factory:block raw $raw:block) => {{
        let mut times = [Duration::ZERO; 2];
        for round in 0..$rounds {
            for side in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
                let mut $tx = $conn.begin().await.expect("begin");
                let start = Instant::now();
                if side == 0 {
                    $factory
                } else {
                    $raw
                }
                times[side] += start.elapsed();
                $tx.rollback().await.expect("rollback");
            }
        }
        (times[0], times[1])
    }};
}

/// The scenarios that talk to a database, for one backend.
macro_rules! database_scenarios {
    ($backend:literal, $conn:expr, $cfg:expr, $lines:expr, insert_user = $insert_user:literal) => {{
        let conn = $conn;
        let cfg = $cfg;
        let mut n = 0u64;
        let items = cfg.create_loop * cfg.rounds as usize;
        let times = measure!(conn, cfg.rounds, |tx| factory {
            for _ in 0..cfg.create_loop {
                black_box(User::factory().with_session(&mut tx).create().await.expect("create"));
            }
        } raw {
            let mut rng = fake::rand::rng();
            for _ in 0..cfg.create_loop {
                n += 1;
                let v = user_values(n, &mut rng);
                let user: User = sqlx::query_as($insert_user)
                    .bind(v.email)
                    .bind(v.name)
                    .bind(v.age)
                    .bind(v.bio)
                    .bind(v.score)
                    .fetch_one(&mut *tx)
                    .await
                    .expect("insert");
                black_box(user);
            }
        });
        $lines.push(Line::new("create_loop", $backend, items, times));

        let items = cfg.batch * cfg.rounds as usize;
        let times = measure!(conn, cfg.rounds, |tx| factory {
            black_box(User::factory().with_session(&mut tx).create_batch(cfg.batch).await.expect("batch"));
        } raw {
            let mut rng = fake::rand::rng();
            let values: Vec<_> = (0..cfg.batch).map(|_| { n += 1; user_values(n, &mut rng) }).collect();
            let mut users: Vec<User> = Vec::with_capacity(values.len());
            for chunk in values.chunks(500) {
                let mut qb = QueryBuilder::new("INSERT INTO bench_users (email, name, age, bio, score) ");
                qb.push_values(chunk, |mut row, v| {
                    row.push_bind(&v.email).push_bind(&v.name).push_bind(v.age).push_bind(&v.bio).push_bind(v.score);
                });
                qb.push(" RETURNING id, email, name, age, bio, score");
                users.extend(qb.build_query_as::<User>().fetch_all(&mut *tx).await.expect("push_values"));
            }
            black_box(users);
        });
        $lines.push(Line::new("create_batch_10k", $backend, items, times));

        let items = cfg.association * cfg.rounds as usize;
        let times = measure!(conn, cfg.rounds, |tx| factory {
            black_box(Post::factory().with_session(&mut tx).create_batch(cfg.association).await.expect("posts"));
        } raw {
            let mut rng = fake::rand::rng();
            let values: Vec<_> = (0..cfg.association).map(|_| { n += 1; user_values(n, &mut rng) }).collect();
            let mut author_ids: Vec<i64> = Vec::with_capacity(values.len());
            for chunk in values.chunks(500) {
                let mut qb = QueryBuilder::new("INSERT INTO bench_users (email, name, age, bio, score) ");
                qb.push_values(chunk, |mut row, v| {
                    row.push_bind(&v.email).push_bind(&v.name).push_bind(v.age).push_bind(&v.bio).push_bind(v.score);
                });
                qb.push(" RETURNING id");
                author_ids.extend(qb.build_query_scalar::<i64>().fetch_all(&mut *tx).await.expect("authors"));
            }
            let titles: Vec<String> = author_ids.iter().map(|_| title(&mut rng)).collect();
            let mut posts: Vec<Post> = Vec::with_capacity(titles.len());
            for (ids, titles) in author_ids.chunks(500).zip(titles.chunks(500)) {
                let mut qb = QueryBuilder::new("INSERT INTO bench_posts (author_id, title) ");
                qb.push_values(ids.iter().zip(titles), |mut row, (id, title)| {
                    row.push_bind(*id).push_bind(title);
                });
                qb.push(" RETURNING id, author_id, title");
                posts.extend(qb.build_query_as::<Post>().fetch_all(&mut *tx).await.expect("posts"));
            }
            black_box(posts);
        });
        $lines.push(Line::new("create_batch_assoc_1k", $backend, items, times));
    }};
}

fn build_scenario(cfg: &Config, lines: &mut Vec<Line>) {
    let mut times = [Duration::ZERO; 2];
    let mut rng = fake::rand::rng();
    let mut n = 0u64;
    for round in 0..cfg.rounds {
        for side in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            let start = Instant::now();
            for _ in 0..cfg.build {
                if side == 0 {
                    black_box(User::factory().build());
                } else {
                    n += 1;
                    black_box(user_literal(n, &mut rng));
                }
            }
            times[side] += start.elapsed();
        }
    }
    lines.push(Line::new(
        "build",
        "-",
        cfg.build * cfg.rounds as usize,
        (times[0], times[1]),
    ));
}

async fn sqlite(cfg: &Config, lines: &mut Vec<Line>) {
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    sqlx::raw_sql(
        "CREATE TABLE bench_users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
                                   age INTEGER NOT NULL, bio TEXT, score REAL NOT NULL);
         CREATE TABLE bench_posts (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES bench_users(id),
                                   title TEXT NOT NULL);",
    )
    .execute(&mut conn)
    .await
    .expect("schema");
    database_scenarios!(
        "sqlite",
        &mut conn,
        cfg,
        lines,
        insert_user = "INSERT INTO bench_users (email, name, age, bio, score) VALUES (?, ?, ?, ?, ?) RETURNING id, email, name, age, bio, score"
    );
}

#[cfg(feature = "postgres")]
async fn postgres(url: &str, cfg: &Config, lines: &mut Vec<Line>) {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("DATABASE_URL_PG");
    sqlx::raw_sql(
        "DROP SCHEMA IF EXISTS sqlx_factory_bench CASCADE; CREATE SCHEMA sqlx_factory_bench;
         SET search_path TO sqlx_factory_bench;
         CREATE TABLE bench_users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
                                   age INTEGER NOT NULL, bio TEXT, score DOUBLE PRECISION NOT NULL);
         CREATE TABLE bench_posts (id BIGSERIAL PRIMARY KEY, author_id BIGINT NOT NULL REFERENCES bench_users(id),
                                   title TEXT NOT NULL);",
    )
    .execute(&mut conn)
    .await
    .expect("schema");
    database_scenarios!(
        "postgres",
        &mut conn,
        cfg,
        lines,
        insert_user = "INSERT INTO bench_users (email, name, age, bio, score) VALUES ($1, $2, $3, $4, $5) RETURNING id, email, name, age, bio, score"
    );
}

#[cfg(feature = "mysql")]
async fn mariadb(url: &str, cfg: &Config, lines: &mut Vec<Line>) {
    let mut conn = sqlx::MySqlConnection::connect(url)
        .await
        .expect("DATABASE_URL_MARIADB");
    sqlx::raw_sql(
        "DROP DATABASE IF EXISTS sqlx_factory_bench; CREATE DATABASE sqlx_factory_bench; USE sqlx_factory_bench;
         CREATE TABLE bench_users (id BIGINT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(255) NOT NULL UNIQUE,
                                   name TEXT NOT NULL, age INTEGER NOT NULL, bio TEXT, score DOUBLE NOT NULL);
         CREATE TABLE bench_posts (id BIGINT AUTO_INCREMENT PRIMARY KEY,
                                   author_id BIGINT NOT NULL REFERENCES bench_users(id), title TEXT NOT NULL);",
    )
    .execute(&mut conn)
    .await
    .expect("schema");
    database_scenarios!(
        "mariadb",
        &mut conn,
        cfg,
        lines,
        insert_user = "INSERT INTO bench_users (email, name, age, bio, score) VALUES (?, ?, ?, ?, ?) RETURNING id, email, name, age, bio, score"
    );
}

fn url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            println!("# {var} is not set: that backend is skipped");
            None
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let cfg = if quick { &QUICK } else { &FULL };
    let mut lines = Vec::new();
    println!(
        "{:<24} {:<10} {:>12} {:>12} {:>6}",
        "scenario", "backend", "factory_per_s", "raw_per_s", "ratio"
    );
    build_scenario(cfg, &mut lines);
    // `--build-only`: no database, e.g. under `valgrind --tool=callgrind`.
    if std::env::args().any(|a| a == "--build-only") {
        return;
    }
    sqlite(cfg, &mut lines).await;
    #[cfg(feature = "postgres")]
    if let Some(url) = url("DATABASE_URL_PG") {
        postgres(&url, cfg, &mut lines).await;
    }
    #[cfg(not(feature = "postgres"))]
    let _ = url;
    #[cfg(feature = "mysql")]
    if let Some(url) = url("DATABASE_URL_MARIADB") {
        mariadb(&url, cfg, &mut lines).await;
    }
    if !quick {
        write_doc(&lines);
    }
}

/// Replaces the table between the markers in docs/PERFORMANCE.md.
fn write_doc(lines: &[Line]) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PERFORMANCE.md");
    let Ok(doc) = std::fs::read_to_string(path) else {
        println!("# {path} not found: table not written");
        return;
    };
    let (begin, end) = ("<!-- vs_raw:begin -->", "<!-- vs_raw:end -->");
    let (Some(start), Some(stop)) = (doc.find(begin), doc.find(end)) else {
        println!("# markers not found in {path}: table not written");
        return;
    };
    let mut table = String::from(
        "\n| scenario | backend | factory/s | hand-written/s | ratio |\n|---|---|---:|---:|---:|\n",
    );
    for l in lines {
        let _ = writeln!(
            table,
            "| {} | {} | {:.0} | {:.0} | {:.2} |",
            l.scenario,
            l.backend,
            l.factory_per_s,
            l.raw_per_s,
            l.ratio()
        );
    }
    let updated = format!("{}{begin}{table}{}", &doc[..start], &doc[stop..]);
    std::fs::write(path, updated).expect("write docs/PERFORMANCE.md");
    println!("# table written to {path}");
}
