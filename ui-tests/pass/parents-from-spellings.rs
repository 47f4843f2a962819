// Every way of giving `parents_from` its values compiles, the item type inferred from what the
// association stores as it always was: an integer literal range (inferred as the `i64` key),
// a `vec!`, an array, an iterator, an empty `Vec::new()`, and `String`s for `references`.
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
#[factory(table = "posts")]
struct Post {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User)]
    user_id: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "confirmations")]
struct Confirmation {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User, references = email)]
    user_email: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
    sqlx::raw_sql(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users (id));
         CREATE TABLE confirmations (id INTEGER PRIMARY KEY,
           user_email TEXT NOT NULL REFERENCES users (email))",
    )
    .execute(&mut conn)
    .await?;
    let users = User::factory().with_session(&mut conn).create_batch(3).await?;
    let first = users[0].id;
    macro_rules! posts {
        () => {
            Post::factory().with_session(&mut conn).insert_many(6)
        };
    }
    assert_eq!(first, 1);
    posts!().parents_from::<User>(1..=3).await?;
    posts!().parents_from::<User>(vec![first, first + 1]).await?;
    posts!().parents_from::<User>([first]).await?;
    posts!().parents_from::<User>(users.iter().map(|u| u.id)).await?;
    // No values: an error when awaited, but the spelling compiles.
    assert!(posts!().parents_from::<User>(Vec::new()).await.is_err());
    let emails: Vec<String> = users.iter().map(|u| u.email.clone()).collect();
    Confirmation::factory()
        .with_session(&mut conn)
        .insert_many(6)
        .parents_from::<User>(emails)
        .await?;
    let joined: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM posts p JOIN users u ON u.id = p.user_id)
              + (SELECT COUNT(*) FROM confirmations c JOIN users u ON u.email = c.user_email)",
    )
    .fetch_one(&mut conn)
    .await?;
    assert_eq!(joined, 30);
    Ok(())
}
