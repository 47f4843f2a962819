use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
    #[factory(lazy = |u: &User| u.name.len())]
    email: String,
}

fn main() {}
