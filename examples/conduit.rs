//! A PostgreSQL "conduit" (RealWorld) schema end to end: a keyword table (`"user"`), `uuid` keys
//! from `gen_random_uuid()`, a database enum, `jsonb`, `text[]`, `numeric`, `DEFAULT now()`, a
//! trigger-filled `updated_at`, a case-insensitive unique index and join tables with composite
//! keys. It works in a fresh schema `sqlx_factory_conduit` and commits, so the rows can be
//! inspected afterwards.
//!
//! ```sh
//! DATABASE_URL_PG=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --example conduit --features postgres,uuid,chrono,json,rust_decimal
//! ```

#[path = "common/mod.rs"]
mod common;

use sqlx::types::chrono::{DateTime, Utc};
use sqlx::types::{Decimal, JsonValue, Uuid};
use sqlx::{Connection, PgConnection};
use sqlx_factory::Factory;

/// `CREATE TYPE role AS ENUM (..)`: `fake::Dummy` lets the factory draw a variant.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::Type, fake::Dummy)]
#[sqlx(type_name = "role", rename_all = "lowercase")]
enum Role {
    Reader,
    Author,
    Admin,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "user")] // a keyword: every statement quotes it
struct User {
    #[factory(primary_key)] // DEFAULT gen_random_uuid(), read back with RETURNING
    user_id: Uuid,
    #[factory(sequence = |n| format!("user{n}@conduit.test"))]
    email: String,
    #[factory(fake = fake::faker::internet::en::Username())]
    username: String,
    role: Role, // no attribute: a random variant
    #[factory(default = JsonValue::from_iter([("theme", JsonValue::from("light")), ("digest", JsonValue::from(true))]))]
    settings: JsonValue,
    #[factory(generated)] // DEFAULT now()
    created_at: DateTime<Utc>,
    #[factory(generated)] // NULL until the trigger sets it on UPDATE
    updated_at: Option<DateTime<Utc>>,
}

/// `follower_id` follows `followee_id`: no key of its own, two associations to the same table.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "follow")]
struct Follow {
    #[factory(association = User)]
    follower_id: Uuid,
    #[factory(association = User)]
    followee_id: Uuid,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "article")]
struct Article {
    #[factory(primary_key)]
    article_id: Uuid,
    #[factory(association = User)]
    author_id: Uuid,
    #[factory(lazy = |a: &Article| slugify(&a.title))]
    slug: String,
    #[factory(fake = fake::faker::lorem::en::Sentence(3..6))]
    title: String,
    #[factory(fake = fake::faker::lorem::en::Paragraph(2..4))]
    body: String,
    #[factory(fake = fake::faker::lorem::en::Words(1..4))]
    tags: Vec<String>, // text[]
    #[factory(default = Decimal::ZERO)] // free unless priced
    price: Decimal,
    #[factory(generated)]
    created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "article_favorite")]
struct ArticleFavorite {
    #[factory(association = Article)]
    article_id: Uuid,
    #[factory(association = User)]
    user_id: Uuid,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "comment")]
struct Comment {
    #[factory(primary_key)] // bigserial
    comment_id: i64,
    #[factory(association = Article)]
    article_id: Uuid,
    #[factory(association = User)]
    author_id: Uuid,
    #[factory(fake = fake::faker::lorem::en::Sentence(4..10))]
    body: String,
}

