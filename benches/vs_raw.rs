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

use common::{Post, User, title, url, user_literal, user_values};
use std::sync::Arc;

use sqlx::{AssertSqlSafe, Connection};

struct Config {
    rounds: u32,
    build: usize,
    /// `create_loop` has rounds of its own: shorter and more of them than the others'.
    create_loop_rounds: u32,
    create_loop: usize,
    batch: usize,
    association: usize,
}

const QUICK: Config = Config {
    rounds: 3,
    build: 100_000,
    create_loop_rounds: 3,
    create_loop: 300,
    batch: 10_000,
    association: 1_000,
};

const FULL: Config = Config {
    rounds: 10,
    build: 500_000,
    // 50 rounds of 400 creates: with 10 rounds of 1 000 the ratio moved by ±0.06 from run to
    // run (0.93–1.05 on SQLite in four runs at one commit), more than the gap it measures.
    create_loop_rounds: 50,
    create_loop: 400,
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
/// A first round of both sides is not timed: whichever side first writes that many rows into
/// the table pays for growing it (MariaDB extends the tablespace: 200–400 ms on the first
/// 10 000 rows, against 50 ms a round after; rolled-back rows leave the pages for reuse), and
/// round 0 always started with the factory.
macro_rules! measure {
    ($conn:expr, $rounds:expr, |$tx:ident| factory $factory:block raw $raw:block) => {{
        let mut times = [Duration::ZERO; 2];
        // Round 0 is the warm-up.
        for round in 0..=$rounds {
            for side in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
                if !side_wanted(side) {
                    continue;
                }
                let mut $tx = $conn.begin().await.expect("begin");
                let start = Instant::now();
                if side == 0 {
                    $factory
                } else {
                    $raw
                }
                let took = start.elapsed();
                if round > 0 {
                    times[side] += took;
                }
                if std::env::var_os("VS_RAW_ROUNDS").is_some() {
                    println!(
                        "#   round {round} {} {:.1} ms",
                        ["factory", "raw"][side],
                        took.as_secs_f64() * 1e3
                    );
                }
                $tx.rollback().await.expect("rollback");
            }
        }
        (times[0], times[1])
    }};
}

/// `VS_RAW_ONLY=<scenario>` runs that scenario alone, and `VS_RAW_SIDE=factory|raw` one side
/// of it: for `valgrind --tool=callgrind`, whose instruction counts of two such runs differ by
/// exactly what the two sides do differently, however loaded the machine is.
fn wanted(scenario: &str) -> bool {
    std::env::var("VS_RAW_ONLY").map_or(true, |only| only == scenario)
}

fn side_wanted(side: usize) -> bool {
    match std::env::var("VS_RAW_SIDE").as_deref() {
        Ok("factory") => side == 0,
        Ok("raw") => side == 1,
        // Neither: what the scenario costs besides its two sides (a callgrind baseline).
        Ok("none") => false,
        _ => true,
    }
}

