use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
}

async fn make() {
    let _users = User::factory().create_batch(10).await;
}

fn main() {}
