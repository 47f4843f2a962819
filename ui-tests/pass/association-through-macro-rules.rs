// Models written by a `macro_rules!` whose parent path, `references` name, field types or
// derive attribute come from the macro's input: the derive's own variables must not be looked
// up in the caller's context, and an `Option<..>` passed as `$t:ty` is an `Option`.
use sqlx_factory::Factory;

#[derive(Debug, sqlx::FromRow, Factory)]
#[factory(table = "parents")]
pub struct Parent {
    #[factory(primary_key)]
    pub id: i64,
    #[factory(sequence = |n| format!("p{n}"))]
    pub code: String,
}

macro_rules! child_of {
    ($name:ident, $table:literal, $parent:path) => {
        #[derive(Debug, sqlx::FromRow, Factory)]
        #[factory(table = $table)]
        pub struct $name {
            #[factory(primary_key)]
            pub id: i64,
            #[factory(association = $parent)]
            pub parent_id: i64,
        }
    };
    ($name:ident, $table:literal, $parent:ident, $field:ident) => {
        #[derive(Debug, sqlx::FromRow, Factory)]
        #[factory(table = $table)]
        pub struct $name {
            #[factory(primary_key)]
            pub id: i64,
            #[factory(association = $parent, references = $field)]
            pub parent_code: String,
        }
    };
}

// A key type and a field type from the caller: the key `Option<i64>` stays NULL without a
// parent, as written out.
macro_rules! child_typed {
    ($name:ident, $table:literal, $parent:ident, $key:ty, $title:ident) => {
        #[derive(Debug, sqlx::FromRow, Factory)]
        #[factory(table = $table)]
        pub struct $name {
            #[factory(primary_key)]
            pub id: i64,
            #[factory(association = $parent)]
            pub parent_id: $key,
            pub title: $title,
        }
    };
}

// The derive attribute from the caller, the body from the macro.
macro_rules! child_with {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        pub struct $name {
            #[factory(primary_key)]
            pub id: i64,
            #[factory(association = Parent)]
            pub parent_id: i64,
            #[factory(association = Parent, references = code)]
            pub parent_code: String,
            pub title: String,
            #[factory(lazy = |kid: &$name| format!("{}!", kid.title))]
            pub label: String,
        }
    };
}

child_of!(ByPath, "by_path", self::Parent);
child_typed!(Typed, "typed", Parent, Option<i64>, String);
child_with!(#[derive(Debug, sqlx::FromRow, Factory)] #[factory(table = "kids")] Kid);
child_of!(ByName, "by_name", Parent);
child_of!(ByCode, "by_code", Parent, code);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await?;
    for sql in [
        "CREATE TABLE parents (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE)",
        "CREATE TABLE by_path (id INTEGER PRIMARY KEY, parent_id BIGINT NOT NULL REFERENCES parents(id))",
        "CREATE TABLE by_name (id INTEGER PRIMARY KEY, parent_id BIGINT NOT NULL REFERENCES parents(id))",
        "CREATE TABLE by_code (id INTEGER PRIMARY KEY, parent_code TEXT NOT NULL REFERENCES parents(code))",
        "CREATE TABLE typed (id INTEGER PRIMARY KEY, parent_id BIGINT REFERENCES parents(id), title TEXT NOT NULL)",
        "CREATE TABLE kids (id INTEGER PRIMARY KEY, parent_id BIGINT NOT NULL REFERENCES parents(id), \
         parent_code TEXT NOT NULL REFERENCES parents(code), title TEXT NOT NULL, label TEXT NOT NULL)",
    ] {
        sqlx::query(sql).execute(&mut conn).await?;
    }
    let by_path = ByPath::factory().with_session(&mut conn).create().await?;
    let by_name = ByName::factory().with_session(&mut conn).create_batch(2).await?;
    let by_code = ByCode::factory().with_session(&mut conn).create().await?;
    let parents: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, code FROM parents ORDER BY id").fetch_all(&mut conn).await?;
    assert_eq!(parents.len(), 4, "a parent per row: {parents:?}");
    assert_eq!(by_path.parent_id, parents[0].0);
    assert_eq!(by_name[0].parent_id, parents[1].0);
    assert_eq!(by_name[1].parent_id, parents[2].0);
    assert_eq!(by_code.parent_code, parents[3].1);

    let typed = Typed::factory().with_session(&mut conn).create().await?;
    assert_eq!(typed.parent_id, None, "an optional key gets no parent unless asked");
    assert_eq!(Typed::factory().build().parent_id, None);
    let asked = Typed::factory().parent_id_with(|p| p).with_session(&mut conn).create().await?;
    assert!(asked.parent_id.is_some());
    let kid = Kid::factory().with_session(&mut conn).create().await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM parents").fetch_one(&mut conn).await?;
    assert_eq!(count, 7, "a parent for `asked`, two for the kid");
    let (id, code): (i64, String) =
        sqlx::query_as("SELECT id, code FROM parents WHERE id = ?").bind(kid.parent_id).fetch_one(&mut conn).await?;
    assert_eq!(id, kid.parent_id);
    assert!(code.starts_with('p') && kid.parent_code.starts_with('p'), "{kid:?}");
    assert_eq!(kid.label, format!("{}!", kid.title));
    let stored: String =
        sqlx::query_scalar("SELECT label FROM kids WHERE id = ?").bind(kid.id).fetch_one(&mut conn).await?;
    assert_eq!(stored, kid.label);
    Ok(())
}
