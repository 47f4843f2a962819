//! get_or_create's `created` flags, NULL keys and repeated keys; the scope of
//! `local_sequences()` when its guard is dropped elsewhere; the machine-wide sequence counter
//! with a counter file whose content it did not write.

// Some cases run only on a server and exist only with its feature; without one, what they
// share is unused.
#![cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(unused))]

#[path = "common/child.rs"]
mod child;
mod common;

use std::collections::HashSet;
use std::future::IntoFuture;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use sqlx::Connection;
use sqlx_factory::Factory;

/// Keys that repeat inside a local sequence scope: `k1`, `k0`, `k1`, `k0`, ...
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "goc_tags", get_or_create(code))]
struct Tag {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("k{}", n % 2))]
    code: String,
}

/// A key that may be NULL: a NULL key never matches a stored row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "goc_labels", get_or_create(code))]
struct Label {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = None)]
    code: Option<String>,
}

/// A table only the sequence tests draw from.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "goc_review_numbers")]
struct Numbered {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("{n}"))]
    number: String,
}

/// The tables of the SQLite tests of [`Tag`] and [`Label`].
const SQLITE_TABLES: &str =
    "CREATE TABLE goc_tags (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE);
     CREATE TABLE goc_labels (id INTEGER PRIMARY KEY, code TEXT UNIQUE);";

/// SQLite in memory with the tables of the SQLite tests.
async fn tables() -> sqlx::SqliteConnection {
    let mut conn = common::sqlite().await;
    sqlx::raw_sql(SQLITE_TABLES)
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

async fn count(conn: &mut sqlx::SqliteConnection, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut *conn)
        .await
        .unwrap()
}

/// A batch that repeats a key inserts it once: the first row that carries it is `created`,
/// the later ones are the same row, not created; a key stored before is not created either.
#[tokio::test]
async fn created_flags_in_a_batch_that_repeats_keys_sqlite() {
    common::bounded_test(async {
        let mut conn = tables().await;
        let _sequences = sqlx_factory::local_sequences();
        // n = 1: k1, stored before the batch.
        let (stored, created) = Tag::factory()
            .with_session(&mut conn)
            .get_or_create()
            .await
            .unwrap();
        assert!(created);
        // n = 2..=5: k0, k1, k0, k1.
        let rows = Tag::factory()
            .with_session(&mut conn)
            .get_or_create_batch(4)
            .await
            .unwrap();
        let seen: Vec<(&str, bool)> = rows.iter().map(|(t, c)| (t.code.as_str(), *c)).collect();
        assert_eq!(
            seen,
            [("k0", true), ("k1", false), ("k0", false), ("k1", false)]
        );
        assert_eq!(rows[1].0, stored);
        assert_eq!(rows[0].0, rows[2].0);
        assert_eq!(count(&mut conn, "goc_tags").await, 2);
    })
    .await;
}

/// NULL keys match nothing, not even each other: every such row is inserted and created.
#[tokio::test]
async fn null_keys_are_each_created_sqlite() {
    common::bounded_test(async {
        let mut conn = tables().await;
        let rows = Label::factory()
            .with_session(&mut conn)
            .get_or_create_batch(3)
            .await
            .unwrap();
        assert!(rows.iter().all(|(l, c)| *c && l.code.is_none()), "{rows:?}");
        let ids: HashSet<i64> = rows.iter().map(|(l, _)| l.id).collect();
        assert_eq!(ids.len(), 3);
        assert_eq!(count(&mut conn, "goc_labels").await, 3);
    })
    .await;
}

/// A batch that repeats a key and fails on a later row keeps nothing, in the caller's
/// transaction too, and the transaction stays usable.
#[tokio::test]
async fn repeated_keys_batch_failing_keeps_nothing_sqlite() {
    common::bounded_test(async {
        let mut conn = tables().await;
        sqlx::raw_sql(
            "CREATE TRIGGER goc_tags_refuse BEFORE INSERT ON goc_tags
             WHEN (SELECT COUNT(*) FROM goc_tags) >= 1
             BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END;",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let mut tx = conn.begin().await.unwrap();
        let _sequences = sqlx_factory::local_sequences();
        // k1, k0, k1: the one INSERT of k1 and k0 fails on its second row.
        let err = Tag::factory()
            .with_session(&mut tx)
            .get_or_create_batch(3)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("refused by trigger"), "{err}");
        assert_eq!(count(&mut tx, "goc_tags").await, 0);
        tx.commit().await.unwrap();
        assert_eq!(count(&mut conn, "goc_tags").await, 0);
    })
    .await;
}

