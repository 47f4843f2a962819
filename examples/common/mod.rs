//! What the PostgreSQL examples share: a connection to `DATABASE_URL_PG` with their schema.

use sqlx::{Connection, PgConnection};

/// Connects to `DATABASE_URL_PG` and runs `schema` there. `None`, after saying so, when the
/// variable is unset: the example then has nothing to run against.
pub async fn postgres(example: &str, schema: String) -> Result<Option<PgConnection>, sqlx::Error> {
    let Some(url) = std::env::var("DATABASE_URL_PG")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        println!("{example}: skipped, set DATABASE_URL_PG to a PostgreSQL URL");
        return Ok(None);
    };
    let mut conn = PgConnection::connect(&url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(schema))
        .execute(&mut conn)
        .await?;
    Ok(Some(conn))
}
