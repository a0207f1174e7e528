//! `rshm-header HEADER [DOC]`: writes the C header of librshm to HEADER, and
//! the table of statuses into DOC between its `<!-- statuses -->` and
//! `<!-- /statuses -->` lines. `make header` runs it on `include/rshm.h` and
//! `docs/c-api.md`; `make test` runs it into a scratch folder and fails on a
//! difference from the committed files.
//!
//! The header is cbindgen's reading of the C face (the workspace's root
//! crate, `src/`), with what cbindgen cannot know added before it: the
//! version macros (this workspace's version) and the `rshm_status` enum,
//! written from `rshm::ErrorKind`, the one table of error kinds.

use rshm::error::kind::OK_STATUS;
use rshm::ErrorKind;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const DOC_BEGIN: &str = "<!-- statuses -->";
const DOC_END: &str = "<!-- /statuses -->";

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let (header, doc) = match args.as_slice() {
        [header] => (header, None),
        [header, doc] => (header, Some(doc)),
        _ => {
            eprintln!("usage: rshm-header HEADER [DOC]");
            return ExitCode::from(2);
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if let Err(message) =
        write_header(&root, header).and_then(|()| doc.map_or(Ok(()), |doc| write_doc_table(doc)))
    {
        eprintln!("rshm-header: {message}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn write_header(root: &Path, out: &Path) -> Result<(), String> {
    let mut config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
        .map_err(|error| format!("cbindgen.toml: {error}"))?;
    config.after_includes = Some(format!(
        "\n{TIMESPEC_AHEAD}\n{}\n{}",
        version_macros(),
        status_enum()
    ));
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .map_err(|error| format!("cbindgen: {error}"))?
        .write(&mut generated);
    let header =
        String::from_utf8(generated).map_err(|_| "cbindgen wrote something that is not UTF-8")?;
    let header = with_options_initializer(&variadic_semctl(&c89_compatible(&header))?)?;
    std::fs::write(out, header).map_err(|error| format!("{}: {error}", out.display()))
}

/// `rshm_semtimedop` takes a `struct timespec *`, which <sys/sem.h> defines
/// only for `_GNU_SOURCE`: declared ahead at file scope, so that a C89
/// includer's prototype does not declare a tag of its own (the one tag
/// without rshm's prefix that the header names; tests/run/header_names.py allows it).
const TIMESPEC_AHEAD: &str =
    "/* Declared ahead for rshm_semtimedop (see <time.h>). */\nstruct timespec;\n";

/// `rshm_semctl` as libc declares `semctl`: variadic, so that three-argument
/// callers compile. Rust defines it with a fixed fourth word (src/libc_sem.rs
/// says why that is the same call on the targets it builds for); cbindgen
/// writes that, and this writes `...` in its place.
fn variadic_semctl(header: &str) -> Result<String, String> {
    const FIXED: &str = "int rshm_semctl(int semid, int semnum, int cmd, size_t arg);";
    if !header.contains(FIXED) {
        return Err(format!("the header has no `{FIXED}` to make variadic"));
    }
    Ok(header.replace(
        FIXED,
        "int rshm_semctl(int semid, int semnum, int cmd, ...);",
    ))
}

/// `RSHM_VERSION*`, from the workspace's version.
fn version_macros() -> String {
    let mut parts = VERSION
        .split(['.', '-', '+'])
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let (major, minor, patch) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    format!(
        "/* The version of rshm these declarations come from (see rshm_version()). */\n\
         #define RSHM_VERSION \"{VERSION}\"\n\
         #define RSHM_VERSION_MAJOR {major}\n\
         #define RSHM_VERSION_MINOR {minor}\n\
         #define RSHM_VERSION_PATCH {patch}\n\
         /* MAJOR*1000000 + MINOR*1000 + PATCH, for #if comparisons. */\n\
         #define RSHM_VERSION_NUMBER {}\n",
        major * 1_000_000 + minor * 1_000 + patch
    )
}

/// `typedef enum rshm_status {...} rshm_status;`, from rshm's table of error kinds.
fn status_enum() -> String {
    let mut out = String::from(
        "/**\n * The outcome of a handle call. Codes are stable; `rshm_status_str` names\n \
         * each, and `rshm_last_error()` gives the details of the last failure.\n */\n\
         typedef enum rshm_status {\n",
    );
    let (ok, _) = OK_STATUS;
    let _ = writeln!(out, "  /**\n   * Success.\n   */\n  {ok} = 0,");
    for (i, kind) in ErrorKind::ALL.iter().enumerate() {
        let comma = if i + 1 < ErrorKind::ALL.len() {
            ","
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  /**\n   * {}\n   */\n  {} = {}{comma}",
            kind.description().trim(),
            kind.status_name(),
            kind.status_code()
        );
    }
    out.push_str("} rshm_status;\n");
    out
}

/// `RSHM_OPTIONS_INIT`, written from the struct cbindgen wrote (so it lists
/// every field, and cannot drift from the struct): a plain brace
/// initializer, warning-free in C89 to C17 and in C++ (a cbindgen constant
/// would be a compound literal, which is neither C89 nor C++). It goes just
/// before the include guard's end.
fn with_options_initializer(header: &str) -> Result<String, String> {
    let start = header
        .find("typedef struct rshm_options {")
        .ok_or("no rshm_options in the header")?;
    let end = start
        + header[start..]
            .find("} rshm_options;")
            .ok_or("rshm_options does not end")?;
    let fields: Vec<&str> = header[start..end]
        .lines()
        .map(str::trim)
        .filter(|line| line.ends_with(';') && !line.starts_with('*') && !line.starts_with("/*"))
        .collect();
    if fields.len() < 2 {
        return Err("rshm_options has too few fields".into());
    }
    // NULL for a pointer (C++'s -Wzero-as-null-pointer-constant flags a 0), 0 for the rest.
    let zeros: String = fields[1..]
        .iter()
        .map(|field| if field.contains('*') { ", NULL" } else { ", 0" })
        .collect();
    let initializer = format!(
        "/**\n * rshm_options with every option unset, in this layout:\n \
         * `rshm_options opts = RSHM_OPTIONS_INIT;`, then set fields by name.\n */\n\
         #define RSHM_OPTIONS_INIT {{ sizeof(rshm_options){zeros} }}\n\n"
    );
    let guard_end = header
        .rfind("#endif  /* RSHM_H */")
        .ok_or("no include guard end")?;
    Ok(format!(
        "{}{initializer}{}",
        &header[..guard_end],
        &header[guard_end..]
    ))
}

/// The docs' table of statuses, in place of what stands between its markers.
fn write_doc_table(path: &Path) -> Result<(), String> {
    let text =
        std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let (Some(begin), Some(end)) = (text.find(DOC_BEGIN), text.find(DOC_END)) else {
        return Err(format!(
            "{}: no {DOC_BEGIN} ... {DOC_END} lines",
            path.display()
        ));
    };
    let mut table =
        format!("{DOC_BEGIN}\n| code | status | errno | meaning |\n|---:|---|---|---|\n");
    let (ok, summary) = OK_STATUS;
    let _ = writeln!(table, "| 0 | `{ok}` | | {summary} |");
    for kind in ErrorKind::ALL {
        let errno = kind.default_errno();
        let errno = match kind {
            ErrorKind::PermissionDenied => "`EACCES` or `EPERM`".to_string(),
            ErrorKind::InvalidArgument => "`EINVAL` (`EFAULT` for a bad address)".to_string(),
            ErrorKind::Os => "the kernel's".to_string(),
            _ => format!("`{errno}`"),
        };
        let _ = writeln!(
            table,
            "| {} | `{}` | {errno} | {} |",
            kind.status_code(),
            kind.status_name(),
            kind.description().trim()
        );
    }
    let updated = format!("{}{table}{}", &text[..begin], &text[end..]);
    std::fs::write(path, updated).map_err(|error| format!("{}: {error}", path.display()))
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
