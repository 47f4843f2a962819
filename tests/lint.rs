//! `lint!`: one test that creates every factory and names each that a schema change broke.

mod common;

use sqlx::Connection;
use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "authors")]
struct Author {
    #[factory(primary_key)]
    id: i64,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "books")]
struct Book {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Author)]
    author_id: i64,
    title: String,
}

/// The migration dropped `isbn`, but the model still has it.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "books")]
struct OldBook {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Author)]
    author_id: i64,
    title: String,
    isbn: String,
}

on_every_backend! {
    async fn lint_names_each_broken_factory(conn, kind) {
        let pk = kind.serial_pk();
        exec!(conn, format!("CREATE TABLE authors (id {pk}, name TEXT NOT NULL)"));
        exec!(conn, format!("CREATE TABLE books (id {pk}, author_id BIGINT NOT NULL, title TEXT NOT NULL)"));
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::lint!(&mut tx, Author, OldBook, Book).await;
        assert_eq!(report.checked(), ["Author", "OldBook", "Book"]);
        let failed: Vec<_> = report.failures().map(|(model, e)| (model, e.to_string())).collect();
        assert_eq!(failed.len(), 1, "{report}");
        assert_eq!(failed[0].0, "OldBook");
        assert!(failed[0].1.starts_with("OldBookFactory::create into table `books` failed: "), "{}", failed[0].1);
        assert!(failed[0].1.contains("isbn"), "{}", failed[0].1);
        assert!(report.to_string().starts_with("1 of 3 factories failed:\n- OldBook: "), "{report}");
        // The failure was rolled back to its savepoint, and the whole check to its own: the
        // transaction goes on, with none of the check's rows.
        let books: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM books").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(books, 0);
        assert!(sqlx_factory::lint!(&mut tx, Author, Book).await.into_result().is_ok());
        tx.rollback().await.unwrap();
    }
}

on_every_backend! {
    /// The schema check on the tables the lint test creates: no error for the models whose
    /// creates succeed there, and `OldBook`'s missing column.
    async fn check_every_model(conn, kind) {
        let pk = kind.serial_pk();
        exec!(conn, format!("CREATE TABLE authors (id {pk}, name TEXT NOT NULL)"));
        exec!(conn, format!("CREATE TABLE books (id {pk}, author_id BIGINT NOT NULL, title TEXT NOT NULL)"));
        check_clean!(&mut *conn, kind, Author, Book);
        check_finds!(&mut *conn, kind, OldBook, "isbn", "the table does not have");
    }
}
