//! The runtime's per-backend code, compiled here once for each backend feature.
//!
//! Most of what a `create`, a batch or a seed runs is generic over the backend only (the insert
//! path, savepoints and scopes, sending and reading back, sqlx's own pool and query code for that
//! database). Generic code is compiled in the crate that instantiates it, so every crate with a
//! factory (every integration-test binary) would compile all of it again. In a debug build rustc
//! shares generic instances across crates (`-Zshare-generics`, on by default below `opt-level`
//! 2): a downstream crate links an instance an upstream crate already compiled. So this module
//! runs every operation once on a model of its own, for each backend; the model-specific parts
//! stay per model, the rest is then linked from here (a test binary of one model: about a
//! quarter fewer LLVM lines, docs/PERFORMANCE.md). Nothing here runs.

#![allow(dead_code)]

use crate::future::BoxFuture;

/// A parent with a primary key, for the parent paths (`association`, seeding children).
#[derive(Clone, sqlx_factory_macros::Factory)]
#[factory(table = "sqlx_factory_probe_parents")]
struct ProbeParent {
    #[factory(primary_key)]
    id: i64,
    name: String,
}

/// A child with a `get_or_create` key.
#[derive(Clone, sqlx_factory_macros::Factory)]
#[factory(table = "sqlx_factory_probes", get_or_create(code))]
struct Probe {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = ProbeParent)]
    parent_id: i64,
    code: String,
    n: Option<i32>,
}

/// `FromRow` as sqlx derives it (this crate's `sqlx` has no `derive` feature).
macro_rules! from_row {
    ($model:ident { $($field:ident: $ty:ty),+ }) => {
        impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for $model
        where
            &'static str: sqlx::ColumnIndex<R>,
            $($ty: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,)+
        {
            fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
                Ok($model { $($field: row.try_get(stringify!($field))?,)+ })
            }
        }
    };
}
from_row!(ProbeParent {
    id: i64,
    name: String
});
from_row!(Probe { id: i64, parent_id: i64, code: String, n: Option<i32> });

/// Every operation on one backend, through a pool and in a transaction.
macro_rules! every_operation {
    ($name:ident, $db:ty) => {
        fn $name(pool: &sqlx::Pool<$db>) -> BoxFuture<'_, ()> {
            Box::pin(async move {
                let _ = Probe::factory().with_session(pool).create().await;
                let _ = Probe::factory().with_session(pool).create_batch(2).await;
                let _ = Probe::factory().with_session(pool).get_or_create().await;
                let _ = Probe::factory()
                    .with_session(pool)
                    .get_or_create_batch(2)
                    .await;
                let _ = ProbeParent::factory()
                    .with_session(pool)
                    .insert_many(2)
                    .await;
                let _ = ProbeParent::factory()
                    .with_session(pool)
                    .insert_many(2)
                    .with_children(2, Probe::factory())
                    .await;
                let _ = Probe::factory()
                    .with_session(pool)
                    .insert_many(2)
                    .parents_from::<ProbeParent>(vec![1_i64])
                    .await;
                let _ = Probe::factory()
                    .with_session(pool)
                    .insert_many(2)
                    .parents_from_table::<ProbeParent>()
                    .await;
                if let Ok(mut tx) = pool.begin().await {
                    let _ = Probe::factory().with_session(&mut tx).create().await;
                    let _ = Probe::factory()
                        .with_session(&mut tx)
                        .in_savepoint()
                        .create_batch(2)
                        .await;
                    let _ = tx.rollback().await;
                }
            })
        }
    };
}

#[cfg(feature = "sqlite")]
every_operation!(sqlite, sqlx::Sqlite);
#[cfg(feature = "sqlite")]
#[used]
static SQLITE: fn(&sqlx::Pool<sqlx::Sqlite>) -> BoxFuture<'_, ()> = sqlite;

#[cfg(feature = "postgres")]
every_operation!(postgres, sqlx::Postgres);
#[cfg(feature = "postgres")]
#[used]
static POSTGRES: fn(&sqlx::Pool<sqlx::Postgres>) -> BoxFuture<'_, ()> = postgres;

#[cfg(feature = "mysql")]
every_operation!(mysql, sqlx::MySql);
#[cfg(feature = "mysql")]
#[used]
static MYSQL: fn(&sqlx::Pool<sqlx::MySql>) -> BoxFuture<'_, ()> = mysql;
