//! `check!`: each factory compared with its live table, column by column, without inserting.
//! Every test asserts the exact findings a user reads, per backend, and a clean schema reports
//! nothing, so no test can pass by reporting always or never.

mod common;

use common::Kind;
use sqlx::Connection;
use sqlx_factory::{CheckReport, Factory, Severity};

/// The findings as `(severity, column, message)`, in report order.
fn findings(report: &CheckReport) -> Vec<(Severity, String, String)> {
    report
        .findings()
        .iter()
        .map(|f| (f.severity, f.column.clone(), f.message.clone()))
        .collect()
}

fn error(column: &str, message: &str) -> (Severity, String, String) {
    (Severity::Error, column.to_owned(), message.to_owned())
}

fn warning(column: &str, message: &str) -> (Severity, String, String) {
    (Severity::Warning, column.to_owned(), message.to_owned())
}

/// `CREATE TYPE mood` on PostgreSQL; the column type for `mood` on each backend.
async fn mood_column<C>(conn: &mut C, kind: Kind, labels: &str) -> String
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    match kind {
        Kind::Postgres => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "CREATE TYPE mood AS ENUM ({labels})"
            )))
            .execute(&mut *conn)
            .await
            .expect("create type");
            "mood".to_owned()
        }
        Kind::MariaDb => format!("ENUM({labels})"),
        Kind::Sqlite => "TEXT".to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, sqlx::Type, fake::Dummy)]
#[sqlx(type_name = "mood", rename_all = "lowercase")]
enum Mood {
    Happy,
    Sad,
    Angry,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "authors")]
struct Author {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("author{n}@example.com"))]
    email: String,
    mood: Option<Mood>,
    #[factory(generated)]
    created_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "books")]
struct Book {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Author)]
    author_id: i64,
    #[factory(fake = fake::faker::lorem::en::Sentence(2..4))]
    title: String,
    #[factory(fake = 0..1000)]
    stock: i64,
}

/// The schema `Author` and `Book` are made for.
async fn clean_schema<C>(conn: &mut C, kind: Kind)
where
    for<'c> &'c mut C: sqlx::Executor<'c>,
{
    let pk = kind.serial_pk();
    let mood = mood_column(conn, kind, "'happy', 'sad', 'angry'").await;
    let ddl = format!(
        "CREATE TABLE authors (id {pk}, email VARCHAR(64) NOT NULL UNIQUE, mood {mood},
                               created_at {created_at});
         CREATE TABLE books (id {pk}, author_id BIGINT NOT NULL REFERENCES authors (id),
                             title TEXT NOT NULL, stock BIGINT NOT NULL CHECK (stock >= 0))",
        created_at = kind.created_at()
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(ddl))
        .execute(&mut *conn)
        .await
        .expect("schema");
}

on_every_backend! {
    async fn clean_schema_reports_nothing(conn, kind) {
        clean_schema(conn, kind).await;
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Author, Book).await;
        assert_eq!(findings(&report), [], "{report}");
        assert_eq!(report.to_string(), "schema check: 2 models match their tables");
        let one = sqlx_factory::check!(&mut tx, Author).await;
        assert_eq!(one.to_string(), "schema check: 1 model matches its table");
        assert!(report.clone().deny_warnings().into_result().is_ok());
        // Nothing was inserted, and the transaction goes on.
        let rows: i64 = sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM authors) + (SELECT COUNT(*) FROM books)")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(rows, 0);
        // The factories the check passed do create rows.
        Book::factory().with_session(&mut tx).create_batch(3).await.unwrap();
        tx.rollback().await.unwrap();
    }
}

/// The migration dropped `subtitle` and added `isbn NOT NULL`; `Shelf`'s table was never made.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "books")]
struct OldBook {
    #[factory(primary_key)]
    id: i64,
    title: String,
    subtitle: String,
    #[factory(generated)]
    printed_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "shelves")]
struct Shelf {
    #[factory(primary_key)]
    id: i64,
}

