// Models named like the standard items the prelude brings in, all in one module: the derive
// names every standard item by its absolute path, so none of them is taken for the model.
// (No `#[sqlx(skip)]` field here: sqlx's own `FromRow` derive calls `Default::default()` for it.)
use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "sends")]
struct Send {
    #[factory(primary_key)]
    id: i64,
    subject: std::string::String,
    #[factory(association = Sync)]
    sync_id: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "syncs")]
struct Sync {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Option)]
    option_id: std::option::Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "options")]
struct Option {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = 1)]
    weight: i32,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "results")]
struct Result {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Box)]
    box_id: i64,
    score: std::option::Option<i32>,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "boxes")]
struct Box {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("box{n}"))]
    label: std::string::String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "vecs")]
struct Vec {
    #[factory(primary_key)]
    id: i64,
    #[factory(references = label, association = Box)]
    box_label: std::string::String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "strings")]
struct String {
    #[factory(primary_key)]
    id: i64,
    #[factory(lazy = |s: &String| s.id + 1)]
    next: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "defaults")]
struct Default {
    #[factory(primary_key)]
    id: i64,
    #[factory(required)]
    name: std::string::String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "clones")]
struct Clone {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Error)]
    error_id: i64,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "errors")]
struct Error {
    #[factory(primary_key)]
    id: i64,
    #[factory(generated)]
    created_at: std::string::String,
    #[factory(lazy = |e: &Error| std::string::ToString::to_string(&e.id))]
    code: std::string::String,
}

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "futures")]
struct Future {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Send)]
    send_id: std::option::Option<i64>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::result::Result<(), std::boxed::Box<dyn std::error::Error>> {
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect("sqlite::memory:").await?;
    sqlx::raw_sql(
        "CREATE TABLE options (id INTEGER PRIMARY KEY, weight INTEGER NOT NULL);
         CREATE TABLE syncs (id INTEGER PRIMARY KEY, option_id INTEGER REFERENCES options (id));
         CREATE TABLE sends (id INTEGER PRIMARY KEY, subject TEXT NOT NULL, sync_id INTEGER NOT NULL REFERENCES syncs (id));
         CREATE TABLE boxes (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE);
         CREATE TABLE results (id INTEGER PRIMARY KEY, box_id INTEGER NOT NULL, score INTEGER);
         CREATE TABLE vecs (id INTEGER PRIMARY KEY, box_label TEXT NOT NULL REFERENCES boxes (label));
         CREATE TABLE strings (id INTEGER PRIMARY KEY, next INTEGER NOT NULL);
         CREATE TABLE defaults (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE errors (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL DEFAULT 'now', code TEXT NOT NULL);
         CREATE TABLE clones (id INTEGER PRIMARY KEY, error_id INTEGER NOT NULL);
         CREATE TABLE futures (id INTEGER PRIMARY KEY, send_id INTEGER REFERENCES sends (id));",
    )
    .execute(&mut conn)
    .await?;
    let future = Future::factory().send_id_with(|s| s.subject("hi")).with_session(&mut conn).create().await?;
    assert!(future.send_id.is_some());
    let vecs = Vec::factory().with_session(&mut conn).create_batch(2).await?;
    assert_eq!(vecs.len(), 2);
    let boxed = Box::factory().with_session(&mut conn).create().await?;
    Result::factory().box_id(boxed.id).with_session(&mut conn).insert_many(3).await?;
    Default::factory().name("d").with_session(&mut conn).create().await?;
    String::factory().with_session(&mut conn).create().await?;
    let clone = Clone::factory().with_session(&mut conn).create().await?;
    let error: (i64, std::string::String) = sqlx::query_as("SELECT id, code FROM errors")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(clone.error_id, error.0);
    let built = Sync::factory().build();
    assert!(built.option_id.is_none());
    Ok(())
}
