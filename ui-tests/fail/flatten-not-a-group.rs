use sqlx_factory::Factory;

// Derives sqlx's `FromRow`, but not `Factory` with `#[factory(flatten)]`.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Timestamps {
    created_at: String,
    updated_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "articles")]
struct Article {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(flatten)]
    timestamps: Timestamps,
}

fn main() {
    let _ = Article::factory().build();
}
