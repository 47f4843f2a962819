//! `#[factory(get_or_create(..))]`: a create whose key matches an existing row returns that row
//! instead of failing on the UNIQUE constraint, in the caller's transaction, without aborting
//! it on PostgreSQL.

mod common;

use sqlx::Connection;
use sqlx_factory::Factory;

use common::Kind;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "accounts", get_or_create(email))]
struct Account {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("account{n}@example.com"))]
    email: String,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
}

async fn schema<C>(conn: &mut C, kind: Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    exec!(
        conn,
        format!(
            "CREATE TABLE accounts (id {}, email {} NOT NULL UNIQUE, name TEXT NOT NULL)",
            kind.serial_pk(),
            kind.varchar()
        )
    );
}

on_every_backend! {
    /// The second create with the same email returns the first row, as stored; the
    /// transaction goes on and commits both rows' worth of work.
    async fn existing_row_is_returned(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let first = Account::factory().with_session(&mut tx).email("ann@example.com").name("Ann").create().await.unwrap();
        let again = Account::factory().with_session(&mut tx).email("ann@example.com").name("Other").create().await.unwrap();
        assert_eq!(again, first, "the stored row, not the new values");
        let bob = Account::factory().with_session(&mut tx).name("Bob").create().await.unwrap();
        tx.commit().await.unwrap();
        let stored: Vec<(i64, String, String)> = sqlx::query_as("SELECT id, email, name FROM accounts ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(stored, [
            (first.id, "ann@example.com".to_string(), "Ann".to_string()),
            (bob.id, bob.email.clone(), "Bob".to_string()),
        ]);
    }
}

on_every_backend! {
    /// Two batches that overlap: the second returns the rows the first made for the shared
    /// keys, in order, and creates the rest. A key repeated inside one batch is one row.
    async fn overlapping_batches(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        // One seed, one sequence: the first 5 emails of both batches are the same.
        let five = Account::factory().with_session(&mut tx).seed(7).create_batch(5).await.unwrap();
        let eight = Account::factory().with_session(&mut tx).seed(7).create_batch(8).await.unwrap();
        assert_eq!(eight[..5], five[..], "the existing rows, in order");
        assert!(eight[5..].iter().all(|a| a.id > five[4].id), "three new rows");
        let same = Account::factory().with_session(&mut tx).email("dup@example.com").create_batch(3).await.unwrap();
        assert!(same.iter().all(|a| a.id == same[0].id && a.email == "dup@example.com"));
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(total, 9);
        tx.rollback().await.unwrap();
    }
}
