use sqlx_factory::Factory;

struct Account {
    id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "posts")]
struct Post {
    #[factory(association = Account)]
    account_id: i64,
}

fn main() {}
