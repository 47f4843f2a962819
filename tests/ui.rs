//! Compile-time guarantees: each file in `ui-tests/fail` must fail to compile with exactly the
//! error in its `.stderr`. (The files in `ui-tests/pass` must compile and run: they are tests of
//! `tests/compiles.rs`.)
//!
//! Regenerate the `.stderr` files with `UI=overwrite cargo test --test ui` and review the diff.
//!
//! Why not trybuild: trybuild builds every dependency a second time, in a project and target
//! directory of its own, and that was the slowest part of a cold `cargo test` (68 s of about
//! 170 s here, on 2 cores). This harness instead asks cargo (all fresh, well under a second)
//! for the libraries this very test binary was built against, and runs `rustc` on each case in
//! check mode with exactly those, so nothing is compiled twice. The output is normalized the
//! way trybuild normalizes it (the `.stderr` files predate this harness and did not change).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The crates a case may name: this package and the `sqlx` it derives `FromRow` with (their
/// library targets' names are unique in the dependency graph).
const EXTERNS: [&str; 2] = ["sqlx_factory", "sqlx"];

#[test]
fn ui() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let artifacts = artifacts(root);
    let out_dir = artifacts.deps.with_file_name("ui-tests");
    std::fs::create_dir_all(&out_dir).unwrap();
    let overwrite = std::env::var("UI").is_ok_and(|v| v == "overwrite");

    let mut cases: Vec<PathBuf> = std::fs::read_dir(root.join("ui-tests/fail"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no case in ui-tests/fail");

    // Each `rustc` loads the metadata of sqlx and its dependencies: run one per core.
    let queue = Mutex::new(cases.iter());
    let failures = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let Some(case) = queue.lock().unwrap().next() else {
                        return;
                    };
                    if let Err(failure) = check(root, case, &artifacts, &out_dir, overwrite) {
                        failures.lock().unwrap().push(failure);
                    }
                }
            });
        }
    });

    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    for failure in &failures {
        eprintln!("{failure}\n");
    }
    assert!(
        failures.is_empty(),
        "{} of {} UI cases failed (see above); if the new output is right, rerun with \
         UI=overwrite and review the diff",
        failures.len(),
        cases.len()
    );
    println!("{} UI cases: each failed with its .stderr", cases.len());
}

/// Compiles one case and compares its diagnostics with the `.stderr` beside it.
fn check(
    root: &Path,
    case: &Path,
    artifacts: &Artifacts,
    out_dir: &Path,
    overwrite: bool,
) -> Result<(), String> {
    let relative = case.strip_prefix(root).unwrap();
    let stem = case.file_stem().unwrap().to_str().unwrap();
    let mut rustc = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()));
    rustc
        .current_dir(root)
        .args([
            "--edition=2024",
            "--crate-type=bin",
            "--emit=metadata",
            "--color=never",
        ])
        .arg(format!("--crate-name={}", stem.replace('-', "_")))
        .arg("-o")
        .arg(out_dir.join(format!("lib{}.rmeta", stem.replace('-', "_"))))
        .arg("-L")
        .arg(format!("dependency={}", artifacts.deps.display()));
    for (name, path) in &artifacts.externs {
        rustc
            .arg("--extern")
            .arg(format!("{name}={}", path.display()));
    }
    let output = rustc.arg(relative).output().expect("rustc runs");
    let shown = relative.display();
    if output.status.success() {
        return Err(format!("{shown}: compiled, but it must fail to compile"));
    }
    let actual = normalize(&String::from_utf8_lossy(&output.stderr), root, relative);
    let expected_path = case.with_extension("stderr");
    if overwrite {
        std::fs::write(&expected_path, &actual).unwrap();
        return Ok(());
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    if expected.replace("\r\n", "\n") == actual {
        return Ok(());
    }
    Err(format!(
        "{shown}: the compiler printed\n{actual}\n-- but {} expects\n{expected}",
        expected_path.strip_prefix(root).unwrap().display()
    ))
}

