use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(defualt = 1)]
    age: i32,
}

impl<S> UserFactory<S> {
    fn admin(self) -> Self {
        self.age(50)
    }
}

// After the derive's error, the stub factory has every method: no second error.
async fn uses(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>) -> Result<(), sqlx_factory::Error> {
    let user: User = User::factory().age(3).admin().seed(1).after_build(|_| {}).build();
    let users: Vec<User> = User::factory().build_batch(2);
    let created: User = User::factory().with_session(&mut *tx).age(4).in_savepoint().create().await?;
    let many: Vec<User> = User::factory().with_session(&mut *tx).create_batch(2).await?;
    drop((user, users, created, many));
    Ok(())
}

fn main() {}