on_every_backend! {
    async fn columns_the_table_lacks_or_no_field_fills(conn, kind) {
        let pk = kind.serial_pk();
        exec!(conn, format!("CREATE TABLE books (id {pk}, title TEXT NOT NULL, isbn TEXT NOT NULL,
                                                 printed_at TEXT NOT NULL, note TEXT)"));
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, OldBook, Shelf).await;
        assert_eq!(findings(&report), [
            error("isbn", "NOT NULL without a default, and no field of the model fills it: every create fails"),
            error("printed_at", "`generated`, but the database does not fill this NOT NULL column (no default, identity or trigger): every create fails"),
            error("subtitle", "field `subtitle` names this column, which the table does not have"),
            error("", "no such table"),
        ]);
        assert_eq!(report.to_string(), "\
schema check: 4 errors, 0 warnings in 2 models
level  model    table    column      problem
error  OldBook  books    isbn        NOT NULL without a default, and no field of the model fills it: every create fails
error  OldBook  books    printed_at  `generated`, but the database does not fill this NOT NULL column (no default, identity or trigger): every create fails
error  OldBook  books    subtitle    field `subtitle` names this column, which the table does not have
error  Shelf    shelves              no such table
");
        // `.into_result().unwrap()` fails the test with the same table.
        let shown = report.to_string();
        assert_eq!(format!("{:?}", report.into_result().unwrap_err()), shown);
        // Reading a missing table's catalogue aborted nothing (PostgreSQL would abort on an error).
        let books: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM books").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(books, 0);
        tx.rollback().await.unwrap();
    }
}

/// `id`, `created_at` and `slug` are filled by the database, but the model forgot to say so.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "events")]
struct Event {
    id: i64,
    #[factory(fake = fake::faker::lorem::en::Word())]
    name: String,
    created_at: String,
    slug: Option<String>,
}

on_every_backend! {
    async fn database_filled_columns_filled_with_random_values(conn, kind) {
        let pk = kind.serial_pk();
        exec!(conn, format!("CREATE TABLE events (id {pk}, name TEXT NOT NULL, created_at {}, slug TEXT)", kind.created_at()));
        // SQLite triggers cannot assign NEW: they UPDATE the row after the insert.
        exec!(conn, match kind {
            Kind::Sqlite => "CREATE TRIGGER events_slug AFTER INSERT ON events BEGIN
                                 UPDATE events SET slug = 'e-' || NEW.name WHERE id = NEW.id; END",
            Kind::Postgres => "CREATE FUNCTION events_slug() RETURNS trigger LANGUAGE plpgsql AS $$
                                   BEGIN NEW.slug := 'e-' || NEW.name; RETURN NEW; END $$;
                               CREATE TRIGGER events_slug BEFORE INSERT ON events
                                   FOR EACH ROW EXECUTE FUNCTION events_slug()",
            Kind::MariaDb => "CREATE TRIGGER events_slug BEFORE INSERT ON events
                                  FOR EACH ROW SET NEW.slug = CONCAT('e-', NEW.name)",
        });
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Event).await;
        let advice = ", but the factory always sends a random value: mark it `primary_key` or `generated`, or set a value on purpose with `default`";
        let slug = match kind {
            Kind::Sqlite => "an INSERT trigger",
            _ => "a BEFORE INSERT trigger",
        };
        let (id, created_at) = match kind {
            Kind::Sqlite => ("INTEGER PRIMARY KEY", "DEFAULT datetime('now')"),
            Kind::Postgres => ("DEFAULT nextval('events_id_seq'::regclass)", "DEFAULT (now())::text"),
            Kind::MariaDb => ("AUTO_INCREMENT", "DEFAULT (cast(current_timestamp() as char charset utf8mb4))"),
        };
        assert_eq!(findings(&report), [
            warning("id", &format!("the database fills it ({id}){advice}")),
            warning("created_at", &format!("the database fills it ({created_at}){advice}")),
            warning("slug", &format!("the database fills it ({slug}){advice}")),
        ]);
        assert!(report.is_ok(), "warnings do not fail by default");
        assert!(!report.deny_warnings().is_ok());
        tx.rollback().await.unwrap();
    }
}

/// Types sqlx cannot decode from the columns, and nullability that disagrees.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "counters")]
struct Counter {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = 1)]
    hits: i32,
    #[factory(default = 1)]
    total: i64,
    note: Option<String>,
    #[factory(default = "x".into())]
    label: String,
    mood: Mood,
}

on_every_backend! {
    async fn types_and_nullability(conn, kind) {
        let pk = kind.serial_pk();
        // hits: i32 on BIGINT; total: i64 on text (SQLite), on an unsigned BIGINT (MariaDB).
        let total = match kind {
            Kind::MariaDb => "BIGINT UNSIGNED",
            _ => "TEXT",
        };
        let mood = mood_column(conn, kind, "'happy', 'sad', 'angry'").await;
        exec!(conn, format!("CREATE TABLE counters (id {pk}, hits BIGINT NOT NULL, total {total} NOT NULL,
                                                    note TEXT NOT NULL, label TEXT, mood {mood} NOT NULL)"));
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Counter).await;
        let mut expected = Vec::new();
        // sqlx decodes any integer column into `i32` on SQLite and MariaDB (range-checked
        // per value), and only INT4 on PostgreSQL.
        if kind == Kind::Postgres {
            expected.push(error("hits", "sqlx cannot decode `i32` (INT4) from this INT8 column"));
        }
        expected.push(error("total", match kind {
            Kind::Sqlite => "the column stores `default` values such as 1 as TEXT (by its type `TEXT`), and sqlx cannot decode `i64` from TEXT: reading such a row fails",
            Kind::Postgres => "sqlx cannot decode `i64` (INT8) from this TEXT column",
            Kind::MariaDb => "sqlx cannot decode `i64` (BIGINT) from this BIGINT UNSIGNED column",
        }));
        expected.push(error("note", "the factory sends NULL (`Option<String>`), but the column is NOT NULL"));
        expected.push(warning("label", "the column is nullable, but `String` is not an `Option`: reading a NULL fails"));
        // sqlx 0.9 compares a derived enum's type with the column's flags on MariaDB.
        if kind == Kind::MariaDb {
            expected.push(error("mood", "sqlx cannot decode `Mood` (ENUM) from this ENUM column: sqlx also compares the column's flags (NOT NULL, UNSIGNED), e.g. make an ENUM column nullable"));
        }
        assert_eq!(findings(&report), expected, "{report}");
        tx.rollback().await.unwrap();
    }
}

/// Values longer than a VARCHAR, outside an integer column, or random under a CHECK.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "members")]
struct Member {
    #[factory(primary_key)]
    id: i64,
    // Padded, so the longest sampled value has the same length in every run.
    #[factory(sequence = |n| format!("member{n:0>24}@example.com"))]
    email: String,
    points: i64,
    balance: i64,
}