/// Rustc's output as trybuild saves it: without the summary lines, with paths relative to the
/// package, line numbers only in the case's own file (a line of `src/` moves with every edit),
/// and no trailing blank lines.
fn normalize(stderr: &str, root: &Path, case: &Path) -> String {
    let root = format!("{}/", root.display());
    let lines: Vec<String> = stderr
        .replace("\r\n", "\n")
        .lines()
        .filter(|line| {
            !(line.starts_with("error: aborting due to")
                || line.starts_with("For more information about")
                || line.starts_with("Some errors have detailed explanations")
                || (line.starts_with("warning: ") && line.ends_with(" emitted")))
        })
        .map(|line| line.replace(&root, ""))
        .collect();
    // One diagnostic at a time: rustc sizes the gutter to its widest line number.
    let mut out = Vec::new();
    let mut start = 0;
    while start < lines.len() {
        let end = (start + 1..lines.len())
            .find(|&i| lines[i].starts_with("error") || lines[i].starts_with("warning"))
            .unwrap_or(lines.len());
        out.extend(regutter(&lines[start..end], case));
        start = end;
    }
    let mut out = out.join("\n");
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// Hides the line numbers of snippets outside `case` and narrows the gutter to the numbers left.
fn regutter(diagnostic: &[String], case: &Path) -> Vec<String> {
    let Some(width) = diagnostic.iter().find_map(|line| line.find("--> ")) else {
        return diagnostic.to_vec();
    };
    // (number shown in the gutter, rest of the line), for the lines that have a gutter.
    let mut outside = false;
    let split: Vec<Option<(Option<u32>, String)>> = diagnostic
        .iter()
        .map(|line| {
            let (gutter, rest) = line.split_at_checked(width)?;
            let number = gutter.trim_start();
            let gutter_ok = number.bytes().all(|b| b.is_ascii_digit())
                && [" |", " =", "--> ", "::: "]
                    .iter()
                    .any(|m| rest.starts_with(m))
                && (number.is_empty() || rest.starts_with(" |"));
            if !gutter_ok {
                return None;
            }
            let mut rest = rest.to_string();
            if let Some(path) = rest.strip_prefix("--> ").or(rest.strip_prefix("::: ")) {
                let file = path.split(':').next().unwrap_or(path);
                outside = Path::new(file) != case;
                if outside {
                    rest = format!("{}{file}", &rest[..4]);
                }
            }
            let number = if outside { None } else { number.parse().ok() };
            Some((number, rest))
        })
        .collect();
    let widest = split
        .iter()
        .flatten()
        .filter_map(|(n, _)| *n)
        .max()
        .unwrap_or(0);
    let new_width = widest.to_string().len();
    diagnostic
        .iter()
        .zip(split)
        .map(|(line, split)| match split {
            Some((Some(number), rest)) => format!("{number:>new_width$}{rest}"),
            Some((None, rest)) => format!("{:new_width$}{rest}", ""),
            None => line.clone(),
        })
        .collect()
}

/// Where this test binary's libraries are: the deps directory and the `--extern` files.
struct Artifacts {
    deps: PathBuf,
    externs: Vec<(&'static str, PathBuf)>,
}

/// Asks cargo for the libraries of this test target, built with the same features and
/// profile: everything is fresh (this binary was just built from them), so nothing compiles.
fn artifacts(root: &Path) -> Artifacts {
    let features: Vec<&str> = [
        ("sqlite", cfg!(feature = "sqlite")),
        ("postgres", cfg!(feature = "postgres")),
        ("mysql", cfg!(feature = "mysql")),
        ("tracing", cfg!(feature = "tracing")),
        ("uuid", cfg!(feature = "uuid")),
        ("chrono", cfg!(feature = "chrono")),
        ("time", cfg!(feature = "time")),
        ("json", cfg!(feature = "json")),
        ("rust_decimal", cfg!(feature = "rust_decimal")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["test", "--no-run", "--offline", "--message-format=json"])
        .args([
            "--package",
            "sqlx-factory",
            "--test",
            "ui",
            "--no-default-features",
        ])
        .arg(format!("--features={}", features.join(",")));
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "`cargo test --no-run` for the UI cases' libraries failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let externs: Vec<(&str, PathBuf)> = EXTERNS
        .iter()
        .map(|&name| {
            let rlib = stdout
                .lines()
                .filter(|line| line.contains(r#""reason":"compiler-artifact""#))
                .filter(|line| json_str(line, r#""target":{"#, "name") == Some(name))
                .find_map(|line| {
                    let list = line.split(r#""filenames":["#).nth(1)?.split(']').next()?;
                    list.split(',')
                        .map(|file| file.trim_matches('"').replace(r"\\", r"\"))
                        .find(|file| file.ends_with(".rlib"))
                })
                .unwrap_or_else(|| panic!("cargo named no rlib of `{name}`:\n{stdout}"));
            (name, PathBuf::from(rlib))
        })
        .collect();
    let deps = externs[0].1.parent().unwrap().to_path_buf();
    Artifacts { deps, externs }
}

/// The string value of `"key"` in a line of cargo's JSON, searched after `after`.
fn json_str<'a>(line: &'a str, after: &str, key: &str) -> Option<&'a str> {
    let start = line.find(after)? + after.len();
    let pattern = format!(r#""{key}":""#);
    let at = line[start..].find(&pattern)? + start + pattern.len();
    line[at..].split('"').next()
}

/// The README quotes the missing-session error verbatim from its `.stderr`.
#[test]
fn readme_quotes_the_compile_error() {
    let readme = include_str!("../README.md");
    let stderr = include_str!("../ui-tests/fail/create-without-session.stderr");
    assert!(
        readme.contains(&format!("```text\n{stderr}```")),
        "README.md must quote ui-tests/fail/create-without-session.stderr as is:\n{stderr}"
    );
}
