use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
}

async fn seed() {
    let _count = User::factory().insert_many(1_000).on_progress(|_| {}).await;
}

fn main() {}
