use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(defualt = 1)]
    age: i32,
}

fn main() {}
