use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "users")]
struct User {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("user{n}@example.com"))]
    email: String,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
    #[factory(default = 30)]
    age: i32,
    bio: Option<String>,
}

impl<S> UserFactory<S> {
    fn admin(self) -> Self {
        self.name("Root").age(50)
    }
}

async fn create(pool: &sqlx::SqlitePool) -> Result<(), Box<dyn std::error::Error>> {
    let mut tx = pool.begin().await?;
    let ann = User::factory().with_session(&mut tx).admin().create().await?;
    let users = User::factory().with_session(&mut tx).create_batch(50).await?;
    assert!(ann.id > 0 && users.len() == 50);
    tx.rollback().await?;
    Ok(())
}

fn main() {
    let _ = create;
    let u: User = User::factory().name("Ann").build();
    assert_eq!(u.name, "Ann");
    let many: Vec<User> = User::factory().admin().build_batch(100);
    assert!(many.iter().all(|u| u.age == 50));
}
