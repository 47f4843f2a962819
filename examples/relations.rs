//! Relations as real schemas have them, on PostgreSQL: a parent with a two-column key, a
//! reference to a natural key (an email), two tables that reference each other, and ids that
//! are newtypes parsed from text (`#[sqlx(try_from = "String")]`). Everything runs in one
//! transaction that is rolled back, in a schema `sqlx_factory_relations`.
//!
//! ```sh
//! DATABASE_URL_PG=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --example relations --features postgres
//! ```

#[path = "common/mod.rs"]
mod common;

use sqlx::Connection;
use sqlx_factory::Factory;

/// A split of a search index: its key is `(index_uid, split_id)`.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "splits")]
struct Split {
    #[factory(primary_key, sequence = |n| format!("index-{}", n % 2))]
    index_uid: String,
    #[factory(primary_key, sequence = |n| format!("split-{n}"))]
    split_id: String,
    #[factory(default = 1_000)]
    num_docs: i64,
}

/// Both columns of the composite foreign key come from one `Split` per row.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "split_tags", association(Split, fields(index_uid, split_id)))]
struct SplitTag {
    #[factory(primary_key)]
    id: i64,
    index_uid: String,
    split_id: String,
    #[factory(fake = fake::faker::lorem::en::Word())]
    tag: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "subscriptions")]
struct Subscription {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("reader{n}@example.com"))]
    email: String,
}

/// `subscriber_email REFERENCES subscriptions(email)`: a natural key, not the id.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "confirmations")]
struct Confirmation {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Subscription, references = email)]
    subscriber_email: String,
}

/// `sessions.head_event_id -> events` and `events.session_id -> sessions`: the session is
/// inserted with NULL, its head event created pointing at it, and the key set with an UPDATE.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "sessions")]
struct Session {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Event, back_reference = session_id)]
    head_event_id: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "events")]
struct Event {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Session)]
    session_id: i64,
    #[factory(sequence = |n| format!("event {n}"))]
    name: String,
}

/// An order number parsed from text, stored as `TEXT`.
#[derive(Debug, Clone, PartialEq)]
struct OrderNo(String);

impl TryFrom<String> for OrderNo {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if text.starts_with("ORD-") {
            Ok(OrderNo(text))
        } else {
            Err(format!("not an order number: {text}"))
        }
    }
}

impl From<OrderNo> for String {
    fn from(no: OrderNo) -> String {
        no.0
    }
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "orders")]
struct Order {
    /// Bound back as the `try_from` type, through `From<OrderNo> for String`.
    #[sqlx(try_from = "String")]
    #[factory(primary_key, sequence = |n| OrderNo(format!("ORD-{n}")))]
    order_no: OrderNo,
    /// `u64` in the program, `BIGINT` in the table: bound through `TryFrom<u64> for i64`.
    #[sqlx(try_from = "i64")]
    #[factory(default = 4_200u64)]
    total_cents: u64,
    /// An optional key the application always fills: a subscription unless told otherwise.
    #[factory(association = Subscription, create_parent)]
    subscription_id: Option<i64>,
}

const SCHEMA: &str = r#"
    DROP SCHEMA IF EXISTS sqlx_factory_relations CASCADE;
    CREATE SCHEMA sqlx_factory_relations;
    SET search_path TO sqlx_factory_relations;
    CREATE TABLE splits (
        index_uid text NOT NULL,
        split_id  text NOT NULL,
        num_docs  bigint NOT NULL,
        PRIMARY KEY (index_uid, split_id)
    );
    CREATE TABLE split_tags (
        id        bigserial PRIMARY KEY,
        index_uid text NOT NULL,
        split_id  text NOT NULL,
        tag       text NOT NULL,
        FOREIGN KEY (index_uid, split_id) REFERENCES splits (index_uid, split_id)
    );
    CREATE TABLE subscriptions (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE);
    CREATE TABLE confirmations (
        id               bigserial PRIMARY KEY,
        subscriber_email text NOT NULL REFERENCES subscriptions (email)
    );
    CREATE TABLE sessions (id bigserial PRIMARY KEY, head_event_id bigint);
    CREATE TABLE events (
        id         bigserial PRIMARY KEY,
        session_id bigint NOT NULL REFERENCES sessions (id),
        name       text NOT NULL
    );
    ALTER TABLE sessions ADD FOREIGN KEY (head_event_id) REFERENCES events (id);
    CREATE TABLE orders (
        order_no        text PRIMARY KEY,
        total_cents     bigint NOT NULL,
        subscription_id bigint REFERENCES subscriptions (id)
    );
"#;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(mut conn) = common::postgres("relations", SCHEMA.to_string()).await? else {
        return Ok(());
    };
    let mut tx = conn.begin().await?;
    let report = sqlx_factory::check!(
        &mut tx,
        Split,
        SplitTag,
        Subscription,
        Confirmation,
        Session,
        Event,
        Order
    )
    .await;
    println!("{report}");
    report.into_result()?;

    // 50 tags, each with a split of its own: one INSERT into splits, one into split_tags.
    let tags = SplitTag::factory()
        .with_session(&mut tx)
        .create_batch(50)
        .await?;
    let joined: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM split_tags t JOIN splits s USING (index_uid, split_id)",
    )
    .fetch_one(&mut *tx)
    .await?;
    println!(
        "{} split tags, {joined} joined to their split; first: {:?}",
        tags.len(),
        tags[0]
    );

    let confirmation = Confirmation::factory()
        .with_session(&mut tx)
        .create()
        .await?;
    println!("confirmation for {}", confirmation.subscriber_email);

    // The two-way reference: 10 sessions, each with a head event that belongs to it (one
    // INSERT per table and one UPDATE), and the returned rows carry the head's id.
    let sessions = Session::factory()
        .with_session(&mut tx)
        .create_batch(10)
        .await?;
    let both_ways: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions s JOIN events e ON e.id = s.head_event_id AND e.session_id = s.id",
    )
    .fetch_one(&mut *tx)
    .await?;
    println!(
        "{} sessions, {both_ways} with a head event of their own; first: {:?}",
        sessions.len(),
        sessions[0]
    );
    assert_eq!(both_ways, 10);

    let orders = Order::factory()
        .with_session(&mut tx)
        .create_batch(3)
        .await?;
    for order in &orders {
        println!(
            "order {:?}: {} cents, subscription {:?}",
            order.order_no, order.total_cents, order.subscription_id
        );
    }
    assert_eq!(joined, 50);
    assert!(orders.iter().all(|o| o.subscription_id.is_some()));

    tx.rollback().await?;
    Ok(())
}
