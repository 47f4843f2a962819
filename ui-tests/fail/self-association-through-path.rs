use sqlx_factory::Factory;

// A self-reference is written as the model's bare name; a path to the model itself (which a
// model of the same name in another module could also be) gets one error saying so.
#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "nodes")]
struct Node {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = crate::Node)]
    parent_id: Option<i64>,
}

#[allow(dead_code)]
async fn make(conn: &mut sqlx::SqliteConnection) {
    let _ = Node::factory().with_session(&mut *conn).create().await;
}

fn main() {
    let _ = make;
}
