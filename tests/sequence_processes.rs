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
            check_clean!(&mut conn, common::Kind::Sqlite, ProcHandle);
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

/// Child body of the spawned-task case: every child runs this same test, so the thread names
/// (`tokio-runtime-worker`) and the seed are the same in each; values are drawn in spawned
/// tasks. Alone (no schema given) it does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_writer() {
    #[cfg(feature = "postgres")]
    if let Ok(schema) = std::env::var(SCHEMA_VAR) {
        use sqlx::Connection;
        let url = std::env::var("DATABASE_URL_PG").expect("the parent passes DATABASE_URL_PG");
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (url, schema) = (url.clone(), schema.clone());
                tokio::spawn(async move {
                    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                    let set = format!("SET search_path TO {schema}");
                    sqlx::raw_sql(sqlx::AssertSqlSafe(set))
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    let mut tx = conn.begin().await.unwrap();
                    for _ in 0..5 {
                        ProcHandle::factory()
                            .with_session(&mut tx)
                            .create_batch(50)
                            .await
                            .unwrap();
                    }
                    tx.commit().await.unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
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

/// Creates `proc_handles` in the test's schema, runs one child process of this test binary per
/// name in `children` (each with `SQLX_FACTORY_SEED=4242` and the schema), each bounded, and
/// returns the connection for the checks.
#[cfg(feature = "postgres")]
async fn run_children(test: &str, children: &[&str]) -> sqlx::PgConnection {
    use std::process::{Command, Stdio};
    use std::time::Duration;

    let mut conn = common::postgres(test).await;
    exec!(
        &mut conn,
        "CREATE TABLE proc_handles (id BIGSERIAL PRIMARY KEY, handle TEXT NOT NULL UNIQUE)"
            .to_string()
    );
    check_clean!(&mut conn, common::Kind::Postgres, ProcHandle);
    let exe = std::env::current_exe().expect("test binary path");
    let children: Vec<_> = children
        .iter()
        .map(|child| {
            Command::new(&exe)
                .args(["--exact", child, "--test-threads=1"])
                .env(SCHEMA_VAR, format!("sqlx_factory_{test}"))
                .env("SQLX_FACTORY_SEED", "4242")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a child test process")
        })
        .collect();
    for child in children {
        let output = tokio::time::timeout(
            Duration::from_secs(120),
            tokio::task::spawn_blocking(move || child.wait_with_output()),
        )
        .await
        .expect("a child hung")
        .unwrap()
        .expect("child ran");
        assert!(output.status.success(), "a writer failed: {output:?}");
    }
    conn
}

/// Named `postgres_..` so `.ci/run` counts it as a PostgreSQL test.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_two_processes_do_not_collide() {
    let mut conn = run_children("two_processes_do_not_collide", &["writer_a", "writer_b"]).await;
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT handle) FROM proc_handles")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!((rows, distinct), (4000, 4000));
}

/// Four processes of the same test, one seed, values drawn in
/// `tokio::spawn`ed tasks: 4 × 4 × 250 rows, no duplicate, and numbers of at most 10 digits.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_spawned_tasks_in_four_processes_do_not_collide() {
    let writers = ["spawned_writer"; 4];
    let mut conn = run_children("spawned_tasks_in_four_processes", &writers).await;
    let (rows, distinct, longest): (i64, i64, i32) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(DISTINCT handle), MAX(LENGTH(handle)) FROM proc_handles",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((rows, distinct), (4000, 4000));
    assert!(longest <= "handle-".len() as i32 + 10, "{longest}");
}
