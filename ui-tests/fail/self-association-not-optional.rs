use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "nodes")]
struct Node {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Node)]
    parent_id: i64,
}

// After the derive's error, the stub factory has every method: no second error.
async fn uses(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>) -> Result<(), sqlx_factory::Error> {
    let built: Node = Node::factory().parent_id(1).parent_id_with(|p| p.id(5)).build();
    let created: Node = Node::factory().with_session(&mut *tx).parent_id(1).create().await?;
    drop((built, created));
    Ok(())
}

fn main() {}
