use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "subscriptions")]
struct Subscription {
    #[factory(primary_key)]
    id: i32,
    email: String,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "confirmations")]
struct Confirmation {
    #[factory(primary_key)]
    id: i64,
    // The parent's key is `i32`: `i32: Into<i64>` must not make this compile.
    #[factory(association = Subscription)]
    subscription_id: i64,
}

fn main() {}
