//! The few libcryptsetup functions repart uses, loaded on first use with `dlopen()`
//! like upstream does: the binary has no NEEDED entry for libcryptsetup, so a system
//! without it still runs everything that does not encrypt, and a missing library is
//! reported by name before anything is written.

use std::ffi::{c_char, c_int, c_void};
use std::sync::OnceLock;

use crate::shell::dlopen::Library;

/// The soname upstream 257 loads (libcryptsetup 2.x).
pub const SONAME: &str = "libcryptsetup.so.12";

/// Opaque `struct crypt_device`.
#[repr(C)]
pub struct CryptDevice {
    _private: [u8; 0],
}

/// `struct crypt_pbkdf_type`.
#[repr(C)]
pub struct PbkdfType {
    /// `"pbkdf2"`, `"argon2i"`, `"argon2id"`.
    pub kind: *const c_char,
    /// Hash of pbkdf2.
    pub hash: *const c_char,
    /// Benchmark target time.
    pub time_ms: u32,
    /// Iterations (pbkdf2) or time cost (argon2).
    pub iterations: u32,
    /// Memory cost of argon2.
    pub max_memory_kb: u32,
    /// Threads of argon2.
    pub parallel_threads: u32,
    /// `CRYPT_PBKDF_*`.
    pub flags: u32,
}

/// `struct crypt_params_luks2`.
#[repr(C)]
pub struct ParamsLuks2 {
    /// PBKDF of the first keyslot (NULL: the default).
    pub pbkdf: *const PbkdfType,
    /// dm-integrity algorithm (NULL: none).
    pub integrity: *const c_char,
    /// dm-integrity parameters.
    pub integrity_params: *const c_void,
    /// Data alignment in 512-byte sectors.
    pub data_alignment: usize,
    /// Separate data device (detached header).
    pub data_device: *const c_char,
    /// Encryption sector size.
    pub sector_size: u32,
    /// LUKS2 label.
    pub label: *const c_char,
    /// LUKS2 subsystem.
    pub subsystem: *const c_char,
}

/// `struct crypt_params_reencrypt`.
#[repr(C)]
pub struct ParamsReencrypt {
    /// `crypt_reencrypt_mode_info`.
    pub mode: c_int,
    /// `crypt_reencrypt_direction_info`.
    pub direction: c_int,
    /// `"datashift"`, `"checksum"`, …
    pub resilience: *const c_char,
    /// Checksum hash.
    pub hash: *const c_char,
    /// Data shift in 512-byte sectors.
    pub data_shift: u64,
    /// Hot zone limit.
    pub max_hotzone_size: u64,
    /// Device size limit.
    pub device_size: u64,
    /// Parameters of the new LUKS2 header.
    pub luks2: *const ParamsLuks2,
    /// `CRYPT_REENCRYPT_*`.
    pub flags: u32,
}

/// `struct crypt_params_plain`.
#[repr(C)]
pub struct ParamsPlain {
    /// Password hash (NULL with a volume key).
    pub hash: *const c_char,
    /// Data offset in 512-byte sectors.
    pub offset: u64,
    /// IV offset.
    pub skip: u64,
    /// Size in 512-byte sectors (0: to the end).
    pub size: u64,
    /// Encryption sector size.
    pub sector_size: u32,
}

/// `CRYPT_ANY_SLOT` / `CRYPT_ANY_TOKEN`.
pub const ANY: c_int = -1;
/// `CRYPT_PBKDF_NO_BENCHMARK`.
pub const PBKDF_NO_BENCHMARK: u32 = 1 << 1;
/// `CRYPT_REENCRYPT_ENCRYPT`.
pub const REENCRYPT_ENCRYPT: c_int = 1;
/// `CRYPT_REENCRYPT_BACKWARD`.
pub const REENCRYPT_BACKWARD: c_int = 1;
/// `CRYPT_REENCRYPT_INITIALIZE_ONLY`.
pub const REENCRYPT_INITIALIZE_ONLY: u32 = 1 << 0;
/// `CRYPT_REENCRYPT_MOVE_FIRST_SEGMENT`.
pub const REENCRYPT_MOVE_FIRST_SEGMENT: u32 = 1 << 1;
/// `CRYPT_ACTIVATE_ALLOW_DISCARDS`.
pub const ACTIVATE_ALLOW_DISCARDS: u32 = 1 << 3;
/// `CRYPT_DEACTIVATE_FORCE`.
pub const DEACTIVATE_FORCE: u32 = 1 << 1;
/// `CRYPT_ACTIVATE_PRIVATE`.
pub const ACTIVATE_PRIVATE: u32 = 1 << 4;
/// `CRYPT_LOG_ERROR`.
pub const LOG_ERROR: c_int = 1;
/// `CRYPT_LOG_NORMAL`.
pub const LOG_NORMAL: c_int = 0;

/// Log callback type of `crypt_set_log_callback`.
pub type LogFn = unsafe extern "C" fn(c_int, *const c_char, *mut c_void);

