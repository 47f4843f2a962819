//! Seeding mode against its references, per backend, rounds interleaved (the order of the
//! sides rotates each round): `cargo bench --all-features --bench seed` (add `-- --quick` for
//! fewer rows and rounds). PostgreSQL and MariaDB run when `DATABASE_URL_PG` /
//! `DATABASE_URL_MARIADB` are set; PostgreSQL's `\copy` reference needs `psql` on the PATH.
//!
//! - `insert_many / create_batch`: the same factory, the same rows, `insert_many(n)` against
//!   `create_batch(n)`, each in a transaction rolled back (SQLite, MariaDB) or on a truncated
//!   table, committed (PostgreSQL, where `psql` cannot share our transaction).
//! - `insert_many / psql \copy` (PostgreSQL): `psql -c '\copy .. FROM file'` loading the same
//!   number of rows, drawn from the same factory and written to a text file once, into the same
//!   table (unique index on `email`), committed, process start included.
//! - `insert_many / mariadb LOAD DATA` (MariaDB): the `mariadb` client's `LOAD DATA LOCAL
//!   INFILE` of the same number of rows from such a file, the server's own bulk path, in a
//!   transaction rolled back as the other sides are, process start included.
//!
//! - `returning_keys / insert_many`: the same seed returning the keys, against the count.
//!
//! Each line: `scenario backend seed_per_s reference_per_s ratio`, and with the full run the
//! table between the markers in docs/PERFORMANCE.md is rewritten.

#[path = "common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::{User, url};
use sqlx::Connection;

struct Line {
    scenario: &'static str,
    backend: &'static str,
    seed_per_s: f64,
    reference_per_s: f64,
}

impl Line {
    fn new(scenario: &'static str, backend: &'static str, rows: u64, times: &[Duration]) -> Line {
        let line = Line {
            scenario,
            backend,
            seed_per_s: rows as f64 / times[0].as_secs_f64(),
            reference_per_s: rows as f64 / times[1].as_secs_f64(),
        };
        println!(
            "{:<34} {:<9} {:>12.0} {:>12.0} {:>6.2}",
            line.scenario,
            line.backend,
            line.seed_per_s,
            line.reference_per_s,
            line.seed_per_s / line.reference_per_s
        );
        line
    }
}

struct Config {
    rows: u64,
    rounds: usize,
}

/// Two sides in turn, each round in a transaction rolled back, the order rotating per round:
/// `$side0` and `$side1` are blocks run with `$tx` bound; returns each side's total time.
macro_rules! rolled_back_rounds {
    ($conn:expr, $cfg:expr, |$tx:ident| $side0:block, $side1:block) => {{
        let mut times = vec![Duration::ZERO; 2];
        for round in 0..$cfg.rounds {
            for k in 0..2 {
                let side = (round + k) % 2;
                let mut $tx = $conn.begin().await.expect("begin");
                let start = Instant::now();
                if side == 0 $side0 else $side1
                times[side] += start.elapsed();
                $tx.rollback().await.expect("rollback");
            }
        }
        times
    }};
}

/// insert_many against create_batch, each in a transaction rolled back.
macro_rules! against_create_batch {
    ($backend:literal, $conn:expr, $cfg:expr, $lines:expr) => {{
        let conn = $conn;
        let cfg = $cfg;
        let times = rolled_back_rounds!(
            conn,
            cfg,
            |tx| {
                let n = User::factory()
                    .with_session(&mut tx)
                    .insert_many(cfg.rows)
                    .await
                    .expect("insert_many");
                assert_eq!(n, cfg.rows);
            },
            {
                let rows = User::factory()
                    .with_session(&mut tx)
                    .create_batch(cfg.rows as usize)
                    .await
                    .expect("create_batch");
                std::hint::black_box(rows);
            }
        );
        $lines.push(Line::new(
            "insert_many / create_batch",
            $backend,
            cfg.rows * cfg.rounds as u64,
            &times,
        ));
    }};
}

/// `insert_many(n).returning_keys()` against `insert_many(n)`, each in a transaction rolled
/// back: what reading (SQLite, MariaDB: `RETURNING id`) or reserving (PostgreSQL: `nextval`
/// in bulk, keys sent in the `COPY`) the keys costs.
macro_rules! keys_against_count {
    ($backend:literal, $conn:expr, $cfg:expr, $lines:expr) => {{
        let conn = $conn;
        let cfg = $cfg;
        let times = rolled_back_rounds!(
            conn,
            cfg,
            |tx| {
                let keys = User::factory()
                    .with_session(&mut tx)
                    .insert_many(cfg.rows)
                    .returning_keys()
                    .await
                    .expect("returning_keys");
                assert_eq!(keys.len() as u64, cfg.rows);
            },
            {
                let n = User::factory()
                    .with_session(&mut tx)
                    .insert_many(cfg.rows)
                    .await
                    .expect("insert_many");
                assert_eq!(n, cfg.rows);
            }
        );
        $lines.push(Line::new(
            "returning_keys / insert_many",
            $backend,
            cfg.rows * cfg.rounds as u64,
            &times,
        ));
    }};
}

