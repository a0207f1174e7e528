//! User and group names by id, looked up once each.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString};

/// A cache of user and group names.
#[derive(Debug, Default)]
pub struct Names {
    users: RefCell<HashMap<u32, String>>,
    groups: RefCell<HashMap<u32, String>>,
}

impl Names {
    /// The name of user `uid`, or the number when it has none.
    pub fn user(&self, uid: u32) -> String {
        self.users
            .borrow_mut()
            .entry(uid)
            .or_insert_with(|| user_name(uid).unwrap_or_else(|| uid.to_string()))
            .clone()
    }

    /// The name of group `gid`, or the number when it has none.
    pub fn group(&self, gid: u32) -> String {
        self.groups
            .borrow_mut()
            .entry(gid)
            .or_insert_with(|| group_name(gid).unwrap_or_else(|| gid.to_string()))
            .clone()
    }
}

fn user_name(uid: u32) -> Option<String> {
    // SAFETY: getpwuid_r writes only into the entry and buffer it is given.
    lookup(
        |entry, buf, len, result| unsafe { libc::getpwuid_r(uid, entry, buf, len, result) },
        |user: &libc::passwd| user.pw_name,
    )
}

fn group_name(gid: u32) -> Option<String> {
    // SAFETY: getgrgid_r writes only into the entry and buffer it is given.
    lookup(
        |entry, buf, len, result| unsafe { libc::getgrgid_r(gid, entry, buf, len, result) },
        |group: &libc::group| group.gr_name,
    )
}

/// A name from a reentrant lookup of the password or group database
/// (`getpwuid_r`, `getgrgid_r`): `call` fills an entry, `name` picks its name.
fn lookup<T>(
    call: impl FnOnce(*mut T, *mut libc::c_char, usize, *mut *mut T) -> libc::c_int,
    name: impl FnOnce(&T) -> *const libc::c_char,
) -> Option<String> {
    let mut entry = std::mem::MaybeUninit::<T>::uninit();
    let mut buf = vec![0 as libc::c_char; 16384];
    let mut result = std::ptr::null_mut();
    let ret = call(entry.as_mut_ptr(), buf.as_mut_ptr(), buf.len(), &mut result);
    if ret != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success result points to the filled entry, whose name points
    // into buf, NUL-terminated.
    Some(
        unsafe { CStr::from_ptr(name(&*result)) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// The uid of a user name, or of a number.
pub fn uid_of(user: &str) -> Option<u32> {
    if let Ok(uid) = user.parse() {
        return Some(uid);
    }
    let name = CString::new(user).ok()?;
    let mut pwd = std::mem::MaybeUninit::<libc::passwd>::uninit();
    let mut buf = vec![0 as libc::c_char; 16384];
    let mut result = std::ptr::null_mut();
    // SAFETY: as in user_name.
    let ret = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            pwd.as_mut_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    // SAFETY: on success result points to pwd.
    (ret == 0 && !result.is_null()).then(|| unsafe { (*result).pw_uid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_has_a_name_and_unknown_ids_are_numbers() {
        let names = Names::default();
        assert_eq!(names.user(0), "root");
        assert_eq!(names.group(0), "root");
        assert_eq!(names.user(3_999_999_999), "3999999999");
        assert_eq!(uid_of("root"), Some(0));
        assert_eq!(uid_of("1234"), Some(1234));
        assert_eq!(uid_of("no-such-user-here"), None);
    }
}