/// A `local_sequences()` guard dropped in a task other than the one that made it (here an
/// inherited future polled on the same thread) ends the scope: the test's own numbers go back
/// to the machine-wide counter instead of counting on locally for the rest of the thread.
#[tokio::test]
async fn local_sequences_guard_dropped_in_another_task() {
    common::bounded_test(async {
        let before: Vec<u64> = (0..3)
            .map(|_| Numbered::factory().build().number.parse().unwrap())
            .collect();
        let guard = sqlx_factory::local_sequences();
        assert_eq!(Numbered::factory().build().number, "1");
        sqlx_factory::inherit(async move { drop(guard) }).await;
        let after: u64 = Numbered::factory().build().number.parse().unwrap();
        assert!(
            after > before[2],
            "after the guard was dropped the number is {after}, still counted by the ended \
             scope (machine-wide ones before it: {before:?})"
        );
    })
    .await;
}

/// Guards dropped out of the order they were made: once both are dropped, no scope is left.
#[tokio::test]
async fn local_sequences_guards_dropped_out_of_order() {
    common::bounded_test(async {
        let before: u64 = Numbered::factory().build().number.parse().unwrap();
        let outer = sqlx_factory::local_sequences();
        let inner = sqlx_factory::local_sequences();
        assert_eq!(Numbered::factory().build().number, "1");
        drop(outer);
        drop(inner);
        let after: u64 = Numbered::factory().build().number.parse().unwrap();
        assert!(
            after > before,
            "a dropped scope still numbers: {after} after {before}"
        );
    })
    .await;
}

const CHILD_VAR: &str = "SQLX_FACTORY_GOC_REVIEW_CHILD";

/// Run as a child with a temp dir of its own: prints the sequence numbers of 20 rows.
#[test]
fn counter_child() {
    if std::env::var_os(CHILD_VAR).is_none() {
        return;
    }
    let numbers: Vec<String> = Numbered::factory()
        .build_batch(20)
        .into_iter()
        .map(|n| n.number)
        .collect();
    println!("NUMBERS {}", numbers.join(","));
}

fn child_numbers(tmp: &Path) -> Vec<u64> {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "counter_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, "1")
        .env("TMPDIR", tmp)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the child failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    child::printed(&output, "NUMBERS ")
        .split(',')
        .map(|n| n.parse().unwrap())
        .collect()
}

fn case_dir(case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sqlx-factory-goc-review-{}-{case}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
    dir
}

/// A counter file whose content is not a number the counter wrote (garbage, a number past
/// the shared range, the largest u64) tells nothing of the numbers handed out before: the
/// next run must not hand them out again, nor panic.
#[test]
fn counter_file_with_garbage_repeats_no_number() {
    for (case, garbage) in [
        ("text", "not a number\n"),
        ("huge", "9999999999"),
        ("max", "18446744073709551615"),
    ] {
        let tmp = case_dir(case);
        let first = child_numbers(&tmp);
        let uid = std::fs::metadata(&tmp).unwrap().uid();
        let file = tmp
            .join(format!("sqlx-factory-sequences-{uid}"))
            .join("goc_review_numbers");
        assert!(file.is_file(), "{case}: no counter file at {file:?}");
        std::fs::write(&file, garbage).unwrap();
        let second = child_numbers(&tmp);
        let all: HashSet<u64> = first.iter().chain(&second).copied().collect();
        assert_eq!(
            all.len(),
            first.len() + second.len(),
            "{case}: numbers handed out twice: {first:?} then {second:?}"
        );
        let _ = std::fs::remove_dir_all(&tmp);
    }
}

