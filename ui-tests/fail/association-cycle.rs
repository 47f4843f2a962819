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

fn main() {}
