//! The column types real schemas use, with fake values and no attribute: uuid, chrono and time
//! date/times, JSON, decimals, `sqlx::Type` enums and transparent newtypes on every backend
//! that stores them; arrays, numeric and a database enum on PostgreSQL. Needs the features
//! `uuid chrono time json rust_decimal` (`--all-features`).

#![cfg(all(
    feature = "uuid",
    feature = "chrono",
    feature = "time",
    feature = "json"
))]

mod common;

use sqlx::types::chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::{JsonValue, Uuid};
use sqlx_factory::Factory;

use common::Kind;

#[path = "common/app_types.rs"]
mod app_types;

use app_types::{Cents, Plan};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "typed")]
struct Typed {
    #[factory(primary_key)]
    id: i64,
    token: Uuid,
    at: DateTime<Utc>,
    day: NaiveDate,
    stamp: sqlx::types::time::OffsetDateTime,
    settings: JsonValue,
    plan: Plan,
    price: Cents,
    maybe_at: Option<DateTime<Utc>>,
}

fn ddl(kind: Kind) -> String {
    let (uuid, at, stamp, json, plan) = match kind {
        Kind::Sqlite => ("BLOB", "TEXT", "TEXT", "TEXT", "TEXT"),
        Kind::Postgres => ("UUID", "TIMESTAMPTZ", "TIMESTAMPTZ", "JSONB", "TEXT"),
        // sqlx maps a derived enum to MySQL's ENUM type, and compares the column's flags
        // exactly: `ENUM .. NOT NULL` carries NOT_NULL and fails to decode (a sqlx 0.9
        // limitation), so the column is left nullable.
        Kind::MariaDb => (
            "BINARY(16)",
            "DATETIME(6)",
            "TIMESTAMP(6)",
            "JSON",
            "ENUM('free', 'pro', 'team') NULL",
        ),
    };
    format!(
        "CREATE TABLE typed (id {pk}, token {uuid} NOT NULL, at {at} NOT NULL, day DATE NOT NULL,
         stamp {stamp} NOT NULL, settings {json} NOT NULL, plan {plan},
         price BIGINT NOT NULL, maybe_at {at})",
        pk = kind.serial_pk()
    )
}

on_every_backend! {
    /// Created with no attribute at all on these fields; what RETURNING gives is what a plain
    /// SELECT reads.
    async fn common_types_have_fake_values(conn, kind) {
        exec!(conn, ddl(kind));
        let built = Typed::factory().build();
        assert_ne!(built.token, Uuid::nil());
        let created = Typed::factory().with_session(&mut *conn).create_batch(20).await.unwrap();
        let stored: Vec<Typed> = sqlx::query_as("SELECT * FROM typed ORDER BY id").fetch_all(&mut *conn).await.unwrap();
        assert_eq!(created, stored);
        let plans: std::collections::HashSet<_> = created.iter().map(|t| format!("{:?}", t.plan)).collect();
        assert!(plans.len() > 1, "variants vary: {plans:?}");
        let tokens: std::collections::HashSet<_> = created.iter().map(|t| t.token).collect();
        assert_eq!(tokens.len(), 20);
    }
}

/// `#[sqlx(json)]`: the field's own type, stored as JSON.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "docs")]
struct Doc {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(json)]
    tags: Vec<String>,
}

fn docs_ddl(kind: Kind) -> String {
    let json = match kind {
        Kind::Sqlite => "TEXT",
        Kind::Postgres => "JSONB",
        Kind::MariaDb => "JSON",
    };
    format!(
        "CREATE TABLE docs (id {}, tags {json} NOT NULL)",
        kind.serial_pk()
    )
}

on_every_backend! {
    async fn json_attribute_fields(conn, kind) {
        exec!(conn, docs_ddl(kind));
        let doc = Doc::factory()
            .with_session(&mut *conn)
            .tags(vec!["a".to_string(), "b \"quoted\"".to_string()])
            .create()
            .await
            .unwrap();
        assert_eq!(doc.tags, ["a", "b \"quoted\""]);
        let many = Doc::factory().with_session(&mut *conn).create_batch(5).await.unwrap();
        let stored: Vec<Doc> = sqlx::query_as("SELECT * FROM docs ORDER BY id").fetch_all(&mut *conn).await.unwrap();
        assert_eq!(stored[1..], many[..]);
    }
}

#[cfg(all(feature = "postgres", feature = "rust_decimal"))]
mod postgres_types {
    use super::*;
    use fake::Dummy;
    use sqlx::types::Decimal;

