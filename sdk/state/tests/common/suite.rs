//! The one Persister conformance suite, run against every backend.
//!
//! `persister_suite!(factory)` expands to one `#[test]` per check. `factory()` returns a
//! fresh, empty persister plus a guard that keeps its backing resources alive.

use stead_state::{Op, Persister, StateError};

pub fn set_get_overwrite(p: &dyn Persister) {
    assert_eq!(p.get("a").unwrap(), None);
    p.set("a", b"one").unwrap();
    assert_eq!(p.get("a").unwrap().as_deref(), Some(&b"one"[..]));
    p.set("a", b"two").unwrap();
    assert_eq!(p.get("a").unwrap().as_deref(), Some(&b"two"[..]));
    p.set("empty", b"").unwrap();
    assert_eq!(p.get("empty").unwrap(), Some(Vec::new()));
}

pub fn set_creates_parents(p: &dyn Persister) {
    p.set("Tasks/data-0/TaskInfo", b"info").unwrap();
    assert_eq!(p.get("Tasks").unwrap(), Some(Vec::new()));
    assert_eq!(p.get("Tasks/data-0").unwrap(), Some(Vec::new()));
    assert_eq!(p.children("").unwrap(), vec!["Tasks"]);
    assert_eq!(p.children("Tasks").unwrap(), vec!["data-0"]);
    assert_eq!(p.children("Tasks/data-0").unwrap(), vec!["TaskInfo"]);
    // A parent keeps its own value when a child is set below it.
    p.set("Tasks/data-0", b"parent").unwrap();
    p.set("Tasks/data-0/TaskStatus", b"st").unwrap();
    assert_eq!(
        p.get("Tasks/data-0").unwrap().as_deref(),
        Some(&b"parent"[..])
    );
}

pub fn children_sorted_and_direct(p: &dyn Persister) {
    for name in ["b", "a", "a-1", "a.x", "a0", "c"] {
        p.set(&format!("P/{name}"), name.as_bytes()).unwrap();
    }
    p.set("P/a/deep/er", b"x").unwrap();
    p.set("P/a-1/deep", b"x").unwrap();
    p.set("Pz/other", b"x").unwrap();
    p.set("P-sibling", b"x").unwrap();
    assert_eq!(
        p.children("P").unwrap(),
        vec!["a", "a-1", "a.x", "a0", "b", "c"]
    );
    assert_eq!(p.children("P/a").unwrap(), vec!["deep"]);
    assert_eq!(p.children("P/c").unwrap(), Vec::<String>::new());
    assert_eq!(p.children("missing").unwrap(), Vec::<String>::new());
    assert_eq!(p.children("").unwrap(), vec!["P", "P-sibling", "Pz"]);
    assert_eq!(p.children("/").unwrap(), p.children("").unwrap());
}

pub fn delete_recursive(p: &dyn Persister) {
    p.set("T/x/info", b"1").unwrap();
    p.set("T/x/status", b"2").unwrap();
    p.set("T/x/sub/deeper", b"3").unwrap();
    p.set("T/x-2/info", b"4").unwrap();
    p.set("T/x0", b"5").unwrap();
    p.delete("T/x").unwrap();
    assert_eq!(p.get("T/x").unwrap(), None);
    assert_eq!(p.get("T/x/info").unwrap(), None);
    assert_eq!(p.get("T/x/sub/deeper").unwrap(), None);
    assert_eq!(p.children("T").unwrap(), vec!["x-2", "x0"]);
    assert_eq!(p.get("T/x-2/info").unwrap().as_deref(), Some(&b"4"[..]));
    let missing = p.delete("T/x").unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    // Deleting the root clears everything and is fine on an empty store.
    p.delete("").unwrap();
    assert_eq!(p.children("").unwrap(), Vec::<String>::new());
    p.delete("/").unwrap();
}

pub fn multi_applies_in_order(p: &dyn Persister) {
    p.multi(&[]).unwrap();
    p.multi(&[
        Op::set("M/a", b"1".to_vec()),
        Op::set("M/b", b"2".to_vec()),
        Op::set("M/a", b"3".to_vec()),
        Op::delete("M/b"),
        Op::set("M/c/d", b"4".to_vec()),
    ])
    .unwrap();
    assert_eq!(p.get("M/a").unwrap().as_deref(), Some(&b"3"[..]));
    assert_eq!(p.get("M/b").unwrap(), None);
    assert_eq!(p.children("M").unwrap(), vec!["a", "c"]);
}

