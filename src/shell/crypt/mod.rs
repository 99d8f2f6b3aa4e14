//! LUKS2 encryption of new partitions (`Encrypt=`), through libcryptsetup loaded on
//! demand (imperative shell: libcryptsetup does the I/O).

pub mod lib;
pub mod live;
pub mod luks;

pub use live::{ActiveVolume, encrypt_live};
pub use luks::{LuksHeader, LuksParams, Tpm2Enroll, encrypt_offline};

/// LUKS2 metadata (both headers and the keyslot area) that upstream reserves in front
/// of the data.
pub const LUKS2_METADATA_SIZE: u64 = 16 * 1024 * 1024;

/// Offline encryption needs this much free space behind the file system: the data is
/// shifted back by the metadata size, and the shift needs a hot zone of the same size.
pub const LUKS2_METADATA_KEEP_FREE: u64 = 2 * LUKS2_METADATA_SIZE;

/// Volume key size in bytes (aes-xts-plain64 with two 256-bit keys).
pub const VOLUME_KEY_SIZE: usize = 64;

/// Why encrypting failed; the text is upstream's message with the cause.
#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    /// libcryptsetup is not installed (or too old).
    #[error("libcryptsetup not found, cannot encrypt: {0}")]
    Library(String),
    /// A libcryptsetup call failed.
    #[error("{what}: {}", crate::shell::disk::strerror(&std::io::Error::from_raw_os_error(*errno)))]
    Call {
        /// Upstream's message.
        what: String,
        /// The negative return value, negated.
        errno: i32,
    },
    /// Temporary files.
    #[error("{what}: {}", crate::shell::disk::strerror(source))]
    Io {
        /// Upstream's message.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The TPM2 step failed (its message and errno).
    #[error("{0}")]
    Enroll(crate::shell::tpm2::tss::TssError),
}

/// Whether libcryptsetup can be loaded (checked before anything is written).
pub fn available() -> Result<(), CryptError> {
    lib::get().map(|_| ()).map_err(CryptError::Library)
}