on_every_backend! {
    async fn lengths_ranges_and_checks(conn, kind) {
        let pk = kind.serial_pk();
        exec!(conn, format!("CREATE TABLE members (id {pk}, email VARCHAR(32) NOT NULL,
                                                   points {points} NOT NULL,
                                                   balance BIGINT NOT NULL CHECK (balance >= 0))",
            points = if kind == Kind::Postgres { "BIGINT" } else { "INT" }));
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Member).await;
        let fails = |check: &str, column: &str| format!("sampled values fail {check} (first: {column} = ..): give the field `fake = ..` or `default = ..` that meets the constraint");
        // SQLite enforces neither lengths nor integer widths.
        let expected = match kind {
            Kind::Sqlite => vec![
                error("balance", &fails("CHECK (balance >= 0)", "balance")),
            ],
            Kind::Postgres => vec![
                error("email", "`sequence` values are up to 42 characters, longer than character varying(32)"),
                error("balance", &fails("CHECK ((balance >= 0))", "balance")),
            ],
            Kind::MariaDb => vec![
                error("email", "`sequence` values are up to 42 characters, longer than varchar(32)"),
                error("points", "`random` values fall outside int(11)'s range -2147483648..=2147483647"),
                error("balance", &fails("CHECK (`balance` >= 0)", "balance")),
            ],
        };
        assert_eq!(redacted(&report), expected, "{report}");
        tx.rollback().await.unwrap();
    }
}

/// The findings, with the sampled values a message quotes (they change with the run's seed)
/// replaced by `..`, each checked to be a negative number: the sampled value that fails
/// `>= 0`.
fn redacted(report: &CheckReport) -> Vec<(Severity, String, String)> {
    findings(report)
        .into_iter()
        .map(|(severity, column, message)| {
            let Some((head, rest)) = message.split_once("(first: ") else {
                return (severity, column, message);
            };
            let (values, tail) = rest.split_once("): ").expect("the values end");
            for pair in values.split(", ") {
                let (_, value) = pair.split_once(" = ").expect("name = value");
                let value: i64 = value.parse().expect("an integer");
                assert!(value < 0, "{message}");
            }
            let names: Vec<String> = values
                .split(", ")
                .map(|pair| format!("{} = ..", pair.split(" = ").next().unwrap()))
                .collect();
            (
                severity,
                column,
                format!("{head}(first: {}): {tail}", names.join(", ")),
            )
        })
        .collect()
}

/// The Rust enum has `Calm`, the database has `angry`.
#[derive(Debug, Clone, Copy, PartialEq, sqlx::Type, fake::Dummy)]
#[sqlx(type_name = "mood", rename_all = "lowercase")]
enum OldMood {
    Happy,
    Sad,
    Calm,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "diary")]
struct Diary {
    #[factory(primary_key)]
    id: i64,
    mood: Option<OldMood>,
}

on_every_backend! {
    async fn enum_labels(conn, kind) {
        let pk = kind.serial_pk();
        let mood = mood_column(conn, kind, "'happy', 'sad', 'angry'").await;
        exec!(conn, format!("CREATE TABLE diary (id {pk}, mood {mood})"));
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Diary).await;
        // SQLite has no enums: the column is TEXT.
        let expected = match kind {
            Kind::Sqlite => vec![],
            Kind::Postgres => vec![
                error("mood", "the factory sends 'calm', which is not a label of mood ('happy', 'sad', 'angry')"),
                error("mood", "label 'angry' has no variant in `Option<OldMood>`: reading such a row fails"),
            ],
            Kind::MariaDb => vec![
                error("mood", "the factory sends 'calm', which is not a label of enum('happy','sad','angry') ('happy', 'sad', 'angry')"),
                error("mood", "label 'angry' has no variant in `Option<OldMood>`: reading such a row fails"),
            ],
        };
        assert_eq!(findings(&report), expected, "{report}");
        tx.rollback().await.unwrap();
    }
}

/// `author_id` has `association`, but no FOREIGN KEY; `post_id` has a FOREIGN KEY, but random values.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "comments")]
struct Comment {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Author)]
    author_id: i64,
    post_id: i64,
}

on_every_backend! {
    async fn foreign_keys(conn, kind) {
        clean_schema(conn, kind).await;
        let pk = kind.serial_pk();
        exec!(conn, format!("CREATE TABLE posts (id {pk});
                             CREATE TABLE comments (id {pk}, author_id BIGINT NOT NULL,
                                                    post_id BIGINT NOT NULL REFERENCES posts (id))"));
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Comment).await;
        assert_eq!(findings(&report), [
            warning("author_id", "`association` to table `authors`, but the column declares no FOREIGN KEY to it"),
            warning("post_id", "FOREIGN KEY to `posts`, but the factory fills it with random values: add `association`"),
        ], "{report}");
        assert!(report.is_ok());
        tx.rollback().await.unwrap();
    }
}

/// `total` is computed by the database; the model sends a value for it.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "orders")]
struct Order {
    #[factory(primary_key)]
    id: i64,
    #[factory(fake = 1..10)]
    price: i64,
    #[factory(fake = 1..10)]
    qty: i64,
    #[factory(default = 0)]
    total: i64,
}

on_every_backend! {
    async fn columns_only_the_database_writes(conn, kind) {
        let pk = kind.serial_pk();
        let total = match kind {
            Kind::MariaDb => "BIGINT AS (price * qty) PERSISTENT",
            _ => "BIGINT GENERATED ALWAYS AS (price * qty) STORED",
        };
        exec!(conn, format!("CREATE TABLE orders (id {pk}, price BIGINT NOT NULL, qty BIGINT NOT NULL, total {total})"));
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Order).await;
        let generated = match kind {
            Kind::Sqlite => "GENERATED ALWAYS",
            Kind::Postgres => "GENERATED ALWAYS AS (price * qty)",
            Kind::MariaDb => "GENERATED ALWAYS AS (`price` * `qty`)",
        };
        let mut expected = vec![error("total", &format!("the database always computes it ({generated}), but the factory sends a value: mark it `generated`"))];
        expected.push(warning("total", "the column is nullable, but `i64` is not an `Option`: reading a NULL fails"));
        assert_eq!(findings(&report), expected, "{report}");
        tx.rollback().await.unwrap();
    }
}

