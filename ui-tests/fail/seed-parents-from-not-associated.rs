use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    email: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "tags")]
struct Tag {
    #[factory(primary_key)]
    id: i64,
    name: String,
}

async fn seed(conn: &mut sqlx::SqliteConnection, user_ids: Vec<i64>) {
    let _ = Tag::factory()
        .with_session(conn)
        .insert_many(100)
        .parents_from::<User>(user_ids)
        .await;
}

fn main() {}
