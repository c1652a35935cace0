fn main() {
    // The linker script only applies to the bare-metal build; on the host the
    // binary is a stub (so that `cargo clippy --workspace` can check it).
    let target = std::env::var("TARGET").unwrap_or_default();
    if target == "x86_64-unknown-none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
        println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
        println!("cargo:rustc-link-arg-bins=--no-pie");
    }
    // cargo does not relink when only the linker script changes.
    println!("cargo:rerun-if-changed=linker.ld");
}
