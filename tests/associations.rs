//! Associations: parents created in the same session unless given, customised with `_with`,
//! chained, batched, optional and self-referencing.

mod common;

use sqlx::Connection;
use sqlx_factory::Factory;

#[path = "common/statements.rs"]
mod statements;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "authors")]
struct Author {
    #[factory(primary_key)]
    id: i64,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
    #[factory(default = false)]
    admin: bool,
}

impl<S> AuthorFactory<S> {
    fn root(self) -> Self {
        self.name("Root").admin(true)
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "articles")]
struct Article {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Author)]
    author_id: i64,
    #[factory(fake = fake::faker::lorem::en::Sentence(3..6))]
    title: String,
}

/// A trait that sets an association: an article by an admin.
impl<S> ArticleFactory<S> {
    fn by_admin(self) -> Self {
        self.author_id_with(|author| author.root())
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "remarks")]
struct Remark {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Article)]
    article_id: i64,
    #[factory(default = "nice".to_string())]
    body: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "sections")]
struct Section {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Section)]
    parent_id: Option<i64>,
    #[factory(sequence = |n| format!("section {n}"))]
    name: String,
}

/// The chain whose statements a test counts, in tables no other test of this binary writes to.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "chain_authors")]
struct ChainAuthor {
    #[factory(primary_key)]
    id: i64,
    name: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "chain_articles")]
struct ChainArticle {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = ChainAuthor)]
    author_id: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "chain_remarks")]
struct ChainRemark {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = ChainArticle)]
    article_id: i64,
}

async fn schema<C>(conn: &mut C, kind: common::Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    let pk = kind.serial_pk();
    let boolean = if kind == Kind::Sqlite {
        "INTEGER"
    } else {
        "BOOLEAN"
    };
    for sql in [
        format!("CREATE TABLE authors (id {pk}, name TEXT NOT NULL, admin {boolean} NOT NULL)"),
        format!(
            "CREATE TABLE articles (id {pk}, author_id BIGINT NOT NULL REFERENCES authors(id), title TEXT NOT NULL)"
        ),
        format!(
            "CREATE TABLE remarks (id {pk}, article_id BIGINT NOT NULL REFERENCES articles(id), body TEXT NOT NULL)"
        ),
        format!(
            "CREATE TABLE sections (id {pk}, parent_id BIGINT REFERENCES sections(id), name TEXT NOT NULL)"
        ),
        format!("CREATE TABLE chain_authors (id {pk}, name TEXT NOT NULL)"),
        format!(
            "CREATE TABLE chain_articles (id {pk}, author_id BIGINT NOT NULL REFERENCES chain_authors(id))"
        ),
        format!(
            "CREATE TABLE chain_remarks (id {pk}, article_id BIGINT NOT NULL REFERENCES chain_articles(id))"
        ),
    ] {
        exec!(conn, sql);
    }
}

use common::Kind;

/// The INSERTs a counting section saw into the chain tables, in order: (table as quoted in the
/// statement, rows returned). Ends the section.
fn chain_inserts(counting: statements::Counting, kind: Kind) -> Vec<(String, u64)> {
    counting
        .inserts_into(kind, &["chain_authors", "chain_articles", "chain_remarks"])
        .into_iter()
        .map(|s| {
            (
                s.sql
                    .split_whitespace()
                    .nth(2)
                    .unwrap_or_default()
                    .to_string(),
                s.rows_returned,
            )
        })
        .collect()
}

/// `table` quoted as the backend's INSERT text quotes it.
fn quoted(kind: Kind, table: &str) -> String {
    if kind == Kind::MariaDb {
        format!("`{table}`")
    } else {
        format!("\"{table}\"")
    }
}

on_every_backend! {
    /// With no author given, creating an article creates its author first, in the same
    /// transaction, and stores the author's id.
    async fn parent_created_in_same_session(conn, kind) {
        schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let article = Article::factory().with_session(&mut tx).create().await.unwrap();
        let author: (i64, String) = sqlx::query_as("SELECT id, name FROM authors")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(article.author_id, author.0);
        tx.rollback().await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM authors").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(left, 0, "the parent lived in the caller's transaction only");
    }
}

