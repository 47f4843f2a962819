//! The rest of the toolbox, on SQLite in memory: seeds, required fields, transient parameters
//! read by lazy fields and hooks, after-build and after-create hooks. `cargo run --example recipes`

use sqlx::{Connection, SqliteConnection};
use sqlx_factory::Factory;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "accounts")]
struct Account {
    #[factory(primary_key)]
    id: i64,
    #[factory(required)] // `build`/`create` do not compile until `.plan(..)` is called
    plan: String,
    #[factory(fake = fake::faker::company::en::CompanyName())]
    company: String,
    #[factory(lazy = |a: &Account| if a.shout { a.company.to_uppercase() } else { a.company.clone() })]
    display: String,
    #[factory(transient, default = false)] // a parameter, not a column
    #[sqlx(skip)]
    shout: bool,
    #[factory(transient, default = 0)]
    #[sqlx(skip)]
    seats: u32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Same seed, same data, on every run and machine.
    let a = Account::factory().plan("free").seed(7).build_batch(2);
    let b = Account::factory().plan("free").seed(7).build_batch(2);
    assert_eq!(a, b);
    println!("seeded:  {:?}", a[0]);
    println!(
        "run seed {} (set SQLX_FACTORY_SEED to replay a run)",
        sqlx_factory::run_seed()
    );

    // A transient read by a lazy field; an after-build hook.
    let loud = Account::factory()
        .plan("pro")
        .shout(true)
        .after_build(|a| a.company.push_str(" Ltd"))
        .build();
    println!("built:   {} / {}", loud.company, loud.display);

    let mut conn = SqliteConnection::connect("sqlite::memory:").await?;
    sqlx::raw_sql(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, plan TEXT NOT NULL, company TEXT NOT NULL,
                                display TEXT NOT NULL);
         CREATE TABLE seats (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL);",
    )
    .execute(&mut conn)
    .await?;
    // `required` fields are the caller's: the check compares the columns, not sampled values.
    sqlx_factory::check!(&mut conn, Account)
        .await
        .into_result()?;

    // An after-create hook reads a transient and inserts that many rows, in the same session.
    let mut tx = conn.begin().await?;
    let team = Account::factory()
        .with_session(&mut tx)
        .plan("team")
        .seats(3u32)
        .after_create(|account, conn| {
            Box::pin(async move {
                for _ in 0..account.seats {
                    sqlx::query("INSERT INTO seats (account_id) VALUES (?)")
                        .bind(account.id)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .create()
        .await?;
    let seats: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM seats WHERE account_id = ?")
        .bind(team.id)
        .fetch_one(&mut *tx)
        .await?;
    println!("created: {team:?} with {seats} seats");
    tx.rollback().await?;
    Ok(())
}
