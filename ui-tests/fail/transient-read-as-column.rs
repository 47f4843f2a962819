use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
    #[factory(transient, default = false)]
    upcased: bool,
}

fn main() {}
