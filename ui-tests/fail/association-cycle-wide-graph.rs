use sqlx_factory::Factory;

// Accounts -> contracts -> invoices -> payments -> refunds -> accounts, where contracts also
// point at a wide graph (8 keys to one table, 8 from it to the next, ..): thousands of chains
// of four associations start at `Contract`. A search cut short in such a graph can miss the
// cycle from `Account`, the model to report it, while the others find it and cut their
// bounds: the program would compile and fail at run time. Every model of the cycle must find
// it, and `Account` reports it.
#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "accounts")]
struct Account {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Contract)]
    contract_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "contracts")]
struct Contract {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Signer)]
    signer_0_id: i64,
    #[factory(association = Signer)]
    signer_1_id: i64,
    #[factory(association = Signer)]
    signer_2_id: i64,
    #[factory(association = Signer)]
    signer_3_id: i64,
    #[factory(association = Signer)]
    signer_4_id: i64,
    #[factory(association = Signer)]
    signer_5_id: i64,
    #[factory(association = Signer)]
    signer_6_id: i64,
    #[factory(association = Signer)]
    signer_7_id: i64,
    #[factory(association = Invoice)]
    invoice_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "signers")]
struct Signer {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Office)]
    office_0_id: i64,
    #[factory(association = Office)]
    office_1_id: i64,
    #[factory(association = Office)]
    office_2_id: i64,
    #[factory(association = Office)]
    office_3_id: i64,
    #[factory(association = Office)]
    office_4_id: i64,
    #[factory(association = Office)]
    office_5_id: i64,
    #[factory(association = Office)]
    office_6_id: i64,
    #[factory(association = Office)]
    office_7_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "offices")]
struct Office {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Region)]
    region_0_id: i64,
    #[factory(association = Region)]
    region_1_id: i64,
    #[factory(association = Region)]
    region_2_id: i64,
    #[factory(association = Region)]
    region_3_id: i64,
    #[factory(association = Region)]
    region_4_id: i64,
    #[factory(association = Region)]
    region_5_id: i64,
    #[factory(association = Region)]
    region_6_id: i64,
    #[factory(association = Region)]
    region_7_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "regions")]
struct Region {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Country)]
    country_0_id: i64,
    #[factory(association = Country)]
    country_1_id: i64,
    #[factory(association = Country)]
    country_2_id: i64,
    #[factory(association = Country)]
    country_3_id: i64,
    #[factory(association = Country)]
    country_4_id: i64,
    #[factory(association = Country)]
    country_5_id: i64,
    #[factory(association = Country)]
    country_6_id: i64,
    #[factory(association = Country)]
    country_7_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "countries")]
struct Country {
    #[factory(primary_key)]
    id: i64,
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
    #[factory(association = Refund)]
    refund_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "refunds")]
struct Refund {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Account)]
    account_id: i64,
}

// Using the models must add no error to the one about the cycle.
#[allow(dead_code)]
async fn make(conn: &mut sqlx::SqliteConnection) {
    let _ = Account::factory().with_session(&mut *conn).create().await;
    let _ = Contract::factory().with_session(&mut *conn).create().await;
    let _ = Refund::factory().with_session(&mut *conn).create_batch(2).await;
}

fn main() {
    let _ = make;
}
