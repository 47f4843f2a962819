use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(default = "x")]
    age: i32,
}

fn main() {}
