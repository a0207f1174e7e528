//! Gives librshm_preload.so a soname of its own, `librshm_preload.so.0`, so that
//! the loader and ldconfig never take it for librshm (the five libc calls it
//! replaces keep libc's ABI, hence `.0` for good). Nothing depends on this
//! crate, so the link arguments reach the preload alone (cargo passes a
//! dependency's to every dependent cdylib).
//!
//! Exports: rustc links every cdylib with a version script of its own that
//! exports the crate graph's `#[no_mangle]` items. A second script cannot narrow
//! it (GNU ld refuses two anonymous version scripts; lld merges them, the
//! globals of both), so the preload hides instead every symbol its dependencies
//! bring (`--exclude-libs=ALL`: everything linked from an rlib, which is an
//! archive): only the five exports of this crate stay visible, even should a
//! dependency gain a `#[no_mangle]` item. tests/run/preload.sh checks both.

fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,librshm_preload.so.0");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--exclude-libs=ALL");
    println!("cargo:rerun-if-changed=build.rs");
}