async fn sqlite(cfg: &Config, lines: &mut Vec<Line>) {
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .expect("sqlite");
    sqlx::raw_sql(
        "CREATE TABLE bench_users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,
           name TEXT NOT NULL, age INTEGER NOT NULL, bio TEXT, score REAL NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .expect("schema");
    against_create_batch!("sqlite", &mut conn, cfg, lines);
    keys_against_count!("sqlite", &mut conn, cfg, lines);
}

#[cfg(feature = "mysql")]
async fn mariadb(url: &str, cfg: &Config, lines: &mut Vec<Line>) {
    let mut conn = sqlx::MySqlConnection::connect(url)
        .await
        .expect("DATABASE_URL_MARIADB");
    sqlx::raw_sql(
        "DROP DATABASE IF EXISTS sqlx_factory_seed_bench; CREATE DATABASE sqlx_factory_seed_bench;
         USE sqlx_factory_seed_bench;
         CREATE TABLE bench_users (id BIGINT AUTO_INCREMENT PRIMARY KEY,
           email VARCHAR(255) NOT NULL UNIQUE, name TEXT NOT NULL, age INTEGER NOT NULL, bio TEXT,
           score DOUBLE NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .expect("schema");
    against_create_batch!("mariadb", &mut conn, cfg, lines);
    keys_against_count!("mariadb", &mut conn, cfg, lines);

    // The server's own bulk path, as PostgreSQL's `\copy` is there: the `mariadb` client's
    // `LOAD DATA LOCAL INFILE` of the same number of rows from a file, in a transaction rolled
    // back as the other sides are, client start and connection included.
    let options: sqlx::mysql::MySqlConnectOptions = url.parse().expect("DATABASE_URL_MARIADB");
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(user, _)| user.split_once(':'))
        .map_or("", |(_, password)| password);
    let path = rows_file(cfg.rows, "mariadb");
    let load = format!(
        "BEGIN; LOAD DATA LOCAL INFILE '{}' INTO TABLE sqlx_factory_seed_bench.bench_users \
         (email, name, age, bio, score); ROLLBACK;",
        path.display()
    );
    let client = std::process::Command::new("mariadb")
        .arg("--version")
        .output()
        .is_ok();
    if client {
        let times = rolled_back_rounds!(
            conn,
            cfg,
            |tx| {
                let n = User::factory()
                    .with_session(&mut tx)
                    .insert_many(cfg.rows)
                    .await
                    .expect("insert_many");
                assert_eq!(n, cfg.rows);
            },
            {
                let out = std::process::Command::new("mariadb")
                    .arg("--local-infile=1")
                    .args(["-h", options.get_host(), "-u", options.get_username()])
                    .arg(format!("--port={}", options.get_port()))
                    .env("MYSQL_PWD", password)
                    .args(["-e", &load])
                    .output()
                    .expect("run mariadb");
                assert!(
                    out.status.success(),
                    "mariadb LOAD DATA failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        );
        lines.push(Line::new(
            "insert_many / mariadb LOAD DATA",
            "mariadb",
            cfg.rows * cfg.rounds as u64,
            &times,
        ));
    } else {
        println!("# the mariadb client was not found: the LOAD DATA reference is skipped");
    }
    let _ = std::fs::remove_file(&path);
}

/// `s` escaped for `COPY`'s text format, which is also `LOAD DATA`'s default.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn copy_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// `rows` rows drawn from the factory as tab-separated text (`\N` for NULL), written to a
/// file in the temp dir: the bulk loaders' input, made once, outside the timings.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn rows_file(rows: u64, backend: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "sqlx-factory-seed-bench-{backend}-{}.txt",
        std::process::id()
    ));
    let mut text = String::new();
    for user in User::factory().build_batch(rows as usize) {
        copy_text(&mut text, &user.email);
        text.push('\t');
        copy_text(&mut text, &user.name);
        let _ = write!(text, "\t{}\t", user.age);
        match &user.bio {
            Some(bio) => copy_text(&mut text, bio),
            None => text.push_str("\\N"),
        }
        let _ = writeln!(text, "\t{}", user.score);
    }
    std::fs::write(&path, text).expect("write the rows file");
    path
}

#[cfg(feature = "postgres")]
async fn postgres(url: &str, cfg: &Config, lines: &mut Vec<Line>) {
    const SCHEMA: &str = "sqlx_factory_seed_bench";
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("DATABASE_URL_PG");
    sqlx::raw_sql(
        "DROP SCHEMA IF EXISTS sqlx_factory_seed_bench CASCADE; CREATE SCHEMA sqlx_factory_seed_bench;
         SET search_path TO sqlx_factory_seed_bench;
         CREATE TABLE bench_users (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE,
           name TEXT NOT NULL, age INTEGER NOT NULL, bio TEXT, score DOUBLE PRECISION NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .expect("schema");

    // The reference's rows: the same factory's values, as `COPY` text, written once.
    let path = rows_file(cfg.rows, "postgres");
    let copy = format!(
        "\\copy {SCHEMA}.bench_users (email, name, age, bio, score) FROM '{}'",
        path.display()
    );
    let psql_available = std::process::Command::new("psql")
        .arg("--version")
        .output()
        .is_ok();
    let sides = if psql_available { 3 } else { 2 };
    if !psql_available {
        println!("# psql not found: the \\copy reference is skipped");
    }

    let truncate = "TRUNCATE bench_users RESTART IDENTITY";
    let mut times = vec![Duration::ZERO; sides];
    for round in 0..cfg.rounds {
        for k in 0..sides {
            let side = (round + k) % sides;
            // Every side starts from an empty table; the truncate is not timed.
            sqlx::raw_sql(truncate)
                .execute(&mut conn)
                .await
                .expect("truncate");
            let start = Instant::now();
            match side {
                0 => {
                    let n = User::factory()
                        .with_session(&mut conn)
                        .insert_many(cfg.rows)
                        .await
                        .expect("insert_many");
                    assert_eq!(n, cfg.rows);
                }
                1 => {
                    let rows = User::factory()
                        .with_session(&mut conn)
                        .create_batch(cfg.rows as usize)
                        .await
                        .expect("create_batch");
                    std::hint::black_box(rows);
                }
                _ => {
                    let out = std::process::Command::new("psql")
                        .args([url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", &copy])
                        .output()
                        .expect("run psql");
                    assert!(
                        out.status.success(),
                        "psql \\copy failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
            times[side] += start.elapsed();
        }
    }
    let rows = cfg.rows * cfg.rounds as u64;
    lines.push(Line::new(
        "insert_many / create_batch",
        "postgres",
        rows,
        &[times[0], times[1]],
    ));
    if psql_available {
        lines.push(Line::new(
            "insert_many / psql \\copy",
            "postgres",
            rows,
            &[times[0], times[2]],
        ));
    }
    let _ = std::fs::remove_file(&path);
    sqlx::raw_sql(truncate)
        .execute(&mut conn)
        .await
        .expect("truncate");
    keys_against_count!("postgres", &mut conn, cfg, lines);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let cfg = if quick {
        Config {
            rows: 20_000,
            rounds: 2,
        }
    } else {
        Config {
            rows: 200_000,
            rounds: 6,
        }
    };
    println!(
        "{:<34} {:<9} {:>12} {:>12} {:>6}",
        "scenario", "backend", "seed/s", "reference/s", "ratio"
    );
    let mut lines = Vec::new();
    sqlite(&cfg, &mut lines).await;
    #[cfg(feature = "postgres")]
    if let Some(url) = url("DATABASE_URL_PG") {
        postgres(&url, &cfg, &mut lines).await;
    }
    #[cfg(feature = "mysql")]
    if let Some(url) = url("DATABASE_URL_MARIADB") {
        mariadb(&url, &cfg, &mut lines).await;
    }
    #[cfg(not(any(feature = "postgres", feature = "mysql")))]
    let _ = url;
    if !quick {
        write_doc(&lines, &cfg);
    }
}

/// Replaces the table between the markers in docs/PERFORMANCE.md.
fn write_doc(lines: &[Line], cfg: &Config) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/PERFORMANCE.md");
    let Ok(doc) = std::fs::read_to_string(path) else {
        return;
    };
    let (begin, end) = ("<!-- seed:begin -->", "<!-- seed:end -->");
    let (Some(start), Some(stop)) = (doc.find(begin), doc.find(end)) else {
        println!("# markers not found in {path}: table not written");
        return;
    };
    let mut table = format!(
        "\n{} rows per side and round, {} rounds.\n\n| scenario | backend | insert_many rows/s | reference rows/s | ratio |\n|---|---|---:|---:|---:|\n",
        cfg.rows, cfg.rounds
    );
    for l in lines {
        let _ = writeln!(
            table,
            "| {} | {} | {:.0} | {:.0} | {:.2} |",
            l.scenario.replace('\\', "\\\\"),
            l.backend,
            l.seed_per_s,
            l.reference_per_s,
            l.seed_per_s / l.reference_per_s
        );
    }
    let updated = format!("{}{begin}{table}{}", &doc[..start], &doc[stop..]);
    std::fs::write(path, updated).expect("write docs/PERFORMANCE.md");
    println!("# table written to {path}");
}
