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
    same_flags_for_both_builds();
    let t = trybuild::TestCases::new();
    t.compile_fail("ui-tests/fail/*.rs");
}

/// trybuild checks its project twice: the dependencies alone, then every case, the second time
/// with one more rustc flag (`--diagnostic-width=140`). Flags are part of an artifact's hash,
/// so on a fresh clone every dependency is checked twice. Cargo takes
/// `CARGO_ENCODED_RUSTFLAGS` before the flags trybuild passes with `--config`: giving both
/// builds trybuild's second set (its `rustflags.rs`) checks them once, with the same
/// diagnostics. Flags of the user's own (`RUSTFLAGS`, e.g. for coverage) are left to trybuild.
fn same_flags_for_both_builds() {
    use std::env;
    if env::var_os("RUSTFLAGS").is_some() || env::var_os("CARGO_ENCODED_RUSTFLAGS").is_some() {
        return;
    }
    let flags = [
        "--cfg",
        "trybuild",
        "--verbose",
        "-A",
        "dead_code",
        "--diagnostic-width=140",
    ];
    // SAFETY: set before trybuild starts its threads or processes; the other test of this
    // binary reads no environment variable.
    unsafe { env::set_var("CARGO_ENCODED_RUSTFLAGS", flags.join("\x1f")) };
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
