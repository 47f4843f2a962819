//! Has-many with `with_related`, `after_build` and `after_create` hooks.

mod common;

use sqlx::Connection;
use sqlx_factory::{Factory, Step};

#[path = "common/statements.rs"]
mod statements;

use common::Kind;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "writers")]
struct Writer {
    #[factory(primary_key)]
    id: i64,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "notes")]
struct Note {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Writer)]
    writer_id: i64,
    #[factory(sequence = |n| format!("note {n}"))]
    title: String,
}

/// The has-many pair whose statements a test counts, in tables no other test here writes to.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "owners")]
struct Owner {
    #[factory(primary_key)]
    id: i64,
    name: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "items")]
struct Item {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Owner)]
    owner_id: i64,
}

async fn schema<C>(conn: &mut C, kind: Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    let pk = kind.serial_pk();
    exec!(
        conn,
        format!("CREATE TABLE writers (id {pk}, name TEXT NOT NULL)")
    );
    exec!(
        conn,
        format!(
            "CREATE TABLE notes (id {pk}, writer_id BIGINT NOT NULL REFERENCES writers(id), title TEXT NOT NULL)"
        )
    );
    exec!(
        conn,
        format!("CREATE TABLE owners (id {pk}, name TEXT NOT NULL)")
    );
    exec!(
        conn,
        format!("CREATE TABLE items (id {pk}, owner_id BIGINT NOT NULL REFERENCES owners(id))")
    );
}

on_every_backend! {
    /// A writer with three notes in one call: the notes point at the writer and go in one
    /// INSERT; ten writers with three notes each still send one INSERT of 30 notes.
    async fn with_related_batches_children(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let counting = statements::start().await;
        let ann = Owner::factory()
            .with_session(&mut tx)
            .name("Ann")
            .with_related(3, |o: &Owner| Item::factory().owner_id(o.id))
            .create()
            .await
            .unwrap();
        let team = Owner::factory()
            .with_session(&mut tx)
            .with_related(3, |o: &Owner| Item::factory().owner_id(o.id))
            .create_batch(10)
            .await
            .unwrap();
        let rows: Vec<u64> = counting
            .inserts_into(kind, &["owners", "items"])
            .iter()
            .map(|s| s.rows_returned)
            .collect();
        drop(counting);
        assert_eq!(rows, [1, 3, 10, 30], "owner, its items, 10 owners, their 30 items");

        let sql = format!("SELECT COUNT(*) FROM items WHERE owner_id = {}", ann.id);
        let ann_items: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *tx).await.unwrap();
        assert_eq!(ann_items, 3);
        let per_owner: Vec<i64> = sqlx::query_scalar(
            "SELECT COUNT(i.id) FROM owners o LEFT JOIN items i ON i.owner_id = o.id GROUP BY o.id ORDER BY o.id",
        )
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        assert_eq!(per_owner, vec![3; 11]);
        assert_eq!(team.len(), 10);

        // The same with the model other tests here use, checked by rows rather than statements.
        let writer = Writer::factory()
            .with_session(&mut tx)
            .with_related(2, |w: &Writer| Note::factory().writer_id(w.id))
            .create()
            .await
            .unwrap();
        let sql = format!("SELECT COUNT(*) FROM notes WHERE writer_id = {}", writer.id);
        let notes: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *tx).await.unwrap();
        assert_eq!(notes, 2);
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// After-create hooks run in order, once per created row, in the caller's transaction,
    /// and can insert more rows.
    async fn after_create_hooks_run_in_order(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let writers = Writer::factory()
            .with_session(&mut tx)
            .after_create(|w, conn| Box::pin(async move {
                Note::factory().with_session(conn).writer_id(w.id).title(format!("first for {}", w.id)).create().await?;
                Ok(())
            }))
            .after_create(|w, conn| Box::pin(async move {
                Note::factory().with_session(conn).writer_id(w.id).title(format!("second for {}", w.id)).create().await?;
                Ok(())
            }))
            .create_batch(2)
            .await
            .unwrap();
        let titles: Vec<String> = sqlx::query_scalar("SELECT title FROM notes ORDER BY id")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        let (a, b) = (writers[0].id, writers[1].id);
        assert_eq!(titles, [
            format!("first for {a}"), format!("first for {b}"),
            format!("second for {a}"), format!("second for {b}"),
        ]);
        tx.rollback().await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(left, 0, "hooks never commit either");
    }
}

on_every_backend! {
    /// A failing hook's error comes back as our `Error`, naming the factory and the step, with
    /// the database's error inside.
    async fn hook_error_has_context(conn, kind) {
        schema(conn, kind).await;
        let err = Writer::factory()
            .with_session(&mut *conn)
            .after_create(|_, conn| Box::pin(async move {
                sqlx::query("INSERT INTO no_such_table VALUES (1)").execute(conn).await?;
                Ok(())
            }))
            .create()
            .await
            .unwrap_err();
        assert_eq!(err.step(), Step::AfterCreate { index: 1 });
        let text = err.to_string();
        assert!(text.starts_with("WriterFactory::create into table `writers` failed in after-create step 1: "), "{text}");
        assert!(text.contains("no_such_table"), "{text}");
        assert!(matches!(err.as_sqlx(), Some(sqlx::Error::Database(_))), "{err:?}");
    }
}

/// After-build hooks run on every object, in build mode and before the INSERT in create mode.
#[tokio::test]
async fn after_build_runs_in_both_modes() {
    let built = Writer::factory()
        .after_build(|w| w.name = w.name.to_uppercase())
        .after_build(|w| w.name.push('!'))
        .build_batch(3);
    assert!(
        built
            .iter()
            .all(|w| w.name.ends_with('!') && w.name == w.name.to_uppercase())
    );

    let mut conn = common::sqlite().await;
    schema(&mut conn, Kind::Sqlite).await;
    let created = Writer::factory()
        .name("ann")
        .after_build(|w| w.name = w.name.to_uppercase())
        .with_session(&mut conn)
        .create()
        .await
        .unwrap();
    let stored: String = sqlx::query_scalar("SELECT name FROM writers")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!((created.name.as_str(), stored.as_str()), ("ANN", "ANN"));
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there.
    async fn check_every_model(conn, kind) {
        schema(conn, kind).await;
        check_clean!(&mut *conn, kind, Writer, Note, Owner, Item);
    }
}
