//! A small blog on SQLite in memory: users, posts, comments, tags and a join table, made with
//! associations, `with_related`, a trait and hooks. `cargo run --example blog`

use sqlx::{Connection, SqliteConnection};
use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
    #[factory(lazy = |u: &User| format!("{}@example.com", u.name.to_lowercase().replace(' ', ".")))]
    email: String,
    #[factory(default = false)]
    admin: bool,
}

impl<S> UserFactory<S> {
    fn moderator(self) -> Self {
        self.admin(true)
    }
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "posts")]
struct Post {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User)] // created in the same session unless given
    author_id: i64,
    #[factory(fake = fake::faker::lorem::en::Sentence(3..6))]
    title: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "comments")]
struct Comment {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Post)]
    post_id: i64,
    #[factory(association = User)]
    author_id: i64,
    #[factory(fake = fake::faker::lorem::en::Sentence(4..8))]
    body: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "tags")]
struct Tag {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("tag-{}", n % 10_000_000))]
    name: String,
}

/// A join table: no key of its own, two associations.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "post_tags")]
struct PostTag {
    #[factory(association = Post)]
    post_id: i64,
    #[factory(association = Tag)]
    tag_id: i64,
}

const SCHEMA: &str = "
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,
                        admin BOOLEAN NOT NULL);
    CREATE TABLE posts (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES users(id),
                        title TEXT NOT NULL);
    CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts(id),
                           author_id INTEGER NOT NULL REFERENCES users(id), body TEXT NOT NULL);
    CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE post_tags (post_id INTEGER NOT NULL REFERENCES posts(id),
                            tag_id INTEGER NOT NULL REFERENCES tags(id),
                            PRIMARY KEY (post_id, tag_id));
";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut conn = SqliteConnection::connect("sqlite::memory:").await?;
    sqlx::raw_sql(SCHEMA).execute(&mut conn).await?;
    let mut tx = conn.begin().await?;

    // Each factory against its table, column by column, before any row is made.
    let report = sqlx_factory::check!(&mut tx, User, Post, Comment, Tag, PostTag).await;
    println!("{report}");
    report.deny_warnings().into_result()?;

    // The blog, in a dozen lines.
    let ann = User::factory()
        .with_session(&mut tx)
        .name("Ann Lee")
        .with_related(2, |u: &User| Post::factory().author_id(u.id))
        .create()
        .await?;
    let modded = Post::factory()
        .with_session(&mut tx)
        .author_id_with(|u| u.name("Mo Derator").moderator())
        .create()
        .await?;
    let rust = Tag::factory()
        .with_session(&mut tx)
        .name("rust")
        .create()
        .await?;
    let sql = Tag::factory()
        .with_session(&mut tx)
        .name("sql")
        .create()
        .await?;
    for tag in [&rust, &sql] {
        PostTag::factory()
            .with_session(&mut tx)
            .post_id(modded.id)
            .tag_id(tag.id)
            .create()
            .await?;
    }
    Comment::factory()
        .with_session(&mut tx)
        .post_id(modded.id)
        .author_id(ann.id)
        .create_batch(3)
        .await?;
    Comment::factory().with_session(&mut tx).create().await?; // a new post, author and commenter

    print_blog(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

async fn print_blog(conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let users: Vec<(i64, String, String, bool)> =
        sqlx::query_as("SELECT id, name, email, admin FROM users ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    println!("users:");
    for (id, name, email, admin) in users {
        println!(
            "  {id} {name} <{email}>{}",
            if admin { " (moderator)" } else { "" }
        );
    }
    let posts: Vec<(i64, String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT p.id, p.title, u.name,
                (SELECT group_concat(t.name, ', ') FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
                 WHERE pt.post_id = p.id),
                (SELECT COUNT(*) FROM comments c WHERE c.post_id = p.id)
         FROM posts p JOIN users u ON u.id = p.author_id ORDER BY p.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    println!("posts:");
    for (id, title, author, tags, comments) in posts {
        let tags = tags.unwrap_or_default();
        println!("  {id} \"{title}\" by {author} [{tags}] {comments} comment(s)");
    }
    Ok(())
}
