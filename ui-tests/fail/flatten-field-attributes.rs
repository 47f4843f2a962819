use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(flatten)]
struct Timestamps {
    created_at: String,
}

// A flatten field is its group's columns: it has no column name of its own, and cannot find
// a row. Two mistakes, one error each.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "articles", get_or_create(timestamps))]
struct Article {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(flatten)]
    #[factory(column = "created")]
    timestamps: Timestamps,
}

fn main() {
    let _ = Article::factory().timestamps_with(|t| t.created_at("now")).build();
}
