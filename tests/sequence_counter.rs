//! The machine-wide sequence counter under hostile conditions: a directory or link planted by
//! another user, the counter deleted mid-run, one table spelled two ways. Every case runs the
//! test binary again as a child process with a temp dir of its own (`TMPDIR`), so the counter
//! it sees is the one the case prepared and no other test disturbs it.
#![cfg(unix)]

mod common;

use std::collections::HashSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx_factory::Factory;

#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "counter_handles")]
struct Handle {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("handle-{n}"))]
    handle: String,
}

/// The same table as [`Handle`], named with its schema.
#[derive(Debug, Clone, sqlx::FromRow, Factory)]
#[factory(table = "main.counter_handles")]
struct QualifiedHandle {
    #[factory(primary_key)]
    id: i64,
    #[factory(sequence = |n| format!("handle-{n}"))]
    handle: String,
}

/// What the child does (`build`, `delete_midrun`, `phases`, `spellings`).
const MODE_VAR: &str = "SQLX_FACTORY_COUNTER_MODE";
/// The directory through which the parent and the children of `phases` signal each other.
const CONTROL_VAR: &str = "SQLX_FACTORY_COUNTER_CONTROL";
const CHILD_LIMIT: Duration = Duration::from_secs(120);

fn number(handle: &str) -> u64 {
    handle.trim_start_matches("handle-").parse().unwrap()
}

fn print_numbers(numbers: &[u64]) {
    let text: Vec<String> = numbers.iter().map(u64::to_string).collect();
    println!("NUMBERS {}", text.join(","));
}

async fn handles_table() -> sqlx::SqliteConnection {
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE counter_handles (id INTEGER PRIMARY KEY, handle TEXT NOT NULL UNIQUE)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    conn
}

/// Deletes every counter file of `counter_handles` under the temp dir, as a tmp cleaner would.
fn delete_counter_files() {
    for entry in std::fs::read_dir(std::env::temp_dir()).unwrap() {
        let dir = entry.unwrap().path();
        let is_counter_dir = dir
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("sqlx-factory-sequences"));
        if is_counter_dir && dir.join("counter_handles").exists() {
            std::fs::remove_file(dir.join("counter_handles")).unwrap();
        }
    }
}

/// Child body, chosen by [`MODE_VAR`]; alone (no mode) it does nothing.
#[tokio::test]
async fn counter_child() {
    let Ok(mode) = std::env::var(MODE_VAR) else {
        return;
    };
    match mode.as_str() {
        "build" => {
            let numbers: Vec<u64> = Handle::factory()
                .build_batch(40)
                .iter()
                .map(|h| number(&h.handle))
                .collect();
            print_numbers(&numbers);
        }
        "delete_midrun" => {
            // One row at a time into a UNIQUE column, the counter file deleted after ten.
            let mut conn = handles_table().await;
            let mut failures = Vec::new();
            for i in 0..40 {
                if i == 10 {
                    delete_counter_files();
                }
                if let Err(e) = Handle::factory().with_session(&mut conn).create().await {
                    failures.push(e.to_string());
                }
            }
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM counter_handles")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert!(
                failures.is_empty(),
                "{} of 40 failed: {failures:?}",
                failures.len()
            );
            assert_eq!(rows, 40);
        }
        "phases" => {
            let control = PathBuf::from(std::env::var(CONTROL_VAR).unwrap());
            let mut numbers: Vec<u64> = Handle::factory()
                .build_batch(50)
                .iter()
                .map(|h| number(&h.handle))
                .collect();
            std::fs::write(control.join(format!("ready-{}", std::process::id())), "").unwrap();
            let deadline = Instant::now() + CHILD_LIMIT;
            while !control.join("go").exists() {
                assert!(Instant::now() < deadline, "the parent never said go");
                std::thread::sleep(Duration::from_millis(10));
            }
            for _ in 0..20 {
                numbers.extend(
                    Handle::factory()
                        .build_batch(10)
                        .iter()
                        .map(|h| number(&h.handle)),
                );
            }
            print_numbers(&numbers);
        }
        "spellings" => {
            let mut conn = handles_table().await;
            for _ in 0..20 {
                Handle::factory()
                    .with_session(&mut conn)
                    .create()
                    .await
                    .unwrap();
                QualifiedHandle::factory()
                    .with_session(&mut conn)
                    .create()
                    .await
                    .unwrap();
            }
            let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM counter_handles")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(rows, 40);
        }
        other => panic!("unknown mode {other}"),
    }
}

