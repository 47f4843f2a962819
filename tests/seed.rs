//! Reproducible data: `.seed(n)`, `SQLX_FACTORY_SEED` for a whole run, the seed printed on
//! panic. Runs of the whole test binary are made by starting it again as a child process.

mod common;

use std::process::Output;

use sqlx_factory::{Factory, run_seed};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "people")]
struct Person {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("p{n}@example.com"))]
    email: String,
    #[factory(fake = fake::faker::name::en::Name())]
    name: String,
    age: i32,
    nickname: Option<String>,
}

#[test]
fn same_seed_same_objects() {
    let a = Person::factory().seed(42).build_batch(20);
    let b = Person::factory().seed(42).build_batch(20);
    assert_eq!(a, b, "sequence values included");
    let c = Person::factory().seed(43).build_batch(20);
    assert_ne!(a, c);
    assert_eq!(Person::factory().seed(42).build(), a[0]);
}

/// Child process body; on its own, a check that the seed in force is the one asked for.
#[test]
fn prints_its_data() {
    let people = Person::factory().build_batch(5);
    if let Ok(seed) = std::env::var("SQLX_FACTORY_SEED") {
        assert_eq!(run_seed().to_string(), seed);
    }
    // Fake values replay under a seed; sequence values are unique on the machine instead.
    let (fake, sequences): (Vec<_>, Vec<_>) = people
        .iter()
        .map(|p| (format!("{}/{}", p.name, p.age), p.email.clone()))
        .unzip();
    println!("DATA {fake:?}");
    println!("SEQUENCES {sequences:?}");
    assert_eq!(people.len(), 5);
}

/// Child process body: builds, then fails.
#[test]
#[should_panic(expected = "the test failed")]
fn panics_after_building() {
    let _ = Person::factory().build();
    panic!("the test failed");
}

/// Child process body: the factory runs in a task on another thread, the assertion fails on
/// the test's own thread.
#[test]
#[should_panic(expected = "the assertion failed")]
fn panics_after_a_spawned_factory() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let built = runtime.block_on(async { tokio::spawn(async { Person::factory().build() }).await });
    assert!(built.is_ok());
    panic!("the assertion failed");
}

#[path = "common/child.rs"]
mod child;

use child::{printed, run_self};

fn run_child(test: &str, seed: Option<&str>) -> Output {
    run_self(&["--exact", test], &[("SQLX_FACTORY_SEED", seed)])
}

fn data(output: &Output) -> String {
    printed(output, "DATA ")
}

#[test]
fn run_seed_replays_every_run() {
    let (first_run, second_run) = (
        run_child("prints_its_data", Some("12345")),
        run_child("prints_its_data", Some("12345")),
    );
    let (first, again) = (data(&first_run), data(&second_run));
    assert_eq!(first, again, "one seed, the same fake data on every run");
    assert_ne!(
        printed(&first_run, "SEQUENCES "),
        printed(&second_run, "SEQUENCES "),
        "sequence values never repeat across processes, seed or not"
    );
    let other = data(&run_child("prints_its_data", Some("999")));
    assert_ne!(first, other);
    let free = data(&run_child("prints_its_data", None));
    let free_again = data(&run_child("prints_its_data", None));
    assert_ne!(free, free_again, "without a seed each run differs");
}

/// The replay line prints when the factory ran in a spawned
/// task and the assertion failed on the test thread.
#[test]
fn panic_prints_the_seed_of_a_spawned_task() {
    let output = run_child("panics_after_a_spawned_factory", Some("778"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("replay it with SQLX_FACTORY_SEED=778"),
        "{stderr}"
    );
    assert!(
        stderr.contains("values drawn in tasks spawned without sqlx_factory::inherit"),
        "where replay does not hold: {stderr}"
    );
}

#[test]
fn panic_prints_the_seed() {
    let output = run_child("panics_after_building", Some("777"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("replay it with SQLX_FACTORY_SEED=777"),
        "{stderr}"
    );
}

/// `.seed(s).create()` makes the same rows every run, parents created by association included.
#[tokio::test]
async fn seeded_create_reproduces_parents() {
    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "writers")]
    struct Writer {
        #[factory(primary_key)]
        id: i64,
        #[factory(fake = fake::faker::name::en::Name())]
        name: String,
    }

    #[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
    #[factory(table = "books")]
    struct Book {
        #[factory(primary_key)]
        id: i64,
        #[factory(association = Writer)]
        writer_id: i64,
        #[factory(fake = fake::faker::lorem::en::Sentence(2..4))]
        title: String,
    }

    async fn run() -> (Vec<Book>, Vec<(i64, String)>) {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE writers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE books (id INTEGER PRIMARY KEY, writer_id INTEGER NOT NULL, title TEXT NOT NULL)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        // The schema check on these tables: no error for models whose creates succeed.
        check_clean!(&mut conn, common::Kind::Sqlite, Writer, Book);
        let books = Book::factory()
            .with_session(&mut conn)
            .seed(11)
            .create_batch(3)
            .await
            .unwrap();
        let writers = sqlx::query_as("SELECT id, name FROM writers ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
        (books, writers)
    }

    let first = run().await;
    let second = run().await;
    assert_eq!(first, second, "same seed, same books and same writers");
    assert_eq!(first.1.len(), 3);
}

/// Whether this process is a child started to replay the spawned-task cases.
const REPLAY_VAR: &str = "SQLX_FACTORY_TEST_REPLAY";

/// Names drawn in `tasks` tasks spawned with [`sqlx_factory::inherit`] on a multi-thread
/// runtime, listed in spawn order.
fn names_from_spawned_tasks(tasks: usize) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                tokio::spawn(sqlx_factory::inherit(async {
                    let mut names = Vec::new();
                    for _ in 0..3 {
                        names.push(Person::factory().build().name);
                        tokio::task::yield_now().await;
                    }
                    names
                }))
            })
            .collect();
        let mut all = Vec::new();
        for handle in handles {
            all.extend(handle.await.unwrap());
        }
        all
    })
}

