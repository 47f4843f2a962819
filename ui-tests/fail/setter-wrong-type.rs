use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    active: bool,
}

fn main() {
    let _ = User::factory().active("yes").build();
}
