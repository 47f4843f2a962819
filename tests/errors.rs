//! Database errors: the message names factory, operation and table; the sqlx error is the source;
//! nothing is committed.

mod common;

use std::error::Error as _;

use sqlx::Connection;
use sqlx_factory::{Factory, Operation};

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "members")]
struct Member {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("member{n}@example.com"))]
    email: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "no_such_table")]
struct Ghost {
    name: String,
}

fn is_unique_violation(e: &sqlx_factory::Error) -> bool {
    match e.source().and_then(|s| s.downcast_ref::<sqlx::Error>()) {
        Some(sqlx::Error::Database(db)) => db.is_unique_violation(),
        _ => false,
    }
}

on_every_backend! {
    async fn unique_violation_names_factory_table_and_operation(conn, kind) {
        exec!(conn, format!(
            "CREATE TABLE members (id {}, email {} NOT NULL UNIQUE)",
            kind.serial_pk(),
            kind.varchar()
        ));
        let mut tx = conn.begin().await.unwrap();
        Member::factory().with_session(&mut tx).email("dup@example.com").create().await.unwrap();
        let err = Member::factory()
            .with_session(&mut tx)
            .email("dup@example.com")
            .create()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("MemberFactory::create into table `members` failed: error returned from database: "),
            "{text}"
        );
        // Each backend's own words for the constraint.
        let db_words = match kind {
            Kind::Sqlite => "UNIQUE constraint failed: members.email",
            Kind::Postgres => "duplicate key value violates unique constraint",
            Kind::MariaDb => "Duplicate entry 'dup@example.com'",
        };
        assert!(text.contains(db_words), "{text}");
        assert_eq!((err.factory(), err.table(), err.operation()), ("MemberFactory", "members", Operation::Create));
        assert!(is_unique_violation(&err), "source() is the sqlx::Error: {err:?}");
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    async fn batch_error_names_the_batch(conn, kind) {
        exec!(conn, format!(
            "CREATE TABLE members (id {}, email {} NOT NULL UNIQUE)",
            kind.serial_pk(),
            kind.varchar()
        ));
        let err = Member::factory()
            .with_session(&mut *conn)
            .email("same@example.com")
            .create_batch(3)
            .await
            .unwrap_err();
        assert_eq!(err.operation(), Operation::CreateBatch { rows: 3 });
        assert!(
            err.to_string().starts_with("MemberFactory::create_batch(3) into table `members` failed: "),
            "{err}"
        );
        assert!(is_unique_violation(&err));
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(count, 0, "the failed statement inserted nothing");
    }
}

on_every_backend! {
    async fn missing_table_is_named(conn, _kind) {
        let err = Ghost::factory().with_session(&mut *conn).create().await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("GhostFactory::create into table `no_such_table` failed: "), "{text}");
        assert!(text.contains("no_such_table"), "{text}");
        assert!(matches!(err.as_sqlx().unwrap(), sqlx::Error::Database(_)));
    }
}
