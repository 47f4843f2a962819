use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
}

// A bound factory holds `&mut` of the connection; the base to reuse is the unbound one.
async fn make(conn: &mut sqlx::SqliteConnection) {
    let base = User::factory().name("Ann").with_session(conn);
    let _first = base.clone().create().await;
}

fn main() {}
