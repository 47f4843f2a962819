use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(flatten)]
struct Labels {
    title: String,
    tags: Vec<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "articles")]
struct Article {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(flatten)]
    labels: Labels,
}

async fn make(conn: &mut sqlx::SqliteConnection) {
    let built = Article::factory().build(); // fine: no database
    let _created = Article::factory().with_session(conn).create().await;
    let _ = built;
}

fn main() {}
