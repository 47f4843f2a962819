//! `insert_many` seeds a child whose association stores something other than its parent's
//! primary key: a natural key (`references = email`) and a composite foreign key
//! (`association(Split, fields(..), references(..))`), through each way of giving parents
//! (`parents_from`, `parents_from_table`, `with_children`). The seed runs through a pool, so
//! it commits; a second connection then checks that every child's foreign key columns hold
//! its parent's referenced values (a JOIN on them) and how the children are spread.

mod common;

use std::time::Duration;

use sqlx_factory::Factory;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::bounded;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "shape_users")]
struct ShapeUser {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("shape{n}@example.com"))]
    email: String,
}

/// Stores its user's email, not the user's id.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "shape_confirmations")]
struct Confirmation {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = ShapeUser, references = email)]
    user_email: String,
    #[factory(default = "sent".to_string())]
    state: String,
}

#[path = "common/splits.rs"]
mod splits;
use splits::{Split, SplitTag};

/// A join table with no key of its own: no `primary_key` field.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "shape_follows")]
struct Follow {
    #[factory(association = ShapeUser, references = email)]
    follower_email: String,
    #[factory(default = "weekly".to_string())]
    digest: String,
}

fn schema_sql(kind: Kind) -> String {
    format!(
        "CREATE TABLE shape_users (id {pk}, email {text} NOT NULL UNIQUE);
         CREATE TABLE shape_confirmations (id {pk},
           user_email {text} NOT NULL REFERENCES shape_users (email), state TEXT NOT NULL);
         CREATE TABLE splits (index_uid {text} NOT NULL, split_id {text} NOT NULL,
           num_docs BIGINT NOT NULL, PRIMARY KEY (index_uid, split_id));
         CREATE TABLE split_tags (id {pk}, split_index {text} NOT NULL,
           split {text} NOT NULL, tag TEXT NOT NULL,
           FOREIGN KEY (split_index, split) REFERENCES splits (index_uid, split_id));
         CREATE TABLE shape_follows (
           follower_email {text} NOT NULL REFERENCES shape_users (email), digest TEXT NOT NULL)",
        pk = kind.serial_pk(),
        text = kind.varchar(),
    )
}

/// What a second connection sees of the confirmations: how many match a user by email, and
/// each user's count in email order.
macro_rules! confirmations_per_user {
    ($observer:expr) => {{
        let joined: i64 = bounded(
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM shape_confirmations c
                 JOIN shape_users u ON u.email = c.user_email",
            )
            .fetch_one(&$observer),
        )
        .await
        .unwrap();
        let all: i64 = bounded(
            sqlx::query_scalar("SELECT COUNT(*) FROM shape_confirmations").fetch_one(&$observer),
        )
        .await
        .unwrap();
        let shares: Vec<i64> = bounded(
            sqlx::query_scalar(
                "SELECT COUNT(c.id) FROM shape_users u
                 LEFT JOIN shape_confirmations c ON c.user_email = u.email
                 GROUP BY u.email ORDER BY u.email",
            )
            .fetch_all(&$observer),
        )
        .await
        .unwrap();
        (all, joined, shares)
    }};
}

