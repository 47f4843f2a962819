//! `check!` against schemas where a create's outcome and the check's verdict could part:
//! decimals rounded to the column's scale before a `CHECK` sees them, and a check cancelled at
//! each of its polls while a constraint fails to evaluate.

// Some cases run only on a server and exist only with its feature; without one, what they
// share is unused.
#![cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(unused))]

mod common;

#[path = "common/tx.rs"]
mod tx;

use sqlx::Connection;
use sqlx_factory::{CheckReport, Factory, Severity};

fn errors(report: &CheckReport) -> Vec<(String, String)> {
    report
        .findings()
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| (f.column.clone(), f.message.clone()))
        .collect()
}

/// A thousandth in a `NUMERIC(10,2)`: stored as 0.00, which `CHECK (amount > 0)` refuses.
#[cfg(all(feature = "rust_decimal", any(feature = "postgres", feature = "mysql")))]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "cents")]
struct Cents {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = sqlx::types::Decimal::new(1, 3))]
    amount: sqlx::types::Decimal,
}

/// The check judges a `CHECK` by the value the column stores (rounded to its scale), as the
/// INSERT does: every create fails here, so the check reports an error.
#[cfg(all(feature = "rust_decimal", any(feature = "postgres", feature = "mysql")))]
macro_rules! check_sees_decimal_rounded_to_scale {
    ($conn:expr, $pk:expr) => {{
        let conn = $conn;
        exec!(
            conn,
            format!(
                "CREATE TABLE cents (id {}, amount NUMERIC(10,2) NOT NULL CHECK (amount > 0))",
                $pk
            )
        );
        let err = Cents::factory()
            .with_session(&mut *conn)
            .create()
            .await
            .unwrap_err();
        assert!(err.to_string().to_lowercase().contains("check"), "{err}");
        let report = sqlx_factory::check!(&mut *conn, Cents).await;
        let found = errors(&report);
        assert_eq!(found.len(), 1, "{report}");
        assert_eq!(found[0].0, "amount", "{report}");
        assert!(
            found[0].1.starts_with("sampled values fail CHECK"),
            "{report}"
        );
        assert!(found[0].1.contains("amount = 0.00"), "{report}");
        // A value that stays positive once rounded passes both.
        let cent = sqlx::types::Decimal::new(1, 2);
        let created = Cents::factory()
            .with_session(&mut *conn)
            .amount(cent)
            .create()
            .await;
        assert!(created.is_ok(), "{created:?}");
    }};
}

#[cfg(all(feature = "rust_decimal", feature = "postgres"))]
#[tokio::test]
async fn decimal_check_after_rounding_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("decimal_check_after_rounding").await;
        check_sees_decimal_rounded_to_scale!(&mut conn, common::Kind::Postgres.serial_pk());
    })
    .await
}

#[cfg(all(feature = "rust_decimal", feature = "mysql"))]
#[tokio::test]
async fn decimal_check_after_rounding_mariadb() {
    common::bounded_test(async {
        let mut conn = common::mariadb("decimal_check_after_rounding").await;
        check_sees_decimal_rounded_to_scale!(&mut conn, common::Kind::MariaDb.serial_pk());
    })
    .await
}

/// A `CHECK` that fails to evaluate for some sampled values (a division by zero).
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "ratios")]
struct Ratio {
    #[factory(primary_key)]
    id: i64,
    #[factory(fake = 0..3)]
    qty: i32,
}

/// A `CHECK` that fails to evaluate for a value the factory sends fails the create of that
/// value the same way: an error, not a warning that it cannot be judged.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn check_that_fails_to_evaluate_is_an_error_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("check_fails_to_evaluate").await;
        exec!(
            &mut conn,
            "CREATE TABLE ratios (id BIGSERIAL PRIMARY KEY, qty integer NOT NULL CHECK (100 / qty > 1))".to_owned()
        );
        let err = Ratio::factory().with_session(&mut conn).qty(0).create().await.unwrap_err();
        assert!(err.to_string().contains("division by zero"), "{err}");
        let report = sqlx_factory::check!(&mut conn, Ratio).await;
        let found = errors(&report);
        assert_eq!(found.len(), 1, "{report}");
        assert_eq!(found[0].0, "qty", "{report}");
        assert!(found[0].1.contains("division by zero"), "{report}");
        assert!(found[0].1.contains("creates with such values fail"), "{report}");
    })
    .await
}

