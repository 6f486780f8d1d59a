//! `stead state export|import` as a process: a redb state copied to a real ZooKeeper and
//! back, the refusals (non-empty target, a running scheduler's lock), and the help text.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use stead_state::testing::shared_zk_server;
use stead_state::{Persister, RedbPersister, StateDump, ZkPersister};

fn stead(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stead"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run stead");
    {
        // Dropping stdin closes it, so the command sees the end of its input.
        let mut input = child.stdin.take().expect("piped stdin");
        if let Some(bytes) = stdin {
            input.write_all(bytes).expect("write stdin");
        }
    }
    child.wait_with_output().expect("stead finishes")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn export_from_redb_import_into_zookeeper_and_back() {
    let Some(server) = shared_zk_server("stead state export/import") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("svc");
    {
        let redb = RedbPersister::open(state_dir.join("state.redb")).unwrap();
        redb.set("FrameworkID", b"fw-42").unwrap();
        redb.set("Tasks/data-0/TaskInfo", &[0u8, 1, 2, 255])
            .unwrap();
        redb.set("Properties/big", &vec![7u8; 300_000]).unwrap();
    }
    let from = state_dir.to_string_lossy().to_string();
    let exported = stead(&["state", "export", "--from", &from], None);
    assert!(exported.status.success(), "{}", text(&exported.stderr));
    let dump: StateDump = serde_json::from_slice(&exported.stdout).expect("a JSON dump");
    assert!(dump.nodes.iter().any(|n| n.path == "Properties/big"));

    let service = format!("cli-{}", std::process::id());
    let base = server.url("");
    let imported = stead(
        &["state", "import", "--to", &base, "--service", &service],
        Some(&exported.stdout),
    );
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    assert_eq!(
        text(&imported.stdout).trim(),
        format!("imported {} nodes into {base}", dump.nodes.len())
    );

    // Read back through the state's own URL into a file.
    let root = server.url(&format!("/stead/{service}"));
    let file = dir.path().join("dump.json");
    let file_arg = file.to_string_lossy().to_string();
    let again = stead(&["state", "export", "--from", &root, "-o", &file_arg], None);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let back: StateDump = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(back, dump);

    // A second import is refused unless asked to replace.
    let refused = stead(&["state", "import", "--to", &root, "-i", &file_arg], None);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("not empty"),
        "{}",
        text(&refused.stderr)
    );

    // A running scheduler's lock keeps the import out, replace or not.
    let zk = ZkPersister::connect(&base, &service).unwrap();
    let lock = zk.lock(false).unwrap();
    let import = [
        "state",
        "import",
        "--to",
        &root,
        "-i",
        &file_arg,
        "--replace",
    ];
    let locked = stead(&import, None);
    assert_eq!(locked.status.code(), Some(1));
    let err = text(&locked.stderr);
    assert!(err.contains("in use by another scheduler"), "{err}");
    lock.release().unwrap();
    let replaced = stead(&import, None);
    assert!(replaced.status.success(), "{}", text(&replaced.stderr));

    // And back into a fresh redb file.
    let copy = dir.path().join("copy.redb").to_string_lossy().to_string();
    let to_redb = stead(&["state", "import", "--to", &copy, "-i", &file_arg], None);
    assert!(to_redb.status.success(), "{}", text(&to_redb.stderr));
    let redb = RedbPersister::open(&copy).unwrap();
    assert_eq!(
        redb.get("FrameworkID").unwrap().as_deref(),
        Some(&b"fw-42"[..])
    );
}

#[test]
fn bad_inputs_fail_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none").to_string_lossy().to_string();
    let out = stead(&["state", "export", "--from", &missing], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no state here"),
        "{}",
        text(&out.stderr)
    );

    let target = dir.path().join("t").to_string_lossy().to_string();
    let out = stead(&["state", "import", "--to", &target], Some(b"{not json"));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not a state dump"),
        "{}",
        text(&out.stderr)
    );

    let out = stead(&["state", "export", "--from", "zk://127.0.0.1:2181"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--service"),
        "{}",
        text(&out.stderr)
    );

    let help = stead(&["state", "import", "--help"], None);
    let help = text(&help.stdout);
    assert!(
        help.contains("zk://") && help.contains("--replace"),
        "{help}"
    );
}

#[test]
fn import_says_what_it_wrote_in_json_too() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("copy.redb").to_string_lossy().to_string();
    let input = br#"{"format": "stead-state-dump/1", "nodes": [{"path": "FrameworkID", "value": "ZnctNw=="}]}"#;
    let out = stead(&["state", "import", "--to", &target, "--json"], Some(input));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer, serde_json::json!({"imported": 1, "to": target}));
}