pub fn multi_is_atomic(p: &dyn Persister) {
    p.set("A/keep", b"old").unwrap();
    p.set("A/gone", b"g").unwrap();
    let err = p
        .multi(&[
            Op::set("A/keep", b"new".to_vec()),
            Op::set("A/fresh/child", b"f".to_vec()),
            Op::delete("A/gone"),
            Op::delete("A/never-existed"),
        ])
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("A/never-existed"), "{err}");
    assert_eq!(p.get("A/keep").unwrap().as_deref(), Some(&b"old"[..]));
    assert_eq!(p.get("A/gone").unwrap().as_deref(), Some(&b"g"[..]));
    assert_eq!(p.get("A/fresh").unwrap(), None);
    assert_eq!(p.children("A").unwrap(), vec!["gone", "keep"]);
    // An invalid path anywhere in the batch also rolls everything back.
    let err = p
        .multi(&[
            Op::set("A/keep", b"new".to_vec()),
            Op::set("A//bad", vec![]),
        ])
        .unwrap_err();
    assert!(matches!(err, StateError::InvalidPath { .. }), "{err}");
    assert_eq!(p.get("A/keep").unwrap().as_deref(), Some(&b"old"[..]));
}

pub fn odd_paths(p: &dyn Persister) {
    p.set("/lead/trail/", b"v").unwrap();
    assert_eq!(p.get("lead/trail").unwrap().as_deref(), Some(&b"v"[..]));
    for bad in ["", "/", "a//b", "a/./b", "../a", "a/\u{7}"] {
        let err = p.set(bad, b"x").unwrap_err();
        assert!(
            matches!(err, StateError::InvalidPath { .. }),
            "{bad:?}: {err}"
        );
    }
    assert!(p.get("").is_err());
    assert!(p.get("a//b").is_err());
    assert!(p.children("a//b").is_err());
    let name = "ünï-cødé name_with.dots:and@signs";
    p.set(&format!("odd/{name}"), b"u").unwrap();
    assert_eq!(p.children("odd").unwrap(), vec![name]);
    let long = "n".repeat(200);
    p.set(&format!("odd/{long}"), b"l").unwrap();
    assert_eq!(
        p.get(&format!("odd/{long}")).unwrap().as_deref(),
        Some(&b"l"[..])
    );
}

pub fn large_values(p: &dyn Persister) {
    let big: Vec<u8> = (0..900_000u32).map(|i| (i % 251) as u8).collect();
    p.set("big/one", &big).unwrap();
    assert_eq!(p.get("big/one").unwrap().as_deref(), Some(&big[..]));
}

pub fn large_batch(p: &dyn Persister) {
    let ops: Vec<Op> = (0..3000)
        .map(|i| Op::set(format!("Tasks/t-{i:05}/TaskStatus"), vec![7u8; 200]))
        .collect();
    p.multi(&ops).unwrap();
    let names = p.children("Tasks").unwrap();
    assert_eq!(names.len(), 3000);
    assert_eq!(names[0], "t-00000");
    assert_eq!(names[2999], "t-02999");
    assert_eq!(
        p.get("Tasks/t-01234/TaskStatus").unwrap(),
        Some(vec![7u8; 200])
    );
}

pub fn get_many_reads_every_path_in_order(p: &dyn Persister) {
    let ops: Vec<Op> = (0..2500)
        .filter(|i| i % 7 != 0)
        .map(|i| Op::set(format!("M/n-{i}/Leaf"), format!("v{i}")))
        .collect();
    p.multi(&ops).unwrap();
    // Every seventh node is missing; the list crosses the backends' chunk sizes.
    let paths: Vec<String> = (0..2500).rev().map(|i| format!("M/n-{i}/Leaf")).collect();
    let values = p.get_many(&paths).unwrap();
    assert_eq!(values.len(), paths.len());
    for (path, value) in paths.iter().zip(&values) {
        assert_eq!(value, &p.get(path).unwrap(), "{path}");
    }
    // Path k is node 2499 - k: 2499 and 7 are multiples of 7.
    assert_eq!(values[0], None);
    assert_eq!(values[1].as_deref(), Some(&b"v2498"[..]));
    assert_eq!(values[2499 - 7], None);
    assert!(p.get_many(&[]).unwrap().is_empty());
    assert!(matches!(
        p.get_many(&["M/../x".to_owned()]),
        Err(StateError::InvalidPath { .. })
    ));
}

#[macro_export]
macro_rules! persister_suite {
    ($factory:expr) => {
        $crate::persister_suite!(@tests $factory;
            set_get_overwrite, set_creates_parents, children_sorted_and_direct,
            delete_recursive, multi_applies_in_order, multi_is_atomic, odd_paths,
            large_values, large_batch, get_many_reads_every_path_in_order);
    };
    (@tests $factory:expr; $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                let Some((persister, _guard)) = $factory() else { return };
                $crate::common::suite::$name(&*persister);
            }
        )*
    };
}
