//! `#[sqlx(flatten)]` fields: a struct of shared columns (`#[factory(flatten)]`) whose columns
//! are the model's, drawn by its own factory (or `fake::Dummy`), reached through the model's
//! setters; built, created, seeded and checked on every backend, and read back from a second
//! connection.

mod common;

use std::time::Duration;

use sqlx_factory::Factory;

use common::Kind;

#[path = "common/tx.rs"]
#[macro_use]
mod tx;

use tx::bounded;

/// Columns many tables share. `created_at` is the database's unless set; `editor` is read by
/// the name its own `#[sqlx(rename)]` gives.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(flatten)]
struct Timestamps {
    #[factory(generated)]
    created_at: String,
    #[factory(sequence = |n| format!("edit-{n}"))]
    updated_at: String,
    #[sqlx(rename = "edited_by")]
    editor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "articles")]
struct Article {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(flatten)]
    timestamps: Timestamps,
    #[factory(sequence = |n| format!("article-{n}"))]
    title: String,
    /// A database-filled column after the group's.
    #[factory(generated)]
    views: i64,
}

/// A group drawn by `fake::Dummy` (the field says `fake = fake::Faker`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, fake::Dummy, Factory)]
#[factory(flatten)]
struct Money {
    amount: i64,
    #[dummy(faker = "fake::faker::currency::en::CurrencyCode()")]
    currency: String,
}

/// A group that holds a group.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(flatten)]
struct Audit {
    #[sqlx(flatten)]
    stamps: Timestamps,
    #[factory(default = "system".to_string())]
    audited_by: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "invoices")]
struct Invoice {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Article)]
    article_id: i64,
    #[sqlx(flatten)]
    #[factory(fake = fake::Faker)]
    total: Money,
    #[sqlx(flatten)]
    audit: Audit,
}

fn schema_sql(kind: Kind) -> String {
    let (pk, text, created_at) = (kind.serial_pk(), kind.varchar(), kind.created_at());
    format!(
        "CREATE TABLE articles (id {pk}, created_at {created_at}, updated_at {text} NOT NULL,
           edited_by {text}, title {text} NOT NULL, views BIGINT NOT NULL DEFAULT 0);
         CREATE TABLE invoices (id {pk}, article_id BIGINT NOT NULL, amount BIGINT NOT NULL,
           currency {text} NOT NULL, created_at {created_at}, updated_at {text} NOT NULL,
           edited_by {text}, audited_by {text} NOT NULL,
           FOREIGN KEY (article_id) REFERENCES articles (id))"
    )
}

