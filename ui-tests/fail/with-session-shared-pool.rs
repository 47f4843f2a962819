use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
}

// `#[sqlx::test]` hands out a pool, so binding it is the first thing a newcomer tries.
async fn seed() -> Result<(), Box<dyn std::error::Error>> {
    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    User::factory().with_session(&pool).create().await?;
    Ok(())
}

fn main() {}
