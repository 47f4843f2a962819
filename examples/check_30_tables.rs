//! What `check!` costs on a 30-table PostgreSQL schema: each table has a key, a foreign key to
//! the one before, a `VARCHAR`, an integer with a `CHECK`, a database enum and a `DEFAULT now()`
//! column. Prints the median of 20 checks on a warm connection and the first check on a fresh
//! one. It works in the schema `sqlx_factory_check_30_tables` and drops it afterwards.
//!
//! ```sh
//! DATABASE_URL_PG=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release --example check_30_tables --features postgres,chrono
//! ```

use std::time::{Duration, Instant};

use sqlx::types::chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};
use sqlx_factory::Factory;

#[derive(Debug, Clone, Copy, PartialEq, sqlx::Type, fake::Dummy)]
#[sqlx(type_name = "status", rename_all = "lowercase")]
enum Status {
    Draft,
    Live,
    Gone,
}

/// `T0` has no parent; `T<i>` has a foreign key to `T<i-1>`.
macro_rules! tables {
    ($first:ident, $($model:ident $table:literal => $_parent:ident),* $(,)?) => {
        #[derive(Debug, Clone, sqlx::FromRow, Factory)]
        #[factory(table = "t0")]
        #[allow(dead_code)]
        struct $first {
            #[factory(primary_key)]
            id: i64,
            #[factory(sequence = |n| format!("name{n}"))]
            name: String,
            #[factory(fake = 0..100)]
            score: i32,
            status: Status,
            #[factory(generated)]
            created_at: DateTime<Utc>,
        }
        $(
            #[derive(Debug, Clone, sqlx::FromRow, Factory)]
            #[factory(table = $table)]
            #[allow(dead_code)]
            struct $model {
                #[factory(primary_key)]
                id: i64,
                // A foreign key, but no `association`: inside `macro_rules!` the derive's
                // association code does not resolve (hygiene), and the check's cost is the same.
                #[factory(default = 0)]
                parent_id: i64,
                #[factory(sequence = |n| format!("name{n}"))]
                name: String,
                #[factory(fake = 0..100)]
                score: i32,
                status: Status,
                #[factory(generated)]
                created_at: DateTime<Utc>,
            }
        )*
    };
}

tables!(
    T0,
    T1 "t1" => T0,
    T2 "t2" => T1,
    T3 "t3" => T2,
    T4 "t4" => T3,
    T5 "t5" => T4,
    T6 "t6" => T5,
    T7 "t7" => T6,
    T8 "t8" => T7,
    T9 "t9" => T8,
    T10 "t10" => T9,
    T11 "t11" => T10,
    T12 "t12" => T11,
    T13 "t13" => T12,
    T14 "t14" => T13,
    T15 "t15" => T14,
    T16 "t16" => T15,
    T17 "t17" => T16,
    T18 "t18" => T17,
    T19 "t19" => T18,
    T20 "t20" => T19,
    T21 "t21" => T20,
    T22 "t22" => T21,
    T23 "t23" => T22,
    T24 "t24" => T23,
    T25 "t25" => T24,
    T26 "t26" => T25,
    T27 "t27" => T26,
    T28 "t28" => T27,
    T29 "t29" => T28
);

fn schema() -> String {
    let mut sql = String::from(
        "DROP SCHEMA IF EXISTS sqlx_factory_check_30_tables CASCADE;
         CREATE SCHEMA sqlx_factory_check_30_tables;
         SET search_path TO sqlx_factory_check_30_tables;
         CREATE TYPE status AS ENUM ('draft', 'live', 'gone');",
    );
    for i in 0..30 {
        let parent = if i == 0 {
            String::new()
        } else {
            format!("parent_id BIGINT NOT NULL REFERENCES t{} (id),", i - 1)
        };
        sql.push_str(&format!(
            "CREATE TABLE t{i} (id BIGSERIAL PRIMARY KEY, {parent} name VARCHAR(64) NOT NULL,
                 score INT NOT NULL CHECK (score >= 0), status status NOT NULL,
                 created_at TIMESTAMPTZ NOT NULL DEFAULT now());"
        ));
    }
    sql
}

macro_rules! check_all {
    ($tx:expr) => {
        sqlx_factory::check!(
            $tx, T0, T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15, T16, T17,
            T18, T19, T20, T21, T22, T23, T24, T25, T26, T27, T28, T29
        )
    };
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(url) = std::env::var("DATABASE_URL_PG")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        println!("check_30_tables: skipped, set DATABASE_URL_PG to a PostgreSQL URL");
        return Ok(());
    };
    let mut setup = PgConnection::connect(&url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(schema()))
        .execute(&mut setup)
        .await?;

    // A fresh connection: sqlx looks up the enum type once, and prepares each SELECT once.
    let mut conn = PgConnection::connect(&url).await?;
    sqlx::raw_sql("SET search_path TO sqlx_factory_check_30_tables")
        .execute(&mut conn)
        .await?;
    let mut tx = conn.begin().await?;
    let start = Instant::now();
    let report = check_all!(&mut tx).await;
    let first = start.elapsed();
    println!("{report}");
    report.deny_warnings().into_result()?;

    let mut runs: Vec<Duration> = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        let report = check_all!(&mut tx).await;
        runs.push(start.elapsed());
        assert!(report.findings().is_empty());
    }
    runs.sort();
    tx.rollback().await?;
    println!(
        "30 tables: first check {:.0} ms on a fresh connection, then median {:.0} ms (min {:.0}, max {:.0}) over 20",
        first.as_secs_f64() * 1e3,
        runs[10].as_secs_f64() * 1e3,
        runs[0].as_secs_f64() * 1e3,
        runs[19].as_secs_f64() * 1e3,
    );
    // The part spent drawing the samples (1 000 objects per model, each with its own seed).
    let start = Instant::now();
    for i in 0..30_000u64 {
        std::hint::black_box(T1::factory().seed(i).build());
    }
    println!(
        "of which drawing 30 x 1000 sample objects: {:.0} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    sqlx::raw_sql("DROP SCHEMA sqlx_factory_check_30_tables CASCADE")
        .execute(&mut setup)
        .await?;
    Ok(())
}