/// The counter directory is a link to a directory of the user's own: it is not followed, and
/// numbers are still handed out (process-local ones), none twice.
#[test]
fn counter_directory_that_is_a_link_is_not_followed() {
    let tmp = case_dir("link");
    let target = case_dir("link-target");
    let uid = std::fs::metadata(&tmp).unwrap().uid();
    std::os::unix::fs::symlink(&target, tmp.join(format!("sqlx-factory-sequences-{uid}"))).unwrap();
    let numbers = child_numbers(&tmp);
    assert_eq!(numbers.iter().collect::<HashSet<_>>().len(), numbers.len());
    assert!(
        std::fs::read_dir(&target).unwrap().next().is_none(),
        "the link was followed"
    );
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_dir_all(&target);
}

/// Processes racing on the first creation of the counter directory share one counter.
#[test]
fn processes_racing_on_the_first_directory() {
    let tmp = case_dir("race");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let tmp = tmp.clone();
            std::thread::spawn(move || child_numbers(&tmp))
        })
        .collect();
    let all: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let distinct: HashSet<u64> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "a number repeated: {all:?}");
    assert!(
        all.iter().all(|n| *n < 10_000_000_000),
        "a process fell back to process-local numbers: {all:?}"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Creates `$table` (an id, and a unique text `code`) for the backend `$kind`.
macro_rules! key_table {
    ($executor:expr, $kind:expr, $table:literal) => {{
        let kind: common::Kind = $kind;
        let create = format!(
            "CREATE TABLE {} (id {}, code {} NOT NULL UNIQUE)",
            $table,
            kind.serial_pk(),
            kind.varchar()
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(create))
            .execute($executor)
            .await
            .unwrap();
    }};
}

/// A key another connection is inserting (uncommitted) while the batch looks it up.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "goc_race", get_or_create(code))]
struct Raced {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "k".to_string())]
    code: String,
}

