use sqlx_factory::Factory;

// No `sqlx::FromRow`: the rows RETURNING gives cannot be read back into a `User`.
#[derive(Debug, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    name: String,
}

async fn make(conn: &mut sqlx::SqliteConnection) {
    let _user = User::factory().with_session(conn).create().await;
}

fn main() {}