on_every_backend! {
    /// A given id is used as is: no parent is created.
    async fn given_id_creates_no_parent(conn, kind) {
        schema(conn, kind).await;
        let ann = Author::factory().with_session(&mut *conn).name("Ann").create().await.unwrap();
        let articles = Article::factory().with_session(&mut *conn).author_id(ann.id).create_batch(3).await.unwrap();
        assert!(articles.iter().all(|a| a.author_id == ann.id));
        let authors: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM authors").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(authors, 1);
    }
}

on_every_backend! {
    /// `author_id_with` customises the parent; a trait can do it too.
    async fn customised_parent(conn, kind) {
        schema(conn, kind).await;
        let article = Article::factory()
            .with_session(&mut *conn)
            .author_id_with(|a| a.name("Bob"))
            .create()
            .await
            .unwrap();
        let by_admin = Article::factory().with_session(&mut *conn).by_admin().create().await.unwrap();
        let rows: Vec<(i64, String, bool)> = sqlx::query_as("SELECT id, name, admin FROM authors ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        assert_eq!(rows, [(article.author_id, "Bob".to_string(), false), (by_admin.author_id, "Root".to_string(), true)]);
    }
}

on_every_backend! {
    /// Comment -> article -> author: each level creates its parent; 100 remarks with no
    /// article given create 100 articles and 100 authors, each level in one batch INSERT.
    async fn chains_batch_their_parents(conn, kind) {
        schema(conn, kind).await;
        let one = Remark::factory().with_session(&mut *conn).create().await.unwrap();
        let sql = format!("SELECT id, author_id FROM articles WHERE id = {}", one.article_id);
        let article: (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(article.0, one.article_id);

        let counting = statements::start().await;
        let chain = ChainRemark::factory().with_session(&mut *conn).create_batch(100).await.unwrap();
        let inserts = chain_inserts(counting, kind);
        let q = |t: &str| quoted(kind, t);
        assert_eq!(
            inserts,
            [(q("chain_authors"), 100), (q("chain_articles"), 100), (q("chain_remarks"), 100)],
            "one INSERT per level, parents first"
        );
        assert_eq!(chain.len(), 100);

        let remarks = Remark::factory().with_session(&mut *conn).create_batch(100).await.unwrap();
        let distinct: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT article_id) FROM remarks")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(distinct, 101, "each remark got its own article");
        let orphans: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM remarks r LEFT JOIN articles a ON a.id = r.article_id \
             LEFT JOIN authors u ON u.id = a.author_id WHERE u.id IS NULL",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(orphans, 0, "every remark reaches an author");
        assert_eq!(remarks.len(), 100);
    }
}

on_every_backend! {
    /// A batch larger than one statement creates each chunk's parents right before the chunk
    /// (authors, articles, then remarks, per 500 rows), as a hand-written loop does: MariaDB
    /// runs that order about a tenth faster than all parents first. A seeded batch keeps the
    /// eager order, its parents drawn from one stream. Either way every remark has its own
    /// article and author, in the tables.
    async fn large_batches_create_parents_per_chunk(conn, kind) {
        schema(conn, kind).await;
        let level = |table: &str, rows: u64| (quoted(kind, table), rows);
        let batch = |seed: Option<u64>| {
            let factory = ChainRemark::factory();
            match seed {
                Some(seed) => factory.seed(seed),
                None => factory,
            }
        };

        for seed in [None, Some(7)] {
            let counting = statements::start().await;
            let remarks = batch(seed).with_session(&mut *conn).create_batch(1_200).await.unwrap();
            let inserts = chain_inserts(counting, kind);
            let expected: Vec<(String, u64)> = match seed {
                None => [500, 500, 200]
                    .into_iter()
                    .flat_map(|n| [level("chain_authors", n), level("chain_articles", n), level("chain_remarks", n)])
                    .collect(),
                Some(_) => ["chain_authors", "chain_articles", "chain_remarks"]
                    .into_iter()
                    .flat_map(|t| [level(t, 500), level(t, 500), level(t, 200)])
                    .collect(),
            };
            assert_eq!(inserts, expected, "INSERT order of a 1 200-row batch, seed {seed:?}");
            assert_eq!(remarks.len(), 1_200);
        }

        let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
        let distinct = count("SELECT COUNT(DISTINCT article_id) FROM chain_remarks").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(distinct, 2_400, "each remark got its own article");
        let authors = count("SELECT COUNT(DISTINCT author_id) FROM chain_articles").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(authors, 2_400, "each article got its own author");
        let reached = count(
            "SELECT COUNT(*) FROM chain_remarks r JOIN chain_articles a ON a.id = r.article_id \
             JOIN chain_authors u ON u.id = a.author_id",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(reached, 2_400, "every remark reaches an author");
    }
}

on_every_backend! {
    /// An optional, self-referencing key is NULL unless a parent is asked for; asking creates
    /// exactly one level, no loop.
    async fn optional_self_reference(conn, kind) {
        schema(conn, kind).await;
        let root = Section::factory().with_session(&mut *conn).create().await.unwrap();
        assert_eq!(root.parent_id, None);
        let child = Section::factory()
            .with_session(&mut *conn)
            .parent_id_with(|p| p.name("top"))
            .create()
            .await
            .unwrap();
        let parent: (i64, Option<i64>, String) = sqlx::query_as(
            "SELECT id, parent_id, name FROM sections WHERE name = 'top'",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(child.parent_id, Some(parent.0));
        assert_eq!(parent.1, None, "the parent's own parent is not created");
        let given = Section::factory().with_session(&mut *conn).parent_id(Some(root.id)).create().await.unwrap();
        assert_eq!(given.parent_id, Some(root.id));
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sections").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(total, 4);
    }
}

/// Build mode touches no database: the key is a value of its type, optional keys are None.
#[test]
fn build_mode_makes_no_parents() {
    let article = Article::factory().build();
    let _ = article.author_id; // a random i64
    let section = Section::factory().build();
    assert_eq!(section.parent_id, None);
    let asked = Section::factory().parent_id_with(|p| p).build();
    assert!(
        asked.parent_id.is_some(),
        "asked for a parent: a key of its type"
    );
    assert_eq!(Article::factory().author_id(7).build().author_id, 7);
}

on_every_backend! {
    /// An unbound factory is `Clone`: a base configured once makes two creates with different
    /// overrides, and each clone keeps the `after_build` hook and the `_with` parent.
    async fn cloned_base_factory(conn, kind) {
        schema(conn, kind).await;
        let base = Article::factory()
            .author_id_with(|a| a.name("Base"))
            .after_build(|a| a.title.push_str(" (draft)"));
        let first = base.clone().title("first").with_session(&mut *conn).create().await.unwrap();
        let second = base.clone().title("second").with_session(&mut *conn).create().await.unwrap();
        let third = base.with_session(&mut *conn).create().await.unwrap();
        assert_eq!((first.title.as_str(), second.title.as_str()), ("first (draft)", "second (draft)"));
        assert!(third.title.ends_with(" (draft)"));
        let authors: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM authors ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        let ids: Vec<i64> = authors.iter().map(|a| a.0).collect();
        assert_eq!(ids, [first.author_id, second.author_id, third.author_id], "one parent per create");
        assert!(authors.iter().all(|a| a.1 == "Base"), "every clone keeps the `_with` parent: {authors:?}");

        let by_ann = Article::factory().author_id(first.author_id);
        let built = by_ann.clone().build_batch(2);
        assert!(built.iter().chain([by_ann.build()].iter()).all(|a| a.author_id == first.author_id));
    }
}

on_every_backend! {
    /// The schema check on the tables these tests create: no error for models whose creates
    /// succeed there.
    async fn check_every_model(conn, kind) {
        schema(conn, kind).await;
        check_clean!(
            &mut *conn,
            kind,
            Author,
            Article,
            Remark,
            Section,
            ChainAuthor,
            ChainArticle,
            ChainRemark,
        );
    }
}
