//! Wide and large: a 120-column model splits under each backend's bind limit; 100 000 rows lose
//! nothing; 8 tasks with a transaction each on one pool do not collide or deadlock.

mod common;

#[path = "common/scale_models.rs"]
mod scale_models;

use sqlx::Connection;

use common::Kind;
use scale_models::{Big, Crowd, WIDE_COLUMNS, Wide};

#[path = "common/statements.rs"]
mod statements;

/// The tables of [`Wide`], [`Big`] and [`Crowd`].
fn wide_ddl(kind: Kind) -> String {
    let columns: Vec<String> = WIDE_COLUMNS
        .iter()
        .map(|c| format!("{c} BIGINT NOT NULL"))
        .collect();
    format!(
        "CREATE TABLE wide (id {}, {})",
        kind.serial_pk(),
        columns.join(", ")
    )
}

fn big_ddl(kind: Kind) -> String {
    format!(
        "CREATE TABLE big (id {}, n BIGINT NOT NULL, label {} NOT NULL UNIQUE)",
        kind.serial_pk(),
        kind.varchar()
    )
}

fn crowd_ddl(kind: Kind) -> String {
    format!(
        "CREATE TABLE crowd (id {}, email {} NOT NULL UNIQUE)",
        kind.serial_pk(),
        kind.varchar()
    )
}

/// The type a `SUM` is cast to, to decode as `i64` (PostgreSQL sums to NUMERIC, MariaDB to
/// DECIMAL).
fn int(kind: Kind) -> &'static str {
    match kind {
        Kind::MariaDb => "SIGNED",
        _ => "BIGINT",
    }
}

on_every_backend! {
    /// 120 bound values per row: SQLite's 32 766-parameter limit allows 273 rows per statement,
    /// PostgreSQL's and MariaDB's 65 535 allow 546, capped at 500.
    async fn wide_model_splits_under_the_bind_limit(conn, kind) {
        exec!(conn, wide_ddl(kind));
        let counting = statements::start().await;
        let rows = Wide::factory().with_session(&mut *conn).create_batch(5_000).await.unwrap();
        let sent = counting.inserts_into(kind, &["wide"]);
        drop(counting);
        let (limit, per_statement) = match kind {
            Kind::Sqlite => (32_766, 273),
            _ => (65_535, 500),
        };
        let per: Vec<u64> = sent.iter().map(|s| s.rows_returned).collect();
        assert_eq!(sent.len(), 5_000usize.div_ceil(per_statement), "{per:?}");
        assert!(per.iter().all(|&r| r as usize <= per_statement && r as usize * 120 <= limit), "{per:?}");
        assert_eq!(per.iter().sum::<u64>(), 5_000);
        assert_eq!(rows.len(), 5_000);
        let sql = format!("SELECT COUNT(*), CAST(SUM(c119 % 1000003) AS {}) FROM wide", int(kind));
        let (count, sum): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!((count, sum), (5_000, rows.iter().map(|r| r.c119 % 1_000_003).sum::<i64>()));
    }
}

on_every_backend! {
    /// 100 000 rows: all there, each once, by count and checksum.
    async fn hundred_thousand_rows_lose_nothing(conn, kind) {
        exec!(conn, big_ddl(kind));
        let mut tx = conn.begin().await.unwrap();
        let rows = Big::factory().with_session(&mut tx).create_batch(100_000).await.unwrap();
        tx.commit().await.unwrap();
        let sql = format!("SELECT COUNT(*), COUNT(DISTINCT label), CAST(SUM(n % 1000003) AS {}) FROM big", int(kind));
        let (count, distinct, sum): (i64, i64, i64) =
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_one(&mut *conn)
                .await
                .unwrap();
        let expected: i64 = rows.iter().map(|r| r.n % 1_000_003).sum();
        assert_eq!((count, distinct, sum), (100_000, 100_000, expected));
        assert!(rows.windows(2).all(|w| w[0].id < w[1].id));
    }
}

/// 8 tasks, each in its own transaction on one pool, each creating 2 000 rows with a UNIQUE
/// sequence column, on a multi-threaded runtime: no collision, no deadlock, all rows there.
macro_rules! concurrency_test {
    ($name:ident, $pool:expr, $kind:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let pool = $pool;
            let mut conn = pool.acquire().await.unwrap();
            exec!(&mut *conn, crowd_ddl($kind));
            drop(conn);
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let pool = pool.clone();
                    tokio::spawn(async move {
                        let mut tx = pool.begin().await?;
                        Crowd::factory()
                            .with_session(&mut tx)
                            .create_batch(1_000)
                            .await?;
                        for _ in 0..10 {
                            Crowd::factory().with_session(&mut tx).create().await?;
                        }
                        Crowd::factory()
                            .with_session(&mut tx)
                            .create_batch(990)
                            .await?;
                        tx.commit().await?;
                        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap().unwrap();
            }
            let (count, distinct): (i64, i64) =
                sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT email) FROM crowd")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            assert_eq!((count, distinct), (16_000, 16_000));
        }
    };
}

concurrency_test!(
    eight_tasks_do_not_collide_sqlite,
    {
        let path =
            std::env::temp_dir().join(format!("sqlx_factory_crowd_{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(30));
        sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .unwrap()
    },
    Kind::Sqlite
);

#[cfg(feature = "postgres")]
concurrency_test!(
    eight_tasks_do_not_collide_postgres,
    common::postgres_pool("eight_tasks_do_not_collide").await,
    Kind::Postgres
);

#[cfg(feature = "mysql")]
concurrency_test!(
    eight_tasks_do_not_collide_mariadb,
    common::mariadb_pool("eight_tasks_do_not_collide").await,
    Kind::MariaDb
);

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there.
    async fn check_every_model(conn, kind) {
        exec!(conn, wide_ddl(kind));
        exec!(conn, big_ddl(kind));
        exec!(conn, crowd_ddl(kind));
        check_clean!(&mut *conn, kind, Wide, Big, Crowd);
    }
}
