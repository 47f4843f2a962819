//! `insert_many(n)`: seeding mode. The count is right, seeded values equal `build_batch` with
//! the same seed, children point at existing parents, and a cancelled seed leaves nothing.

mod common;

use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

use sqlx::Connection;
use sqlx_factory::Factory;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "seed_users")]
struct SeedUser {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("seed{n}@example.com"))]
    email: String,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
    #[factory(fake = 18..90)]
    age: i32,
    bio: Option<String>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "seed_posts")]
struct SeedPost {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = SeedUser)]
    author_id: i64,
    #[factory(fake = fake::faker::lorem::en::Sentence(2..4))]
    title: String,
}

async fn create_tables<C>(conn: &mut C, kind: common::Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    exec!(
        conn,
        format!(
            "CREATE TABLE seed_users (id {pk}, email {text} NOT NULL UNIQUE, name TEXT NOT NULL,
               age INTEGER NOT NULL, bio TEXT);
             CREATE TABLE seed_posts (id {pk}, author_id BIGINT NOT NULL REFERENCES seed_users (id),
               title TEXT NOT NULL)",
            pk = kind.serial_pk(),
            text = kind.varchar(),
        )
    );
}

/// Posts whose author exists (a JOIN), and each user's post count in the order of their ids.
macro_rules! posts_per_user {
    ($tx:ident) => {{
        let joined: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM seed_posts p JOIN seed_users u ON u.id = p.author_id",
        )
        .fetch_one(&mut *$tx)
        .await
        .unwrap();
        let shares: Vec<i64> = sqlx::query_scalar(
            "SELECT COUNT(p.id) FROM seed_users u LEFT JOIN seed_posts p ON p.author_id = u.id
             GROUP BY u.id ORDER BY u.id",
        )
        .fetch_all(&mut *$tx)
        .await
        .unwrap();
        (joined, shares)
    }};
}

type Values = (String, String, i32, Option<String>);

