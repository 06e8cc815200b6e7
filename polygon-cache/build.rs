//! Compiles the tiny C++ entry point to Clipper's `ClipperOffset` (src/offset_shim.cpp).
//!
//! The shim needs Clipper's header; the code behind it is the Clipper 6.4.2 that `clipper-sys`
//! compiles and links. The header is taken from the `clipper-sys` package that cargo has
//! unpacked (its version is pinned in the workspace), or from `OCRPERF_CLIPPER_INCLUDE`.

use std::{
    env,
    path::{Path, PathBuf},
};

/// Must match the `clipper-sys` version pinned in the workspace's Cargo.toml.
const CLIPPER_SYS: &str = "clipper-sys-0.8.0";

fn main() {
    println!("cargo:rerun-if-changed=src/offset_shim.cpp");
    println!("cargo:rerun-if-env-changed=OCRPERF_CLIPPER_INCLUDE");
    let include = clipper_include_dir().unwrap_or_else(|| {
        panic!(
            "could not find {CLIPPER_SYS}/clipper/clipper.hpp in cargo's registry sources; \
             set OCRPERF_CLIPPER_INCLUDE to the directory that holds clipper.hpp"
        )
    });
    cc::Build::new()
        .cpp(true)
        .opt_level(3)
        .flag_if_supported("-std=c++14")
        .include(&include)
        .file("src/offset_shim.cpp")
        .compile("ocrperf_offset_shim");
}

fn clipper_include_dir() -> Option<PathBuf> {
    if let Some(dir) = env::var_os("OCRPERF_CLIPPER_INCLUDE") {
        return Some(PathBuf::from(dir));
    }
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))?;
    // A vendored tree (`cargo vendor`) next to the workspace, then the registry's unpacked sources.
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR")?);
    let vendored = manifest_dir.join("../vendor/clipper-sys/clipper");
    if vendored.join("clipper.hpp").is_file() {
        return Some(vendored);
    }
    let registries = std::fs::read_dir(cargo_home.join("registry").join("src")).ok()?;
    registries
        .flatten()
        .map(|registry| registry.path().join(CLIPPER_SYS).join("clipper"))
        .find(|dir| dir.join("clipper.hpp").is_file())
}
