//! Gives cargo's cdylib (librshm_capi.so) librshm's soname, by cargo-c's rule:
//! `librshm.so.0.MINOR` while the version is 0.x (0.1 → 0.2 breaks the ABI),
//! `librshm.so.MAJOR` from 1.0 on, so that a plain `cargo build` gives a usable
//! library. `make` links the shipped librshm.so from librshm.a instead, with the
//! same soname and abi/librshm.map's version nodes. Nothing depends on this
//! crate, so the link argument reaches it alone (cargo passes a dependency's to
//! every dependent cdylib). The header is not written here: `make header` does.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version parts");
    let minor = std::env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets the version parts");
    let soname = if major == "0" {
        format!("librshm.so.0.{minor}")
    } else {
        format!("librshm.so.{major}")
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    println!("cargo:rerun-if-changed=build.rs");
}
