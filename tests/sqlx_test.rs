//! With `#[sqlx::test]`: a fresh database per test, migrations applied, and the pool or a
//! connection handed to the test. Factories bind to either (SQLite here: `#[sqlx::test]` needs
//! no server for it; for PostgreSQL it reads `DATABASE_URL`).

use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqlitePool};
use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("user{n}@example.com"))]
    email: String,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "posts")]
struct Post {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User)]
    author_id: i64,
    #[factory(fake = fake::faker::lorem::en::Sentence(2..5))]
    title: String,
}

/// The pool form: bind the pool itself (each call commits), or a transaction begun on it.
#[sqlx::test(migrations = "tests/migrations")]
async fn with_a_pool(pool: SqlitePool) -> sqlx::Result<()> {
    let posts = Post::factory()
        .with_session(&pool)
        .create_batch(3)
        .await
        .map_err(|e| e.into_sqlx())?;
    let mut tx = pool.begin().await?;
    User::factory()
        .with_session(&mut tx)
        .create()
        .await
        .map_err(|e| e.into_sqlx())?;
    tx.commit().await?;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&pool)
        .await?;
    assert_eq!((posts.len(), users), (3, 4));
    Ok(())
}

/// The connection form: bind it directly.
#[sqlx::test(migrations = "tests/migrations")]
async fn with_a_connection(mut conn: PoolConnection<Sqlite>) -> sqlx::Result<()> {
    let ann = User::factory()
        .with_session(&mut conn)
        .name("Ann")
        .create()
        .await
        .map_err(|e| e.into_sqlx())?;
    let post = Post::factory()
        .with_session(&mut conn)
        .author_id(ann.id)
        .create()
        .await
        .map_err(|e| e.into_sqlx())?;
    let author: String = sqlx::query_scalar(
        "SELECT u.name FROM posts p JOIN users u ON u.id = p.author_id WHERE p.id = ?",
    )
    .bind(post.id)
    .fetch_one(&mut *conn)
    .await?;
    assert_eq!(author, "Ann");
    Ok(())
}
