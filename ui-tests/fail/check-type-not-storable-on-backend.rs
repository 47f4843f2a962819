use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "articles")]
struct Article {
    title: String,
    tags: Vec<String>,
}

async fn check(conn: &mut sqlx::SqliteConnection) {
    let _report = sqlx_factory::check!(conn, Article).await;
}

fn main() {}
