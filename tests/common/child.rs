//! Runs this test binary again as a child process, for what one process cannot show by itself:
//! a whole run under a seed, a panic and what the hook prints, a run after another test.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::process::{Command, Output};

/// Runs the tests `args` select (a name with `--exact`, or a filter), one at a time, with
/// `env` set (`None`: removed), and checks that the run succeeded.
pub fn run_self(args: &[&str], env: &[(&str, Option<&str>)]) -> Output {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args(args).args(["--nocapture", "--test-threads=1"]);
    for (name, value) in env {
        match value {
            Some(value) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
    let output = cmd.output().expect("run the test binary");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// What the child printed after `what` on its standard output.
pub fn printed(output: &Output, what: &str) -> String {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        // libtest may print `test name ... ` on the same line before the test's own output.
        .find_map(|line| line.split_once(what).map(|(_, data)| data.to_owned()))
        .expect("the child printed its data")
}
