//! The library's version at run time; `RSHM_VERSION_*` in rshm.h give it at compile time.

use libc::c_char;

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The version of the loaded library, e.g. "0.2.0" (compare with `RSHM_VERSION`).
#[no_mangle]
pub extern "C" fn rshm_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

/// The version of the loaded library as a number, MAJOR*1000000 + MINOR*1000 + PATCH
/// (compare with `RSHM_VERSION_NUMBER`).
#[no_mangle]
pub extern "C" fn rshm_version_number() -> u32 {
    version_number(env!("CARGO_PKG_VERSION"))
}

fn version_number(version: &str) -> u32 {
    let mut parts = version
        .split(['.', '-', '+'])
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let mut next = || parts.next().unwrap_or(0);
    next() * 1_000_000 + next() * 1_000 + next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_packs_major_minor_patch() {
        assert_eq!(version_number("1.2.3"), 1_002_003);
        assert_eq!(version_number("0.10.0-rc.1"), 10_000);
    }

    #[test]
    fn string_is_the_crate_version() {
        // SAFETY: rshm_version returns a static NUL-terminated string.
        let version = unsafe { std::ffi::CStr::from_ptr(rshm_version()) };
        assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
