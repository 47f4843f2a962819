use sqlx_factory::Factory;

#[derive(Debug, Clone, PartialEq, sqlx::Type)]
#[sqlx(transparent)]
struct AccountId(i64);

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "accounts")]
struct Account {
    #[factory(primary_key, default = AccountId(1))]
    id: AccountId,
    name: String,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "invoices")]
struct Invoice {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Account)]
    account_id: AccountId,
}

fn main() {}
