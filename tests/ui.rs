//! Compile-time guarantees: each file in `ui-tests/fail` must fail with exactly the error in its
//! `.stderr`; each in `ui-tests/pass` must compile and run.
//! Regenerate with `TRYBUILD=overwrite cargo test --test ui` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui-tests/fail/*.rs");
    t.pass("ui-tests/pass/*.rs");
}
