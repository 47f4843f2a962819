use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    number: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "transfers")]
struct Transfer {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = User, references = number)]
    from_number: i64,
    #[factory(association = User, references = number)]
    to_number: i64,
}

async fn seed(conn: &mut sqlx::SqliteConnection, users: &[User]) {
    // Borrowed from the rows: `i64` prints the same with every feature set.
    let numbers: Vec<&i64> = users.iter().map(|u| &u.number).collect();
    let _ = Transfer::factory()
        .with_session(conn)
        .insert_many(100)
        .parents_from::<User>(numbers)
        .await;
}

fn main() {}
