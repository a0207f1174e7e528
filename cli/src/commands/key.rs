//! `rshm key`: the key `ftok(PATH, PROJ_ID)` gives, and what it is made of.

use crate::args::KeyArgs;
use crate::fail::{self, Cause};
use rshm::Key;
use std::os::unix::fs::MetadataExt;

pub fn run(args: KeyArgs) -> u8 {
    let path = args.path.display();
    let meta = match std::fs::metadata(&args.path) {
        Ok(meta) => meta,
        Err(error) => {
            fail::report(
                format!(
                    "{path}: {}: ftok needs an existing file",
                    fail::io_words(&error)
                ),
                Cause::Io(&error),
            );
            return 1;
        }
    };
    let proj_id = args.proj_id;
    let key = Key::from_file_ids(meta.dev(), meta.ino(), proj_id);
    println!("{key}");
    println!(
        "  made of inode {} (low 16 bits {:#06x}), device {:#x} (low 8 bits {:#04x}) of {path}, \
         and proj_id {proj_id} (low 8 bits {:#04x})",
        meta.ino(),
        meta.ino() & 0xffff,
        meta.dev(),
        meta.dev() & 0xff,
        proj_id & 0xff
    );
    if proj_id & 0xff == 0 {
        eprintln!(
            "rshm: warning: the low 8 bits of proj_id are 0: ftok(3) requires them non-zero, \
             and such keys collide (rshm_ftok refuses it)"
        );
    }
    0
}
