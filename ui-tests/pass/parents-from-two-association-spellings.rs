// A model with two associations to one parent takes the same spellings of `parents_from` as a
// model with one: an integer literal range, a `HashSet`, an `Option` (one value or none), a
// copied iterator over a slice, and a `BTreeSet` of emails for `references = email`.
use std::collections::{BTreeSet, HashSet};

use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("user{n}@example.com"))]
    email: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "messages")]
struct Message {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User)]
    sender_id: i64,
    #[factory(association = User)]
    recipient_id: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "transfers")]
struct Transfer {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User, references = email)]
    from_email: String,
    #[factory(association = User, references = email)]
    to_email: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
    sqlx::raw_sql(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);
         CREATE TABLE messages (id INTEGER PRIMARY KEY,
           sender_id BIGINT NOT NULL REFERENCES users (id),
           recipient_id BIGINT NULL REFERENCES users (id));
         CREATE TABLE transfers (id INTEGER PRIMARY KEY,
           from_email TEXT NOT NULL REFERENCES users (email),
           to_email TEXT NOT NULL REFERENCES users (email))",
    )
    .execute(&mut conn)
    .await?;
    let users = User::factory().with_session(&mut conn).create_batch(3).await?;
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    macro_rules! messages {
        () => {
            Message::factory().with_session(&mut conn).insert_many(6)
        };
    }
    messages!().parents_from::<User>(1..=3).await?;
    messages!().parents_from::<User>(1..4).await?;
    messages!()
        .parents_from::<User>(ids.iter().copied().collect::<HashSet<_>>())
        .await?;
    messages!().parents_from::<User>(ids.first().copied()).await?;
    messages!().parents_from::<User>(ids.iter().copied()).await?;
    let emails: BTreeSet<String> = users.iter().map(|u| u.email.clone()).collect();
    Transfer::factory()
        .with_session(&mut conn)
        .insert_many(6)
        .parents_from::<User>(emails)
        .await?;
    let joined: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM messages m JOIN users s ON s.id = m.sender_id
                   JOIN users r ON r.id = m.recipient_id WHERE s.id <> r.id)
              + (SELECT COUNT(*) FROM transfers t JOIN users a ON a.email = t.from_email
                   JOIN users b ON b.email = t.to_email WHERE a.id <> b.id)",
    )
    .fetch_one(&mut conn)
    .await?;
    assert_eq!(joined, 24 + 6, "every message but the one-user seed's, every transfer");
    Ok(())
}
