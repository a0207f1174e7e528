//! What the environment asks of the preload, read once (at load, or at the
//! first call if another library's constructor calls in first). Reading them
//! does nothing else: the library's loader (lib.rs) acts on them.

use rshm::Validation;
use std::ffi::CStr;
use std::sync::OnceLock;

/// Where trace lines go.
pub enum TraceTo {
    Nowhere,
    Stderr,
    /// Appended to this file (opened for each line, so a program that closes
    /// its descriptors cannot break tracing).
    File(std::ffi::CString),
}

pub struct Settings {
    pub validation: Validation,
    pub trace: TraceTo,
    pub leak_check: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

fn env(name: &CStr) -> Option<&'static CStr> {
    // SAFETY: getenv returns NULL or a string that lives as long as the environment entry.
    let value = unsafe { libc::getenv(name.as_ptr()) };
    // SAFETY: non-NULL getenv results are NUL-terminated strings.
    (!value.is_null()).then(|| unsafe { CStr::from_ptr(value) })
}

fn is_on(value: Option<&CStr>) -> bool {
    matches!(
        value.map(CStr::to_bytes),
        Some(b"1" | b"yes" | b"true" | b"on")
    )
}

fn read() -> Settings {
    let trace = match env(c"RSHM_TRACE").map(CStr::to_bytes) {
        None | Some(b"" | b"0" | b"no" | b"false" | b"off") => TraceTo::Nowhere,
        Some(b"1" | b"yes" | b"true" | b"on" | b"stderr") => TraceTo::Stderr,
        Some(path) => TraceTo::File(std::ffi::CString::new(path).unwrap_or_default()),
    };
    Settings {
        validation: if is_on(env(c"RSHM_STRICT")) {
            Validation::Strict
        } else {
            Validation::LikeGlibc
        },
        trace,
        leak_check: is_on(env(c"RSHM_LEAK_CHECK")),
    }
}

/// The settings, read on first use; reading them has no other effect.
pub fn settings() -> &'static Settings {
    SETTINGS.get_or_init(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_accept_the_usual_spellings_of_on() {
        for on in [c"1", c"yes", c"true", c"on"] {
            assert!(is_on(Some(on)), "{on:?}");
        }
        for off in [c"0", c"", c"no", c"2", c"TRUE"] {
            assert!(!is_on(Some(off)), "{off:?}");
        }
        assert!(!is_on(None));
    }
}
