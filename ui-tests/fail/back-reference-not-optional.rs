use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "sessions")]
struct Session {
    #[factory(primary_key)]
    id: i64,
    // Inserted first with NULL, so the key must be `Option<i64>`.
    #[factory(association = Event, back_reference = session_id)]
    head_event_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "events")]
struct Event {
    #[factory(primary_key)]
    id: i64,
    session_id: i64,
}

fn main() {}
