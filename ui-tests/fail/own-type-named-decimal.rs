use sqlx_factory::Factory;

/// An application's own type that happens to be named `Decimal`.
#[derive(Debug, Clone, sqlx::Type)]
#[sqlx(transparent)]
struct Decimal(i64);

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "prices")]
struct Price {
    amount: Decimal,
}

fn main() {
    let _ = Price::factory().build();
}
