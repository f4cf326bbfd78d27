//! `rti audit verify`: an intact export passes with a summary and an anchor to keep; a changed
//! one fails with one line naming the first broken entry, and so does one rewritten with every
//! hash recomputed, against the anchor; a missing store is not created.

use rti_gateway::audit::{AuditDraft, AuditEntry, GENESIS_HASH};

use crate::{run, stderr_lines};

fn export(length: i64) -> Vec<String> {
    let request_ids: Vec<String> = (1..=length).map(|sequence| format!("request-{sequence}")).collect();
    export_of(&request_ids)
}

/// A consistent chain of one entry per request id, every hash computed.
fn export_of(request_ids: &[String]) -> Vec<String> {
    let mut previous = GENESIS_HASH.to_owned();
    (1..)
        .zip(request_ids)
        .map(|(sequence, request_id)| {
            let entry = AuditDraft {
                recorded_at: 1_764_860_400_000_000 + sequence,
                subject: Some("test-admin".into()),
                roles: vec!["admin".into()],
                rpc: "rti.registry.v1.RegistryService/CreateProvider".into(),
                protocol: "rest".into(),
                resource_ids: Vec::new(),
                outcome: 0,
                request_id: request_id.clone(),
                trace_id: None,
            }
            .seal(sequence, previous.clone());
            previous.clone_from(&entry.hash);
            entry.to_json_line()
        })
        .collect()
}

fn verify(lines: &[String]) -> std::process::Output {
    verify_anchored(lines, None)
}

fn verify_anchored(lines: &[String], anchor: Option<&str>) -> std::process::Output {
    let directory = tempfile::tempdir().expect("tempdir");
    let file = directory.path().join("audit.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").expect("write the export");
    let mut arguments = vec!["audit", "verify", file.to_str().expect("a UTF-8 path")];
    if let Some(anchor) = anchor {
        arguments.extend(["--anchor", anchor]);
    }
    run(&arguments)
}

#[test]
fn an_intact_export_verifies_and_names_its_last_hash() {
    let lines = export(3);
    let output = verify(&lines);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let printed = String::from_utf8_lossy(&output.stdout);
    let last = AuditEntry::from_json_line(&lines[2]).expect("an entry");
    assert!(printed.contains("3 entries"), "{printed}");
    assert!(printed.contains(&format!("--anchor 3:{}", last.hash)), "{printed}");
}

#[test]
fn a_chain_rewritten_with_every_hash_recomputed_fails_against_its_anchor() {
    let lines = export(3);
    let anchor = format!("3:{}", AuditEntry::from_json_line(&lines[2]).expect("an entry").hash);
    assert_eq!(verify_anchored(&lines, Some(&anchor)).status.code(), Some(0));
    let request_ids = ["request-1", "request-9", "request-3"].map(String::from);
    let rewritten = export_of(&request_ids);
    assert_eq!(verify(&rewritten).status.code(), Some(0), "consistent on its own");
    let output = verify_anchored(&rewritten, Some(&anchor));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(stderr_lines(&output)[0].contains("entry 3"), "{output:?}");
    let cut = verify_anchored(&lines[..2], Some(&anchor));
    assert_eq!(cut.status.code(), Some(1), "{cut:?}");
    let bad = verify_anchored(&lines, Some("3:nothex"));
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

#[test]
fn a_changed_export_fails_naming_the_entry() {
    let mut lines = export(3);
    lines[1] = lines[1].replace("request-2", "request-9");
    let output = verify(&lines);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let errors = stderr_lines(&output);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("entry 2"), "{}", errors[0]);
    assert!(errors[0].contains("changed"), "{}", errors[0]);
}

#[test]
fn verifying_a_missing_store_does_not_create_one() {
    let directory = tempfile::tempdir().expect("tempdir");
    let path = directory.path().join("absent.db");
    let url = format!("sqlite://{}", path.display());
    let output = run(&["audit", "verify", "--database", &url]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(stderr_lines(&output)[0].contains("no audit log"), "{output:?}");
    assert!(!path.exists());
}

#[test]
fn verify_needs_a_file_or_a_database() {
    let output = run(&["audit", "verify"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}