/// A temp dir of the case's own, empty.
fn case_dir(case: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sqlx-factory-counter-case-{}-{case}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn start_child(mode: &str, tmp: &Path, control: Option<&Path>) -> Child {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "counter_child",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(MODE_VAR, mode)
    .env("TMPDIR", tmp)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if let Some(control) = control {
        cmd.env(CONTROL_VAR, control);
    }
    cmd.spawn().expect("start a child test process")
}

/// Waits for `child` within [`CHILD_LIMIT`] and checks that it succeeded.
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + CHILD_LIMIT;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("a child hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the child failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn run_child(mode: &str, tmp: &Path) -> Output {
    finish(start_child(mode, tmp, None))
}

fn numbers(output: &Output) -> Vec<u64> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.split_once("NUMBERS ").map(|(_, n)| n.to_owned()))
        .expect("the child printed its numbers");
    line.split(',').map(|n| n.parse().unwrap()).collect()
}

fn my_uid(tmp: &Path) -> u32 {
    std::fs::metadata(tmp).unwrap().uid()
}

/// The counter directory of the current user under `tmp`.
fn user_dir(tmp: &Path) -> PathBuf {
    tmp.join(format!("sqlx-factory-sequences-{}", my_uid(tmp)))
}

/// Every place the counter of `counter_handles` has been kept under `tmp`.
fn counter_paths(tmp: &Path) -> Vec<PathBuf> {
    vec![
        tmp.join("sqlx-factory-sequences").join("counter_handles"),
        user_dir(tmp).join("counter_handles"),
    ]
}

fn assert_distinct(numbers: &[u64]) {
    let distinct: HashSet<_> = numbers.iter().collect();
    assert_eq!(
        distinct.len(),
        numbers.len(),
        "a number repeated: {numbers:?}"
    );
}

