//! Records the commit Stead is built from for `--version`: `STEAD_COMMIT` is the output of
//! `git rev-parse HEAD` in this crate's directory, empty outside a git checkout (a
//! published crate, a source archive) or without git.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs git in this crate's directory; `None` when it fails or is missing.
fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

/// Asks cargo to build again when `path` changes (only paths that exist: cargo always
/// reruns for a missing one).
fn watch(path: &Path) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    for var in ["GIT_DIR", "GIT_WORK_TREE", "GIT_CEILING_DIRECTORIES"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    // HEAD moves with every commit and checkout; the branch it names lives in the common
    // directory (shared by worktrees), loose or packed.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]).map(PathBuf::from) {
        watch(&dir.join("HEAD"));
        let common = git(&["rev-parse", "--git-common-dir"])
            .map(|c| dir.join(c))
            .unwrap_or_else(|| dir.clone());
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(&common.join(branch));
        }
        watch(&common.join("packed-refs"));
    }
    println!("cargo:rustc-env=STEAD_COMMIT={commit}");
}