    /// A PostgreSQL enum type, mapped by name.
    #[derive(Debug, Clone, Copy, PartialEq, sqlx::Type, Dummy)]
    #[sqlx(type_name = "role", rename_all = "lowercase")]
    enum Role {
        Reader,
        Writer,
        Admin,
    }

    /// `uuid` key filled by `gen_random_uuid()`, `timestamptz DEFAULT now()`, a `text[]`, a
    /// `numeric`, a database enum.
    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "pg_typed")]
    struct PgTyped {
        #[factory(primary_key)]
        id: Uuid,
        #[factory(generated)]
        created_at: DateTime<Utc>,
        tags: Vec<String>,
        price: Decimal,
        role: Role,
    }

    #[tokio::test]
    async fn postgres_only_types() {
        let mut conn = common::postgres("postgres_only_types").await;
        exec!(
            &mut conn,
            "CREATE TYPE role AS ENUM ('reader', 'writer', 'admin');
            CREATE TABLE pg_typed (id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
              created_at TIMESTAMPTZ NOT NULL DEFAULT now(), tags TEXT[] NOT NULL,
              price NUMERIC NOT NULL, role role NOT NULL)"
                .to_string()
        );
        check_clean!(&mut conn, Kind::Postgres, PgTyped);
        let rows = PgTyped::factory()
            .with_session(&mut conn)
            .create_batch(10)
            .await
            .unwrap();
        let stored: Vec<PgTyped> = sqlx::query_as("SELECT * FROM pg_typed")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for row in &rows {
            assert!(stored.contains(row), "{row:?} stored as is");
            assert!(row.created_at <= Utc::now());
        }
        let set = PgTyped::factory()
            .with_session(&mut conn)
            .tags(vec!["rust".to_string(), "sql".to_string()])
            .price(Decimal::new(1999, 2))
            .role(Role::Admin)
            .create()
            .await
            .unwrap();
        assert_eq!(
            (set.tags.len(), set.price.to_string(), set.role),
            (2, "19.99".to_string(), Role::Admin)
        );
    }
}

#[cfg(all(feature = "mysql", feature = "rust_decimal"))]
#[tokio::test]
async fn decimal_on_mariadb() {
    use sqlx::types::Decimal;

    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "priced")]
    struct Priced {
        #[factory(primary_key)]
        id: i64,
        #[factory(fake = 0..100_000_i64)]
        cents: i64,
        price: Decimal,
    }

    let mut conn = common::mariadb("decimal_on_mariadb").await;
    exec!(&mut conn, "CREATE TABLE priced (id BIGINT AUTO_INCREMENT PRIMARY KEY, cents BIGINT NOT NULL, price DECIMAL(30, 10) NOT NULL)".to_string());
    check_clean!(&mut conn, Kind::MariaDb, Priced);
    let created = Priced::factory()
        .with_session(&mut conn)
        .price(Decimal::new(123_456, 3))
        .create()
        .await
        .unwrap();
    assert_eq!(created.price.to_string(), "123.4560000000");
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there.
    async fn check_every_model(conn, kind) {
        exec!(conn, ddl(kind));
        exec!(conn, docs_ddl(kind));
        check_clean!(&mut *conn, kind, Typed, Doc);
    }
}

/// How deeply `value` nests (a scalar: 0).
fn json_depth(value: &JsonValue) -> usize {
    match value {
        JsonValue::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        JsonValue::Object(members) => 1 + members.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A `JsonValue` with no attribute is a document every JSON column stores: fake's own nests
/// without bound, past the 32 levels MariaDB's `JSON` column accepts (its create failed at
/// random). Drawn 5 000 times under one seed: all shallow, and they vary.
#[test]
fn json_documents_are_shallow() {
    let built = Typed::factory().seed(11).build_batch(5_000);
    let deepest = built
        .iter()
        .map(|t| json_depth(&t.settings))
        .max()
        .unwrap_or(0);
    assert!(deepest <= 4, "a document {deepest} levels deep");
    assert!(deepest >= 2, "documents nest: deepest {deepest}");
    let shapes: std::collections::HashSet<String> =
        built.iter().map(|t| t.settings.to_string()).collect();
    assert!(
        shapes.len() > 2_500,
        "documents vary: {} distinct",
        shapes.len()
    );
}

on_every_backend! {
    /// 2 000 documents drawn with no attribute, created and read back equal.
    async fn json_documents_are_stored(conn, kind) {
        exec!(conn, ddl(kind));
        let created = Typed::factory().with_session(&mut *conn).seed(12).create_batch(2_000).await.unwrap();
        let stored: Vec<Typed> = sqlx::query_as("SELECT * FROM typed ORDER BY id").fetch_all(&mut *conn).await.unwrap();
        assert_eq!(created, stored);
    }
}
