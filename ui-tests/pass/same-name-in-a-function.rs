// A test's own `Post`, declared in its function, points at `User`, whose pinned post is the
// module's `Post`: no cycle. Both `Post`s have one `module_path!()`, so a path of module and
// name alone took them for one model and reported `Post` and `User` as a cycle.
use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "posts")]
struct Post {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "pinned".to_string())]
    title: String,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Post)]
    pinned_post_id: i64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use sqlx::Connection;

    #[derive(Debug, sqlx::FromRow, Factory)]
    #[factory(table = "drafts")]
    struct Post {
        #[factory(primary_key)]
        id: i64,
        #[factory(association = User)]
        user_id: i64,
    }

    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
    for sql in [
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL)",
        "CREATE TABLE users (id INTEGER PRIMARY KEY, pinned_post_id BIGINT NOT NULL REFERENCES posts(id))",
        "CREATE TABLE drafts (id INTEGER PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id))",
    ] {
        sqlx::query(sql).execute(&mut conn).await?;
    }
    let drafts = Post::factory().with_session(&mut conn).create_batch(2).await?;
    let joined: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM drafts d JOIN users u ON u.id = d.user_id \
         JOIN posts p ON p.id = u.pinned_post_id WHERE p.title = 'pinned'",
    )
    .fetch_one(&mut conn)
    .await?;
    assert_eq!((drafts.len(), joined), (2, 2));
    Ok(())
}