/// The scenarios that talk to a database, for one backend.
macro_rules! database_scenarios {
    ($backend:literal, $conn:expr, $cfg:expr, $lines:expr, insert_user = $insert_user:literal, dollar = $dollar:literal) => {{
        let conn = $conn;
        let cfg = $cfg;
        let mut n = 0u64;
        let items = cfg.create_loop * cfg.create_loop_rounds as usize;
        if wanted("create_loop") {
        let times = measure!(conn, cfg.create_loop_rounds, |tx| factory {
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
        }

        // The hand-written batch as a careful user writes it: the INSERT text of a 500-row
        // chunk built once, values drawn chunk by chunk and bound by value (moved, no clone).
        let users_sql = values_sql("INSERT INTO bench_users (email, name, age, bio, score)", 500, 5, $dollar,
            " RETURNING id, email, name, age, bio, score");
        let ids_sql = values_sql("INSERT INTO bench_users (email, name, age, bio, score)", 500, 5, $dollar, " RETURNING id");
        let posts_sql = values_sql("INSERT INTO bench_posts (author_id, title)", 500, 2, $dollar, " RETURNING id, author_id, title");
        let items = cfg.batch * cfg.rounds as usize;
        let mut per_batch: Vec<(&str, Duration)> = Vec::new();
        // The second time after a heap-fragmenting warm-up (another library's objects of
        // every size, half of them freed, the rest alive during the measurement).
        for scenario in ["create_batch_10k", "create_batch_10k_fragmented"] {
            if !wanted(scenario) {
                continue;
            }
            let survivors = (scenario != "create_batch_10k").then(fragment_heap);
            let times = measure!(conn, cfg.rounds, |tx| factory {
                black_box(User::factory().with_session(&mut tx).create_batch(cfg.batch).await.expect("batch"));
            } raw {
                let mut rng = fake::rand::rng();
                let mut users: Vec<User> = Vec::with_capacity(cfg.batch);
                for _ in 0..cfg.batch / 500 {
                    let mut q = sqlx::query_as::<_, User>(AssertSqlSafe(Arc::clone(&users_sql)));
                    for _ in 0..500 {
                        n += 1;
                        let v = user_values(n, &mut rng);
                        q = q.bind(v.email).bind(v.name).bind(v.age).bind(v.bio).bind(v.score);
                    }
                    users.extend(q.fetch_all(&mut *tx).await.expect("batch chunk"));
                }
                black_box(users);
            });
            drop(survivors);
            $lines.push(Line::new(scenario, $backend, items, times));
            per_batch.push((scenario, times.0 / cfg.rounds));
        }

        // Five times the rounds: a round is a few milliseconds, and ten of them left the ratio
        // swinging by ±0.1 from run to run on this machine.
        let rounds = cfg.rounds * 5;
        let items = cfg.association * rounds as usize;
        if wanted("create_batch_assoc_1k") {
        let times = measure!(conn, rounds, |tx| factory {
            black_box(Post::factory().with_session(&mut tx).create_batch(cfg.association).await.expect("posts"));
        } raw {
            let mut rng = fake::rand::rng();
            let mut posts: Vec<Post> = Vec::with_capacity(cfg.association);
            for _ in 0..cfg.association / 500 {
                let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(Arc::clone(&ids_sql)));
                for _ in 0..500 {
                    n += 1;
                    let v = user_values(n, &mut rng);
                    q = q.bind(v.email).bind(v.name).bind(v.age).bind(v.bio).bind(v.score);
                }
                let author_ids = q.fetch_all(&mut *tx).await.expect("authors");
                let mut q = sqlx::query_as::<_, Post>(AssertSqlSafe(Arc::clone(&posts_sql)));
                for id in author_ids {
                    q = q.bind(id).bind(title(&mut rng));
                }
                posts.extend(q.fetch_all(&mut *tx).await.expect("posts"));
            }
            black_box(posts);
        });
        $lines.push(Line::new("create_batch_assoc_1k", $backend, items, times));
        per_batch.push(("create_batch_assoc_1k", times.0 / rounds));
        }

        // What the operation's savepoint costs (two statements of its own, for all-or-nothing
        // inside the caller's transaction): the pair timed alone, against the factory's time
        // per batch in the scenarios above.
        if wanted("savepoint") {
            let pairs = 200u32;
            let mut tx = conn.begin().await.expect("begin");
            let start = Instant::now();
            for _ in 0..pairs {
                sqlx::raw_sql("SAVEPOINT sqlx_factory_bench").execute(&mut *tx).await.expect("savepoint");
                sqlx::raw_sql("RELEASE SAVEPOINT sqlx_factory_bench").execute(&mut *tx).await.expect("release");
            }
            let pair = start.elapsed() / pairs;
            tx.rollback().await.expect("rollback");
            let mut note = format!("# {}: SAVEPOINT + RELEASE {:.0} µs", $backend, pair.as_secs_f64() * 1e6);
            for (scenario, batch) in &per_batch {
                let _ = write!(note, ", {:.1} % of a {scenario}", 100.0 * pair.as_secs_f64() / batch.as_secs_f64());
            }
            println!("{note}");
        }
    }};
}

/// `head VALUES (..), (..) tail` for `rows` rows of `cols` placeholders (`$n` or `?`).
fn values_sql(head: &str, rows: usize, cols: usize, dollar: bool, tail: &str) -> Arc<str> {
    let mut sql = format!("{head} VALUES ");
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            if dollar {
                let _ = write!(sql, "${}", r * cols + c + 1);
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql.into()
}

/// Fragments the heap as a process that ran another library first would have it: 200 000
/// blocks of 16 bytes to 4 KiB, every other one freed; the survivors are returned (kept alive).
fn fragment_heap() -> Vec<Vec<u8>> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut blocks: Vec<Vec<u8>> = (0..200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            vec![1u8; 16 + (state % 4080) as usize]
        })
        .collect();
    let mut k = 0;
    blocks.retain(|_| {
        k += 1;
        k % 2 == 0
    });
    black_box(blocks)
}

fn build_scenario(cfg: &Config, lines: &mut Vec<Line>) {
    if !wanted("build") {
        return;
    }
    let mut times = [Duration::ZERO; 2];
    let mut rng = fake::rand::rng();
    let mut n = 0u64;
    for round in 0..cfg.rounds {
        for side in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            if !side_wanted(side) {
                continue;
            }
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
        insert_user = "INSERT INTO bench_users (email, name, age, bio, score) VALUES (?, ?, ?, ?, ?) RETURNING id, email, name, age, bio, score",
        dollar = false
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
        insert_user = "INSERT INTO bench_users (email, name, age, bio, score) VALUES ($1, $2, $3, $4, $5) RETURNING id, email, name, age, bio, score",
        dollar = true
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
        insert_user = "INSERT INTO bench_users (email, name, age, bio, score) VALUES (?, ?, ?, ?, ?) RETURNING id, email, name, age, bio, score",
        dollar = false
    );
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
    if wanted("build") {
        build_scenario(cfg, &mut lines);
    }
    // `--build-only`: no database, e.g. under `valgrind --tool=callgrind`.
    if std::env::args().any(|a| a == "--build-only") {
        return;
    }
    // `VS_RAW_BACKEND=sqlite|postgres|mariadb`: that backend alone.
    let backend = std::env::var("VS_RAW_BACKEND").ok();
    let on = |name: &str| backend.as_deref().is_none_or(|b| b == name);
    if on("sqlite") {
        sqlite(cfg, &mut lines).await;
    }
    #[cfg(feature = "postgres")]
    if let Some(url) = url("DATABASE_URL_PG").filter(|_| on("postgres")) {
        postgres(&url, cfg, &mut lines).await;
    }
    #[cfg(not(feature = "postgres"))]
    let _ = url;
    #[cfg(feature = "mysql")]
    if let Some(url) = url("DATABASE_URL_MARIADB").filter(|_| on("mariadb")) {
        mariadb(&url, cfg, &mut lines).await;
    }
    let filtered =
        std::env::var_os("VS_RAW_ONLY").is_some() || std::env::var_os("VS_RAW_SIDE").is_some();
    if !quick && !filtered {
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
