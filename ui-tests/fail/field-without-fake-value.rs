use sqlx_factory::Factory;

#[derive(Debug, Clone, PartialEq, sqlx::Type)]
#[sqlx(transparent)]
struct Cents(i64);

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "products")]
struct Product {
    name: String,
    price: Cents,
}

fn main() {}
