use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    email: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "transfers")]
struct Transfer {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User, references = email)]
    from_email: String,
    #[factory(association = User, references = email)]
    to_email: String,
}

async fn seed(conn: &mut sqlx::SqliteConnection, users: &[User]) {
    let emails: Vec<&String> = users.iter().map(|u| &u.email).collect();
    let _ = Transfer::factory()
        .with_session(conn)
        .insert_many(100)
        .parents_from::<User>(emails)
        .await;
}

fn main() {}
