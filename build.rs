//! Binaries, tests and examples of plec find libtorch through an absolute rpath to the `.native/` of the checkout
//! that built them, so they start from any target folder (`CARGO_TARGET_DIR`) and after `cargo install`
//! (`.cargo/config.toml` adds the relative rpaths for `target/` inside the checkout, and sets `LIBTORCH`).
fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if std::env::var_os("CARGO_FEATURE_TRAIN").is_none() {
        return;
    }
    if let Some(libtorch) = std::env::var_os("LIBTORCH") {
        let lib = std::path::Path::new(&libtorch).join("lib");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
}
