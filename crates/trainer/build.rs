//! The trainer's tests and examples find libtorch through an absolute rpath to the `.native/` of the checkout that
//! built them, wherever the target folder is (see the workspace's `build.rs`).
fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Some(libtorch) = std::env::var_os("LIBTORCH") {
        let lib = std::path::Path::new(&libtorch).join("lib");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
}
