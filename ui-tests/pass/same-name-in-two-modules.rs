// `Session -> calendar::Event -> billing::Session` is no cycle: two models named `Session`
// in two modules are two models.
use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "sessions")]
struct Session {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = calendar::Event)]
    event_id: i64,
}

mod calendar {
    use sqlx_factory::Factory;

    #[derive(Debug, sqlx::FromRow, Factory)]
    #[factory(table = "events")]
    pub struct Event {
        #[factory(primary_key)]
        pub id: i64,
        #[factory(association = super::billing::Session)]
        pub billing_session_id: i64,
    }
}

mod billing {
    use sqlx_factory::Factory;

    #[derive(Debug, sqlx::FromRow, Factory)]
    #[factory(table = "billing_sessions")]
    pub struct Session {
        #[factory(primary_key)]
        pub id: i64,
        pub total: i64,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
    for sql in [
        "CREATE TABLE billing_sessions (id INTEGER PRIMARY KEY, total BIGINT NOT NULL)",
        "CREATE TABLE events (id INTEGER PRIMARY KEY, billing_session_id BIGINT NOT NULL REFERENCES billing_sessions(id))",
        "CREATE TABLE sessions (id INTEGER PRIMARY KEY, event_id BIGINT NOT NULL REFERENCES events(id))",
    ] {
        sqlx::query(sql).execute(&mut conn).await?;
    }
    let sessions = Session::factory().with_session(&mut conn).create_batch(2).await?;
    let joined: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sessions s JOIN events e ON e.id = s.event_id \
         JOIN billing_sessions b ON b.id = e.billing_session_id",
    )
    .fetch_one(&mut conn)
    .await?;
    assert_eq!((sessions.len(), joined), (2, 2));
    Ok(())
}
