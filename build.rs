//! Generates include/rshm.h with cbindgen, adding version macros from
//! Cargo.toml, and gives librshm.so its soname.

use std::env;
use std::path::Path;

fn main() {
    let crate_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let version = env::var("CARGO_PKG_VERSION").expect("cargo sets CARGO_PKG_VERSION");
    let major = env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets the version parts");
    let minor = env::var("CARGO_PKG_VERSION_MINOR").expect("cargo sets the version parts");
    let patch = env::var("CARGO_PKG_VERSION_PATCH").expect("cargo sets the version parts");

    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,librshm.so.{major}");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src");
    rerun_if_any_changed(&Path::new(&crate_dir).join("src"));

    let mut config = cbindgen::Config::from_file(Path::new(&crate_dir).join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    let number = major.parse::<u32>().unwrap() * 1_000_000
        + minor.parse::<u32>().unwrap() * 1_000
        + patch.parse::<u32>().unwrap();
    config.after_includes = Some(format!(
        "\n/* The version of rshm these declarations come from (see rshm_version()). */\n\
         #define RSHM_VERSION \"{version}\"\n\
         #define RSHM_VERSION_MAJOR {major}\n\
         #define RSHM_VERSION_MINOR {minor}\n\
         #define RSHM_VERSION_PATCH {patch}\n\
         /* MAJOR*1000000 + MINOR*1000 + PATCH, for #if comparisons. */\n\
         #define RSHM_VERSION_NUMBER {number}"
    ));
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate rshm.h")
        .write_to_file(Path::new(&crate_dir).join("include/rshm.h"));
}

/// Every file under `dir`, so that any edit regenerates the header.
fn rerun_if_any_changed(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rerun_if_any_changed(&path);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}