/// A column whose name is pattern syntax in every dialect (`(`, `%`, `_`), filled by a trigger.
#[cfg(any(feature = "postgres", feature = "mysql"))]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "odd_names")]
struct OddNames {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(rename = "we(ird")]
    weird: String,
    #[sqlx(rename = "a_b")]
    a_b: i64,
    #[sqlx(rename = "a%c")]
    #[factory(fake = 0..10)]
    a_pc: i64,
    #[factory(fake = 0..10)]
    axb: i64,
}

/// The check's catalogue query treats column names as data: a name with regular-expression or
/// `LIKE` syntax neither fails the query (which on PostgreSQL would abort the caller's
/// transaction) nor matches another column's trigger or constraint.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn identifiers_are_data_not_patterns_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("identifiers_are_data_not_patterns").await;
        exec!(&mut conn, r#"CREATE TABLE odd_names (id BIGSERIAL PRIMARY KEY, "we(ird" TEXT NOT NULL,
                                                    a_b BIGINT NOT NULL, "a%c" BIGINT NOT NULL, axb BIGINT NOT NULL,
                                                    CONSTRAINT axb_small CHECK (axb < 10));
            CREATE FUNCTION odd_fill() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN NEW."we(ird" := 'filled'; RETURN NEW; END $$;
            CREATE TRIGGER odd_fill BEFORE INSERT ON odd_names FOR EACH ROW EXECUTE FUNCTION odd_fill()"#);
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, OddNames).await;
        assert_eq!(findings(&report), [
            warning("we(ird", "the database fills it (a BEFORE INSERT trigger), but the factory always sends a random value: mark it `primary_key` or `generated`, or set a value on purpose with `default`"),
        ], "{report}");
        // The caller's transaction goes on.
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(one, 1);
        OddNames::factory().with_session(&mut tx).create().await.unwrap();
        tx.rollback().await.unwrap();
    })
    .await
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn identifiers_are_data_not_patterns_mariadb() {
    common::bounded_test(async {
        let mut conn = common::mariadb("identifiers_are_data_not_patterns").await;
        exec!(&mut conn, "CREATE TABLE odd_names (id BIGINT AUTO_INCREMENT PRIMARY KEY, `we(ird` TEXT NOT NULL,
                                                  a_b BIGINT NOT NULL, `a%c` BIGINT NOT NULL, axb BIGINT NOT NULL,
                                                  CONSTRAINT axb_small CHECK (axb < 10))");
        exec!(&mut conn, "CREATE TRIGGER odd_fill BEFORE INSERT ON odd_names FOR EACH ROW SET NEW.`we(ird` = 'filled'");
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, OddNames).await;
        assert_eq!(findings(&report), [
            warning("we(ird", "the database fills it (a BEFORE INSERT trigger), but the factory always sends a random value: mark it `primary_key` or `generated`, or set a value on purpose with `default`"),
        ], "{report}");
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(one, 1);
        OddNames::factory().with_session(&mut tx).create().await.unwrap();
        tx.rollback().await.unwrap();
    })
    .await
}

/// A nullable column whose default is NULL: nothing fills it, so random values are no news.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "profiles")]
struct Profile {
    #[factory(primary_key)]
    id: i64,
    verified_at: Option<String>,
}

on_every_backend! {
    async fn default_null_is_no_default(conn, kind) {
        let pk = kind.serial_pk();
        exec!(conn, format!("CREATE TABLE profiles (id {pk}, verified_at TEXT DEFAULT NULL)"));
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Profile).await;
        assert_eq!(findings(&report), [], "{report}");
        tx.rollback().await.unwrap();
    }
}

/// A parent with a two-column key; the child's two key columns come from one parent row.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "teams")]
struct Team {
    #[factory(primary_key, sequence = |n| n as i64 + 1)]
    workspace_id: i64,
    #[factory(primary_key, sequence = |n| n as i64 + 1)]
    id: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(
    table = "team_members",
    association(Team, fields(workspace_id, team_id), references(workspace_id, id))
)]
struct TeamMember {
    #[factory(primary_key)]
    id: i64,
    workspace_id: i64,
    team_id: i64,
}

on_every_backend! {
    async fn composite_association_fills_every_key_column(conn, kind) {
        let pk = kind.serial_pk();
        exec!(conn, format!("CREATE TABLE teams (workspace_id BIGINT NOT NULL, id BIGINT NOT NULL,
                                                 PRIMARY KEY (workspace_id, id));
                             CREATE TABLE team_members (id {pk}, workspace_id BIGINT NOT NULL,
                                                        team_id BIGINT NOT NULL CHECK (team_id > 0),
                                                        FOREIGN KEY (workspace_id, team_id) REFERENCES teams (workspace_id, id))"));
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Team, TeamMember).await;
        assert_eq!(findings(&report), [], "{report}");
        // The model the check passed creates rows.
        TeamMember::factory().with_session(&mut tx).create_batch(3).await.unwrap();
        tx.rollback().await.unwrap();
    }
}

