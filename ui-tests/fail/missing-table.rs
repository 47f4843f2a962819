use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
struct User {
    name: String,
}

fn main() {}
