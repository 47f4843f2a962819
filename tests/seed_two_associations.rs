//! A model with two associations to one parent type (a message's sender and recipient, a
//! transfer's two accounts by email): `create` makes a parent for each; a seed's
//! `parents_from::<P>` and `parents_from_table::<P>()` fill every association to `P`, each
//! spread over the values on its own (the second never equal to the first where there are
//! two values or more). The seeds run through a pool, so they commit; a second connection then
//! JOINs every row to its parents on each field. (`with_children` from such a parent is a
//! compile error: `ui-tests/fail/seed-with-children-two-associations.rs`.)

mod common;

use std::time::Duration;

use sqlx_factory::Factory;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::bounded;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "pair_users")]
struct PairUser {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("pair{n}@example.com"))]
    email: String,
}

/// Two foreign keys to the users' ids.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "pair_messages")]
struct Message {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = PairUser)]
    sender_id: i64,
    #[factory(association = PairUser)]
    recipient_id: i64,
    #[factory(default = "hello".to_string())]
    body: String,
}

/// Two foreign keys to the users' emails.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "pair_transfers")]
struct Transfer {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = PairUser, references = email)]
    from_email: String,
    #[factory(association = PairUser, references = email)]
    to_email: String,
    #[factory(default = 5)]
    amount: i64,
}

fn schema_sql(kind: Kind) -> String {
    format!(
        "CREATE TABLE pair_users (id {pk}, email {text} NOT NULL UNIQUE);
         CREATE TABLE pair_messages (id {pk},
           sender_id BIGINT NOT NULL REFERENCES pair_users (id),
           recipient_id BIGINT NOT NULL REFERENCES pair_users (id), body TEXT NOT NULL);
         CREATE TABLE pair_transfers (id {pk},
           from_email {text} NOT NULL REFERENCES pair_users (email),
           to_email {text} NOT NULL REFERENCES pair_users (email), amount BIGINT NOT NULL)",
        pk = kind.serial_pk(),
        text = kind.varchar(),
    )
}

