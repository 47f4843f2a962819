//! `create_batch(n)`: multi-row INSERTs in chunks, results in the order sent, nothing for n = 0.

mod common;

use sqlx::Connection;
use sqlx_factory::Factory;

#[path = "common/statements.rs"]
mod statements;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "batch_users")]
struct BatchUser {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("batch{n}@example.com"))]
    email: String,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
    #[factory(default = 18)]
    age: i32,
}

async fn create_table<C>(conn: &mut C, kind: common::Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    exec!(
        conn,
        format!(
            "CREATE TABLE batch_users (id {pk}, email {text} NOT NULL UNIQUE, name TEXT NOT NULL,
         age INTEGER NOT NULL)",
            pk = kind.serial_pk(),
            text = kind.varchar(),
        )
    );
}

on_every_backend! {
    /// 1000 rows go in as two 500-row statements; the result is in the order sent and equals
    /// what a plain SELECT reads back.
    async fn thousand_rows_two_statements(conn, kind) {
        create_table(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let counting = statements::start().await;
        let users = BatchUser::factory().with_session(&mut tx).create_batch(1000).await.unwrap();
        let sent = counting.inserts_into(kind, &["batch_users"]);
        drop(counting);

        assert_eq!(sent.len(), 2, "one statement per 500-row chunk: {:?}", sent.iter().map(|s| &s.sql[..60]).collect::<Vec<_>>());
        assert!(sent.iter().all(|s| s.rows_returned == 500), "{:?}", sent.iter().map(|s| s.rows_returned).collect::<Vec<_>>());
        assert_eq!(users.len(), 1000);
        assert!(users.windows(2).all(|w| w[0].id < w[1].id), "ids ascend in the order sent");
        let seq = |u: &BatchUser| u.email.trim_start_matches("batch").trim_end_matches("@example.com").parse::<u64>().unwrap();
        assert!(users.windows(2).all(|w| seq(&w[0]) < seq(&w[1])), "sequence order kept");

        let stored: Vec<(i64, String, String, i32)> =
            sqlx::query_as("SELECT id, email, name, age FROM batch_users ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        let returned: Vec<_> = users.iter().map(|u| (u.id, u.email.clone(), u.name.clone(), u.age)).collect();
        assert_eq!(stored, returned);
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// A partial last chunk gets its own statement; overrides apply to every row.
    async fn partial_chunk_and_overrides(conn, kind) {
        create_table(conn, kind).await;
        let counting = statements::start().await;
        let users = BatchUser::factory().with_session(&mut *conn).age(44).create_batch(501).await.unwrap();
        let sent = counting.inserts_into(kind, &["batch_users"]);
        drop(counting);
        assert_eq!(sent.iter().map(|s| s.rows_returned).collect::<Vec<_>>(), [500, 1]);
        assert!(users.iter().all(|u| u.age == 44));
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM batch_users WHERE age = 44")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(count, 501);
    }
}

on_every_backend! {
    /// `create_batch(0)` sends nothing and returns nothing.
    async fn zero_rows_send_nothing(conn, kind) {
        create_table(conn, kind).await;
        let counting = statements::start().await;
        let users = BatchUser::factory().with_session(&mut *conn).create_batch(0).await.unwrap();
        assert!(users.is_empty());
        assert!(counting.inserts_into(kind, &["batch_users"]).is_empty(), "{:?}", counting.inserts_into(kind, &["batch_users"]));
    }
}

on_every_backend! {
    /// The schema check on the table these tests create: no error for a model whose creates
    /// succeed there.
    async fn check_every_model(conn, kind) {
        create_table(conn, kind).await;
        check_clean!(&mut *conn, kind, BatchUser);
    }
}
