use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    email: String,
}

/// Stores its user's email, not the user's id.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "confirmations")]
struct Confirmation {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User, references = email)]
    user_email: String,
}

async fn seed(conn: &mut sqlx::SqliteConnection, user_ids: Vec<i64>) {
    let _ = Confirmation::factory()
        .with_session(conn)
        .insert_many(100)
        .parents_from::<User>(user_ids)
        .await;
}

fn main() {}
