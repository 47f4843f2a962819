use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "subscriptions")]
struct Subscription {
    #[factory(primary_key)]
    id: i64,
    email: String,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "confirmations")]
struct Confirmation {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Subscription, references = address)]
    subscriber_email: String,
}

fn main() {}
