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

/// A free TCP port on loopback (bound, then released for the server to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Environment for commands that talk to a local endpoint: dummy credentials, a region,
/// and no lookups of EC2 instance metadata.
pub fn local_aws_env<'a>(cmd: &'a mut Command, endpoint: &str) -> &'a mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .args(["--endpoint-url", endpoint])
}

/// Run the CLI against a local endpoint without blocking the runtime an in-process engine
/// runs on.
pub async fn cli(endpoint: &str, blueprint: &Path, args: &[&str]) -> Output {
    let mut cmd = outboxctl();
    local_aws_env(&mut cmd, endpoint)
        .arg("-f")
        .arg(blueprint)
        .args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// A blueprint in `dir` with `n` queues, each the target of its own rule: about 3 KB of
/// template each, so past 14 of them the template no longer fits inline.
pub fn blueprint_with_consumers(dir: &Path, n: usize) -> PathBuf {
    let mut blueprint = String::from("name: big\nqueues:\n");
    for i in 0..n {
        blueprint.push_str(&format!("  q{i}: {{}}\n"));
    }
    blueprint.push_str("rules:\n");
    for i in 0..n {
        blueprint.push_str(&format!(
            "  r{i}:\n    pattern: {{source: [s{i}]}}\n    targets: [q{i}]\n"
        ));
    }
    let path = dir.join("big.yaml");
    std::fs::write(&path, blueprint).unwrap();
    path
}

/// SDK configuration for a local endpoint, for tests that set up or inspect state.
pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .test_credentials()
        .load()
        .await
}

/// moto_server (PyPI), an independent implementation of the AWS APIs, on loopback.
pub struct Moto {
    child: std::process::Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new(python_tool("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let endpoint = format!("http://127.0.0.1:{port}");
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "moto_server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Moto { child, endpoint }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