/// What a second connection sees of the messages: how many there are, how many JOIN their
/// sender and their recipient, how many are sent to their sender, how many distinct (sender,
/// recipient) pairs there are, and per user (in id order) how many it sent and received.
macro_rules! messages_seen {
    ($observer:expr) => {{
        let scalar = |sql: &'static str| {
            let observer = $observer.clone();
            async move {
                let n: i64 = bounded(sqlx::query_scalar(sql).fetch_one(&observer))
                    .await
                    .unwrap();
                n
            }
        };
        let all = scalar("SELECT COUNT(*) FROM pair_messages").await;
        let joined = scalar(
            "SELECT COUNT(*) FROM pair_messages m
             JOIN pair_users s ON s.id = m.sender_id JOIN pair_users r ON r.id = m.recipient_id",
        )
        .await;
        let to_self =
            scalar("SELECT COUNT(*) FROM pair_messages WHERE sender_id = recipient_id").await;
        let pairs = scalar(
            "SELECT COUNT(*) FROM (SELECT DISTINCT sender_id, recipient_id FROM pair_messages) p",
        )
        .await;
        let sent: Vec<i64> = bounded(
            sqlx::query_scalar(
                "SELECT COUNT(m.id) FROM pair_users u LEFT JOIN pair_messages m
                 ON m.sender_id = u.id GROUP BY u.id ORDER BY u.id",
            )
            .fetch_all(&$observer),
        )
        .await
        .unwrap();
        let received: Vec<i64> = bounded(
            sqlx::query_scalar(
                "SELECT COUNT(m.id) FROM pair_users u LEFT JOIN pair_messages m
                 ON m.recipient_id = u.id GROUP BY u.id ORDER BY u.id",
            )
            .fetch_all(&$observer),
        )
        .await
        .unwrap();
        (all, joined, to_self, pairs, sent, received)
    }};
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `create_batch`: each message gets a sender and a recipient of its own, two users.
    async fn create_makes_a_parent_per_association(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let messages = bounded(Message::factory().with_session(&pool).create_batch(3))
            .await
            .unwrap();
        assert_eq!(durable!(observer, "pair_users"), 6);
        for m in &messages {
            assert_ne!(m.sender_id, m.recipient_id, "{m:?}");
        }
        let (all, joined, to_self, pairs, _, _) = messages_seen!(observer);
        assert_eq!((all, joined, to_self, pairs), (3, 3, 0, 3));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `parents_from::<PairUser>(ids)`: senders and recipients both from the ids, every
    /// ordered pair of two different users as often as any other; no user created.
    async fn parents_from_fills_both(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let users = bounded(PairUser::factory().with_session(&pool).create_batch(4))
            .await
            .unwrap();
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let sent = bounded(
            Message::factory()
                .with_session(&pool)
                .insert_many(1_200)
                .chunk_rows(500)
                .parents_from::<PairUser>(ids),
        )
        .await
        .unwrap();
        assert_eq!(sent, 1_200);
        assert_eq!(durable!(observer, "pair_users"), 4, "no user created");
        assert_eq!(
            messages_seen!(observer),
            (1_200, 1_200, 0, 12, vec![300; 4], vec![300; 4])
        );
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `parents_from_table::<PairUser>()`: both fields from the ids read from the table.
    async fn parents_from_table_fills_both(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        bounded(PairUser::factory().with_session(&pool).insert_many(10))
            .await
            .unwrap();
        let sent = bounded(
            Message::factory()
                .with_session(&pool)
                .insert_many(900)
                .chunk_rows(200)
                .parents_from_table::<PairUser>(),
        )
        .await
        .unwrap();
        assert_eq!(sent, 900);
        assert_eq!(durable!(observer, "pair_users"), 10);
        assert_eq!(
            messages_seen!(observer),
            (900, 900, 0, 90, vec![90; 10], vec![90; 10])
        );
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// One user to spread over: both fields hold it (a message to oneself), rather than a
    /// parent created per row.
    async fn one_value_fills_both_with_it(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let user = bounded(PairUser::factory().with_session(&pool).create())
            .await
            .unwrap();
        let sent = bounded(
            Message::factory()
                .with_session(&pool)
                .insert_many(5)
                .parents_from::<PairUser>([user.id]),
        )
        .await
        .unwrap();
        assert_eq!(sent, 5);
        assert_eq!(
            messages_seen!(observer),
            (5, 5, 5, 1, vec![5], vec![5])
        );
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// Two associations by `references = email`: both fields from the emails given, never
    /// equal; every transfer JOINs its two users on email.
    async fn references_parents_from_fills_both(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let users = bounded(PairUser::factory().with_session(&pool).create_batch(3))
            .await
            .unwrap();
        let emails: Vec<String> = users.into_iter().map(|u| u.email).collect();
        let sent = bounded(
            Transfer::factory()
                .with_session(&pool)
                .insert_many(600)
                .parents_from::<PairUser>(emails),
        )
        .await
        .unwrap();
        assert_eq!(sent, 600);
        let counts: (i64, i64, i64) = bounded(
            sqlx::query_as(
                "SELECT COUNT(*),
                   COUNT(CASE WHEN t.from_email = t.to_email THEN 1 END),
                   COUNT(DISTINCT a.id * 10 + b.id)
                 FROM pair_transfers t
                 JOIN pair_users a ON a.email = t.from_email
                 JOIN pair_users b ON b.email = t.to_email",
            )
            .fetch_one(&observer),
        )
        .await
        .unwrap();
        assert_eq!(counts, (600, 0, 6));
        assert_eq!(durable!(observer, "pair_users"), 3);
    }
}

on_every_backend! {
    /// The schema check on the tables these tests create.
    async fn check_every_model(conn, kind) {
        exec!(conn, schema_sql(kind));
        check_clean!(&mut *conn, kind, PairUser, Message, Transfer);
    }
}
