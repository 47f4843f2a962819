use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "countries")]
struct Country {
    #[factory(primary_key)]
    id: i64,
    iso_number: i32,
}

/// Stores its country's ISO number, not the country's id.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "cities")]
struct City {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Country, references = iso_number)]
    country_iso: i32,
}

async fn seed(conn: &mut sqlx::SqliteConnection, country_ids: Vec<i64>) {
    let _ = City::factory()
        .with_session(conn)
        .insert_many(100)
        .parents_from::<Country>(country_ids)
        .await;
}

fn main() {}
