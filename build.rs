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
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate rshm.h")
        .write(&mut generated);
    let header = c89_compatible(&String::from_utf8(generated).expect("cbindgen writes UTF-8"));
    let path = Path::new(&crate_dir).join("include/rshm.h");
    // Write only on change, so that builds do not touch the file (or its timestamp) needlessly.
    if std::fs::read_to_string(&path).ok().as_deref() != Some(header.as_str()) {
        std::fs::write(&path, header).expect("include/rshm.h is writable");
    }
}

/// cbindgen's output, made valid C89 as well: `/* */` instead of the `//`
/// it puts after `#endif` and `}`, and no comma after an enum's last value.
fn c89_compatible(header: &str) -> String {
    let lines: Vec<&str> = header.lines().collect();
    let mut out = String::with_capacity(header.len());
    for (i, line) in lines.iter().enumerate() {
        let next_closes = lines
            .get(i + 1)
            .is_some_and(|next| next.trim_start().starts_with('}'));
        let line = match line.split_once("// ") {
            Some((code, comment))
                if code.trim_start().starts_with("#endif") || code.trim() == "}" =>
            {
                format!("{code}/* {comment} */")
            }
            _ if next_closes && line.ends_with(',') => line[..line.len() - 1].to_string(),
            _ => line.to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
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
