//! Libraries loaded on first use with `dlopen()`, as upstream loads libcryptsetup and
//! the tpm2-tss stack: a system without them still runs everything that does not need
//! them, and the error names the missing library when something does.

use std::ffi::{CStr, CString, c_void};

/// A loaded library. It is never closed: the function pointers taken from it stay
/// valid for the life of the process.
pub struct Library(*mut c_void);

// SAFETY: the handle is only passed to dlsym(), which is thread-safe, and the library
// is never unloaded.
unsafe impl Send for Library {}
unsafe impl Sync for Library {}

impl Library {
    /// Loads `soname`; the error is dlerror()'s text.
    pub fn open(soname: &str) -> Result<Library, String> {
        let c = CString::new(soname).map_err(|_| format!("{soname:?}: NUL in the name"))?;
        // SAFETY: a NUL-terminated name.
        let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            Err(last_error())
        } else {
            Ok(Library(handle))
        }
    }

    /// The address of `symbol`; the error is dlerror()'s text.
    pub fn symbol(&self, symbol: &str) -> Result<*mut c_void, String> {
        let c = CString::new(symbol).map_err(|_| format!("{symbol:?}: NUL in the name"))?;
        // SAFETY: a live handle and a NUL-terminated name.
        let p = unsafe { libc::dlsym(self.0, c.as_ptr()) };
        if p.is_null() {
            Err(last_error())
        } else {
            Ok(p)
        }
    }

    /// `symbol` as a function pointer of type `F`.
    ///
    /// # Safety
    /// `F` must be an `extern "C"` function pointer type matching the symbol's C
    /// signature.
    pub unsafe fn function<F: Copy>(&self, symbol: &str) -> Result<F, String> {
        let p = self.symbol(symbol)?;
        assert_eq!(size_of::<F>(), size_of::<*mut c_void>());
        // SAFETY: same size (checked); the caller guarantees the type.
        Ok(unsafe { std::mem::transmute_copy(&p) })
    }
}

fn last_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated, thread-local string.
    let p = unsafe { libc::dlerror() };
    if p.is_null() {
        "unknown error".to_string()
    } else {
        // SAFETY: non-NULL, NUL-terminated (see above).
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libc_symbols_resolve_and_missing_ones_are_named() {
        let lib = Library::open("libc.so.6").unwrap();
        // SAFETY: getpid's C signature.
        let getpid: unsafe extern "C" fn() -> libc::pid_t =
            unsafe { lib.function("getpid") }.unwrap();
        assert_eq!(unsafe { getpid() }, std::process::id() as libc::pid_t);
        let e = lib.symbol("no_such_symbol_in_libc").unwrap_err();
        assert!(e.contains("no_such_symbol_in_libc"), "{e}");
        let e = Library::open("libno-such-library.so.0").err().unwrap();
        assert!(e.contains("libno-such-library.so.0"), "{e}");
    }
}
