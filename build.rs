//! Records the git commit the crate is built from (`SIGNAL_ENGINE_GIT_COMMIT`), so that a trained
//! bundle names the code that made it. `-dirty` marks a tree with changes not committed (tracked
//! or new files; ignored ones do not count); `unknown` means no git checkout (a crates.io tarball).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    // `--no-optional-locks`: `git status` would otherwise refresh the index it is watched by.
    let out = Command::new("git")
        .arg("--no-optional-locks")
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn watch(path: &str) {
    // Cargo treats a missing watched path as changed (a rebuild every time): watch what exists.
    if Path::new(path).exists() {
        println!("cargo:rerun-if-changed={path}");
    }
}

fn main() {
    let commit = match git(&["rev-parse", "HEAD"]) {
        Some(head) => {
            let dirty = git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
            if dirty { format!("{head}-dirty") } else { head }
        }
        None => "unknown".to_string(),
    };
    println!("cargo:rustc-env=SIGNAL_ENGINE_GIT_COMMIT={commit}");
    // Re-run when HEAD moves (commit, checkout, packed refs) or the index or sources change.
    for path in ["HEAD", "index", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            watch(&p);
        }
    }
    if let Some(r) =
        git(&["symbolic-ref", "-q", "HEAD"]).and_then(|r| git(&["rev-parse", "--git-path", &r]))
    {
        watch(&r);
    }
    for p in ["src", "config", "Cargo.toml", "Cargo.lock", "build.rs"] {
        watch(p);
    }
}
