//! Rows drawn with no attribute, stored and read back: the round trip tests/type_matrix.rs and
//! tests/type_review.rs run per column type (`round_trip_test!`), with the second connection
//! that reads them back.
#![allow(dead_code, unused_macros)] // each test binary uses a different part of this module

use std::fmt::Debug;

/// The seed of every `insert_many` here, so its rows can be drawn again by `build_batch`.
pub const SEED: u64 = 23;

/// Every drawn row equals the row read back, in order; else the number that differ and the
/// first of them.
pub fn assert_read_back<T: PartialEq + Debug>(how: &str, drawn: &[T], stored: &[T]) {
    assert_eq!(drawn.len(), stored.len(), "{how}: rows read back");
    let differ: Vec<(&T, &T)> = drawn
        .iter()
        .zip(stored)
        .filter(|(drawn, stored)| drawn != stored)
        .collect();
    if let Some((first_drawn, first_stored)) = differ.first() {
        panic!(
            "{how}: {} of {} rows read back different; first drawn {first_drawn:?}, read back {first_stored:?}",
            differ.len(),
            stored.len()
        );
    }
}

/// Creates `$table` with `$ddl` (its columns after the key), then `$created` rows by
/// `create_batch` and `$seeded` by `insert_many`, each committed, then read back from the
/// second connection `$observer`: every row equal to the one drawn (both seeded, so
/// `build_batch` draws them again: what `create_batch` returns is read back from the
/// database too, and would hide a value stored differently), and to what `create_batch`
/// returned. `$pool` is a pool on the test's database.
macro_rules! round_trip {
    ($pool:expr, $observer:expr, $kind:expr, $model:ident, $table:literal, $ddl:expr, $created:expr, $seeded:expr) => {{
        let ddl = format!(
            "CREATE TABLE {} (id {}, {})",
            $table,
            $kind.serial_pk(),
            $ddl
        );
        crate::tx::bounded(sqlx::raw_sql(sqlx::AssertSqlSafe(ddl)).execute(&$observer))
            .await
            .unwrap();
        // The schema check calls none of these columns an error: every create below succeeds.
        let mut conn = crate::tx::bounded($pool.acquire()).await.unwrap();
        let report = crate::tx::bounded(sqlx_factory::check!(&mut *conn, $model)).await;
        if let Err(report) = report.into_result() {
            panic!(
                "check! on {} finds errors where creates succeed:\n{report}",
                $table
            );
        }
        drop(conn);
        let select = concat!("SELECT * FROM ", $table, " ORDER BY id");
        let mut tx = crate::tx::bounded($pool.begin()).await.unwrap();
        let created = crate::tx::bounded(
            $model::factory()
                .with_session(&mut tx)
                .seed(crate::round_trip::SEED)
                .create_batch($created),
        )
        .await
        .unwrap_or_else(|e| panic!("create_batch into {}: {e}", $table));
        crate::tx::bounded(tx.commit()).await.unwrap();
        let stored: Vec<$model> = crate::tx::bounded(sqlx::query_as(select).fetch_all(&$observer))
            .await
            .unwrap();
        crate::round_trip::assert_read_back(
            concat!($table, ", create_batch returned"),
            &created,
            &stored,
        );
        crate::round_trip::assert_read_back(
            concat!($table, ", create_batch"),
            &drawn_again!($model, $created, &stored),
            &stored,
        );

        let mut tx = crate::tx::bounded($pool.begin()).await.unwrap();
        crate::tx::bounded(
            $model::factory()
                .with_session(&mut tx)
                .seed(crate::round_trip::SEED + 1)
                .insert_many($seeded),
        )
        .await
        .unwrap_or_else(|e| panic!("insert_many into {}: {e}", $table));
        crate::tx::bounded(tx.commit()).await.unwrap();
        let stored: Vec<$model> = crate::tx::bounded(sqlx::query_as(select).fetch_all(&$observer))
            .await
            .unwrap();
        let seeded = &stored[created.len()..];
        let drawn = drawn_again!($model, $seeded, seeded, crate::round_trip::SEED + 1);
        crate::round_trip::assert_read_back(concat!($table, ", insert_many"), &drawn, seeded);
    }};
}

/// The `$n` rows `.seed($seed)` draws (`SEED` by default), with the keys of the rows `$stored`
/// the database gave them.
macro_rules! drawn_again {
    ($model:ident, $n:expr, $stored:expr) => {
        drawn_again!($model, $n, $stored, crate::round_trip::SEED)
    };
    ($model:ident, $n:expr, $stored:expr, $seed:expr) => {{
        let mut drawn = $model::factory().seed($seed).build_batch($n);
        for (drawn, stored) in drawn.iter_mut().zip($stored) {
            drawn.id = stored.id;
        }
        drawn
    }};
}

/// A test `$name::<backend>` per backend listed that runs `$run!(pool, observer, kind, ..)`
/// with `pool` a pool of one connection: [`round_trip!`], or a test file's own.
macro_rules! pool_test {
    (
        [$($db:ident),+] $(#[$meta:meta])*
        $name:ident($kind:ident): $run:ident!($($args:tt)*)
    ) => {
        on_dbs! {
            [$($db),+]
            $(#[$meta])*
            async fn $name(mk, observer, $kind) {
                let pool = mk(1).await.unwrap();
                $run!(pool, observer, $kind, $($args)*);
            }
        }
    };
}

/// A test `$name::<backend>` per backend listed: [`round_trip!`] of `$model` into `$table`,
/// with the columns `$columns` (an expression of the backend's `$kind`), `$created` rows by
/// `create_batch` and `$seeded` by `insert_many`.
macro_rules! round_trip_test {
    ([$($db:ident),+] $(#[$meta:meta])* $name:ident($kind:ident): $($args:tt)*) => {
        pool_test!([$($db),+] $(#[$meta])* $name($kind): round_trip!($($args)*));
    };
}