/// A batch that repeats a key loses the race for it: another transaction inserted the key
/// after the batch's lookup and committed while the batch's INSERT waited on it. Every row of
/// the batch is the stored row, none created. `$wait` counts whether the session `$id` runs
/// its INSERT (MariaDB) or waits on a lock (PostgreSQL).
macro_rules! race_on_a_repeated_key {
    ($name:ident, $pool:path, $id:literal, $wait:literal, $kind:expr) => {
        #[tokio::test]
        async fn $name() {
            common::bounded_test(async {
                let pool = $pool(stringify!($name)).await;
                key_table!(&pool, $kind, "goc_race");
                let mut other = pool.begin().await.unwrap();
                sqlx::query("INSERT INTO goc_race (code) VALUES ('k')")
                    .execute(&mut *other)
                    .await
                    .unwrap();
                let mut batch = pool.acquire().await.unwrap();
                let id: i64 = sqlx::query_scalar($id)
                    .fetch_one(&mut *batch)
                    .await
                    .unwrap();
                let task = tokio::spawn(async move {
                    let result = Raced::factory()
                        .with_session(&mut *batch)
                        .get_or_create_batch(2)
                        .await;
                    drop(batch);
                    result
                });
                let mut waited = false;
                for _ in 0..500 {
                    let waiting: i64 = sqlx::query_scalar($wait)
                        .bind(id)
                        .fetch_one(&pool)
                        .await
                        .unwrap();
                    if waiting > 0 {
                        // The statement is seen before it reaches the lock: let it get there.
                        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        waited = true;
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
                if !waited {
                    let _ = other.rollback().await;
                    let result = common::bounded(task).await.unwrap();
                    panic!("the batch's INSERT never waited on the other insert: {result:?}");
                }
                other.commit().await.unwrap();
                let rows = common::bounded(task).await.unwrap().unwrap();
                let stored: (i64, String) = sqlx::query_as("SELECT id, code FROM goc_race")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                let seen: Vec<(i64, &str, bool)> = rows
                    .iter()
                    .map(|(r, c)| (r.id, r.code.as_str(), *c))
                    .collect();
                assert_eq!(seen, [(stored.0, "k", false), (stored.0, "k", false)]);
            })
            .await;
        }
    };
}

#[cfg(feature = "postgres")]
race_on_a_repeated_key!(
    race_on_a_repeated_key_postgres,
    common::postgres_pool,
    "SELECT pg_backend_pid()::int8",
    "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
    common::Kind::Postgres
);

#[cfg(feature = "mysql")]
race_on_a_repeated_key!(
    race_on_a_repeated_key_mariadb,
    common::mariadb_pool,
    "SELECT CAST(CONNECTION_ID() AS SIGNED)",
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'INSERT%'",
    common::Kind::MariaDb
);

/// Polls `fut` at most `k` times, 1 ms apart, then drops it. True if it finished.
async fn drop_after_polls<F: std::future::Future>(fut: F, k: usize) -> bool {
    let mut fut = std::pin::pin!(fut);
    for _ in 0..k {
        let poll = std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await;
        if poll.is_ready() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    false
}

/// A get_or_create batch that repeats a key (`k1`, `k0`, `k1`: one transaction of ours),
/// dropped after every number of polls through a pool of one: the table holds both keys or
/// neither, and the next user of the connection gets or creates them with the right flags.
macro_rules! cancelled_repeating_batch {
    ($name:ident, $pool:path, $kind:expr) => {
        #[tokio::test]
        async fn $name() {
            common::bounded_test(async {
                let pool = $pool(stringify!($name), 1).await;
                key_table!(&pool, $kind, "goc_tags");
                for k in 1..200 {
                    let finished = {
                        let _sequences = sqlx_factory::local_sequences();
                        let op = Tag::factory().with_session(&pool).get_or_create_batch(3);
                        drop_after_polls(op.into_future(), k).await
                    };
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    let codes: Vec<String> = common::bounded(
                        sqlx::query_scalar("SELECT code FROM goc_tags ORDER BY code")
                            .fetch_all(&pool),
                    )
                    .await
                    .unwrap();
                    assert!(
                        codes.is_empty() || codes == ["k0", "k1"],
                        "after {k} polls: {codes:?}"
                    );
                    let _sequences = sqlx_factory::local_sequences();
                    let rows =
                        common::bounded(Tag::factory().with_session(&pool).get_or_create_batch(3))
                            .await
                            .unwrap_or_else(|e| panic!("after {k} polls: {e}"));
                    let created: Vec<bool> = rows.iter().map(|(_, c)| *c).collect();
                    let expected = if codes.is_empty() {
                        [true, true, false]
                    } else {
                        [false, false, false]
                    };
                    assert_eq!(
                        created, expected,
                        "after {k} polls, stored before: {codes:?}"
                    );
                    sqlx::query("DELETE FROM goc_tags")
                        .execute(&pool)
                        .await
                        .unwrap();
                    if finished {
                        return;
                    }
                }
                panic!("the batch never finished");
            })
            .await;
        }
    };
}

#[cfg(feature = "postgres")]
cancelled_repeating_batch!(
    cancelled_repeating_batch_pool_postgres,
    common::postgres_pool_of,
    common::Kind::Postgres
);

#[cfg(feature = "mysql")]
cancelled_repeating_batch!(
    cancelled_repeating_batch_pool_mariadb,
    common::mariadb_pool_of,
    common::Kind::MariaDb
);

/// A room whose head post points back at it by the room's code, which the database fills.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "goc_rooms")]
struct Room {
    #[factory(primary_key)]
    id: i64,
    #[factory(generated)]
    code: String,
    #[factory(association = Post, back_reference = room_code)]
    head_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "goc_posts")]
struct Post {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Room, references = code)]
    room_code: String,
}

/// The tables of [`Room`] and [`Post`] (their test runs on SQLite).
const ROOMS_AND_POSTS: &str = "CREATE TABLE goc_rooms (id INTEGER PRIMARY KEY, \
         code TEXT NOT NULL UNIQUE DEFAULT ('room-' || lower(hex(randomblob(4)))), \
         head_id INTEGER);
     CREATE TABLE goc_posts (id INTEGER PRIMARY KEY, room_code TEXT NOT NULL);";

