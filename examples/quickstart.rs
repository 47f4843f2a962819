//! Quickstart: SQLite in memory, no setup. `cargo run --example quickstart`

use sqlx::Connection;
use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)] // the database assigns it; read back with RETURNING
    id: i64,
    #[factory(sequence = |n| format!("user{n}@example.com"))]
    email: String,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
    #[factory(default = 30)]
    age: i32,
    bio: Option<String>, // no attribute: a random value of its type
    #[factory(generated)] // DEFAULT in the table; read back
    created_at: String,
}

// A "trait" in factory_boy's sense is a plain method, usable bound or not.
impl<S> UserFactory<S> {
    fn admin(self) -> Self {
        self.name("Root").age(50)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Build mode: objects in memory, no database.
    let ann = User::factory().name("Ann").build();
    println!("built:   {ann:?}");

    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
    sqlx::raw_sql(
        "CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            age INTEGER NOT NULL,
            bio TEXT,
            created_at TEXT NOT NULL DEFAULT (datetime('now'))
        )",
    )
    .execute(&mut conn)
    .await?;

    // The factory against its table, column by column, before any row is made.
    let report = sqlx_factory::check!(&mut conn, User).await;
    println!("{report}");
    report.into_result()?;

    // Create mode: bind a session, then create. The factory never commits.
    let mut tx = conn.begin().await?;
    let root = User::factory()
        .with_session(&mut tx)
        .admin()
        .create()
        .await?;
    println!("created: {root:?}");
    let team = User::factory()
        .with_session(&mut tx)
        .create_batch(3)
        .await?;
    for user in &team {
        println!("batch:   {} {} <{}>", user.id, user.name, user.email);
    }
    tx.commit().await?; // committing is the caller's choice

    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut conn)
        .await?;
    println!("rows in users: {count}");
    Ok(())
}