/// `check!` dropped after each of its polls inside the caller's transaction: the transaction
/// stays usable and nothing is committed.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn cancelled_check_leaves_transaction_usable_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("cancelled_check_usable").await;
        exec!(
            &mut conn,
            "CREATE TABLE ratios (id BIGSERIAL PRIMARY KEY, qty integer NOT NULL CHECK (qty < 3));
             CREATE TABLE marks (name text NOT NULL)"
                .to_owned()
        );
        let report = sqlx_factory::check!(&mut conn, Ratio).await;
        assert!(report.findings().is_empty(), "{report}");
        let mut problems = Vec::new();
        let mut finished = false;
        let mut k = 1;
        while !finished {
            let mut tx = conn.begin().await.unwrap();
            sqlx::query("INSERT INTO marks VALUES ('before')")
                .execute(&mut *tx)
                .await
                .unwrap();
            {
                let mut fut = Box::pin(sqlx_factory::check!(&mut *tx, Ratio));
                finished = tx::drive(&mut fut, k).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            if let Err(e) = sqlx::query("INSERT INTO marks VALUES ('after')")
                .execute(&mut *tx)
                .await
            {
                problems.push(format!("{k} polls: the caller's transaction failed: {e}"));
            }
            let _ = tx.rollback().await;
            let marks: i64 = sqlx::query_scalar("SELECT count(*) FROM marks")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            if marks != 0 {
                problems.push(format!("{k} polls: {marks} rows committed"));
            }
            k += 1;
            assert!(k < 200, "check! did not finish in 200 polls");
        }
        assert!(problems.is_empty(), "{problems:#?}");
    })
    .await
}

/// A column whose name needs quoting (a space, quotes, `%`, `_`, mixed case), with a `CHECK`
/// written in its own definition, in a table whose name needs quoting too.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "Odd Items")]
struct OddNegative {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(rename = "Unit \"Price\" %_x")]
    #[factory(fake = -10..0)]
    price: i64,
}

/// The same table, with values the `CHECK` admits.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "Odd Items")]
struct OddPositive {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(rename = "Unit \"Price\" %_x")]
    #[factory(fake = 1..10)]
    price: i64,
}

on_every_backend! {
    /// The check finds a column's own `CHECK` whatever its name: it reports the values every
    /// create fails on, and nothing for values that pass.
    async fn check_on_hostile_column_name(conn, kind) {
        let (table, column) = match kind {
            Kind::MariaDb => ("`Odd Items`", "`Unit \"Price\" %_x`"),
            _ => ("\"Odd Items\"", "\"Unit \"\"Price\"\" %_x\""),
        };
        exec!(conn, format!(
            "CREATE TABLE {table} (id {}, {column} BIGINT NOT NULL CHECK ({column} > 0))",
            kind.serial_pk()
        ));
        let err = OddNegative::factory().with_session(&mut *conn).create().await.unwrap_err();
        assert!(err.to_string().to_lowercase().contains("check"), "{err}");
        let report = sqlx_factory::check!(&mut *conn, OddNegative).await;
        let found = errors(&report);
        assert_eq!(found.len(), 1, "{report}");
        assert_eq!(found[0].0, "Unit \"Price\" %_x", "{report}");
        assert!(found[0].1.starts_with("sampled values fail CHECK"), "{report}");
        let report = sqlx_factory::check!(&mut *conn, OddPositive).await;
        assert!(report.findings().is_empty(), "{report}");
        let created = OddPositive::factory().with_session(&mut *conn).create().await;
        assert!(created.is_ok(), "{created:?}");
    }
}

/// Upper-case codes, never the lower-case one the `CHECK` refuses.
#[cfg(feature = "mysql")]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "codes")]
struct Code {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "ABC".into())]
    code: String,
}

/// A `CHECK` compares in the column's collation: on a binary-collated column 'ABC' is not
/// 'abc', so every create passes, and the check reports nothing.
#[cfg(feature = "mysql")]
#[tokio::test]
async fn check_compares_in_the_column_collation_mariadb() {
    common::bounded_test(async {
        let mut conn = common::mariadb("check_column_collation").await;
        exec!(
            &mut conn,
            "CREATE TABLE codes (id BIGINT AUTO_INCREMENT PRIMARY KEY,
                                 code VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL
                                   CHECK (code <> 'abc'))"
                .to_owned()
        );
        let created = Code::factory().with_session(&mut conn).create().await;
        assert!(created.is_ok(), "{created:?}");
        let report = sqlx_factory::check!(&mut conn, Code).await;
        assert!(report.findings().is_empty(), "{report}");
        // And the other way round: the value the CHECK refuses is reported.
        let err = Code::factory()
            .with_session(&mut conn)
            .code("abc")
            .create()
            .await
            .unwrap_err();
        assert!(err.to_string().to_lowercase().contains("check"), "{err}");
    })
    .await
}

/// 'B', which sorts after 'a' in the column's collation.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "words")]
struct Word {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "B".into())]
    word: String,
}

/// A `CHECK` orders text in the column's collation (here ICU's, where 'B' >= 'a'), not the
/// database's default (where it is not): every create passes, and the check reports nothing.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn check_orders_in_the_column_collation_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("check_column_collation").await;
        exec!(
            &mut conn,
            "CREATE TABLE words (id BIGSERIAL PRIMARY KEY,
                                 word text COLLATE \"und-x-icu\" NOT NULL CHECK (word >= 'a'))"
                .to_owned()
        );
        let created = Word::factory().with_session(&mut conn).create().await;
        assert!(created.is_ok(), "{created:?}");
        let report = sqlx_factory::check!(&mut conn, Word).await;
        assert!(report.findings().is_empty(), "{report}");
        let err = Word::factory()
            .with_session(&mut conn)
            .word("0")
            .create()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("check"), "{err}");
    })
    .await
}

