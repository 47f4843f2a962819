//! What `check!` costs on MariaDB as the server holds more databases (`#[sqlx::test]` makes one
//! per test): the models of tests/scale.rs (120, 2 and 1 columns besides the key) checked with
//! none of ours beside them and with `DATABASES` more (400 unless set), each holding
//! three tables with a key, a foreign key, a `CHECK` and a trigger. The rounds alternate between
//! the two counts (the other databases are created and dropped each round), so a change in the
//! machine's speed falls on both. It prints, for each count, the median of `ROUNDS` rounds (3
//! unless set) of the median of `CHECKS` checks (3 unless set) on a warm connection, how many
//! databases the server held (others' count too), and the ratio many / none.
//!
//! ```sh
//! DATABASE_URL_MARIADB=mysql://root@127.0.0.1:3306/test \
//!     cargo bench --features mysql --bench check_many_databases
//! ```
//!
//! It works in the databases `<database>__sf_many` and `<database>__sf_many_<n>` (`<database>`
//! the URL's) and drops them afterwards.

#[path = "common/mod.rs"]
mod common;

#[path = "../tests/common/scale_models.rs"]
mod scale_models;

use std::time::{Duration, Instant};

use scale_models::{Big, Crowd, WIDE_COLUMNS, Wide};
use sqlx::{Connection, MySqlConnection};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(conn: &mut MySqlConnection, sql: String) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(conn)
        .await
        .expect("setup SQL");
}

/// Makes `count` other databases exist (`<base>_0` ..), dropping any above it.
async fn other_databases(conn: &mut MySqlConnection, base: &str, from: usize, count: usize) {
    let mut sql = String::new();
    for i in count..from {
        sql.push_str(&format!("DROP DATABASE IF EXISTS {base}_{i};"));
    }
    for i in from..count {
        let db = format!("{base}_{i}");
        sql.push_str(&format!(
            "CREATE DATABASE {db};
             CREATE TABLE {db}.users (id BIGINT AUTO_INCREMENT PRIMARY KEY,
                                      email VARCHAR(64) NOT NULL UNIQUE, age INT CHECK (age >= 0));
             CREATE TABLE {db}.posts (id BIGINT AUTO_INCREMENT PRIMARY KEY,
                                      user_id BIGINT NOT NULL REFERENCES users (id),
                                      title VARCHAR(100) NOT NULL);
             CREATE TABLE {db}.tags (id BIGINT AUTO_INCREMENT PRIMARY KEY, label VARCHAR(20) NOT NULL);
             CREATE TRIGGER {db}.tags_fill BEFORE INSERT ON {db}.tags
                 FOR EACH ROW SET NEW.label = LOWER(NEW.label);"
        ));
    }
    if !sql.is_empty() {
        run(conn, sql).await;
    }
}

/// The median time of one `check!` of the three models, over `checks` runs, and the number of
/// databases on the server then (others' too).
async fn median_check(conn: &mut MySqlConnection, checks: usize) -> (Duration, i64) {
    let on_server: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.SCHEMATA")
        .fetch_one(&mut *conn)
        .await
        .expect("count databases");
    let mut times = Vec::with_capacity(checks);
    for _ in 0..checks {
        let start = Instant::now();
        let report = sqlx_factory::check!(&mut *conn, Wide, Big, Crowd).await;
        times.push(start.elapsed());
        assert!(report.findings().is_empty(), "{report}");
    }
    times.sort();
    (times[checks / 2], on_server)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(url) = common::url("DATABASE_URL_MARIADB") else {
        return;
    };
    let (databases, rounds, checks) = (
        env_number("DATABASES", 400),
        env_number("ROUNDS", 3).max(1),
        env_number("CHECKS", 3).max(1),
    );
    let options: sqlx::mysql::MySqlConnectOptions = url.parse().expect("DATABASE_URL_MARIADB");
    let base = format!("{}__sf_many", options.get_database().unwrap_or("test"));
    let mut conn = MySqlConnection::connect(&url).await.expect("connect");
    run(
        &mut conn,
        format!("DROP DATABASE IF EXISTS {base}; CREATE DATABASE {base}; USE {base}"),
    )
    .await;
    let columns: Vec<String> = WIDE_COLUMNS
        .iter()
        .map(|c| format!("{c} BIGINT NOT NULL"))
        .collect();
    run(
        &mut conn,
        format!(
            "CREATE TABLE wide (id BIGINT AUTO_INCREMENT PRIMARY KEY, {});
             CREATE TABLE big (id BIGINT AUTO_INCREMENT PRIMARY KEY, n BIGINT NOT NULL,
                               label VARCHAR(255) NOT NULL UNIQUE);
             CREATE TABLE crowd (id BIGINT AUTO_INCREMENT PRIMARY KEY,
                                 email VARCHAR(255) NOT NULL UNIQUE)",
            columns.join(", ")
        ),
    )
    .await;
    // Left by an interrupted run.
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE CONCAT(?, '\\_%')",
    )
    .bind(&base)
    .fetch_all(&mut conn)
    .await
    .expect("list databases");
    for db in left {
        run(&mut conn, format!("DROP DATABASE {db}")).await;
    }

    let mut none = Vec::new();
    let mut many = Vec::new();
    let mut present = 0;
    for round in 0..rounds {
        // The order alternates per round.
        for side in [round % 2, 1 - round % 2] {
            let count = if side == 0 { 0 } else { databases };
            other_databases(&mut conn, &base, present, count).await;
            present = count;
            run(&mut conn, format!("USE {base}")).await;
            let measured = median_check(&mut conn, checks).await;
            if side == 0 { &mut none } else { &mut many }.push(measured);
        }
    }
    other_databases(&mut conn, &base, present, 0).await;
    run(&mut conn, format!("DROP DATABASE {base}")).await;

    none.sort();
    many.sort();
    let ((none, none_on_server), (many, many_on_server)) = (none[rounds / 2], many[rounds / 2]);
    println!(
        "check! of 3 models (123 columns) on MariaDB: {:.0} ms with {none_on_server} databases \
         on the server, {:.0} ms with {databases} more ({many_on_server}): ratio {:.2}",
        none.as_secs_f64() * 1e3,
        many.as_secs_f64() * 1e3,
        many.as_secs_f64() / none.as_secs_f64()
    );
}