on_every_backend! {
    /// 2 500 rows in chunks of 1 000: the count, and every value equal to a seeded
    /// `build_batch` (`.seed(s)` replays sequences too), in order.
    async fn seeded_values_equal_build_batch(conn, kind) {
        create_tables(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let inserted = SeedUser::factory()
            .with_session(&mut tx)
            .seed(7)
            .insert_many(2_500)
            .chunk_rows(1_000)
            .await
            .unwrap();
        assert_eq!(inserted, 2_500);
        let stored: Vec<Values> =
            sqlx::query_as("SELECT email, name, age, bio FROM seed_users ORDER BY id")
                .fetch_all(&mut *tx)
                .await
                .unwrap();
        let built: Vec<Values> = SeedUser::factory()
            .seed(7)
            .build_batch(2_500)
            .into_iter()
            .map(|u| (u.email, u.name, u.age, u.bio))
            .collect();
        assert_eq!(stored.len(), 2_500);
        assert!(stored == built, "first stored {:?}, first built {:?}", stored[0], built[0]);
        tx.rollback().await.unwrap();
    }

}

on_every_backend! {
    /// A statement that fails in the middle of a seed (a unique email taken by the caller's
    /// row): the error names that statement's rows, not those of the next one (drawn while
    /// it ran), and the seed leaves none of its rows; the caller's row and transaction stay.
    async fn failing_statement_names_its_rows(conn, kind) {
        create_tables(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let taken = SeedUser::factory().seed(21).build_batch(1_300).pop().unwrap().email;
        SeedUser::factory().with_session(&mut tx).email(taken).create().await.unwrap();
        let error = SeedUser::factory()
            .with_session(&mut tx)
            .seed(21)
            .insert_many(2_500)
            .chunk_rows(500)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("sending rows 1001 to 1500"), "{error}");
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM seed_users")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(count, 1, "only the caller's row: {error}");
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// Children spread over existing parents: every post's author exists (JOIN count), each
    /// user gets the same share, and no user is created.
    async fn children_spread_over_parents(conn, kind) {
        create_tables(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        SeedUser::factory().with_session(&mut tx).insert_many(100).await.unwrap();
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM seed_users ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        let posts = SeedPost::factory()
            .with_session(&mut tx)
            .insert_many(1_000)
            .parents_from::<SeedUser>(ids)
            .await
            .unwrap();
        assert_eq!(posts, 1_000);
        let (joined, shares) = posts_per_user!(tx);
        assert_eq!(joined, 1_000);
        assert_eq!(shares, vec![10; 100], "round robin over the 100 users");
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM seed_users")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(users, 100, "no parent created per post");
        tx.rollback().await.unwrap();
    }

}

on_every_backend! {
    /// Children spread over the parents already in the table, keys not listed by the caller:
    /// every post's author exists (JOIN count), each of the 40 users (some created in the
    /// caller's transaction just before) gets the same share, and no user is created.
    async fn children_spread_over_parents_from_table(conn, kind) {
        create_tables(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        SeedUser::factory().with_session(&mut tx).create_batch(40).await.unwrap();
        let posts = SeedPost::factory()
            .with_session(&mut tx)
            .insert_many(1_000)
            .chunk_rows(300)
            .parents_from_table::<SeedUser>()
            .await
            .unwrap();
        assert_eq!(posts, 1_000);
        let (joined, shares) = posts_per_user!(tx);
        assert_eq!(joined, 1_000);
        assert_eq!(shares, vec![25; 40], "round robin over the 40 users");
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// Parents from an empty table: an error naming the table, and nothing sent.
    async fn parents_from_empty_table_is_refused(conn, kind) {
        create_tables(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let error = SeedPost::factory()
            .with_session(&mut tx)
            .insert_many(10)
            .parents_from_table::<SeedUser>()
            .await
            .unwrap_err();
        assert!(error.to_string().contains("seed_users"), "{error}");
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM seed_posts")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(rows, 0);
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// Without parents' keys, a seed that would create one parent per row fails before
    /// sending anything.
    async fn seed_without_parents_is_refused(conn, kind) {
        create_tables(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let error = SeedPost::factory().with_session(&mut tx).insert_many(10).await.unwrap_err();
        assert!(error.to_string().contains("parents_from"), "{error}");
        let rows: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM seed_posts) + (SELECT COUNT(*) FROM seed_users)",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!(rows, 0);
        tx.rollback().await.unwrap();
    }

}

on_every_backend! {
    /// Progress is reported per chunk, ends at the total, and never goes back.
    async fn progress_per_chunk(conn, kind) {
        create_tables(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        SeedUser::factory()
            .with_session(&mut tx)
            .insert_many(2_050)
            .chunk_rows(500)
            .on_progress(move |p| log.lock().unwrap().push((p.rows, p.total)))
            .await
            .unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.last(), Some(&(2_050, 2_050)), "{seen:?}");
        assert!(seen.len() >= 5, "one report per chunk at least: {seen:?}");
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
        tx.rollback().await.unwrap();
    }

}

on_every_backend! {
    /// A seed dropped after a few chunks (as `timeout` or `select!` drops it), in a
    /// transaction: the transaction stays usable with the caller's row intact, and after its
    /// rollback nothing is there.
    async fn cancelled_seed_leaves_nothing(conn, kind) {
        create_tables(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let before = SeedUser::factory().with_session(&mut tx).create().await.unwrap();
        let chunks = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&chunks);
        let seed = SeedUser::factory()
            .with_session(&mut tx)
            .insert_many(100_000)
            .chunk_rows(200)
            .on_progress(move |_| {
                counted.fetch_add(1, Ordering::Relaxed);
            });
        // Dropped at its first wait after the third chunk was sent (bounded: 500 chunks).
        let mut seed = Box::pin(seed.into_future());
        let finished = std::future::poll_fn(|cx| match seed.as_mut().poll(cx) {
            Poll::Ready(result) => Poll::Ready(Some(result)),
            Poll::Pending if chunks.load(Ordering::Relaxed) >= 3 => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        })
        .await;
        drop(seed);
        assert!(finished.is_none(), "cancelled before the end: {finished:?}");
        // ORDER BY: without it SQLite and InnoDB read `id` from the email index, in the
        // order of the sequence's text, which other tests of the process move.
        let left: Vec<i64> = sqlx::query_scalar("SELECT id FROM seed_users ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        // Inside the caller's transaction what the seed had sent belongs to it (DESIGN,
        // "Transactions and atomicity"): the caller's own row is intact, and the rollback
        // removes the rest.
        assert_eq!(left[0], before.id, "the caller's row is intact");
        tx.rollback().await.unwrap();
        let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM seed_users")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(after, 0);
    }
}

on_every_backend! {
    /// N children per created parent, streamed: each INSERT of users returns its keys alone,
    /// and 5 posts per user follow; every post's author exists and each user has exactly 5.
    async fn children_per_created_parent(conn, kind) {
        create_tables(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let users = SeedUser::factory()
            .with_session(&mut tx)
            .insert_many(1_200)
            .chunk_rows(500)
            .with_children(5, SeedPost::factory())
            .await
            .unwrap();
        assert_eq!(users, 1_200);
        let (joined, shares) = posts_per_user!(tx);
        assert_eq!(joined, 6_000);
        assert_eq!(shares, vec![5; 1_200], "5 posts for every user");
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// A `chunk_rows` larger than one statement may carry (20 000 rows of 5 values is past
    /// SQLite's 32 766 binds) is cut into statements: every row arrives.
    async fn chunk_larger_than_a_statement(conn, kind) {
        create_tables(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let inserted = SeedUser::factory()
            .with_session(&mut tx)
            .insert_many(25_000)
            .chunk_rows(20_000)
            .await
            .unwrap();
        assert_eq!(inserted, 25_000);
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM seed_users")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(stored, 25_000);
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// `returning_keys()`: one key per row, in the order drawn (the row stored under the
    /// `i`-th key is the `i`-th of a seeded `build_batch`), across several chunks.
    async fn returning_keys_in_draw_order(conn, kind) {
        create_tables(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let keys: Vec<i64> = SeedUser::factory()
            .with_session(&mut tx)
            .seed(11)
            .insert_many(2_500)
            .chunk_rows(1_000)
            .returning_keys()
            .await
            .unwrap();
        assert_eq!(keys.len(), 2_500);
        let stored: Vec<(i64, String)> = sqlx::query_as("SELECT id, email FROM seed_users")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        let by_key: std::collections::HashMap<i64, String> = stored.into_iter().collect();
        assert_eq!(by_key.len(), 2_500);
        let built = SeedUser::factory().seed(11).build_batch(2_500);
        for (key, user) in keys.iter().zip(&built) {
            assert_eq!(by_key.get(key), Some(&user.email), "key {key}");
        }
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// `returning_keys()` with `with_children`: the parents' keys, each with its 3 posts.
    async fn returning_keys_with_children(conn, kind) {
        create_tables(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let keys: Vec<i64> = SeedUser::factory()
            .with_session(&mut tx)
            .insert_many(700)
            .chunk_rows(300)
            .with_children(3, SeedPost::factory())
            .returning_keys()
            .await
            .unwrap();
        let mut ids: Vec<i64> = sqlx::query_scalar(
            "SELECT u.id FROM seed_users u JOIN seed_posts p ON p.author_id = u.id
             GROUP BY u.id HAVING COUNT(*) = 3",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        ids.sort_unstable();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ids, "every returned key has its 3 posts");
        assert_eq!(keys.len(), 700);
        tx.rollback().await.unwrap();
    }
}

#[cfg(feature = "postgres")]
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "seed_tags")]
struct SeedTag {
    #[factory(primary_key)]
    id: i32,
    #[factory(sequence = |n| format!("tag{n}"))]
    name: String,
}

#[cfg(feature = "postgres")]
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "seed_notes")]
struct SeedNote {
    #[factory(primary_key)]
    id: String,
    #[factory(sequence = |n| format!("note{n}"))]
    body: String,
}

#[cfg(feature = "postgres")]
const SEED_TAGS: &str = "CREATE TABLE seed_tags (id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
     name TEXT NOT NULL UNIQUE)";

#[cfg(feature = "postgres")]
const SEED_NOTES: &str = "CREATE TABLE seed_notes \
     (id TEXT PRIMARY KEY DEFAULT md5(random()::text || clock_timestamp()::text), body TEXT NOT NULL)";

/// PostgreSQL reserves the keys from the column's sequence and sends them in the `COPY`: an
/// `INTEGER GENERATED ALWAYS AS IDENTITY` key (an `i32`, a column `COPY` may write), every
/// key returned is the row's.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_returning_keys_from_an_identity_column() {
    let mut conn = common::postgres("postgres_returning_keys_from_an_identity_column").await;
    exec!(&mut conn, SEED_TAGS);
    let mut tx = conn.begin().await.unwrap();
    let keys: Vec<i32> = SeedTag::factory()
        .with_session(&mut tx)
        .seed(3)
        .insert_many(1_500)
        .chunk_rows(600)
        .returning_keys()
        .await
        .unwrap();
    let built = SeedTag::factory().seed(3).build_batch(1_500);
    let stored: Vec<(i32, String)> = sqlx::query_as("SELECT id, name FROM seed_tags")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    let by_key: std::collections::HashMap<i32, String> = stored.into_iter().collect();
    assert_eq!((keys.len(), by_key.len()), (1_500, 1_500));
    for (key, tag) in keys.iter().zip(&built) {
        assert_eq!(by_key.get(key), Some(&tag.name), "key {key}");
    }
    tx.rollback().await.unwrap();
}

/// A key the database fills without a sequence (a `DEFAULT` expression): INSERTs returning
/// it, as on the other backends.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_returning_keys_without_a_sequence() {
    let mut conn = common::postgres("postgres_returning_keys_without_a_sequence").await;
    exec!(&mut conn, SEED_NOTES);
    let mut tx = conn.begin().await.unwrap();
    let keys: Vec<String> = SeedNote::factory()
        .with_session(&mut tx)
        .seed(5)
        .insert_many(1_200)
        .returning_keys()
        .await
        .unwrap();
    let built = SeedNote::factory().seed(5).build_batch(1_200);
    let stored: Vec<(String, String)> = sqlx::query_as("SELECT id, body FROM seed_notes")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    let by_key: std::collections::HashMap<String, String> = stored.into_iter().collect();
    assert_eq!((keys.len(), by_key.len()), (1_200, 1_200));
    for (key, note) in keys.iter().zip(&built) {
        assert_eq!(by_key.get(key), Some(&note.body), "key {key}");
    }
    tx.rollback().await.unwrap();
}

on_every_backend! {
    /// The schema check on the tables these tests create, on the backends they run on: no
    /// error for models whose creates succeed there.
    async fn check_every_model(conn, kind) {
        create_tables(conn, kind).await;
        check_clean!(&mut *conn, kind, SeedUser, SeedPost);
        #[cfg(feature = "postgres")]
        if kind == common::Kind::Postgres {
            exec!(conn, SEED_TAGS);
            exec!(conn, SEED_NOTES);
            check_clean!(&mut *conn, kind, SeedTag, SeedNote);
        }
    }
}