/// Random values that meet their CHECKs, and one that does not.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "gauges")]
struct Gauge {
    #[factory(primary_key)]
    id: i64,
    flag: bool,
    mood: Option<Mood>,
    hits: i64,
    #[factory(fake = 0..10)]
    lo: i64,
    #[factory(fake = 10..20)]
    hi: i64,
    balance: i64,
}

on_every_backend! {
    async fn checks_judged_by_the_sampled_values(conn, kind) {
        let pk = kind.serial_pk();
        let mood = mood_column(conn, kind, "'happy', 'sad', 'angry'").await;
        let flag = match kind {
            Kind::Postgres => "BOOLEAN NOT NULL CHECK (flag IN (true, false))",
            _ => "BOOLEAN NOT NULL CHECK (flag IN (0, 1))",
        };
        exec!(conn, format!("CREATE TABLE gauges (id {pk}, flag {flag},
                                                  mood {mood} CHECK (mood IN ('happy', 'sad', 'angry')),
                                                  hits BIGINT NOT NULL CHECK (hits <> 0),
                                                  lo BIGINT NOT NULL, hi BIGINT NOT NULL,
                                                  balance BIGINT NOT NULL CHECK (balance >= 0),
                                                  noted VARCHAR(10) DEFAULT 'x',
                                                  CONSTRAINT ordered CHECK (lo <= hi),
                                                  CONSTRAINT noted_or_hit CHECK (noted IS NOT NULL OR hits > 0))"));
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Gauge).await;
        let (balance, noted) = match kind {
            Kind::Sqlite => ("CHECK (balance >= 0)", "CHECK (noted IS NOT NULL OR hits > 0)"),
            Kind::Postgres => ("CHECK ((balance >= 0))", "CHECK (((noted IS NOT NULL) OR (hits > 0)))"),
            Kind::MariaDb => ("CHECK (`balance` >= 0)", "CHECK (`noted` is not null or `hits` > 0)"),
        };
        assert_eq!(redacted(&report), [
            warning("hits", &format!("{noted} cannot be judged by the sampled values: the database fills `noted`")),
            error("balance", &format!("sampled values fail {balance} (first: balance = ..): give the field `fake = ..` or `default = ..` that meets the constraint")),
        ], "{report}");
        // What the check passed creates: every CHECK but `balance`'s met by 50 random rows.
        let rows = Gauge::factory().with_session(&mut tx).balance(5).create_batch(50).await.unwrap();
        assert_eq!(rows.len(), 50);
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM gauges").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(stored, 50);
        tx.rollback().await.unwrap();
    }
}

/// A CHECK whose evaluation over the sampled values fails on the values themselves (they
/// overflow the type it casts to) is an error, as a create of such a value fails the same way;
/// the failed evaluation leaves the caller's transaction usable.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "smalls")]
struct Small {
    #[factory(primary_key)]
    id: i64,
    small: i64,
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn check_that_cannot_be_evaluated_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("check_that_cannot_be_evaluated").await;
        exec!(
            &mut conn,
            "CREATE TABLE smalls (id BIGSERIAL PRIMARY KEY, small INT8 NOT NULL,
                                               CONSTRAINT small_fits CHECK (small::int4 <> 0))"
        );
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Small).await;
        let found = findings(&report);
        assert_eq!(found.len(), 1, "{report}");
        assert_eq!(found[0].0, Severity::Error);
        assert_eq!(found[0].1, "small");
        assert!(
            found[0].2.starts_with(
                "evaluating CHECK (((small)::integer <> 0)) over sampled values fails ("
            ) && found[0].2.contains("integer out of range")
                && found[0].2.ends_with("): creates with such values fail"),
            "{report}"
        );
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(one, 1);
        let err = Small::factory()
            .with_session(&mut tx)
            .small(i64::MAX)
            .create()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("integer out of range"), "{err}");
        tx.rollback().await.unwrap();
    })
    .await
}

/// An unsigned field on `CHECK (n >= 0)`: met by every value of its type.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "counts")]
struct Count {
    #[factory(primary_key)]
    id: i64,
    n: u32,
}

#[tokio::test]
async fn unsigned_field_meets_its_check_sqlite() {
    common::bounded_test(async {
        let mut conn = common::sqlite().await;
        exec!(
            &mut conn,
            "CREATE TABLE counts (id INTEGER PRIMARY KEY, n INTEGER NOT NULL CHECK (n >= 0))"
        );
        let report = sqlx_factory::check!(&mut conn, Count).await;
        assert_eq!(findings(&report), [], "{report}");
        Count::factory()
            .with_session(&mut conn)
            .create_batch(50)
            .await
            .unwrap();
    })
    .await
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn unsigned_field_meets_its_check_mariadb() {
    common::bounded_test(async {
        let mut conn = common::mariadb("unsigned_field_meets_its_check").await;
        exec!(&mut conn, "CREATE TABLE counts (id BIGINT AUTO_INCREMENT PRIMARY KEY, n INT UNSIGNED NOT NULL CHECK (n >= 0))");
        let report = sqlx_factory::check!(&mut conn, Count).await;
        assert_eq!(findings(&report), [], "{report}");
        Count::factory().with_session(&mut conn).create_batch(50).await.unwrap();
    })
    .await
}

/// MariaDB adds `CHECK (json_valid(col))` to every JSON column; sqlx sends valid JSON.
#[cfg(all(feature = "json", feature = "mysql"))]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "json_docs")]
struct JsonDoc {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(json)]
    tags: Vec<String>,
}