/// Child body: another test whose factories run in spawned tasks, before the next one.
#[test]
fn replay_a_other_test() {
    if std::env::var(REPLAY_VAR).is_ok() {
        let _ = Person::factory().build_batch(3);
        let _ = names_from_spawned_tasks(4);
        let _ = names_from_one_worker();
    }
}

/// Names drawn by one task spawned without `inherit` on a runtime of one worker: from the
/// worker's own stream.
fn names_from_one_worker() -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::spawn(async { Person::factory().build_batch(3) })
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect()
    })
}

/// Child body: prints the names its spawned tasks drew.
#[test]
fn replay_b_spawned_tasks() {
    if std::env::var(REPLAY_VAR).is_ok() {
        println!("DATA {:?}", names_from_spawned_tasks(3));
    }
}

fn run_replay_child(filter: &[&str]) -> String {
    data(&run_self(
        filter,
        &[("SQLX_FACTORY_SEED", Some("7")), (REPLAY_VAR, Some("1"))],
    ))
}

/// With one seed, the data drawn in a test's inherited tasks is the same whether the test runs
/// alone (as the replay line runs it) or after another test of the process whose tasks drew
/// on workers, run after run.
#[test]
fn spawned_tasks_draw_alike_alone_or_after_another_test() {
    let alone = run_replay_child(&["--exact", "replay_b_spawned_tasks"]);
    for _ in 0..3 {
        assert_eq!(
            run_replay_child(&["--exact", "replay_b_spawned_tasks"]),
            alone,
            "the same test alone again"
        );
        assert_eq!(
            run_replay_child(&["replay_"]),
            alone,
            "the same test after another"
        );
    }
}

/// Child body: a test that draws factory data and passes.
#[test]
fn panic_scope_a_draws() {
    let _ = Person::factory().build_batch(3);
}

/// Child body: a test that panics before any factory ran, as a `#[sqlx::test]` does without
/// `DATABASE_URL`.
#[test]
#[should_panic(expected = "DATABASE_URL must be set")]
fn panic_scope_b_before_any_factory() {
    panic!("DATABASE_URL must be set");
}

/// Child body: the factory runs in an inherited task on another worker, the assertion fails on
/// the test's own thread.
#[test]
#[should_panic(expected = "the assertion failed")]
fn panic_scope_c_after_an_inherited_task() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let built = runtime.block_on(async {
        tokio::spawn(sqlx_factory::inherit(async { Person::factory().build() })).await
    });
    assert!(built.is_ok());
    panic!("the assertion failed");
}

/// The replay line is printed for a panicking test that drew factory data, not for one that
/// panicked before any factory ran, even after another test of the process drew.
#[test]
fn seed_line_only_for_a_test_that_drew() {
    let output = run_child("panic_scope_b_before_any_factory", Some("779"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL must be set"), "{stderr}");
    assert!(!stderr.contains("SQLX_FACTORY_SEED"), "{stderr}");

    let output = run_self(
        &["panic_scope_", "--skip", "panic_scope_c"],
        &[("SQLX_FACTORY_SEED", Some("779"))],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL must be set"), "{stderr}");
    assert!(
        !stderr.contains("SQLX_FACTORY_SEED"),
        "the test that panicked drew nothing: {stderr}"
    );

    let output = run_child("panic_scope_c_after_an_inherited_task", Some("780"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("replay it with SQLX_FACTORY_SEED=780"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("may differ"),
        "an inherited task replays: {stderr}"
    );
}

/// The schema check of `Person`, which these tests only build: against the table its fields
/// describe, where a seeded create (which leaves the machine-wide counter alone) fits.
#[tokio::test]
async fn check_every_model() {
    let mut conn = common::sqlite().await;
    exec!(
        &mut conn,
        "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL, \
         age INTEGER NOT NULL, nickname TEXT)"
    );
    Person::factory()
        .seed(1)
        .with_session(&mut conn)
        .create()
        .await
        .unwrap();
    check_clean!(&mut conn, common::Kind::Sqlite, Person);
}
