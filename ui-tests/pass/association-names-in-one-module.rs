// Two models of one module whose model and field names join alike (`A` + `b_c`, `A_b` + `c`):
// each association keeps its own cycle-check answer, and a model name the user allowed
// (`A_b`) is allowed in the factory's names too.
use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "p")]
pub struct P {
    #[factory(primary_key)]
    pub id: i64,
}

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "a")]
pub struct A {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(association = P)]
    pub b_c: i64,
}

#[allow(non_camel_case_types)]
#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "a_b")]
pub struct A_b {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(association = P)]
    pub c: i64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
    for sql in [
        "CREATE TABLE p (id INTEGER PRIMARY KEY)",
        "CREATE TABLE a (id INTEGER PRIMARY KEY, b_c BIGINT NOT NULL REFERENCES p(id))",
        "CREATE TABLE a_b (id INTEGER PRIMARY KEY, c BIGINT NOT NULL REFERENCES p(id))",
    ] {
        sqlx::query(sql).execute(&mut conn).await?;
    }
    let a = A::factory().with_session(&mut conn).create().await?;
    let a_b = A_b::factory().with_session(&mut conn).create().await?;
    let parents: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM p").fetch_one(&mut conn).await?;
    assert_eq!(parents, 2, "a parent each: {a:?} {a_b:?}");
    assert_ne!(a.b_c, a_b.c);
    Ok(())
}