/// "The Complete Guide." -> "the-complete-guide"
fn slugify(title: &str) -> String {
    title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

const SCHEMA: &str = r#"
    DROP SCHEMA IF EXISTS sqlx_factory_conduit CASCADE;
    CREATE SCHEMA sqlx_factory_conduit;
    SET search_path TO sqlx_factory_conduit;

    CREATE TYPE role AS ENUM ('reader', 'author', 'admin');
    CREATE TABLE "user" (
        user_id    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email      text NOT NULL,
        username   text NOT NULL,
        role       role NOT NULL,
        settings   jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz
    );
    CREATE UNIQUE INDEX user_email_key ON "user" (lower(email));
    -- now() is the transaction's start time: in the one transaction below it would equal
    -- created_at, so the trigger takes the clock's time.
    CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END
    $$;
    CREATE TRIGGER user_updated_at BEFORE UPDATE ON "user"
        FOR EACH ROW EXECUTE FUNCTION set_updated_at();

    CREATE TABLE follow (
        follower_id uuid NOT NULL REFERENCES "user" (user_id),
        followee_id uuid NOT NULL REFERENCES "user" (user_id),
        PRIMARY KEY (follower_id, followee_id)
    );
    CREATE TABLE article (
        article_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        author_id  uuid NOT NULL REFERENCES "user" (user_id),
        slug       text NOT NULL UNIQUE,
        title      text NOT NULL,
        body       text NOT NULL,
        tags       text[] NOT NULL,
        price      numeric NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE article_favorite (
        article_id uuid NOT NULL REFERENCES article (article_id),
        user_id    uuid NOT NULL REFERENCES "user" (user_id),
        PRIMARY KEY (article_id, user_id)
    );
    CREATE TABLE comment (
        comment_id bigserial PRIMARY KEY,
        article_id uuid NOT NULL REFERENCES article (article_id),
        author_id  uuid NOT NULL REFERENCES "user" (user_id),
        body       text NOT NULL
    );
"#;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(mut conn) = common::postgres("conduit", SCHEMA.to_string()).await? else {
        return Ok(());
    };
    let mut tx = conn.begin().await?;

    // Each factory against its table (enum labels, jsonb, text[], defaults, foreign keys),
    // before any row is made.
    let report =
        sqlx_factory::check!(&mut tx, User, Follow, Article, ArticleFavorite, Comment).await;
    println!("{report}");
    report.deny_warnings().into_result()?;

    // Jake, an author, with two articles (one INSERT for both).
    let jake = User::factory()
        .with_session(&mut tx)
        .username("jake")
        .email("jake@conduit.test")
        .role(Role::Author)
        .with_related(2, |u: &User| Article::factory().author_id(u.user_id))
        .create()
        .await?;
    // A paid article; its author, an admin, is created by the association.
    let guide = Article::factory()
        .with_session(&mut tx)
        .title("The Complete Guide to Lifetimes")
        .tags(["rust", "guide"].map(String::from))
        .price(Decimal::new(1999, 2))
        .author_id_with(|u| u.username("ada").role(Role::Admin))
        .create()
        .await?;
    let readers = User::factory()
        .with_session(&mut tx)
        .role(Role::Reader)
        .create_batch(3)
        .await?;
    for reader in &readers {
        Follow::factory()
            .with_session(&mut tx)
            .follower_id(reader.user_id)
            .followee_id(jake.user_id)
            .create()
            .await?;
        ArticleFavorite::factory()
            .with_session(&mut tx)
            .article_id(guide.article_id)
            .user_id(reader.user_id)
            .create()
            .await?;
    }
    Follow::factory()
        .with_session(&mut tx)
        .follower_id(jake.user_id)
        .followee_id(guide.author_id)
        .create()
        .await?;
    Comment::factory()
        .with_session(&mut tx)
        .article_id(guide.article_id)
        .author_id(jake.user_id)
        .create_batch(3)
        .await?;
    Comment::factory().with_session(&mut tx).create().await?; // a new article, its author, a commenter

    // The unique index is on lower(email): another "JAKE@…" is refused. In a savepoint, so the
    // transaction stays usable after the error.
    let twin = User::factory()
        .with_session(&mut tx)
        .email("JAKE@conduit.test")
        .in_savepoint()
        .create()
        .await;
    match twin {
        Ok(_) => println!("JAKE@conduit.test: accepted, the index did not apply"),
        Err(e) => println!("JAKE@conduit.test: refused: {e}"),
    }

    // The trigger fills updated_at on UPDATE; read the row back through the model.
    sqlx::query(r#"UPDATE "user" SET username = $1 WHERE user_id = $2"#)
        .bind("jake_writes")
        .bind(jake.user_id)
        .execute(&mut *tx)
        .await?;
    let updated: User = sqlx::query_as(r#"SELECT * FROM "user" WHERE user_id = $1"#)
        .bind(jake.user_id)
        .fetch_one(&mut *tx)
        .await?;
    println!(
        "updated {}: updated_at {:?} at creation, {:?} after the UPDATE (created_at {})",
        updated.username, jake.updated_at, updated.updated_at, updated.created_at
    );

    print_summary(&mut tx).await?;
    tx.commit().await?;
    println!("committed: inspect it with `SET search_path TO sqlx_factory_conduit`");
    Ok(())
}

/// One line of the article summary: a query's row, not a table.
#[derive(sqlx::FromRow)]
struct ArticleLine {
    slug: String,
    title: String,
    tags: Vec<String>,
    price: Decimal,
    author: String,
    favorites: i64,
    comments: i64,
}

async fn print_summary(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let users: Vec<User> = sqlx::query_as(r#"SELECT * FROM "user" ORDER BY role DESC, username"#)
        .fetch_all(&mut *conn)
        .await?;
    println!("users:");
    for u in &users {
        println!(
            "  {:<18} {:<40} {:?} settings {}",
            u.username, u.email, u.role, u.settings
        );
    }
    let articles: Vec<ArticleLine> = sqlx::query_as(
        r#"SELECT a.slug, a.title, a.tags, a.price, u.username AS author,
                  (SELECT count(*) FROM article_favorite f WHERE f.article_id = a.article_id)
                      AS favorites,
                  (SELECT count(*) FROM comment c WHERE c.article_id = a.article_id) AS comments
           FROM article a JOIN "user" u ON u.user_id = a.author_id
           ORDER BY a.price DESC, u.username, a.slug"#,
    )
    .fetch_all(&mut *conn)
    .await?;
    println!("articles:");
    for a in articles {
        let price = if a.price.is_zero() {
            "free".to_string()
        } else {
            format!("${}", a.price)
        };
        println!("  /{}", a.slug);
        println!(
            "    \"{}\" by {}, {price}, tags {:?}, {} favorite(s), {} comment(s)",
            a.title, a.author, a.tags, a.favorites, a.comments
        );
    }
    let (follows, favorites, comments): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM follow), (SELECT count(*) FROM article_favorite),
                (SELECT count(*) FROM comment)",
    )
    .fetch_one(&mut *conn)
    .await?;
    println!(
        "{} users, {follows} follows, {favorites} favorites, {comments} comments",
        users.len()
    );
    Ok(())
}
