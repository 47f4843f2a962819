use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    email: String,
}

/// Two associations to `User` that store different columns of it: one list of values cannot
/// fill both.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "messages")]
struct Message {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User)]
    sender_id: i64,
    #[factory(association = User, references = email)]
    recipient_email: String,
    body: String,
}

async fn seed(conn: &mut sqlx::SqliteConnection) {
    let _ = Message::factory()
        .with_session(conn)
        .insert_many(100)
        .parents_from_table::<User>()
        .await;
}

fn main() {}