/// `build()`: the group's values come from its factory, in the model's stream (its stub and
/// sequence numbers too); `.timestamps(..)` sets them all, `.timestamps_with(..)` some.
#[test]
fn build_draws_the_group_from_its_factory() {
    let article = Article::factory().seed(5).build();
    assert_eq!(article.id, 1001);
    assert_eq!(article.timestamps.created_at, "built-1001");
    assert!(
        article.timestamps.updated_at.starts_with("edit-"),
        "{article:?}"
    );
    assert_eq!(article, Article::factory().seed(5).build(), "one stream");

    let edited = Article::factory()
        .timestamps_with(|t| t.updated_at("today").editor("ann".to_string()))
        .timestamps_with(|t| t.created_at("yesterday"))
        .build();
    let stamps = &edited.timestamps;
    assert_eq!(
        (
            stamps.created_at.as_str(),
            stamps.updated_at.as_str(),
            stamps.editor.as_deref()
        ),
        ("yesterday", "today", Some("ann"))
    );
    let given = Timestamps {
        created_at: "a".into(),
        updated_at: "b".into(),
        editor: None,
    };
    let article = Article::factory().timestamps(given.clone()).build();
    assert_eq!(article.timestamps, given);
    let standalone = Timestamps::factory().updated_at("u").build();
    assert_eq!(standalone.updated_at, "u");

    let invoice = Invoice::factory().seed(5).build();
    assert_eq!(invoice.audit.audited_by, "system");
    assert!(invoice.audit.stamps.updated_at.starts_with("edit-"));
    let invoice = Invoice::factory()
        .audit_with(|a| a.stamps_with(|t| t.editor(None)))
        .build();
    assert_eq!(invoice.audit.stamps.editor, None);
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `create`: the group's columns are inserted and read back; its `generated` column is the
    /// database's unless set (before or after the model's own database-filled column).
    async fn create_inserts_the_group_columns(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        let plain = bounded(Article::factory().with_session(&mut tx).create()).await.unwrap();
        let dated = bounded(
            Article::factory()
                .with_session(&mut tx)
                .timestamps_with(|t| t.created_at("2020-01-01").editor("ann".to_string()))
                .views(5)
                .create(),
        )
        .await
        .unwrap();
        let given = Timestamps { created_at: "c".into(), updated_at: "u".into(), editor: None };
        let whole = bounded(
            Article::factory().with_session(&mut tx).timestamps(given.clone()).create(),
        )
        .await
        .unwrap();
        let invoice = bounded(Invoice::factory().with_session(&mut tx).create()).await.unwrap();
        bounded(tx.commit()).await.unwrap();

        let articles = read_back!(observer, Article, "SELECT * FROM articles ORDER BY id");
        assert_eq!(articles.len(), 4, "three articles and the invoice's");
        assert_eq!(articles[..3], [plain.clone(), dated.clone(), whole.clone()]);
        assert!(!plain.timestamps.created_at.is_empty() && !plain.timestamps.created_at.starts_with("built"));
        assert_eq!(plain.views, 0, "the database's default");
        assert_eq!(dated.timestamps.created_at, "2020-01-01");
        assert_eq!(dated.timestamps.editor.as_deref(), Some("ann"));
        assert_eq!(dated.views, 5);
        assert_eq!(whole.timestamps, given);
        let invoices = read_back!(observer, Invoice, "SELECT * FROM invoices ORDER BY id");
        assert_eq!(invoices, vec![invoice.clone()]);
        assert_eq!(invoice.article_id, articles[3].id);
        assert_eq!(invoice.audit.audited_by, "system");
        assert!(!invoice.audit.stamps.created_at.starts_with("built"));
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// `create_batch` and `insert_many`: every row's group values are stored as drawn (a
    /// seeded `build_batch` draws them again).
    async fn batches_and_seeds_store_the_group(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let mut tx = bounded(pool.begin()).await.unwrap();
        let created = bounded(Article::factory().with_session(&mut tx).seed(8).create_batch(3))
            .await
            .unwrap();
        let seeded = bounded(Article::factory().with_session(&mut tx).seed(9).insert_many(40))
            .await
            .unwrap();
        assert_eq!(seeded, 40);
        let articles: Vec<i64> = created.iter().map(|a| a.id).collect();
        bounded(
            Invoice::factory()
                .with_session(&mut tx)
                .seed(10)
                .insert_many(6)
                .parents_from::<Article>(articles),
        )
        .await
        .unwrap();
        // Keys handed on past the group's columns (reserved and sent in the `COPY` on
        // PostgreSQL), to children that have groups of their own.
        let keyed: Vec<i64> = bounded(
            Article::factory()
                .with_session(&mut tx)
                .insert_many(2)
                .with_children(2, Invoice::factory())
                .returning_keys(),
        )
        .await
        .unwrap();
        bounded(tx.commit()).await.unwrap();

        let stored = read_back!(observer, Article, "SELECT * FROM articles ORDER BY id");
        assert_eq!(stored.len(), 45);
        assert_eq!(stored[..3], created[..]);
        let last: Vec<i64> = stored[43..].iter().map(|a| a.id).collect();
        assert_eq!(last, keyed);
        // What the database did not fill is what was drawn.
        let sent = |a: &Article| (a.title.clone(), a.timestamps.updated_at.clone(), a.timestamps.editor.clone());
        let drawn: Vec<_> = Article::factory().seed(9).build_batch(40).iter().map(sent).collect();
        let seeded: Vec<_> = stored[3..43].iter().map(sent).collect();
        assert_eq!(seeded, drawn);
        assert!(stored.iter().all(|a| !a.timestamps.created_at.starts_with("built") && a.views == 0));

        let invoices = read_back!(observer, Invoice, "SELECT * FROM invoices ORDER BY id");
        let drawn = Invoice::factory().seed(10).build_batch(6);
        assert_eq!(invoices.len(), 10);
        let mut children: Vec<i64> = invoices[6..].iter().map(|i| i.article_id).collect();
        children.sort_unstable();
        assert_eq!(children, [keyed[0], keyed[0], keyed[1], keyed[1]]);
        assert!(invoices[6..].iter().all(|i| i.audit.audited_by == "system"));
        for (stored, drawn) in invoices.iter().zip(&drawn) {
            assert_eq!(stored.total, drawn.total);
            assert_eq!(stored.audit.stamps.updated_at, drawn.audit.stamps.updated_at);
            assert_eq!(stored.audit.stamps.editor, drawn.audit.stamps.editor);
        }
    }
}

on_dbs! {
    [sqlite, postgres, mariadb]
    /// The schema check sees the group's columns as the model's: nothing to report on a
    /// matching table, and a group column the table lacks is named.
    async fn check_compares_the_group_columns(mk, observer, _kind) {
        let pool = mk(1).await.unwrap();
        let mut conn = bounded(pool.acquire()).await.unwrap();
        let report = bounded(sqlx_factory::check!(&mut *conn, Article, Invoice)).await;
        if let Err(report) = report.deny_warnings().into_result() {
            panic!("{report}");
        }
        drop(conn);
        bounded(sqlx::raw_sql("ALTER TABLE invoices DROP COLUMN audited_by").execute(&observer))
            .await
            .unwrap();
        let mut conn = bounded(pool.acquire()).await.unwrap();
        let report = bounded(sqlx_factory::check!(&mut *conn, Invoice)).await;
        let text = report.to_string();
        assert!(text.contains("audited_by"), "{text}");
        assert!(report.into_result().is_err());
    }
}
