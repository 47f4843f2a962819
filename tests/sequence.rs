//! Sequences: `n` is unique per model, across threads, and rows made from it do not collide.

mod common;

use std::collections::HashSet;

use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "handles")]
struct Handle {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("handle-{n}"))]
    handle: String,
    #[factory(sequence = |n| n as i64 * 10)]
    rank: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "others")]
struct Other {
    #[factory(sequence = |n| n as i64)]
    n: i64,
}

#[test]
fn unique_across_threads() {
    let threads: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(|| Handle::factory().build_batch(1000)))
        .collect();
    let all: Vec<Handle> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let distinct: HashSet<_> = all.iter().map(|h| h.handle.clone()).collect();
    assert_eq!(distinct.len(), 8000);
    // One `n` per object: every sequence field of an object sees the same number.
    for h in &all {
        let n: i64 = h.handle.trim_start_matches("handle-").parse().unwrap();
        assert_eq!(h.rank, n * 10);
    }
}

#[test]
fn each_model_counts_on_its_own() {
    let a = Other::factory().build().n;
    let _ = Handle::factory().build_batch(5);
    let b = Other::factory().build().n;
    assert_eq!(
        b,
        a + 1,
        "other models' objects do not advance this sequence"
    );
}

/// The table of [`Handle`].
fn handles_ddl(kind: common::Kind) -> String {
    format!(
        "CREATE TABLE handles (id {}, handle {} NOT NULL UNIQUE, `rank` BIGINT NOT NULL)",
        kind.serial_pk(),
        kind.varchar()
    )
    .replace(
        '`',
        if kind == common::Kind::MariaDb {
            "`"
        } else {
            "\""
        },
    )
}

on_every_backend! {
    /// Two batches against a UNIQUE sequence column: no collision, all rows there.
    async fn unique_column_never_collides(conn, kind) {
        exec!(conn, handles_ddl(kind));
        Handle::factory().with_session(&mut *conn).create_batch(700).await.unwrap();
        Handle::factory().with_session(&mut *conn).create_batch(300).await.unwrap();
        Handle::factory().with_session(&mut *conn).create().await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT handle) FROM handles")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(count, 1001);
    }
}

on_every_backend! {
    /// The schema check on the table these tests create: no error for a model whose creates
    /// succeed there. `Other` is only built: it is checked against the table its field
    /// describes, where a seeded create (which leaves the machine-wide counter alone) fits.
    async fn check_every_model(conn, kind) {
        exec!(conn, handles_ddl(kind));
        exec!(conn, "CREATE TABLE others (n BIGINT NOT NULL)".to_string());
        Other::factory().seed(1).with_session(&mut *conn).create().await.unwrap();
        check_clean!(&mut *conn, kind, Handle, Other);
    }
}