/// The resolved entry points.
#[allow(missing_docs)]
pub struct CryptLib {
    pub init: unsafe extern "C" fn(*mut *mut CryptDevice, *const c_char) -> c_int,
    pub free: unsafe extern "C" fn(*mut CryptDevice),
    pub set_log_callback: unsafe extern "C" fn(*mut CryptDevice, Option<LogFn>, *mut c_void),
    pub volume_key_keyring: unsafe extern "C" fn(*mut CryptDevice, c_int) -> c_int,
    pub metadata_locking: unsafe extern "C" fn(*mut CryptDevice, c_int) -> c_int,
    pub set_data_offset: unsafe extern "C" fn(*mut CryptDevice, u64) -> c_int,
    pub format: unsafe extern "C" fn(
        *mut CryptDevice,
        *const c_char,
        *const c_char,
        *const c_char,
        *const c_char,
        *const c_char,
        usize,
        *mut c_void,
    ) -> c_int,
    pub keyslot_add_by_volume_key: unsafe extern "C" fn(
        *mut CryptDevice,
        c_int,
        *const c_char,
        usize,
        *const c_char,
        usize,
    ) -> c_int,
    pub set_pbkdf_type: unsafe extern "C" fn(*mut CryptDevice, *const PbkdfType) -> c_int,
    pub token_json_set: unsafe extern "C" fn(*mut CryptDevice, c_int, *const c_char) -> c_int,
    pub reencrypt_init_by_passphrase: unsafe extern "C" fn(
        *mut CryptDevice,
        *const c_char,
        *const c_char,
        usize,
        c_int,
        c_int,
        *const c_char,
        *const c_char,
        *const ParamsReencrypt,
    ) -> c_int,
    pub reencrypt_run: unsafe extern "C" fn(
        *mut CryptDevice,
        Option<unsafe extern "C" fn(u64, u64, *mut c_void) -> c_int>,
        *mut c_void,
    ) -> c_int,
    pub get_cipher: unsafe extern "C" fn(*mut CryptDevice) -> *const c_char,
    pub get_cipher_mode: unsafe extern "C" fn(*mut CryptDevice) -> *const c_char,
    pub header_restore:
        unsafe extern "C" fn(*mut CryptDevice, *const c_char, *const c_char) -> c_int,
    pub volume_key_get: unsafe extern "C" fn(
        *mut CryptDevice,
        c_int,
        *mut c_char,
        *mut usize,
        *const c_char,
        usize,
    ) -> c_int,
    pub activate_by_volume_key:
        unsafe extern "C" fn(*mut CryptDevice, *const c_char, *const c_char, usize, u32) -> c_int,
    pub deactivate_by_name: unsafe extern "C" fn(*mut CryptDevice, *const c_char, u32) -> c_int,
}

// SAFETY: the struct holds plain function pointers into a library that is never
// unloaded; libcryptsetup's functions are safe to call from any thread for distinct
// crypt_device contexts.
unsafe impl Send for CryptLib {}
unsafe impl Sync for CryptLib {}

static LIB: OnceLock<Result<CryptLib, String>> = OnceLock::new();

/// The library, loaded on first use. The error names the library and why `dlopen()`
/// failed (upstream: "libcryptsetup not found, cannot encrypt").
pub fn get() -> Result<&'static CryptLib, String> {
    LIB.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<CryptLib, String> {
    let lib = Library::open(SONAME).map_err(|e| format!("{SONAME} could not be loaded: {e}"))?;
    macro_rules! resolve {
        ($name:literal) => {
            // SAFETY: the symbol has the C signature declared in CryptLib (libcryptsetup.h
            // of libcryptsetup 2.4 and later).
            unsafe { lib.function($name) }.map_err(|e| format!("{SONAME} lacks {}: {e}", $name))?
        };
    }
    Ok(CryptLib {
        init: resolve!("crypt_init"),
        free: resolve!("crypt_free"),
        set_log_callback: resolve!("crypt_set_log_callback"),
        volume_key_keyring: resolve!("crypt_volume_key_keyring"),
        metadata_locking: resolve!("crypt_metadata_locking"),
        set_data_offset: resolve!("crypt_set_data_offset"),
        format: resolve!("crypt_format"),
        keyslot_add_by_volume_key: resolve!("crypt_keyslot_add_by_volume_key"),
        set_pbkdf_type: resolve!("crypt_set_pbkdf_type"),
        token_json_set: resolve!("crypt_token_json_set"),
        reencrypt_init_by_passphrase: resolve!("crypt_reencrypt_init_by_passphrase"),
        reencrypt_run: resolve!("crypt_reencrypt_run"),
        get_cipher: resolve!("crypt_get_cipher"),
        get_cipher_mode: resolve!("crypt_get_cipher_mode"),
        header_restore: resolve!("crypt_header_restore"),
        volume_key_get: resolve!("crypt_volume_key_get"),
        activate_by_volume_key: resolve!("crypt_activate_by_volume_key"),
        deactivate_by_name: resolve!("crypt_deactivate_by_name"),
    })
}
