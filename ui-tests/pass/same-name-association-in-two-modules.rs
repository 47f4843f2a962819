// `admin::User` points at `super::User`: a model of another module with the same name,
// not a self-reference (which took the key for a self-reference's: a required key was refused,
// an `Option` one did not compile).
use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "users")]
pub struct User {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(default = "someone".to_string())]
    pub name: String,
}

mod admin {
    use sqlx_factory::Factory;

    #[derive(Debug, sqlx::FromRow, Factory)]
    #[factory(table = "admin_users")]
    pub struct User {
        #[factory(primary_key)]
        pub id: i64,
        #[factory(association = super::User)]
        pub user_id: i64,
        #[factory(association = super::User)]
        pub backup_user_id: Option<i64>,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
    for sql in [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "CREATE TABLE admin_users (id INTEGER PRIMARY KEY, \
         user_id BIGINT NOT NULL REFERENCES users(id), backup_user_id BIGINT REFERENCES users(id))",
    ] {
        sqlx::query(sql).execute(&mut conn).await?;
    }
    let admins = admin::User::factory().with_session(&mut conn).create_batch(2).await?;
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut conn).await?;
    assert_eq!(admins.len(), 2);
    // An `Option` key is left NULL, as every optional association's.
    assert!(admins.iter().all(|a| a.backup_user_id.is_none()), "{admins:?}");
    assert_eq!(users, 2, "a user per admin");
    let joined: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM admin_users a JOIN users u ON u.id = a.user_id",
    )
    .fetch_one(&mut conn)
    .await?;
    assert_eq!(joined, 2);
    Ok(())
}
