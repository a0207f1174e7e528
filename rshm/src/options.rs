//! What the options of every SysV object share: where its key comes from
//! (a key, or `ftok` of a path), the mode of a new one, whether to create it
//! (exclusively) and whether to refuse one made or owned by another user.
//! Each object's own options ([`OpenOptions`](crate::OpenOptions),
//! [`SemaphoreOptions`](crate::SemaphoreOptions),
//! [`ChannelOptions`](crate::ChannelOptions)) hold these and add their own.

use crate::error::{
    msg, Call, Error, ErrorKind, FlagNames, KeyText, Message, PathText, Result, MODE_BITS,
};
use crate::flags::Mode;
use crate::key::Key;
use std::path::PathBuf;

/// Where the key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeySource {
    Key(Key),
    Path(PathBuf, i32),
}

/// The options every SysV object shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectOptions {
    pub key: KeySource,
    pub mode: Mode,
    pub create: bool,
    pub exclusive: bool,
    pub verify_owner: bool,
}

impl Default for ObjectOptions {
    fn default() -> Self {
        ObjectOptions {
            key: KeySource::Key(Key::PRIVATE),
            mode: Mode::OWNER_RW,
            create: false,
            exclusive: false,
            verify_owner: false,
        }
    }
}

impl ObjectOptions {
    /// The key these options name (ftok of the path, if one was given).
    pub fn resolve_key(&self) -> Result<Key> {
        match &self.key {
            KeySource::Key(key) => Ok(*key),
            KeySource::Path(path, proj_id) => Key::ftok(path, *proj_id),
        }
    }

    /// Whether the key is `IPC_PRIVATE`, which always makes a new object.
    pub fn is_private(&self) -> bool {
        self.key == KeySource::Key(Key::PRIVATE)
    }

    /// The key as a call shows it.
    pub fn key_text(&self) -> KeyText {
        match &self.key {
            KeySource::Key(key) => KeyText::Key(key.raw()),
            KeySource::Path(path, proj_id) => {
                KeyText::Path(PathText::new(path.as_os_str().as_encoded_bytes()), *proj_id)
            }
        }
    }

    /// The call `name(key=..., [size=...,] mode=..., flags=...)` with `flags` named.
    pub fn call(&self, name: &'static str, size: Option<usize>, flags: FlagNames) -> Call {
        Call::Open {
            name,
            key: self.key_text(),
            size,
            mode: self.mode.bits(),
            flags,
        }
    }

    /// The checks every SysV object shares; `call` names the call they guard.
    pub fn validate(&self, call: impl Fn() -> Call) -> Result<()> {
        let invalid = |reason: Message| Error::new(ErrorKind::InvalidArgument, call(), reason);
        if self.mode.bits() & !MODE_BITS != 0 {
            return Err(invalid(msg!(
                "mode 0{} has bits beyond 0777",
                crate::error::Arg::Octal(self.mode.bits())
            )));
        }
        if self.exclusive && !self.create {
            return Err(invalid(msg!("EXCLUSIVE needs CREATE")));
        }
        Ok(())
    }
}

/// The builder methods of the shared options, for an options type whose
/// field `object` holds them: written once, here.
macro_rules! object_builders {
    ($options:ty, create) => {
        $crate::options::object_builders!($options);

        impl $options {
            /// Create the object if the key has none.
            pub fn create(&mut self, create: bool) -> &mut Self {
                self.object.create = create;
                self
            }

            /// With `create`: fail with [`ErrorKind::Exists`](crate::ErrorKind::Exists)
            /// if the key has one already.
            pub fn exclusive(&mut self, exclusive: bool) -> &mut Self {
                self.object.exclusive = exclusive;
                self
            }
        }
    };
    ($options:ty) => {
        impl $options {
            /// Use this key (the default is `Key::PRIVATE`: a new, private object).
            pub fn key(&mut self, key: $crate::Key) -> &mut Self {
                self.object.key = $crate::options::KeySource::Key(key);
                self
            }

            /// Use the key `ftok(path, proj_id)`: the file must exist.
            pub fn path(&mut self, path: impl AsRef<std::path::Path>, proj_id: i32) -> &mut Self {
                self.object.key =
                    $crate::options::KeySource::Path(path.as_ref().to_path_buf(), proj_id);
                self
            }

            /// Permission bits of a new object (default 0600; an existing one's are never widened).
            pub fn mode(&mut self, mode: $crate::Mode) -> &mut Self {
                self.object.mode = mode;
                self
            }

            /// Refuse an existing object unless its creator and owner are the
            /// calling user: the defence against one made first by someone else
            /// on a predictable key.
            pub fn verify_owner(&mut self, verify_owner: bool) -> &mut Self {
                self.object.verify_owner = verify_owner;
                self
            }
        }
    };
}
pub(crate) use object_builders;

/// How many peers a many-party channel takes when `max_peers` is 0.
pub const DEFAULT_MAX_PEERS: u32 = 64;
/// The most peers a many-party channel takes (its slots are scanned by one process).
pub const MAX_PEERS_LIMIT: u32 = 1024;

/// The one rule for `max_peers`, for every constructor: only a many-party
/// create (`many_party`) takes a non-zero value, which must be at most
/// [`MAX_PEERS_LIMIT`]; 0 means [`DEFAULT_MAX_PEERS`]. The count to use, or
/// `InvalidArgument` naming `call`.
pub fn max_peers(requested: u32, many_party: bool, call: impl Fn() -> Call) -> Result<u32> {
    let invalid = |reason: Message| Error::new(ErrorKind::InvalidArgument, call(), reason);
    match requested {
        0 => Ok(DEFAULT_MAX_PEERS),
        _ if !many_party => Err(invalid(msg!(
            "max_peers is {}, but only the create of a many-senders or broadcast channel takes it (0 here)",
            requested
        ))),
        n if n > MAX_PEERS_LIMIT => Err(invalid(msg!(
            "max_peers is {}, more than the {} a channel takes",
            n,
            MAX_PEERS_LIMIT
        ))),
        n => Ok(n),
    }
}
