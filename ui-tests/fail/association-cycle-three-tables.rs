use sqlx_factory::Factory;

// Orders -> invoices -> payments -> orders: no table can be inserted first.
#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "orders")]
struct Order {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Invoice)]
    invoice_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "invoices")]
struct Invoice {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Payment)]
    payment_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "payments")]
struct Payment {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Order)]
    order_id: i64,
}

// Using the models must add no error to the one about the cycle.
#[allow(dead_code)]
async fn make(conn: &mut sqlx::SqliteConnection) {
    let _ = Order::factory().with_session(&mut *conn).create().await;
    let _ = Invoice::factory().with_session(&mut *conn).create_batch(2).await;
    let _ = Payment::factory().with_session(&mut *conn).create().await;
}

fn main() {
    let _ = make;
}
