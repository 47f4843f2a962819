use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
}

// `with_session` takes its session as sqlx's `execute` takes an executor: a `&mut` passed as
// it is moves, and binding it again needs `&mut *conn`, the reborrow rustc suggests.
async fn helper(conn: &mut sqlx::SqliteConnection) -> Result<(), sqlx_factory::Error> {
    User::factory().with_session(conn).create().await?;
    User::factory().with_session(conn).create().await?;
    Ok(())
}

fn main() {}
