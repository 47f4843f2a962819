//! Compile-time guarantees: each file in `ui-tests/fail` must fail with exactly the error in its
//! `.stderr`. The files in `ui-tests/pass` must compile and run: they are tests of
//! `tests/compiles.rs`, so that trybuild only checks (no code generation for its own build of
//! the dependencies).
//! Regenerate with `TRYBUILD=overwrite cargo test --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui-tests/fail/*.rs");
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