/// `back_reference` writes the field the child's `references` names: the room's code as the
/// database stored it, not its id, for every room of a batch.
#[tokio::test]
async fn back_reference_writes_the_referenced_field_sqlite() {
    common::bounded_test(async {
        let mut conn = common::sqlite().await;
        sqlx::raw_sql(ROOMS_AND_POSTS)
            .execute(&mut conn)
            .await
            .unwrap();
        let rooms = Room::factory()
            .with_session(&mut conn)
            .create_batch(3)
            .await
            .unwrap();
        let stored: Vec<(i64, String, i64, String)> = sqlx::query_as(
            "SELECT r.id, r.code, p.id, p.room_code FROM goc_rooms r \
             JOIN goc_posts p ON p.id = r.head_id ORDER BY r.id",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(stored.len(), 3, "{stored:?}");
        for ((id, code, post, room_code), room) in stored.iter().zip(&rooms) {
            assert_eq!(
                (*id, code, Some(*post)),
                (room.id, &room.code, room.head_id)
            );
            assert_eq!(room_code, code, "the post points back by the room's code");
        }
    })
    .await;
}

/// Keys `k1`, `k2`, ... inside a local sequence scope.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "goc_codes", get_or_create(code))]
struct Code {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("k{n}"))]
    code: String,
}

/// The table of [`Code`], whose CHECK refuses the key `k{refused}`.
fn codes_table(kind: common::Kind, refused: usize) -> String {
    format!(
        "CREATE TABLE goc_codes (id {}, code {} NOT NULL UNIQUE, CHECK (code <> 'k{refused}'))",
        kind.serial_pk(),
        kind.varchar()
    )
}

/// A get_or_create batch of four whose row `i` the database refuses (a CHECK), with one key
/// stored before: in the caller's transaction it fails, keeps nothing, and leaves the
/// transaction usable; on the bare connection it keeps nothing either.
macro_rules! refused_at_every_row {
    ($name:ident, $connect:path, $kind:expr) => {
        #[tokio::test]
        async fn $name() {
            common::bounded_test(async {
                let mut conn = $connect(stringify!($name)).await;
                let kind = $kind;
                for i in 1..=4 {
                    let stored = if i == 2 { "k3" } else { "k2" };
                    let setup = format!(
                        "DROP TABLE IF EXISTS goc_codes; {}; \
                         INSERT INTO goc_codes (code) VALUES ('{stored}')",
                        codes_table(kind, i)
                    );
                    sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
                        .execute(&mut conn)
                        .await
                        .unwrap();
                    for in_tx in [true, false] {
                        let result = if in_tx {
                            let mut tx = conn.begin().await.unwrap();
                            let _sequences = sqlx_factory::local_sequences();
                            let result = Code::factory()
                                .with_session(&mut tx)
                                .get_or_create_batch(4)
                                .await;
                            sqlx::query("INSERT INTO goc_codes (code) VALUES ('marker')")
                                .execute(&mut *tx)
                                .await
                                .unwrap_or_else(|e| {
                                    panic!("row {i}: the transaction is unusable: {e}")
                                });
                            tx.commit().await.unwrap();
                            result
                        } else {
                            let _sequences = sqlx_factory::local_sequences();
                            Code::factory()
                                .with_session(&mut conn)
                                .get_or_create_batch(4)
                                .await
                        };
                        assert!(result.is_err(), "row {i} refused, yet: {result:?}");
                        let codes: Vec<String> =
                            sqlx::query_scalar("SELECT code FROM goc_codes WHERE code <> 'marker'")
                                .fetch_all(&mut conn)
                                .await
                                .unwrap();
                        assert_eq!(
                            codes,
                            [stored],
                            "row {i} refused, in a transaction: {in_tx}"
                        );
                    }
                }
            })
            .await;
        }
    };
}

#[cfg(feature = "postgres")]
refused_at_every_row!(
    refused_at_every_row_postgres,
    common::postgres,
    common::Kind::Postgres
);

