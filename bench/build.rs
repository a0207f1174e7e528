//! Builds the Boost.Interprocess shim (benches/boost_mq.cpp) into a static
//! library and links it with the C++ runtime. It needs Debian's
//! libboost-dev (headers only): `make bench` installs it (.ci/bench-deps).

use std::path::PathBuf;
use std::process::Command;

fn run(what: &str, command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("{what}: cannot run it: {e}"));
    assert!(status.success(), "{what} failed ({status})");
}

fn main() {
    let source = PathBuf::from("../benches/boost_mq.cpp");
    println!("cargo:rerun-if-changed={}", source.display());
    println!("cargo:rerun-if-env-changed=CXX");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let object = out.join("boost_mq.o");
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let header = "/usr/include/boost/interprocess/ipc/message_queue.hpp";
    if !std::path::Path::new(header).exists() {
        println!(
            "cargo:warning={header} is missing: install libboost-dev (`.ci/bench-deps`, which `make bench` runs)"
        );
    }
    run(
        "compiling benches/boost_mq.cpp",
        Command::new(&cxx)
            .args(["-std=c++17", "-O2", "-fPIC", "-Wall", "-Wextra", "-c"])
            .arg(&source)
            .arg("-o")
            .arg(&object),
    );
    run(
        "ar",
        Command::new("ar")
            .arg("crs")
            .arg(out.join("libboost_mq.a"))
            .arg(&object),
    );
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=boost_mq");
    println!("cargo:rustc-link-lib=dylib=stdc++");
    println!("cargo:rustc-link-lib=dylib=rt");
    println!("cargo:rustc-link-lib=dylib=pthread");
}
