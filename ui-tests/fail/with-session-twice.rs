use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
}

async fn make(conn: &mut sqlx::SqliteConnection, other: &mut sqlx::SqliteConnection) {
    let _user = User::factory().with_session(conn).with_session(other).create().await;
}

fn main() {}
