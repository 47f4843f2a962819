//! `build()` / `build_batch(n)`: objects in memory with realistic values, no database, no runtime.

mod common;

use std::collections::HashSet;

use sqlx_factory::Factory;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "people")]
struct Person {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("person{n}@example.com"))]
    email: String,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
    #[factory(default = 30)]
    age: i32,
    #[factory(default = ["a", "b"].join(","))]
    tags: String,
    nickname: Option<String>,
    score: f64,
    #[factory(skip)]
    #[sqlx(skip)]
    cache: Vec<u8>,
}

/// A plain `#[test]`: no async runtime and no connection exist, and build still works.
#[test]
fn builds_without_database_or_runtime() {
    let p = Person::factory().build();
    assert_eq!(p.age, 30);
    assert_eq!(p.tags, "a,b");
    assert!(p.email.starts_with("person") && p.email.ends_with("@example.com"));
    assert!(p.name.contains(' '), "a fake full name: {:?}", p.name);
    assert!(p.cache.is_empty(), "skip fields are Default");
    assert!(p.score.is_finite());
}

#[test]
fn overrides_win_over_attributes() {
    let p = Person::factory()
        .name("Ann")
        .age(41)
        .email("ann@example.com")
        .nickname(Some("annie".to_string()))
        .id(7)
        .build();
    assert_eq!(
        (
            p.id,
            p.name.as_str(),
            p.age,
            p.email.as_str(),
            p.nickname.as_deref()
        ),
        (7, "Ann", 41, "ann@example.com", Some("annie"))
    );
}

#[test]
fn build_batch_makes_distinct_objects() {
    let people = Person::factory().age(50).build_batch(200);
    assert_eq!(people.len(), 200);
    assert!(people.iter().all(|p| p.age == 50));
    let emails: HashSet<_> = people.iter().map(|p| &p.email).collect();
    assert_eq!(emails.len(), 200, "sequence values are distinct");
    let names: HashSet<_> = people.iter().map(|p| &p.name).collect();
    assert!(
        names.len() > 100,
        "fake names vary: {} distinct of 200",
        names.len()
    );
    assert!(Person::factory().build_batch(0).is_empty());
}

on_every_backend! {
    /// Building next to a live connection sends it nothing: the table stays empty.
    async fn build_sends_nothing(conn, kind) {
        exec!(conn, format!("CREATE TABLE people (id {}, email TEXT)", kind.serial_pk()));
        let counting = statements::start().await;
        let people = Person::factory().build_batch(50);
        assert_eq!(people.len(), 50);
        assert!(counting.inserts_into(kind, &["people"]).is_empty(), "{:?}", counting.inserts_into(kind, &["people"]));
        drop(counting);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM people")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(count, 0);
    }
}

#[path = "common/statements.rs"]
mod statements;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "counters")]
struct Counter {
    small: i16,
    big: u64,
    tiny: u8,
    ratio: f32,
    maybe: Option<i16>,
    never: Option<u64>,
}

/// Integer literals go to any integer field as they are, optional ones too (no `5u64`).
#[test]
fn integer_literals_fit_every_integer_field() {
    let c = Counter::factory()
        .small(5)
        .big(7)
        .tiny(1)
        .ratio(0.5)
        .maybe(3)
        .never(None)
        .build();
    assert_eq!(
        format!("{c:?}"),
        "Counter { small: 5, big: 7, tiny: 1, ratio: 0.5, maybe: Some(3), never: None }"
    );
}

/// What the database fills, `build()` fills with values no database gave: keys counting from
/// 1001 (as FactoryBot's `build_stubbed` does), text `built-1001`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "stubbed")]
struct Stubbed {
    #[factory(primary_key)]
    id: i64,
    #[factory(generated)]
    created_at: String,
    #[factory(generated)]
    version: Option<i32>,
    name: String,
}

#[test]
fn database_filled_fields_read_as_built() {
    let first = Stubbed::factory().build();
    assert_eq!(first.id, 1001, "{first:?}");
    assert_eq!(first.created_at, "built-1001");
    assert_eq!(first.version, Some(1001));
    // Counting on in the test: two built rows never share a key.
    let more = Stubbed::factory().build_batch(2);
    assert_eq!(more.iter().map(|s| s.id).collect::<Vec<_>>(), [1002, 1003]);
    // A seeded factory counts from 1001 each time, as it replays everything else.
    let seeded = Stubbed::factory().seed(5).build_batch(2);
    assert_eq!(seeded, Stubbed::factory().seed(5).build_batch(2));
    assert_eq!((seeded[0].id, seeded[1].id), (1001, 1002));
    // A value given wins.
    assert_eq!(Stubbed::factory().id(7).build().id, 7);
}

/// The tables these models describe (their tests only build them), where a seeded create
/// (which leaves the machine-wide counters alone) fits.
fn build_only_tables(kind: common::Kind) -> String {
    let (pk, float) = match kind {
        common::Kind::Sqlite => ("INTEGER PRIMARY KEY", "REAL"),
        common::Kind::Postgres => ("BIGSERIAL PRIMARY KEY", "DOUBLE PRECISION"),
        common::Kind::MariaDb => ("BIGINT AUTO_INCREMENT PRIMARY KEY", "DOUBLE"),
    };
    format!(
        "CREATE TABLE people (id {pk}, email TEXT NOT NULL, name TEXT NOT NULL, age INTEGER NOT NULL, \
             tags TEXT NOT NULL, nickname TEXT, score {float} NOT NULL); \
         CREATE TABLE stubbed (id {pk}, created_at {created}, version INTEGER DEFAULT 1, \
             name TEXT NOT NULL)",
        created = kind.created_at()
    )
}

on_every_backend! {
    /// The schema check of the models these tests only build, against the tables their fields
    /// describe: no error where a create succeeds.
    async fn check_every_model(conn, kind) {
        exec!(conn, build_only_tables(kind));
        Person::factory().seed(1).with_session(&mut *conn).create().await.unwrap();
        Stubbed::factory().seed(1).with_session(&mut *conn).create().await.unwrap();
        check_clean!(&mut *conn, kind, Person, Stubbed);
    }
}

/// `Counter`'s `u64` fields are stored on MariaDB alone (SQLite and PostgreSQL have no
/// unsigned 64-bit type).
#[cfg(feature = "mysql")]
#[tokio::test]
async fn check_counter_mariadb() {
    common::bounded_test(async {
        let mut conn = common::mariadb("check_counter").await;
        exec!(
            &mut conn,
            "CREATE TABLE counters (small SMALLINT NOT NULL, big BIGINT UNSIGNED NOT NULL, \
             tiny TINYINT UNSIGNED NOT NULL, ratio FLOAT NOT NULL, maybe SMALLINT, \
             never BIGINT UNSIGNED)"
                .to_string()
        );
        Counter::factory()
            .seed(1)
            .with_session(&mut conn)
            .create()
            .await
            .unwrap();
        check_clean!(&mut conn, common::Kind::MariaDb, Counter);
    })
    .await
}
