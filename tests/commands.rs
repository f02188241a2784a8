//! The blueprint commands as a user runs them: files written, exit codes, output.

use crate::support::{blueprint_with_consumers, expect_code, outboxctl, repo, text};

#[test]
fn init_writes_a_valid_starter_and_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let output = outboxctl()
        .current_dir(dir.path())
        .arg("init")
        .output()
        .unwrap();
    expect_code(&output, 0);
    let starter = std::fs::read_to_string(dir.path().join("outbox.yaml")).unwrap();
    assert!(starter.starts_with("# yaml-language-server: $schema=./outbox.schema.json"));
    assert!(dir.path().join("outbox.schema.json").exists());
    let output = outboxctl()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    expect_code(&output, 0);
    assert!(text(&output.stdout).contains("valid: stack `food-ordering`"));
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("outbox.yaml"), "name: mine\n").unwrap();
    let output = outboxctl()
        .current_dir(dir.path())
        .arg("init")
        .output()
        .unwrap();
    expect_code(&output, 1);
    assert!(
        text(&output.stderr).contains("outbox.yaml already exists; pass --force to overwrite it")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("outbox.yaml")).unwrap(),
        "name: mine\n"
    );
    let output = outboxctl()
        .current_dir(dir.path())
        .args(["init", "--force", "--example", "minimal"])
        .output()
        .unwrap();
    expect_code(&output, 0);
    assert!(
        std::fs::read_to_string(dir.path().join("outbox.yaml"))
            .unwrap()
            .contains("name: shop")
    );

    // A second blueprint beside the first shares the same schema; a schema file of other
    // content is kept unless --force.
    let second = outboxctl()
        .current_dir(dir.path())
        .args(["init", "-f", "second.yaml"])
        .output()
        .unwrap();
    expect_code(&second, 0);
    let fourth = outboxctl()
        .current_dir(dir.path())
        .args(["init", "-f", "fourth.yaml", "--output", "json"])
        .output()
        .unwrap();
    expect_code(&fourth, 0);
    let written: serde_json::Value = serde_json::from_slice(&fourth.stdout).unwrap();
    assert_eq!(written["blueprint"], "fourth.yaml");
    std::fs::write(dir.path().join("outbox.schema.json"), "{\"mine\": 1}").unwrap();
    let third = outboxctl()
        .current_dir(dir.path())
        .args(["init", "-f", "third.yaml"])
        .output()
        .unwrap();
    expect_code(&third, 1);
    assert!(text(&third.stderr).contains("outbox.schema.json already exists with other content"));
    assert!(
        !dir.path().join("third.yaml").exists(),
        "nothing was written"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("outbox.schema.json")).unwrap(),
        "{\"mine\": 1}"
    );
}

#[test]
fn init_rejects_unknown_examples_with_the_list() {
    let output = outboxctl()
        .args(["init", "--example", "nope"])
        .output()
        .unwrap();
    expect_code(&output, 2);
    assert!(text(&output.stderr).contains("food-ordering, minimal, multi-consumer"));
}

#[test]
fn validate_without_a_blueprint_says_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let output = outboxctl()
        .current_dir(dir.path())
        .arg("validate")
        .output()
        .unwrap();
    expect_code(&output, 2);
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot read blueprint `outbox.yaml`"),
        "{stderr}"
    );
    assert!(stderr.contains("outboxctl init"), "{stderr}");
    assert_eq!(stderr.matches("os error").count(), 1, "said once: {stderr}");
}

