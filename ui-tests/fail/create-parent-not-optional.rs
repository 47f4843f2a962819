use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "accounts")]
struct Account {
    #[factory(primary_key)]
    id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "wallets")]
struct Wallet {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Account, create_parent)]
    account_id: i64,
}

fn main() {}