#[cfg(feature = "mysql")]
refused_at_every_row!(
    refused_at_every_row_mariadb,
    common::mariadb,
    common::Kind::MariaDb
);

/// The repeating batch dropped after every number of polls inside the caller's transaction,
/// which is then rolled back (as after any cancel): nothing stays, and the connection gets or
/// creates the keys next with the right flags. (A borrowed MariaDB connection is not
/// cancel-safe mid-statement in sqlx: it is closed after a cancel, so only PostgreSQL here.)
#[cfg(feature = "postgres")]
#[tokio::test]
async fn cancelled_repeating_batch_caller_transaction_postgres() {
    common::bounded_test(async {
        let mut conn = common::postgres("goc_cancelled_in_tx").await;
        sqlx::raw_sql(
            "CREATE TABLE goc_tags (id BIGSERIAL PRIMARY KEY, code TEXT NOT NULL UNIQUE)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        for k in 1..200 {
            let mut tx = conn.begin().await.unwrap();
            let finished = {
                let _sequences = sqlx_factory::local_sequences();
                let op = Tag::factory().with_session(&mut tx).get_or_create_batch(3);
                drop_after_polls(op.into_future(), k).await
            };
            common::bounded(tx.rollback()).await.unwrap();
            let codes: Vec<String> = common::bounded(
                sqlx::query_scalar("SELECT code FROM goc_tags").fetch_all(&mut conn),
            )
            .await
            .unwrap();
            assert!(
                codes.is_empty(),
                "after {k} polls and a rollback: {codes:?}"
            );
            let _sequences = sqlx_factory::local_sequences();
            let rows = common::bounded(
                Tag::factory()
                    .with_session(&mut conn)
                    .get_or_create_batch(3),
            )
            .await
            .unwrap_or_else(|e| panic!("after {k} polls: {e}"));
            let created: Vec<bool> = rows.iter().map(|(_, c)| *c).collect();
            assert_eq!(created, [true, true, false], "after {k} polls");
            sqlx::query("DELETE FROM goc_tags")
                .execute(&mut conn)
                .await
                .unwrap();
            if finished {
                return;
            }
        }
        panic!("the batch never finished");
    })
    .await;
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "goc_owners", get_or_create(name))]
struct Owner {
    #[factory(primary_key)]
    id: i64,
    #[factory(default = "owner".to_string())]
    name: String,
}

/// A key that holds its parent: the parent is got or created first.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow, Factory)]
#[factory(table = "goc_pets", get_or_create(owner_id, name))]
struct Pet {
    #[factory(primary_key)]
    id: i64,
    #[factory(association = Owner)]
    owner_id: i64,
    #[factory(default = "pet".to_string())]
    name: String,
}

/// The id of the one row `$sql` selects, seen through `$executor`.
macro_rules! one_id {
    ($executor:expr, $sql:expr) => {{
        let sql: String = $sql;
        let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .fetch_all($executor)
            .await
            .unwrap();
        assert_eq!(ids.len(), 1, "{sql}: {ids:?}");
        ids[0]
    }};
}

