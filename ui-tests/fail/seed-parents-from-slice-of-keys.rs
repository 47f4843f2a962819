use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    email: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "posts")]
struct Post {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User)]
    user_id: i64,
    title: String,
}

async fn seed(conn: &mut sqlx::SqliteConnection, ids: &[i64]) {
    let _ = Post::factory()
        .with_session(conn)
        .insert_many(100)
        .parents_from::<User>(ids)
        .await;
}

fn main() {}