#[cfg(all(feature = "mysql", feature = "json"))]
#[tokio::test]
async fn json_column_own_check_mariadb() {
    common::bounded_test(async {
        let mut conn = common::mariadb("json_column_own_check").await;
        exec!(
            &mut conn,
            "CREATE TABLE json_docs (id BIGINT AUTO_INCREMENT PRIMARY KEY, tags JSON NOT NULL)"
        );
        let report = sqlx_factory::check!(&mut conn, JsonDoc).await;
        assert_eq!(findings(&report), [], "{report}");
        JsonDoc::factory()
            .with_session(&mut conn)
            .create_batch(50)
            .await
            .unwrap();
    })
    .await
}

/// SQLite keeps each value's own type, converted by the column's affinity: text in a BLOB
/// column stays text, and text that is not a number stays text in an INTEGER column.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "attachments")]
struct Attachment {
    #[factory(primary_key)]
    id: i64,
    body: String,
    #[factory(sequence = |n| format!("t{n}"))]
    tag: String,
}

/// Text that looks like a number is stored as one in an INTEGER column, a whole real as an
/// integer, and a number as text in a TEXT column: each reads back as another type.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "codes")]
struct Code {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("{}", n + 7))]
    code: String,
    #[factory(default = 2.0)]
    ratio: f64,
    #[factory(default = 5)]
    amount: i64,
}

#[tokio::test]
async fn sqlite_judged_by_type_affinity_sqlite() {
    common::bounded_test(async {
        let mut conn = common::sqlite().await;
        exec!(&mut conn, "CREATE TABLE attachments (id INTEGER PRIMARY KEY, body BLOB NOT NULL, tag INTEGER NOT NULL);
                          CREATE TABLE codes (id INTEGER PRIMARY KEY, code INTEGER NOT NULL, ratio INT NOT NULL,
                                              amount TEXT NOT NULL)");
        let report = sqlx_factory::check!(&mut conn, Attachment).await;
        assert_eq!(findings(&report), [], "{report}");
        let created = Attachment::factory().with_session(&mut conn).create_batch(50).await.unwrap();
        let stored: Vec<Attachment> = sqlx::query_as("SELECT * FROM attachments ORDER BY id").fetch_all(&mut conn).await.unwrap();
        assert_eq!(stored, created);

        let report = sqlx_factory::check!(&mut conn, Code).await;
        let found = findings(&report);
        assert_eq!(found.len(), 3, "{report}");
        assert_eq!(found[0].1, "code");
        assert!(found[0].2.starts_with("the column stores `sequence` values such as '"), "{report}");
        assert!(found[0].2.ends_with("' as INTEGER (by its type `INTEGER`), and sqlx cannot decode `String` from INTEGER: reading such a row fails"), "{report}");
        assert_eq!(found[1..], [
            error("ratio", "the column stores `default` values such as 2.0 as INTEGER (by its type `INT`), and sqlx cannot decode `f64` from INTEGER: reading such a row fails"),
            error("amount", "the column stores `default` values such as 5 as TEXT (by its type `TEXT`), and sqlx cannot decode `i64` from TEXT: reading such a row fails"),
        ], "{report}");
        // What the check says is what a create meets.
        let err = Code::factory().with_session(&mut conn).create().await.unwrap_err();
        assert!(err.to_string().contains("mismatched types"), "{err}");
    })
    .await
}

/// A `#[sqlx(transparent)]` newtype is measured as the text it is bound as.
#[derive(Debug, Clone, PartialEq, sqlx::Type, fake::Dummy)]
#[sqlx(transparent)]
struct Nick(String);

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "nicks")]
struct Nicked {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| Nick(format!("nickname-{n:0>20}")))]
    nick: Nick,
    #[factory(sequence = |n| Some(Nick(format!("alias-{n:0>20}"))))]
    alias: Option<Nick>,
}

on_every_backend! {
    async fn transparent_newtypes_measured_as_bound(conn, kind) {
        let pk = kind.serial_pk();
        exec!(conn, format!("CREATE TABLE nicks (id {pk}, nick VARCHAR(10) NOT NULL, alias VARCHAR(10))"));
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Nicked).await;
        let expected = match kind {
            // SQLite does not enforce lengths.
            Kind::Sqlite => vec![],
            Kind::Postgres => vec![
                error("nick", "`sequence` values are up to 29 characters, longer than character varying(10)"),
                error("alias", "`sequence` values are up to 26 characters, longer than character varying(10)"),
            ],
            Kind::MariaDb => vec![
                error("nick", "`sequence` values are up to 29 characters, longer than varchar(10)"),
                error("alias", "`sequence` values are up to 26 characters, longer than varchar(10)"),
            ],
        };
        assert_eq!(findings(&report), expected, "{report}");
        // What the check says is what a create meets.
        let created = Nicked::factory().with_session(&mut tx).create().await;
        assert_eq!(created.is_err(), kind != Kind::Sqlite, "{created:?}");
        if kind == Kind::Postgres {
            tx.rollback().await.unwrap();
        }
    }
}

/// Fields bound through a conversion are judged by the type they are bound as.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "converted")]
struct Converted {
    #[factory(primary_key)]
    id: i64,
    #[sqlx(try_from = "i64")]
    small: u32,
    #[sqlx(try_from = "i64")]
    #[factory(fake = 0..1000)]
    big: u64,
}

on_every_backend! {
    async fn converted_fields_judged_by_the_bound_type(conn, kind) {
        let pk = kind.serial_pk();
        exec!(conn, format!("CREATE TABLE converted (id {pk}, small BIGINT NOT NULL, big BIGINT NOT NULL)"));
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Converted).await;
        assert_eq!(findings(&report), [], "{report}");
        let created = Converted::factory().with_session(&mut tx).create_batch(50).await.unwrap();
        let stored: Vec<Converted> = sqlx::query_as("SELECT * FROM converted ORDER BY id").fetch_all(&mut *tx).await.unwrap();
        assert_eq!(stored, created);
        tx.rollback().await.unwrap();
    }
}

