//! `Message`: a sentence of an error, kept as a static template and the
//! values that fill it, and written out only when it is displayed. Building
//! one allocates nothing, so a failing call allocates nothing either (the C
//! face writes it into a fixed per-thread buffer; see `msg!`).

use super::c_values;
use std::fmt;
use std::time::Duration;

/// How many values one message may hold.
pub const MAX_ARGS: usize = 4;

/// A value in a message, with the way C code or a person reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// No value (an unused slot).
    None,
    /// A signed number, in decimal.
    Int(i64),
    /// An unsigned number, in decimal.
    Uint(u64),
    /// The sum of two numbers, in decimal, exact even beyond `u64`.
    Sum(u64, u64),
    /// A word or phrase.
    Str(&'static str),
    /// A number in hex: `0x2000`.
    Hex(u64),
    /// A number in octal, without a prefix: `666`.
    Octal(u32),
    /// Permission bits: `0600`.
    Mode(u32),
    /// A `key_t`: `0x41012345`.
    Key(i32),
    /// A pointer: `NULL` or `0x7f...`.
    Pointer(usize),
    /// A duration, as Rust prints one: `2s`, `50ms`.
    Duration(Duration),
    /// `shmget`'s flags: `IPC_CREAT|0600`.
    ShmgetFlags(i32),
    /// `shmat`'s flags: `SHM_RDONLY`.
    ShmatFlags(i32),
    /// A `shmctl` command: `IPC_RMID`.
    ShmctlCommand(i32),
}

macro_rules! arg_from {
    ($variant:ident($as:ty): $($t:ty),+) => {
        $(impl From<$t> for Arg {
            fn from(value: $t) -> Arg {
                Arg::$variant(value as $as)
            }
        })+
    };
}
arg_from!(Int(i64): i8, i16, i32, i64, isize);
arg_from!(Uint(u64): u8, u16, u32, u64, usize);

impl From<&'static str> for Arg {
    fn from(value: &'static str) -> Arg {
        Arg::Str(value)
    }
}

impl From<Duration> for Arg {
    fn from(value: Duration) -> Arg {
        Arg::Duration(value)
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Arg::None => Ok(()),
            Arg::Int(value) => write!(f, "{value}"),
            Arg::Uint(value) => write!(f, "{value}"),
            Arg::Sum(a, b) => write!(f, "{}", u128::from(a) + u128::from(b)),
            Arg::Str(text) => f.write_str(text),
            Arg::Hex(value) => write!(f, "{value:#x}"),
            Arg::Octal(value) => write!(f, "{value:o}"),
            Arg::Mode(value) => write!(f, "{value:04o}"),
            Arg::Key(key) => c_values::write_key(f, key),
            Arg::Pointer(addr) => c_values::write_pointer(f, addr),
            Arg::Duration(duration) => write!(f, "{duration:?}"),
            Arg::ShmgetFlags(flags) => c_values::write_shmget_flags(f, flags),
            Arg::ShmatFlags(flags) => c_values::write_shmat_flags(f, flags),
            Arg::ShmctlCommand(cmd) => c_values::write_shmctl_command(f, cmd),
        }
    }
}

/// A template whose `{}` are filled, in order, by its values when displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    template: &'static str,
    args: [Arg; MAX_ARGS],
}

impl Message {
    /// `template` with `args` for its `{}`s; `msg!` checks at compile time that they match.
    pub const fn new(template: &'static str, args: [Arg; MAX_ARGS]) -> Message {
        Message { template, args }
    }

    /// The template, `{}` where values go.
    pub fn template(&self) -> &'static str {
        self.template
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.template;
        let mut args = self.args.iter();
        while let Some(at) = rest.find("{}") {
            f.write_str(&rest[..at])?;
            if let Some(arg) = args.next() {
                arg.fmt(f)?;
            }
            rest = &rest[at + 2..];
        }
        f.write_str(rest)
    }
}

/// How many `{}` a template holds (for `msg!`'s compile-time check).
pub const fn placeholders(template: &str) -> usize {
    let bytes = template.as_bytes();
    let (mut i, mut count) = (0, 0);
    while i + 1 < bytes.len() {
        if bytes[i] == b'{' && bytes[i + 1] == b'}' {
            count += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    count
}

/// A [`Message`]: `msg!("no segment has id {}", shmid)`. Each value becomes an
/// [`Arg`] through `From` (or is given as one); the number of values must
/// match the template's `{}`s, which the compiler checks.
#[macro_export]
macro_rules! msg {
    ($template:literal $(, $arg:expr)* $(,)?) => {{
        const _: () = assert!(
            $crate::error::placeholders($template) == <[&str]>::len(&[$(stringify!($arg)),*])
                && <[&str]>::len(&[$(stringify!($arg)),*]) <= $crate::error::MAX_ARGS,
            "msg!: the values do not match the template's placeholders"
        );
        let mut args = [$crate::error::Arg::None; $crate::error::MAX_ARGS];
        let values: &[$crate::error::Arg] = &[$($crate::error::Arg::from($arg)),*];
        let mut i = 0;
        while i < values.len() {
            args[i] = values[i];
            i += 1;
        }
        $crate::error::Message::new($template, args)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_fill_the_template_in_order() {
        let message = msg!("bytes {}..{} of segment {}", 4081u64, Arg::Sum(4081, 16), 7);
        assert_eq!(message.to_string(), "bytes 4081..4097 of segment 7");
        assert_eq!(msg!("no value").to_string(), "no value");
        let sum = msg!("{}", Arg::Sum(u64::MAX, 1)).to_string();
        assert_eq!(sum, "18446744073709551616");
    }

    #[test]
    fn values_read_like_c() {
        let cases = [
            (Arg::ShmgetFlags(libc::IPC_CREAT | 0o600), "IPC_CREAT|0600"),
            (
                Arg::ShmgetFlags(libc::IPC_CREAT | libc::IPC_EXCL | 0o666),
                "IPC_CREAT|IPC_EXCL|0666",
            ),
            (Arg::ShmgetFlags(0), "0000"),
            (
                Arg::ShmgetFlags(0x1000_0000 | 0o644),
                "(4<<SHM_HUGE_SHIFT)|0644",
            ),
            (Arg::ShmgetFlags(0o20000), "020000|0000"),
            (Arg::ShmatFlags(0), "0"),
            (
                Arg::ShmatFlags(libc::SHM_RDONLY | libc::SHM_RND),
                "SHM_RDONLY|SHM_RND",
            ),
            (Arg::ShmatFlags(0o666), "0666"),
            (Arg::ShmctlCommand(libc::IPC_RMID), "IPC_RMID"),
            (Arg::ShmctlCommand(99), "99"),
            (Arg::Pointer(0), "NULL"),
            (Arg::Pointer(0x1000), "0x1000"),
            (Arg::Key(-1), "0xffffffff"),
            (Arg::Key(0x4101_2345), "0x41012345"),
            (Arg::Mode(0o600), "0600"),
            (Arg::Octal(0o666), "666"),
            (Arg::Hex(0x2000), "0x2000"),
            (Arg::Duration(Duration::from_millis(50)), "50ms"),
        ];
        for (arg, want) in cases {
            assert_eq!(arg.to_string(), want, "{arg:?}");
        }
    }

    #[test]
    fn placeholders_are_counted() {
        assert_eq!(placeholders("a {} b {}{}"), 3);
        assert_eq!(placeholders("{"), 0);
        assert_eq!(placeholders(""), 0);
    }
}
