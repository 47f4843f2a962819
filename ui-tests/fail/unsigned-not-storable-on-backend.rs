use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "downloads")]
struct Download {
    name: String,
    bytes: u64,
}

async fn make(conn: &mut sqlx::SqliteConnection) {
    let built = Download::factory().build(); // fine: no database
    let _created = Download::factory().with_session(conn).create().await;
    let _ = built;
}

fn main() {}
