use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
}

async fn make() {
    let _user = User::factory().name("Ann").create().await;
}

fn main() {}
