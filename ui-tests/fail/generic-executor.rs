use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
}

// A helper generic over sqlx's executors: sqlx executes a query on it, but a factory needs
// the connection itself for all its statements (parents, chunks, hooks).
async fn seed<'c>(mut executor: impl sqlx::SqliteExecutor<'c>) -> Result<(), sqlx_factory::Error> {
    User::factory().with_session(&mut executor).create().await?;
    Ok(())
}

fn main() {}
