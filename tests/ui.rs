//! Compile-time guarantees: each file in `ui-tests/fail` must fail to compile with exactly the
//! error in its `.stderr`, checked by trybuild with the features this test is built with (so
//! `cargo test --all-features` and the default `cargo test` each check them). The files in
//! `ui-tests/pass` must compile and run: they are tests of `tests/compiles.rs`, built with the
//! other test binaries, so trybuild only checks and links nothing.
//!
//! Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui` and review the
//! diff.

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
