use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "articles")]
struct Article {
    title: String,
    tags: Vec<i64>,
}

async fn make(conn: &mut sqlx::SqliteConnection) {
    let built = Article::factory().build(); // fine: no database
    let _created = Article::factory().with_session(conn).create().await;
    let _ = built;
}

fn main() {}