/// What a second connection sees of the split tags: how many match a split on both columns,
/// and each split's count.
macro_rules! tags_per_split {
    ($observer:expr) => {{
        let joined: i64 = bounded(
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM split_tags t JOIN splits s
                 ON s.index_uid = t.split_index AND s.split_id = t.split",
            )
            .fetch_one(&$observer),
        )
        .await
        .unwrap();
        let all: i64 =
            bounded(sqlx::query_scalar("SELECT COUNT(*) FROM split_tags").fetch_one(&$observer))
                .await
                .unwrap();
        let shares: Vec<i64> = bounded(
            sqlx::query_scalar(
                "SELECT COUNT(t.id) FROM splits s
                 LEFT JOIN split_tags t ON t.split_index = s.index_uid AND t.split = s.split_id
                 GROUP BY s.index_uid, s.split_id ORDER BY s.index_uid, s.split_id",
            )
            .fetch_all(&$observer),
        )
        .await
        .unwrap();
        (all, joined, shares)
    }};
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `parents_from::<ShapeUser>(emails)`: the values the association stores, spread round
    /// robin; no user is created.
    async fn references_parents_from(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let users = bounded(ShapeUser::factory().with_session(&pool).create_batch(4))
            .await
            .unwrap();
        let emails: Vec<String> = users.into_iter().map(|u| u.email).collect();
        let sent = bounded(
            Confirmation::factory()
                .with_session(&pool)
                .insert_many(1_000)
                .chunk_rows(300)
                .parents_from::<ShapeUser>(emails),
        )
        .await
        .unwrap();
        assert_eq!(sent, 1_000);
        assert_eq!(durable!(observer, "shape_users"), 4, "no user created");
        assert_eq!(confirmations_per_user!(observer), (1_000, 1_000, vec![250; 4]));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `parents_from_table::<ShapeUser>()`: the emails are read from the table.
    async fn references_parents_from_table(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        bounded(ShapeUser::factory().with_session(&pool).insert_many(40))
            .await
            .unwrap();
        let sent = bounded(
            Confirmation::factory()
                .with_session(&pool)
                .insert_many(1_000)
                .chunk_rows(300)
                .parents_from_table::<ShapeUser>(),
        )
        .await
        .unwrap();
        assert_eq!(sent, 1_000);
        assert_eq!(durable!(observer, "shape_users"), 40);
        assert_eq!(confirmations_per_user!(observer), (1_000, 1_000, vec![25; 40]));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `with_children` from the user seed: each new user's email in 3 confirmations
    /// (PostgreSQL: the users' keys reserved for their `COPY`).
    async fn references_with_children(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let sent = bounded(
            ShapeUser::factory()
                .with_session(&pool)
                .insert_many(700)
                .chunk_rows(300)
                .with_children(3, Confirmation::factory()),
        )
        .await
        .unwrap();
        assert_eq!(sent, 700);
        assert_eq!(confirmations_per_user!(observer), (2_100, 2_100, vec![3; 700]));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `parents_from::<Split>` takes the composite key's values, one tuple per split.
    async fn composite_parents_from(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let splits = bounded(Split::factory().with_session(&pool).create_batch(5))
            .await
            .unwrap();
        let keys: Vec<(String, String)> =
            splits.into_iter().map(|s| (s.index_uid, s.split_id)).collect();
        let sent = bounded(
            SplitTag::factory()
                .with_session(&pool)
                .insert_many(1_000)
                .chunk_rows(300)
                .parents_from::<Split>(keys),
        )
        .await
        .unwrap();
        assert_eq!(sent, 1_000);
        assert_eq!(durable!(observer, "splits"), 5, "no split created");
        assert_eq!(tags_per_split!(observer), (1_000, 1_000, vec![200; 5]));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `parents_from_table::<Split>()`: both key columns read from the table.
    async fn composite_parents_from_table(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        bounded(Split::factory().with_session(&pool).insert_many(20))
            .await
            .unwrap();
        let sent = bounded(
            SplitTag::factory()
                .with_session(&pool)
                .insert_many(1_000)
                .chunk_rows(300)
                .parents_from_table::<Split>(),
        )
        .await
        .unwrap();
        assert_eq!(sent, 1_000);
        assert_eq!(tags_per_split!(observer), (1_000, 1_000, vec![50; 20]));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `with_children` from the split seed: each new split's two key values in 2 tags.
    async fn composite_with_children(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let sent = bounded(
            Split::factory()
                .with_session(&pool)
                .insert_many(500)
                .chunk_rows(200)
                .with_children(2, SplitTag::factory()),
        )
        .await
        .unwrap();
        assert_eq!(sent, 500);
        assert_eq!(tags_per_split!(observer), (1_000, 1_000, vec![2; 500]));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// An empty parent table: our error, naming the table and what to do, not sqlx's
    /// protocol-error text; nothing is sent.
    async fn empty_parent_table_error_reads_as_ours(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let error = bounded(
            Confirmation::factory()
                .with_session(&pool)
                .insert_many(10)
                .parents_from_table::<ShapeUser>(),
        )
        .await
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "ConfirmationFactory::insert_many(10) into table `shape_confirmations` failed: \
             parents_from_table: `shape_users` has no rows to spread the seed over"
        );
        assert_eq!(durable!(observer, "shape_confirmations"), 0);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// No parents given: the error names `parents_from` in our words.
    async fn missing_parents_error_reads_as_ours(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let error = bounded(SplitTag::factory().with_session(&pool).insert_many(10))
            .await
            .unwrap_err()
            .to_string();
        assert!(!error.contains("encountered unexpected or invalid data"), "{error}");
        assert!(error.contains("`.parents_from::<Split>(values)`"), "{error}");
        assert_eq!(durable!(observer, "split_tags"), 0);
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// A model without a `primary_key` (a join table) spread over the users' emails.
    async fn keyless_child_parents_from_table(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        bounded(ShapeUser::factory().with_session(&pool).insert_many(10))
            .await
            .unwrap();
        let sent = bounded(
            Follow::factory()
                .with_session(&pool)
                .insert_many(100)
                .parents_from_table::<ShapeUser>(),
        )
        .await
        .unwrap();
        assert_eq!(sent, 100);
        let shares: Vec<i64> = bounded(
            sqlx::query_scalar(
                "SELECT COUNT(f.digest) FROM shape_users u
                 LEFT JOIN shape_follows f ON f.follower_email = u.email
                 GROUP BY u.email ORDER BY u.email",
            )
            .fetch_all(&observer),
        )
        .await
        .unwrap();
        assert_eq!(shares, vec![10; 10]);
    }
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose seeds and
    /// creates succeed there.
    async fn check_every_model(conn, kind) {
        exec!(conn, schema_sql(kind));
        check_clean!(&mut *conn, kind, ShapeUser, Confirmation, Split, SplitTag, Follow);
    }
}