/// Eight tasks run `op` at once; every one succeeds, and exactly one created its row.
async fn all_at_once<T, F, Fut>(round: usize, op: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(T, bool), sqlx_factory::Error>> + Send + 'static,
    T: std::fmt::Debug + Send + 'static,
{
    let tasks: Vec<_> = (0..8).map(|_| tokio::spawn(op())).collect();
    let mut results = Vec::new();
    for task in tasks {
        let result = common::bounded(task).await.unwrap();
        results.push(result.unwrap_or_else(|e| panic!("round {round}: {e}")));
    }
    let created = results.iter().filter(|(_, c)| *c).count();
    assert_eq!(created, 1, "round {round}: {results:?}");
    results.into_iter().map(|(row, _)| row).collect()
}

/// [`all_at_once`] of `$model`'s get_or_create through `$pool` with `$setter($value)`.
macro_rules! all_at_once {
    ($round:expr, $pool:expr, $model:ident, $setter:ident, $value:expr) => {
        all_at_once($round, || {
            let (pool, value) = ($pool.clone(), $value.clone());
            async move {
                $model::factory()
                    .with_session(&pool)
                    .$setter(value)
                    .get_or_create()
                    .await
            }
        })
        .await
    };
}

/// The tables of [`Owner`] and [`Pet`].
fn owners_and_pets(kind: common::Kind) -> String {
    format!(
        "CREATE TABLE goc_owners (id {pk}, name {text} NOT NULL UNIQUE); \
         CREATE TABLE goc_pets (id {pk}, \
         owner_id BIGINT NOT NULL REFERENCES goc_owners (id), \
         name {text} NOT NULL, UNIQUE (owner_id, name))",
        pk = kind.serial_pk(),
        text = kind.varchar()
    )
}

/// Eight tasks get or create one key through a pool at once, and then one pet of one owner
/// (a key that holds its parent), several times over: each time one row is stored, every
/// task gets it, and exactly one task created it.
macro_rules! concurrent_get_or_create {
    ($name:ident, $pool:path, $kind:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            common::bounded_test(async {
                let pool = $pool(stringify!($name), 4).await;
                key_table!(&pool, $kind, "goc_race");
                sqlx::raw_sql(sqlx::AssertSqlSafe(owners_and_pets($kind)))
                    .execute(&pool)
                    .await
                    .unwrap();
                for round in 0..5 {
                    let code = format!("key-{round}");
                    let rows = all_at_once!(round, pool, Raced, code, code);
                    let stored = one_id!(
                        &pool,
                        format!("SELECT id FROM goc_race WHERE code = '{code}'")
                    );
                    assert!(
                        rows.iter().all(|r| r.id == stored && r.code == code),
                        "{rows:?}"
                    );

                    let name = format!("pet-{round}");
                    let pets = all_at_once!(round, pool, Pet, name, name);
                    let owner = one_id!(&pool, "SELECT id FROM goc_owners".to_string());
                    let stored = one_id!(
                        &pool,
                        format!("SELECT id FROM goc_pets WHERE name = '{name}'")
                    );
                    assert!(
                        pets.iter().all(|p| p.id == stored && p.owner_id == owner),
                        "round {round}: {pets:?}"
                    );
                }
            })
            .await;
        }
    };
}

#[cfg(feature = "postgres")]
concurrent_get_or_create!(
    concurrent_get_or_create_pool_postgres,
    common::postgres_pool_of,
    common::Kind::Postgres
);

#[cfg(feature = "mysql")]
concurrent_get_or_create!(
    concurrent_get_or_create_pool_mariadb,
    common::mariadb_pool_of,
    common::Kind::MariaDb
);

on_every_backend! {
    /// The schema check on the tables these tests create, on the backends they run on: no
    /// error for models whose creates succeed there. `Code`'s table refuses one key, `k1`,
    /// which only a `local_sequences()` scope (as in its test) or a machine's first run draws:
    /// the check's samples are drawn seeded, from sequence number 5 000 000 001 on, and pass.
    /// `Numbered` is only built: it is checked against the table its fields describe, where a
    /// seeded create (which leaves the machine-wide counter alone) fits.
    async fn check_every_model(conn, kind) {
        exec!(conn, format!("CREATE TABLE goc_review_numbers (id {}, number TEXT NOT NULL)", kind.serial_pk()));
        Numbered::factory().seed(1).with_session(&mut *conn).create().await.unwrap();
        check_clean!(&mut *conn, kind, Numbered);
        if kind == common::Kind::Sqlite {
            exec!(conn, SQLITE_TABLES.to_string());
            exec!(conn, ROOMS_AND_POSTS.to_string());
            check_clean!(&mut *conn, kind, Tag, Label, Room, Post);
            return;
        }
        key_table!(&mut *conn, kind, "goc_tags");
        key_table!(&mut *conn, kind, "goc_race");
        exec!(conn, owners_and_pets(kind));
        check_clean!(&mut *conn, kind, Tag, Raced, Owner, Pet);
        exec!(conn, codes_table(kind, 1));
        check_clean!(&mut *conn, kind, Code);
    }
}
