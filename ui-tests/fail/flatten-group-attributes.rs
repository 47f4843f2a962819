use sqlx_factory::Factory;

// A group of columns has no table and no key of its own: two mistakes, one error each.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(flatten, table = "timestamps")]
struct Timestamps {
    #[factory(primary_key)]
    id: i64,
    created_at: String,
}

fn main() {
    let _ = Timestamps::factory().created_at("now").build();
}
