//! Two test processes at once against one PostgreSQL database, both with the same
//! `SQLX_FACTORY_SEED` (the replay case), insert into a UNIQUE sequence column and commit:
//! no collision, so neither blocks on the other's row nor fails.

mod common;

use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "proc_handles")]
struct ProcHandle {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("handle-{n}"))]
    handle: String,
}

const SCHEMA_VAR: &str = "SQLX_FACTORY_TEST_SCHEMA";

/// Child body. Alone it writes to SQLite; as a child it writes to the PostgreSQL schema given,
/// keeping its transaction open across both batches so the two processes overlap.
async fn write_handles() {
    match std::env::var(SCHEMA_VAR) {
        #[cfg(feature = "postgres")]
        Ok(schema) => {
            use sqlx::Connection;
            let url = std::env::var("DATABASE_URL_PG").expect("the parent passes DATABASE_URL_PG");
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let set = format!("SET search_path TO {schema}");
            sqlx::raw_sql(sqlx::AssertSqlSafe(set))
                .execute(&mut conn)
                .await
                .unwrap();
            let mut tx = conn.begin().await.unwrap();
            ProcHandle::factory()
                .with_session(&mut tx)
                .create_batch(1000)
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            ProcHandle::factory()
                .with_session(&mut tx)
                .create_batch(1000)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        _ => {
            let mut conn = common::sqlite().await;
            exec!(
                &mut conn,
                "CREATE TABLE proc_handles (id INTEGER PRIMARY KEY, handle TEXT NOT NULL UNIQUE)"
                    .to_string()
            );
            ProcHandle::factory()
                .with_session(&mut conn)
                .create_batch(1000)
                .await
                .unwrap();
            ProcHandle::factory()
                .with_session(&mut conn)
                .create_batch(1000)
                .await
                .unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT handle) FROM proc_handles")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(n, 2000);
        }
    }
}

#[tokio::test]
async fn writer_a() {
    write_handles().await;
}

#[tokio::test]
async fn writer_b() {
    write_handles().await;
}

/// Named `postgres_..` so `.ci/run` counts it as a PostgreSQL test.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_two_processes_do_not_collide() {
    use std::process::{Command, Stdio};

    let test = "two_processes_do_not_collide";
    let mut conn = common::postgres(test).await;
    exec!(
        &mut conn,
        "CREATE TABLE proc_handles (id BIGSERIAL PRIMARY KEY, handle TEXT NOT NULL UNIQUE)"
            .to_string()
    );
    let exe = std::env::current_exe().expect("test binary path");
    let children: Vec<_> = ["writer_a", "writer_b"]
        .into_iter()
        .map(|writer| {
            Command::new(&exe)
                .args(["--exact", writer, "--test-threads=1"])
                .env(SCHEMA_VAR, format!("sqlx_factory_{test}"))
                .env("SQLX_FACTORY_SEED", "4242")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a child test process")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("child ran");
        assert!(output.status.success(), "a writer failed: {output:?}");
    }
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT handle) FROM proc_handles")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!((rows, distinct), (4000, 4000));
}
