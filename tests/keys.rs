//! Keys real schemas use: `i32`, `String` and `uuid` primary keys, filled by the database or
//! by the factory; a keyword table with a key column of another name; join tables with no key
//! of their own, made from two associations in one line.

#![cfg(feature = "uuid")]

mod common;

use sqlx::types::Uuid;
use sqlx_factory::Factory;

use common::Kind;

/// Table `"user"` (a keyword), key `user_id`, a uuid the factory draws.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "user")]
struct User {
    #[factory(primary_key, fake = fake::uuid::UUIDv4)]
    user_id: Uuid,
    #[factory(sequence = |n| format!("user{n}"))]
    username: String,
}

/// A `SERIAL`-style `i32` key.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "article")]
struct Article {
    #[factory(primary_key)]
    article_id: i32,
    #[factory(association = User)]
    author_id: Uuid,
    title: String,
}

/// A natural `String` key from a sequence.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "tag")]
struct Tag {
    #[factory(primary_key, sequence = |n| format!("tag-{n}"))]
    name: String,
}

/// A join table: the pair of foreign keys is the key, there is no `id`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "article_favorite")]
struct Favorite {
    #[factory(association = Article)]
    article_id: i32,
    #[factory(association = User)]
    user_id: Uuid,
}

fn ddl(kind: Kind) -> Vec<String> {
    let (q, uuid, serial) = match kind {
        Kind::Sqlite => ('"', "BLOB", "INTEGER PRIMARY KEY"),
        Kind::Postgres => ('"', "UUID", "SERIAL PRIMARY KEY"),
        Kind::MariaDb => ('`', "BINARY(16)", "INT AUTO_INCREMENT PRIMARY KEY"),
    };
    let text = kind.varchar();
    vec![
        format!(
            "CREATE TABLE {q}user{q} (user_id {uuid} PRIMARY KEY, username {text} NOT NULL UNIQUE)"
        ),
        format!(
            "CREATE TABLE article (article_id {serial}, author_id {uuid} NOT NULL REFERENCES {q}user{q}(user_id), title TEXT NOT NULL)"
        ),
        format!("CREATE TABLE tag (name {text} PRIMARY KEY)"),
        format!(
            "CREATE TABLE article_favorite (article_id INTEGER NOT NULL REFERENCES article(article_id), \
             user_id {uuid} NOT NULL REFERENCES {q}user{q}(user_id), PRIMARY KEY (article_id, user_id))"
        ),
    ]
}

on_every_backend! {
    async fn keys_of_every_kind(conn, kind) {
        for sql in ddl(kind) {
            exec!(conn, sql);
        }
        let ann = User::factory().with_session(&mut *conn).create().await.unwrap();
        assert_ne!(ann.user_id, Uuid::nil());
        let article = Article::factory().with_session(&mut *conn).author_id(ann.user_id).create().await.unwrap();
        assert!(article.article_id > 0);
        // The author is created by association: a uuid key, column `user_id` of table "user".
        let by_new = Article::factory().with_session(&mut *conn).create().await.unwrap();
        assert_ne!(by_new.author_id, ann.user_id);
        let tags = Tag::factory().with_session(&mut *conn).create_batch(3).await.unwrap();
        assert!(tags.iter().all(|t| t.name.starts_with("tag-")));

        // A join row in one line, parents given; and three whose parents are created.
        let fav = Favorite::factory().with_session(&mut *conn).article_id(article.article_id).user_id(ann.user_id).create().await.unwrap();
        assert_eq!((fav.article_id, fav.user_id), (article.article_id, ann.user_id));
        let more = Favorite::factory().with_session(&mut *conn).create_batch(3).await.unwrap();
        assert_eq!(more.len(), 3);

        let (favorites, articles, users): (i64, i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT (SELECT COUNT(*) FROM article_favorite), (SELECT COUNT(*) FROM article), (SELECT COUNT(*) FROM {})",
            if kind == Kind::MariaDb { "`user`" } else { "\"user\"" }
        )))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        // 2 articles + 3 for the new favorites; 2 users + 3 authors of those + 3 favoriting users.
        assert_eq!((favorites, articles, users), (4, 5, 8));
    }
}

/// A uuid key from the OS, as `Uuid::new_v4()` gives it: outside the run's seed.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "user")]
struct OsKeyedUser {
    #[factory(primary_key, default = Uuid::new_v4())]
    user_id: Uuid,
    username: String,
}

/// The README's advice on uuid keys: `fake = fake::uuid::UUIDv4` draws the key from the seed,
/// so a seed replays it; `default = Uuid::new_v4()` gives another key on every run.
#[test]
fn uuid_key_from_fake_replays_under_a_seed() {
    let first = User::factory().seed(7).build_batch(3);
    let again = User::factory().seed(7).build_batch(3);
    assert_eq!(first, again, "the same seed, the same keys");
    let first = OsKeyedUser::factory().seed(7).build_batch(3);
    let again = OsKeyedUser::factory().seed(7).build_batch(3);
    assert_eq!(
        first.iter().map(|u| &u.username).collect::<Vec<_>>(),
        again.iter().map(|u| &u.username).collect::<Vec<_>>(),
        "the seeded columns agree"
    );
    assert_ne!(
        first[0].user_id, again[0].user_id,
        "Uuid::new_v4() ignores the seed"
    );
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there. `OsKeyedUser` is only built; its table is `User`'s.
    async fn check_every_model(conn, kind) {
        for sql in ddl(kind) {
            exec!(conn, sql);
        }
        check_clean!(&mut *conn, kind, User, Article, Tag, Favorite, OsKeyedUser);
    }
}
