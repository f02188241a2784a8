//! Shared helpers: run the real binary, find the repository's files and the Python
//! tools (cfn-lint, boto3, the aws CLI, moto) that `scripts/test` installs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `outboxctl` binary built for these tests.
pub fn outboxctl() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outboxctl"));
    cmd.env_remove("OUTBOXCTL_BLUEPRINT");
    cmd
}

/// The names of the committed example blueprints (without `.yaml`).
pub fn examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("blueprints"))
        .expect("blueprints/ exists")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".yaml").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// The Python interpreter with the test tools: `OUTBOXCTL_TEST_PYTHON`, else `.venv`.
/// A missing interpreter fails the test: these checks must never pass by being skipped.
pub fn python() -> PathBuf {
    let path = std::env::var_os("OUTBOXCTL_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "no Python test tools at {}: run `scripts/test` (it creates .venv with cfn-lint, boto3, awscli and moto) \
         or set OUTBOXCTL_TEST_PYTHON",
        path.display()
    );
    path
}

/// A command-line tool installed beside that interpreter (`cfn-lint`, `aws`, `moto_server`).
pub fn python_tool(name: &str) -> PathBuf {
    python()
        .parent()
        .expect("the interpreter is in a bin directory")
        .join(name)
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Panic with both streams when a command did not exit as expected.
#[track_caller]
pub fn expect_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit status {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
}
