// Every way a session is passed compiles: `&mut` of a transaction or connection (reborrowed
// with `&mut *conn` to bind it again, as with sqlx's own executors), and a pool.
use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
}

/// A helper's `conn: &mut SqliteConnection`, bound three times.
async fn helper(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx_factory::Error> {
    User::factory().with_session(&mut *conn).create().await?;
    User::factory().with_session(&mut *conn).create().await?;
    User::factory().with_session(conn).create().await?;
    Ok(())
}

/// A helper's `tx: &mut Transaction`, as `&mut tx`, `&mut **tx` and `tx`.
async fn in_tx(mut tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>) -> Result<(), sqlx_factory::Error> {
    User::factory().with_session(&mut tx).create().await?;
    User::factory().with_session(&mut **tx).create().await?;
    User::factory().with_session(tx).create().await?;
    Ok(())
}

/// A hook binds the connection it is given, twice.
async fn hooked(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx_factory::Error> {
    User::factory()
        .with_session(conn)
        .after_create(|_, conn| {
            Box::pin(async move {
                User::factory().with_session(&mut *conn).create().await?;
                User::factory().with_session(conn).create().await?;
                Ok(())
            })
        })
        .create()
        .await?;
    Ok(())
}

/// What `#[sqlx::test]` hands out: a pool, as `&pool`, `&mut pool` or by value.
async fn pooled(mut pool: sqlx::SqlitePool) -> Result<(), sqlx_factory::Error> {
    User::factory().with_session(&pool).create().await?;
    User::factory().with_session(&mut pool).create_batch(2).await?;
    User::factory().with_session(pool.clone()).create().await?;
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

    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    sqlx::query("CREATE TABLE users (name TEXT NOT NULL)").execute(&pool).await?;
    pooled(pool.clone()).await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&pool).await?;
    assert_eq!(count, 4);
    Ok(())
}
