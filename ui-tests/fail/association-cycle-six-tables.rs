use sqlx_factory::Factory;

// The longest cycle the check finds: six tables, A -> B -> C -> D -> E -> F -> A, reported
// once (at `Alpha`, whose name sorts first) in our words.
#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "alphas")]
struct Alpha {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Bravo)]
    bravo_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "bravos")]
struct Bravo {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Charlie)]
    charlie_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "charlies")]
struct Charlie {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Delta)]
    delta_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "deltas")]
struct Delta {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Echo)]
    echo_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "echos")]
struct Echo {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Foxtrot)]
    foxtrot_id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "foxtrots")]
struct Foxtrot {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Alpha)]
    alpha_id: i64,
}

// Using the models must add no error to the one about the cycle.
#[allow(dead_code)]
async fn make(conn: &mut sqlx::SqliteConnection) {
    let _ = Alpha::factory().with_session(&mut *conn).create().await;
    let _ = Delta::factory().with_session(&mut *conn).create_batch(2).await;
    let _ = Foxtrot::factory().with_session(&mut *conn).create().await;
}

fn main() {
    let _ = make;
}