/// Decimals against a column's precision and scale: rounded to the scale, the whole digits must
/// fit.
#[cfg(all(feature = "rust_decimal", any(feature = "postgres", feature = "mysql")))]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "prices")]
struct Price {
    #[factory(primary_key)]
    id: i64,
    // 13 digits before the point in a numeric(12,2).
    #[factory(default = sqlx::types::Decimal::new(123456789012345, 2))]
    amount: sqlx::types::Decimal,
    // 9999999999.999 rounds to 10000000000.00: 11 digits.
    #[factory(default = sqlx::types::Decimal::new(9999999999999, 3))]
    rounded: sqlx::types::Decimal,
    // 9999999999.99 fits.
    #[factory(default = sqlx::types::Decimal::new(999999999999, 2))]
    fits: sqlx::types::Decimal,
}

/// The same assertions on each server backend: `$declared` is how its catalogue spells
/// `numeric(12,2)`, `$overflow` a word of its error for a value that does not fit.
#[cfg(all(feature = "rust_decimal", any(feature = "postgres", feature = "mysql")))]
macro_rules! decimal_precision_and_scale {
    ($conn:expr, $pk:expr, $declared:expr, $overflow:expr) => {{
        let conn = $conn;
        exec!(conn, format!("CREATE TABLE prices (id {}, amount NUMERIC(12,2) NOT NULL,
                                                  rounded NUMERIC(12,2) NOT NULL, fits NUMERIC(12,2) NOT NULL)", $pk));
        let report = sqlx_factory::check!(&mut *conn, Price).await;
        let digits = |n: u32| format!("`default` values have up to {n} digits before the decimal point (rounded to 2 places), more than {} holds (10)", $declared);
        assert_eq!(findings(&report), [error("amount", &digits(13)), error("rounded", &digits(11))], "{report}");
        // What the check says is what a create meets.
        let err = Price::factory().with_session(&mut *conn).create().await.unwrap_err();
        assert!(err.to_string().contains($overflow), "{err}");
        let one = sqlx::types::Decimal::new(1, 0);
        let fits = Price::factory().with_session(&mut *conn).amount(one).rounded(one).create().await;
        assert!(fits.is_ok(), "{fits:?}");
    }};
}

#[cfg(all(feature = "rust_decimal", feature = "postgres"))]
#[tokio::test]
async fn decimal_precision_and_scale_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("decimal_precision_and_scale").await;
        decimal_precision_and_scale!(
            &mut conn,
            Kind::Postgres.serial_pk(),
            "numeric(12,2)",
            "numeric field overflow"
        );
    })
    .await
}

#[cfg(all(feature = "rust_decimal", feature = "mysql"))]
#[tokio::test]
async fn decimal_precision_and_scale_mariadb() {
    common::bounded_test(async {
        let mut conn = common::mariadb("decimal_precision_and_scale").await;
        decimal_precision_and_scale!(
            &mut conn,
            Kind::MariaDb.serial_pk(),
            "decimal(12,2)",
            "Out of range"
        );
    })
    .await
}

/// MariaDB's other limited types: YEAR, BIT(n), SET labels, a narrow character set.
#[cfg(feature = "mysql")]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "limited")]
struct Limited {
    #[factory(primary_key)]
    id: i64,
    year: u16,
    bits: u8,
    #[factory(default = "red,blue".into())]
    colours: String,
    #[factory(default = "日本語".into())]
    name: String,
}

/// The same columns, with values they store.
#[cfg(feature = "mysql")]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "limited")]
struct Fitting {
    #[factory(primary_key)]
    id: i64,
    #[factory(fake = 2000..2030)]
    year: u16,
    #[factory(fake = 0..16)]
    bits: u8,
    #[factory(default = "red,green".into())]
    colours: String,
    #[factory(default = "café".into())]
    name: String,
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn limited_types_mariadb() {
    common::bounded_test(async {
        let mut conn = common::mariadb("limited_types").await;
        exec!(&mut conn, "CREATE TABLE limited (id BIGINT AUTO_INCREMENT PRIMARY KEY, year YEAR NOT NULL,
                                                bits BIT(4) NOT NULL, colours SET('red', 'green') NOT NULL,
                                                name VARCHAR(40) CHARACTER SET latin1 NOT NULL)");
        let report = sqlx_factory::check!(&mut conn, Limited, Fitting).await;
        let found: Vec<_> = report.findings().iter().map(|f| (f.model, f.severity, f.column.clone(), f.message.clone())).collect();
        assert_eq!(found, [
            ("Limited", Severity::Error, "year".to_owned(), "`random` values fall outside year(4)'s range 1901..=2155".to_owned()),
            ("Limited", Severity::Error, "bits".to_owned(), "`random` values fall outside bit(4)'s range 0..=15".to_owned()),
            ("Limited", Severity::Error, "colours".to_owned(), "the factory sends 'blue', which is not a label of set('red','green') ('red', 'green')".to_owned()),
            ("Limited", Severity::Error, "name".to_owned(), "`default` values such as '日本語' hold characters the column's character set latin1 cannot store".to_owned()),
        ], "{report}");
        // What the check says is what creates meet.
        assert!(Limited::factory().with_session(&mut conn).create().await.is_err());
        Fitting::factory().with_session(&mut conn).create_batch(50).await.unwrap();
    })
    .await
}

/// PostgreSQL domains: a length and a CHECK declared on the domain, not on the table.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "domained")]
struct Domained {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("code-{n:0>20}"))]
    code: String,
    qty: i64,
    #[factory(fake = 1..100)]
    n: i64,
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn domains_followed_to_their_base_type_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("domains_followed_to_their_base_type").await;
        exec!(&mut conn, "CREATE DOMAIN short_text AS VARCHAR(5);
                          CREATE DOMAIN positive AS BIGINT CHECK (VALUE > 0);
                          CREATE TABLE domained (id BIGSERIAL PRIMARY KEY, code short_text NOT NULL,
                                                 qty positive NOT NULL, n positive NOT NULL)");
        let mut tx = conn.begin().await.unwrap();
        let report = sqlx_factory::check!(&mut tx, Domained).await;
        let found = findings(&report);
        assert_eq!(found.len(), 2, "{report}");
        assert_eq!(found[0], error("code", "`sequence` values are up to 25 characters, longer than short_text (character varying(5))"), "{report}");
        assert_eq!(found[1].1, "qty");
        assert!(found[1].2.starts_with("sampled values fail CHECK ((VALUE > 0)) of domain positive (first: qty = -"), "{report}");
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *tx).await.unwrap();
        assert_eq!(one, 1);
        tx.rollback().await.unwrap();
    })
    .await
}