/// A fresh temp dir: the counter lives in a directory of the user's own, mode 0700, and its
/// numbers are the short shared ones.
#[test]
fn counter_directory_is_the_users_own() {
    let tmp = case_dir("own");
    let got = numbers(&run_child("build", &tmp));
    assert_distinct(&got);
    let dir = user_dir(&tmp);
    let meta = std::fs::symlink_metadata(&dir).expect("the user's counter directory");
    assert!(meta.is_dir());
    assert_eq!(meta.uid(), my_uid(&tmp));
    assert_eq!(meta.mode() & 0o777, 0o700);
    let stored: u64 = std::fs::read_to_string(dir.join("counter_handles"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(got.iter().all(|n| *n <= stored), "{got:?} past {stored}");
    assert!(got.iter().all(|n| *n < 1000), "{got:?}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A link named after the table, planted where the counter is kept, pointing at a file of the
/// user's: the file is left as it was, and the numbers are still unique.
#[test]
fn planted_link_is_not_followed() {
    let tmp = case_dir("link");
    let victim = tmp.join("notes.txt");
    std::fs::write(&victim, "my notes").unwrap();
    for path in counter_paths(&tmp) {
        let dir = path.parent().unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
    }
    let got = numbers(&run_child("build", &tmp));
    assert_distinct(&got);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "my notes");
    for path in counter_paths(&tmp) {
        assert!(std::fs::symlink_metadata(&path).unwrap().is_symlink());
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// The counter directory was made first by another user (uid 65534, `nobody`) and holds a
/// counter file and a link of theirs: neither is written, nothing is added, and the numbers are
/// still unique. Making a directory of another user needs root, as in CI; run as another user,
/// the case says so and stops (the unit test `a_directory_is_private_only_to_its_owner` in
/// src/seed.rs checks the same rule for any user).
#[test]
fn directory_of_another_user_is_not_used() {
    let tmp = case_dir("foreign");
    if my_uid(&tmp) != 0 {
        eprintln!("not root: no directory of another user can be made; run as root to check it");
        std::fs::remove_dir_all(&tmp).unwrap();
        return;
    }
    let victim = tmp.join("notes.txt");
    std::fs::write(&victim, "my notes").unwrap();
    for path in counter_paths(&tmp) {
        let dir = path.parent().unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(&path, "5").unwrap();
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
        let link = dir.join("other_table_link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
        std::os::unix::fs::chown(dir, Some(65534), Some(65534)).unwrap();
    }
    let got = numbers(&run_child("build", &tmp));
    assert_distinct(&got);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "my notes");
    for path in counter_paths(&tmp) {
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "5");
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            2
        );
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// The user's counter directory exists but anyone may write into it: not used.
#[test]
fn directory_writable_by_others_is_not_used() {
    let tmp = case_dir("writable");
    for path in counter_paths(&tmp) {
        let dir = path.parent().unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(&path, "5").unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let got = numbers(&run_child("build", &tmp));
    assert_distinct(&got);
    for path in counter_paths(&tmp) {
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "5");
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A temp dir anyone may write, without the sticky bit: another user could move the counter
/// directory away and put theirs in its place, so none is made there; with the sticky bit (as
/// `/tmp`) it is.
#[test]
fn temp_dir_others_can_rearrange_is_not_used() {
    let tmp = case_dir("open_temp");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o777)).unwrap();
    let got = numbers(&run_child("build", &tmp));
    assert_distinct(&got);
    assert!(!user_dir(&tmp).exists(), "a counter directory was made");
    assert!(got.iter().all(|n| *n > 10_000_000_000), "{got:?}");

    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let got = numbers(&run_child("build", &tmp));
    assert_distinct(&got);
    assert!(user_dir(&tmp).join("counter_handles").exists());
    assert!(got.iter().all(|n| *n < 1000), "{got:?}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// The counter file deleted after ten of forty `create()`s into a UNIQUE column: every create
/// succeeds (the child asserts it).
#[test]
fn counter_deleted_mid_run_one_process() {
    let tmp = case_dir("deleted_one");
    run_child("delete_midrun", &tmp);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Eight processes draw, the whole counter directory is deleted while they run, they draw
/// again: no number is handed out twice across them.
#[test]
fn counter_deleted_mid_run_eight_processes() {
    let tmp = case_dir("deleted_eight");
    let control = tmp.join("control");
    std::fs::create_dir(&control).unwrap();
    let children: Vec<Child> = (0..8)
        .map(|_| start_child("phases", &tmp, Some(&control)))
        .collect();
    let deadline = Instant::now() + CHILD_LIMIT;
    while std::fs::read_dir(&control).unwrap().count() < 8 {
        assert!(Instant::now() < deadline, "the children never got ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    for entry in std::fs::read_dir(&tmp).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("sqlx-factory-sequences")
        {
            std::fs::remove_dir_all(path).unwrap();
        }
    }
    std::fs::write(control.join("go"), "").unwrap();
    let all: Vec<u64> = children
        .into_iter()
        .flat_map(|child| numbers(&finish(child)))
        .collect();
    assert_eq!(all.len(), 8 * 250);
    assert_distinct(&all);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// `table = "counter_handles"` and `table = "main.counter_handles"` name one table: their
/// creates, alternating, never collide on its UNIQUE column (the child asserts it).
#[test]
fn two_spellings_of_one_table_share_the_counter() {
    let tmp = case_dir("spellings");
    run_child("spellings", &tmp);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// The schema check on the table the children create: no error for the two models (one table
/// under two spellings) whose creates succeed there.
#[tokio::test]
async fn check_every_model() {
    let mut conn = handles_table().await;
    check_clean!(&mut conn, common::Kind::Sqlite, Handle, QualifiedHandle);
}
