// A model named `S`, and a model pointing at it: the factory's session parameter, usually `S`,
// must not hide the model's name inside the factory's impls; nor a raw `r#S`, nor `__S` when
// both are named.
use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "s")]
pub struct S {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(default = "default".to_string())]
    pub name: String,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "t")]
pub struct T {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(association = S)]
    pub s_id: i64,
}

mod raw {
    use sqlx_factory::Factory;

    #[derive(Debug, sqlx::FromRow, Factory)]
    #[factory(table = "s")]
    pub struct r#S {
        #[factory(primary_key)]
        pub id: i64,
        #[factory(default = "raw".to_string())]
        pub name: String,
    }
}

mod both {
    use sqlx_factory::Factory;

    pub type S = String;

    #[allow(non_camel_case_types)]
    #[derive(Debug, sqlx::FromRow, Factory)]
    #[factory(table = "s")]
    pub struct __S {
        #[factory(primary_key)]
        pub id: i64,
        #[factory(default = "both".to_string())]
        pub name: S,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
    for sql in [
        "CREATE TABLE s (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, s_id BIGINT NOT NULL REFERENCES s(id))",
    ] {
        sqlx::query(sql).execute(&mut conn).await?;
    }
    assert_eq!(S::factory().name("built").build().name, "built");
    let s = S::factory().name("first").with_session(&mut conn).create().await?;
    let t = T::factory().s_id_with(|f| f.name("parent")).with_session(&mut conn).create().await?;
    let u = T::factory().with_session(&mut conn).create().await?;
    let names: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM s ORDER BY id").fetch_all(&mut conn).await?;
    assert_eq!(
        names,
        vec![(s.id, "first".to_string()), (t.s_id, "parent".to_string()), (u.s_id, "default".to_string())]
    );
    assert_eq!(raw::r#S::factory().build().name, "raw");
    assert_eq!(both::__S::factory().build().name, "both");
    Ok(())
}