/// Negative levels, which the inner of two nested domains refuses.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "levels")]
struct Level {
    #[factory(primary_key)]
    id: i64,
    #[factory(fake = -5..0)]
    level: i32,
}

/// A domain over a domain: the inner domain's `CHECK` holds for the column too, so a value it
/// refuses fails every create, and the check reports it as an error.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn nested_domain_check_is_an_error_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("nested_domain_check").await;
        exec!(
            &mut conn,
            "CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
             CREATE DOMAIN small_positive AS positive CHECK (VALUE < 100);
             CREATE TABLE levels (id BIGSERIAL PRIMARY KEY, level small_positive NOT NULL)"
                .to_owned()
        );
        let err = Level::factory()
            .with_session(&mut conn)
            .create()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("positive"), "{err}");
        let report = sqlx_factory::check!(&mut conn, Level).await;
        let found = errors(&report);
        assert_eq!(found.len(), 1, "{report}");
        assert_eq!(found[0].0, "level", "{report}");
        assert!(found[0].1.contains("positive"), "{report}");
    })
    .await
}

/// A status the table's only constraint-like text, inside a string, would refuse.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "statuses")]
struct Status {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "ok".into())]
    status: String,
}

/// `check (..)` inside a string literal of the table's SQL is text, not a constraint: every
/// create passes, and the check reports nothing.
#[tokio::test]
async fn check_text_inside_a_string_is_no_constraint_sqlite() {
    common::bounded_test(async {
        let mut conn = common::sqlite().await;
        exec!(
            &mut conn,
            "CREATE TABLE statuses (id INTEGER PRIMARY KEY,
                                    status TEXT NOT NULL DEFAULT 'check (length(status) > 5)')"
                .to_owned()
        );
        let created = Status::factory().with_session(&mut conn).create().await;
        assert!(created.is_ok(), "{created:?}");
        let report = sqlx_factory::check!(&mut conn, Status).await;
        assert!(report.findings().is_empty(), "{report}");
    })
    .await
}

/// `check!` in a PostgreSQL transaction that already failed: it says why it read nothing, and
/// the caller's own savepoint still takes the transaction back to where it worked.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn check_in_an_aborted_transaction_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("check_in_aborted_transaction").await;
        exec!(
            &mut conn,
            "CREATE TABLE ratios (id BIGSERIAL PRIMARY KEY, qty integer NOT NULL CHECK (qty < 3));
             CREATE TABLE marks (name text NOT NULL)"
                .to_owned()
        );
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("INSERT INTO marks VALUES ('kept')")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::raw_sql("SAVEPOINT mine")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("SELECT 1 / 0")
            .execute(&mut *tx)
            .await
            .unwrap_err();
        let report = sqlx_factory::check!(&mut *tx, Ratio).await;
        let found = errors(&report);
        assert_eq!(found.len(), 1, "{report}");
        assert!(
            found[0].1.starts_with("reading the catalogue failed"),
            "{report}"
        );
        assert!(
            found[0].1.contains("current transaction is aborted"),
            "{report}"
        );
        sqlx::raw_sql("ROLLBACK TO SAVEPOINT mine")
            .execute(&mut *tx)
            .await
            .unwrap();
        let marks: Vec<String> = sqlx::query_scalar("SELECT name FROM marks")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        assert_eq!(marks, ["kept"]);
        tx.rollback().await.unwrap();
    })
    .await
}

/// A model on an updatable view: the view's catalogue shows its columns nullable and without
/// defaults, whatever the table under it holds.
#[cfg(any(feature = "postgres", feature = "mysql"))]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "part_view")]
struct ViewPart {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("part{n}"))]
    name: String,
}

/// The view's key is filled by the table's serial: no finding, and the create the check
/// passes succeeds.
#[cfg(any(feature = "postgres", feature = "mysql"))]
macro_rules! view_judged_by_its_table {
    ($conn:expr, $serial:literal) => {{
        let conn = $conn;
        exec!(
            conn,
            format!(
                "CREATE TABLE parts (id {}, name TEXT NOT NULL); \
                 CREATE VIEW part_view AS SELECT id, name FROM parts",
                $serial
            )
        );
        let report = sqlx_factory::check!(&mut *conn, ViewPart).await;
        assert!(report.findings().is_empty(), "{report}");
        let part = ViewPart::factory()
            .with_session(&mut *conn)
            .create()
            .await
            .unwrap();
        assert!(part.id > 0, "{part:?}");
    }};
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn view_judged_by_its_table_postgres() {
    common::bounded_test(async {
        view_judged_by_its_table!(
            &mut common::postgres("view_judged_by_its_table").await,
            "BIGSERIAL PRIMARY KEY"
        );
    })
    .await
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn view_judged_by_its_table_mariadb() {
    common::bounded_test(async {
        view_judged_by_its_table!(
            &mut common::mariadb("view_judged_by_its_table").await,
            "BIGINT AUTO_INCREMENT PRIMARY KEY"
        );
    })
    .await
}