#[test]
fn validate_answers_scripts_in_json() {
    let valid = outboxctl()
        .args(["validate", "--output", "json", "-f"])
        .arg(repo().join("blueprints/minimal.yaml"))
        .output()
        .unwrap();
    expect_code(&valid, 0);
    let verdict: serde_json::Value = serde_json::from_slice(&valid.stdout).unwrap();
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["summary"]["stack"], "shop");
    assert_eq!(verdict["problems"], serde_json::json!([]));

    let invalid = outboxctl()
        .args(["validate", "--output", "json", "-f"])
        .arg(repo().join("tests/bad-blueprints/batch-size-too-large.yaml"))
        .output()
        .unwrap();
    expect_code(&invalid, 1);
    let verdict: serde_json::Value = serde_json::from_slice(&invalid.stdout).unwrap();
    assert_eq!(verdict["valid"], false);
    let problem = &verdict["problems"][0];
    assert!(problem["line"].as_u64().unwrap() > 0, "{verdict}");
    assert!(
        problem["message"].as_str().unwrap().contains("batch_size"),
        "{verdict}"
    );
    assert_eq!(text(&invalid.stderr), "", "JSON only, on stdout");

    // Every command reads the blueprint first: with --output json, an invalid one is the
    // same document on stdout, and the diagnostics still reach a person on stderr.
    for command in ["deploy", "status", "destroy"] {
        let refused = outboxctl()
            .args([command, "--output", "json", "-f"])
            .arg(repo().join("tests/bad-blueprints/batch-size-too-large.yaml"))
            .output()
            .unwrap();
        expect_code(&refused, 1);
        let document: serde_json::Value = serde_json::from_slice(&refused.stdout).unwrap();
        assert_eq!(document["problems"], verdict["problems"], "{command}");
        assert!(text(&refused.stderr).contains("batch_size"), "{command}");
    }
}

#[test]
fn render_writes_json_or_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let blueprint = repo().join("blueprints/minimal.yaml");
    let out = dir.path().join("t.json");
    let output = outboxctl()
        .arg("-f")
        .arg(&blueprint)
        .arg("render")
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    expect_code(&output, 0);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        json["Resources"]["Table"]["Properties"]["TableName"],
        "shop-orders"
    );

    let output = outboxctl()
        .arg("-f")
        .arg(&blueprint)
        .args(["render", "--format", "yaml"])
        .output()
        .unwrap();
    expect_code(&output, 0);
    let yaml: serde_json::Value = serde_norway::from_str(&text(&output.stdout)).unwrap();
    assert_eq!(yaml, json, "the YAML rendering is the same template");
}

#[test]
fn render_refuses_an_invalid_blueprint() {
    let output = outboxctl()
        .current_dir(repo())
        .args([
            "-f",
            "tests/bad-blueprints/batch-size-too-large.yaml",
            "render",
        ])
        .output()
        .unwrap();
    expect_code(&output, 1);
    assert!(
        output.stdout.is_empty(),
        "no template on stdout for an invalid blueprint"
    );
    assert!(text(&output.stderr).contains("tests/bad-blueprints/batch-size-too-large.yaml:3:15"));
}

#[test]
fn blueprint_path_comes_from_the_environment_too() {
    let output = outboxctl()
        .env(
            "OUTBOXCTL_BLUEPRINT",
            repo().join("blueprints/minimal.yaml"),
        )
        .arg("validate")
        .output()
        .unwrap();
    expect_code(&output, 0);
}

/// `outboxctl render | head -1` and the like: a reader that has gone ends the command
/// quietly with 141 (a shell's status for SIGPIPE), as `cat` ends, not with a panic.
#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    for args in [
        &["-f", "blueprints/minimal.yaml", "render"][..],
        &["--help"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = outboxctl()
            .current_dir(repo())
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
            .wait_with_output()
            .unwrap();
        expect_code(&output, 141);
        assert!(
            output.stderr.is_empty(),
            "nothing on stderr for {args:?}: {}",
            text(&output.stderr)
        );
    }
}

/// A blueprint whose template is too large to send inline is valid (`validate` says deploy
/// needs --s3-bucket); `deploy` without a bucket refuses it before asking AWS anything.
/// (The deploy through S3, and `diff`, are in `local_s3`.)
#[test]
fn a_template_too_large_to_send_inline_needs_a_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let path = blueprint_with_consumers(dir.path(), 30);
    let validated = outboxctl()
        .arg("-f")
        .arg(&path)
        .args(["validate", "--output", "json"])
        .output()
        .unwrap();
    expect_code(&validated, 0);
    let verdict: serde_json::Value = serde_json::from_slice(&validated.stdout).unwrap();
    assert!(verdict["summary"]["template_bytes"].as_u64().unwrap() > 51_200);
    let refused = outboxctl()
        .arg("-f")
        .arg(&path)
        .arg("deploy")
        .output()
        .unwrap();
    expect_code(&refused, 1);
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("more than CloudFormation takes inline (51200): pass --s3-bucket BUCKET")
            && stderr.contains("split the blueprint into two stacks"),
        "{stderr}"
    );
}
