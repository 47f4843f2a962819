use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "sessions")]
struct Session {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Event)]
    head_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "events")]
struct Event {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Session)]
    session_id: i64,
}

// Using either model must add no error to the one about the cycle.
#[allow(dead_code)]
async fn make(conn: &mut sqlx::SqliteConnection) {
    let _ = Session::factory().with_session(&mut *conn).create().await;
    let _ = Session::factory().with_session(&mut *conn).create_batch(2).await;
    let _ = Event::factory().with_session(&mut *conn).create().await;
    let _ = Event::factory().with_session(&mut *conn).create_batch(2).await;
}

fn main() {
    let _ = make;
}
