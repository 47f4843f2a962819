//! `check!` on models with the mistakes new users make, against a PostgreSQL schema: the report
//! the README shows. It works in a fresh schema `sqlx_factory_schema_check` and rolls back.
//!
//! ```sh
//! DATABASE_URL_PG=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --example schema_check --features postgres,chrono
//! ```

#[path = "common/mod.rs"]
mod common;

use sqlx::Connection;
use sqlx::types::chrono::{DateTime, Utc};
use sqlx_factory::Factory;

#[derive(Debug, Clone, Copy, PartialEq, sqlx::Type, fake::Dummy)]
#[sqlx(type_name = "plan", rename_all = "lowercase")]
enum Plan {
    Free,
    Pro,
    Team, // the database says 'business'
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "accounts")]
#[allow(dead_code)]
struct Account {
    id: i64, // BIGSERIAL, but no `primary_key`
    #[factory(sequence = |n| format!("account{n}@example.com"))]
    email: String, // VARCHAR(16)
    plan: Plan,
    credits: i64,              // CHECK (credits >= 0)
    created_at: DateTime<Utc>, // DEFAULT now(), but no `generated`
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "invoices")]
#[allow(dead_code)]
struct Invoice {
    #[factory(primary_key)]
    id: i64,
    account_id: i64, // REFERENCES accounts, but no `association`
    #[factory(default = 1)]
    lines: i32, // BIGINT
                     // no field for `number TEXT NOT NULL`
}

const SCHEMA: &str = "
    DROP SCHEMA IF EXISTS sqlx_factory_schema_check CASCADE;
    CREATE SCHEMA sqlx_factory_schema_check;
    SET search_path TO sqlx_factory_schema_check;
    CREATE TYPE plan AS ENUM ('free', 'pro', 'business');
    CREATE TABLE accounts (
        id         BIGSERIAL PRIMARY KEY,
        email      VARCHAR(16) NOT NULL UNIQUE,
        plan       plan NOT NULL,
        credits    BIGINT NOT NULL CHECK (credits >= 0),
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    );
    CREATE TABLE invoices (
        id         BIGSERIAL PRIMARY KEY,
        account_id BIGINT NOT NULL REFERENCES accounts (id),
        lines      BIGINT NOT NULL,
        number     TEXT NOT NULL
    );
";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(mut conn) = common::postgres("schema_check", SCHEMA.to_string()).await? else {
        return Ok(());
    };
    let mut tx = conn.begin().await?;
    let report = sqlx_factory::check!(&mut tx, Account, Invoice).await;
    println!("{report}");
    tx.rollback().await?;
    sqlx::raw_sql("DROP SCHEMA sqlx_factory_schema_check CASCADE")
        .execute(&mut conn)
        .await?;
    Ok(())
}
