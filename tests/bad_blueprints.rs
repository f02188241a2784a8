//! A corpus of broken blueprints (tests/bad-blueprints/*.yaml), each with the exact
//! output `validate` must give (`*.stderr`): the message, file:line:column, the source
//! line with its caret and the help. Run with OUTBOXCTL_BLESS=1 to rewrite the expected
//! files after a deliberate change, then read the diff.

use crate::support::{expect_code, outboxctl, repo, text};

#[test]
fn every_bad_blueprint_reports_its_problems_exactly() {
    let dir = repo().join("tests/bad-blueprints");
    let bless = std::env::var_os("OUTBOXCTL_BLESS").is_some();
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "the corpus is missing");
    let mut failures = Vec::new();
    for case in &cases {
        let relative = case.strip_prefix(repo()).unwrap();
        let output = outboxctl()
            .current_dir(repo())
            .arg("-f")
            .arg(relative)
            .arg("validate")
            .output()
            .unwrap();
        expect_code(&output, 1);
        let actual = text(&output.stderr);
        let expected_path = case.with_extension("stderr");
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
            panic!(
                "{} has no expected output: run with OUTBOXCTL_BLESS=1",
                relative.display()
            )
        });
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
                relative.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
