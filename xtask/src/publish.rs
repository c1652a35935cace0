//! `cargo xtask publish-check`: can every component crate go to crates.io?
//!
//! 1. `cargo doc --no-deps --all-features` of the component crates with
//!    `RUSTDOCFLAGS=-D warnings` (broken intra-doc links, bad HTML, ...).
//! 2. `cargo publish --dry-run -p ...` of the component crates (packaging,
//!    then a build of each packaged crate against the packaged workspace
//!    dependencies, as crates.io would see them; cargo 1.95 handles the
//!    unpublished workspace dependencies). It asks the registry (a dry run
//!    still queries the index: `--offline` is refused). When only the
//!    network failed, the same packaging and build run with `cargo package
//!    --offline` from cargo's cache (the earlier builds of the same lock
//!    file fill it), and failing that `cargo package --no-verify
//!    --offline` checks the manifests and files; a step that could not
//!    reach anything says so and does not fail. Any other failure fails.

use crate::{PACKAGE_PREFIX, PORTABLE_CRATES, cargo};
use std::process::Command;

/// What cargo prints when the failure is only that something could not be
/// downloaded (offline or unreachable).
const NETWORK_WORDS: &[&str] = &[
    "but --offline was specified",
    "download of config.json failed",
    "Couldn't connect to server",
    "failed to download",
    "failed to get a 200 OK response",
    "failed to query replaced source registry",
    "Couldn't resolve host",
    "network failure",
    "spurious network error",
    "failed to fetch",
];

fn packages(c: &mut Command) {
    for p in PORTABLE_CRATES {
        c.args(["--package", &format!("{PACKAGE_PREFIX}{p}")]);
    }
}

/// Runs `c`, echoing its output; `Ok(output)` on success, `Err(output)`
/// otherwise.
fn run_capture(c: &mut Command) -> Result<Result<String, String>, String> {
    eprintln!("xtask: {c:?}");
    let out = c.output().map_err(|e| format!("{c:?}: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprint!("{text}");
    Ok(if out.status.success() { Ok(text) } else { Err(text) })
}

fn network_only(text: &str) -> bool {
    NETWORK_WORDS.iter().any(|w| text.contains(w))
}

/// Removes what earlier dry runs left of our own packages: the dry run's
/// local registry serves each at the same version 0.1.0, and cargo takes a
/// registry crate of a known version as unchanged, so a dependent would be
/// built against a stale extracted copy or a stale compiled one
/// (`target/package`).
fn forget_old_packages() {
    let _ = std::fs::remove_dir_all(crate::target_dir().join("package"));
    let _ = std::fs::remove_dir_all(crate::target_dir().join("publish-check"));
    let home = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cargo")));
    let Some(home) = home else { return };
    for kind in ["src", "cache"] {
        let Ok(registries) = std::fs::read_dir(home.join("registry").join(kind)) else { continue };
        for registry in registries.flatten() {
            let Ok(entries) = std::fs::read_dir(registry.path()) else { continue };
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(PACKAGE_PREFIX) {
                    let path = e.path();
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                }
            }
        }
    }
}

pub(crate) fn main() -> Result<bool, String> {
    let mut ok = true;

    // 1. The documentation, warnings denied.
    let mut c = cargo();
    c.args(["doc", "--no-deps", "--all-features", "--keep-going"]).env("RUSTDOCFLAGS", "-D warnings");
    packages(&mut c);
    let doc_ok = run_capture(&mut c)?.is_ok();
    eprintln!("xtask: cargo doc -D warnings: {}", if doc_ok { "clean" } else { "FAILED" });
    ok &= doc_ok;

    // 2. Publishing, dry: packaging, then a build of each packaged crate
    //    against the packaged workspace dependencies and crates.io's.
    // A target directory of its own, emptied first: compiled copies of our
    // packages from an earlier run would pass for these (same version).
    forget_old_packages();
    let mut c = cargo();
    c.env("CARGO_TARGET_DIR", crate::target_dir().join("publish-check"));
    c.args(["publish", "--dry-run", "--allow-dirty"]);
    packages(&mut c);
    match run_capture(&mut c)? {
        Ok(_) => {
            eprintln!("xtask: cargo publish --dry-run: {} crates packaged and built", PORTABLE_CRATES.len())
        }
        Err(text) if network_only(&text) => {
            // The registry did not answer: the same packaging and build
            // from cargo's cache (what the earlier builds downloaded).
            eprintln!("xtask: the registry did not answer; `cargo package --offline` instead");
            let mut c = cargo();
            c.env("CARGO_TARGET_DIR", crate::target_dir().join("publish-check"));
            c.args(["package", "--offline", "--allow-dirty"]);
            packages(&mut c);
            match run_capture(&mut c)? {
                Ok(_) => eprintln!("xtask: cargo package --offline: clean"),
                Err(text) if network_only(&text) => {
                    // Not even the cache: the manifests and files alone.
                    let mut c = cargo();
                    c.env("CARGO_TARGET_DIR", crate::target_dir().join("publish-check"));
                    c.args(["package", "--no-verify", "--offline", "--allow-dirty"]);
                    packages(&mut c);
                    match run_capture(&mut c)? {
                        Ok(_) => eprintln!(
                            "xtask: cargo package --no-verify: clean (the build check needs the network)"
                        ),
                        Err(text) if network_only(&text) => {
                            eprintln!(
                                "xtask: packaging needs the registry; skipped for the network (not a failure)"
                            )
                        }
                        Err(_) => ok = false,
                    }
                }
                Err(_) => ok = false,
            }
        }
        Err(_) => ok = false,
    }
    eprintln!("xtask: publish-check {}", if ok { "passed" } else { "FAILED" });
    Ok(ok)
}