/// A table whose name other databases on the server use too, for tables of other shapes.
#[cfg(feature = "mysql")]
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "ledgers")]
struct Ledger {
    #[factory(primary_key)]
    id: i64,
    code: String,
    #[factory(default = 7)]
    amount: i32,
    #[factory(default = "n".into())]
    note: String,
    owner_id: i64,
}

/// `check!` reads its own table when other databases hold a `ledgers` of another shape (one
/// more column, a foreign key, a `CHECK` and a trigger on `owner_id`; a view), one of them
/// named as ours but for case, and ours holds a `LEDGERS` of that shape too: the report shows
/// our table's trigger, `CHECK` and nullable column, and nothing of theirs. (A server whose
/// names ignore case, `lower_case_table_names` not 0, cannot hold the names that differ only
/// in case.)
#[cfg(feature = "mysql")]
#[tokio::test]
async fn check_reads_its_own_database_mariadb() {
    common::bounded_test(async {
        let mut conn = common::mariadb("check_reads_its_own_database").await;
        let url = std::env::var("DATABASE_URL_MARIADB").unwrap();
        let ours = common::mariadb_database(&url, "check_reads_its_own_database");
        let names_ignore_case: i64 =
            sqlx::query_scalar("SELECT CAST(@@lower_case_table_names AS SIGNED)")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        let mut others = vec![format!("{ours}_table"), format!("{ours}_view")];
        if names_ignore_case == 0 {
            others.push(ours.to_uppercase());
        }
        let drop_others: String = others
            .iter()
            .map(|db| format!("DROP DATABASE IF EXISTS `{db}`;"))
            .collect();
        exec!(&mut conn, drop_others.clone());
        // InnoDB's foreign key names ignore case: each is named apart.
        let other_ledgers = |table: &str, n: usize| {
            format!("CREATE TABLE owners (id BIGINT PRIMARY KEY);
                     CREATE TABLE {table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(40) NOT NULL,
                                           amount INT NOT NULL, note VARCHAR(200) NOT NULL,
                                           owner_id BIGINT NOT NULL, extra INT NOT NULL,
                                           CONSTRAINT owner_negative CHECK (owner_id < 0),
                                           CONSTRAINT owner_{n} FOREIGN KEY (owner_id) REFERENCES owners (id));
                     CREATE TRIGGER {table}_owner BEFORE INSERT ON {table} FOR EACH ROW SET NEW.owner_id = 1")
        };
        for (n, db) in others.iter().enumerate() {
            exec!(&mut conn, format!("CREATE DATABASE `{db}`; USE `{db}`"));
            if db.ends_with("_view") {
                exec!(&mut conn, "CREATE TABLE base (id BIGINT PRIMARY KEY, code TEXT, amount INT, note TEXT, owner_id BIGINT);
                                  CREATE VIEW ledgers AS SELECT * FROM base");
            } else {
                exec!(&mut conn, other_ledgers("ledgers", n));
            }
        }
        exec!(&mut conn, format!("USE `{ours}`"));
        exec!(&mut conn, "CREATE TABLE ledgers (id BIGINT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(40) NOT NULL,
                                                amount INT NOT NULL CHECK (amount <> 7), note VARCHAR(200),
                                                owner_id BIGINT NOT NULL);
                          CREATE TRIGGER ledgers_code BEFORE INSERT ON ledgers FOR EACH ROW SET NEW.code = 'filled'");
        if names_ignore_case == 0 {
            exec!(&mut conn, other_ledgers("LEDGERS", others.len()));
        }
        let report = sqlx_factory::check!(&mut conn, Ledger).await;
        exec!(&mut conn, drop_others);
        let advice = ", but the factory always sends a random value: mark it `primary_key` or `generated`, or set a value on purpose with `default`";
        assert_eq!(findings(&report), [
            warning("code", &format!("the database fills it (a BEFORE INSERT trigger){advice}")),
            error("amount", "sampled values fail CHECK (`amount` <> 7) (first: amount = 7): give the field `fake = ..` or `default = ..` that meets the constraint"),
            warning("note", "the column is nullable, but `String` is not an `Option`: reading a NULL fails"),
        ], "{report}");
    })
    .await
}
