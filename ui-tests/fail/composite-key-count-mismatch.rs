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
#[factory(table = "split_tags", association(Split, fields(split_index, split), references(index_uid)))]
struct SplitTag {
    #[factory(primary_key)]
    id: i64,
    split_index: String,
    split: String,
}

fn main() {}
