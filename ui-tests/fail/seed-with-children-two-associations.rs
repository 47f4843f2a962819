use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    email: String,
}

/// Which of the two holds the parent of `with_children`?
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "messages")]
struct Message {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User)]
    sender_id: i64,
    #[factory(association = User)]
    recipient_id: i64,
    body: String,
}

async fn seed(conn: &mut sqlx::SqliteConnection) {
    let _ = User::factory()
        .with_session(conn)
        .insert_many(100)
        .with_children(3, Message::factory())
        .await;
}

fn main() {}
