use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    name: String,
    #[factory(transient, default = false)]
    upcased: bool,
}

// After the derive's error, the stub factory has every method: no second error.
async fn uses(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>) -> Result<(), sqlx_factory::Error> {
    let built: User = User::factory().name("Ann").upcased(true).build();
    let created: User = User::factory().with_session(&mut *tx).name("Ann").create().await?;
    drop((built, created));
    Ok(())
}

fn main() {}
