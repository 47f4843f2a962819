use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "nodes")]
struct Node {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Node)]
    parent_id: i64,
}

fn main() {}
