use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "splits")]
struct Split {
    #[factory(primary_key)]
    index_uid: String,
    #[factory(primary_key)]
    split_id: String,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "split_tags", association(Split, fields(index_uid, split_id)))]
struct SplitTag {
    #[factory(primary_key)]
    id: i64,
    index_uid: String,
    // Already filled by the composite key above.
    #[factory(association = Split)]
    split_id: String,
}

fn main() {}
