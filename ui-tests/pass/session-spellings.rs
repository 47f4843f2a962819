//! Every way a session is passed keeps compiling: `with_session` reborrows its `&mut`.
use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
}

/// A helper's `conn: &mut SqliteConnection`, bound twice (reborrowed, not moved).
async fn helper(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx_factory::Error> {
    User::factory().with_session(conn).create().await?;
    User::factory().with_session(conn).create().await?;
    User::factory().with_session(&mut *conn).create().await?;
    Ok(())
}

/// A helper's `tx: &mut Transaction`, as `&mut tx` and as `tx`.
async fn in_tx(mut tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>) -> Result<(), sqlx_factory::Error> {
    User::factory().with_session(&mut tx).create().await?;
    User::factory().with_session(tx).create().await?;
    User::factory().with_session(&mut **tx).create().await?;
    Ok(())
}

/// A hook binds the connection it is given, twice.
async fn hooked(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx_factory::Error> {
    User::factory()
        .with_session(conn)
        .after_create(|_, conn| {
            Box::pin(async move {
                User::factory().with_session(conn).create().await?;
                User::factory().with_session(conn).create().await?;
                Ok(())
            })
        })
        .create()
        .await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
    sqlx::query("CREATE TABLE users (name TEXT NOT NULL)").execute(&mut conn).await?;
    helper(&mut conn).await?;
    hooked(&mut conn).await?;
    let mut tx = conn.begin().await?;
    in_tx(&mut tx).await?;
    tx.commit().await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut conn).await?;
    assert_eq!(count, 9);
    Ok(())
}
