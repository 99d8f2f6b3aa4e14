//! Live mode: LUKS2 formatted on a block device (a loop device cut out of the target)
//! and opened through dm-crypt, as upstream 257 does when it has loop devices. The file
//! system is then made on the mapping, so only the header and what mkfs writes reach
//! the disk: no pass over the data area.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::luks::{Context, LuksParams, Tpm2Enroll, check, cstr, format};
use super::{CryptError, VOLUME_KEY_SIZE, lib};

/// An active dm-crypt mapping of a freshly formatted LUKS2 volume. Dropping it flushes
/// the mapping and removes it (forced, as upstream: udev may still hold it open).
pub struct ActiveVolume {
    // Open until drop, which closes it before removing the mapping: an open
    // descriptor keeps the mapping busy (EBUSY, libdevmapper retries for ~25 s and the
    // mapping stays). `None` only inside drop.
    file: Option<File>,
    // On a signal, lets go of `file` before the mapping is removed (see `release`).
    // Unregistered in drop before `file` is closed. `None` only inside drop.
    release_on_signal: Option<crate::shell::signal_cleanup::Undo>,
    path: PathBuf,
    name: String,
    ctx: Context<'static>,
    _on_signal: crate::shell::signal_cleanup::Undo,
}

impl std::fmt::Debug for ActiveVolume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveVolume")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ActiveVolume {
    /// `/dev/mapper/NAME`: where the file system is made.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open mapping, for writing a block copy into it.
    pub fn file(&self) -> &std::fs::File {
        self.file.as_ref().expect("open until dropped")
    }

    /// Flushes what was written to the mapping.
    pub fn sync(&self) -> Result<(), CryptError> {
        self.file().sync_all().map_err(|source| CryptError::Io {
            what: format!("Failed to sync changes to '{}'", self.path.display()),
            source,
        })
    }
}

impl Drop for ActiveVolume {
    fn drop(&mut self) {
        self.release_on_signal = None;
        if let Some(file) = self.file.take() {
            let _ = file.sync_all();
        }
        let name = cstr(&self.name);
        // SAFETY: cd is live, name a valid C string.
        let r = unsafe {
            (self.ctx.lib.deactivate_by_name)(self.ctx.cd, name.as_ptr(), lib::DEACTIVATE_FORCE)
        };
        if r < 0 {
            tracing::warn!(
                "Failed to deactivate LUKS device, ignoring: {}",
                crate::shell::disk::strerror(&std::io::Error::from_raw_os_error(-r))
            );
        }
    }
}

/// The mapping's name: `luks-repart-` and a random 64-bit number in hex, as upstream.
fn mapping_name() -> String {
    format!("luks-repart-{:08x}", uuid::Uuid::new_v4().as_u64_pair().0)
}

/// Formats LUKS2 on `device` (header, key-file keyslot, TPM2 keyslot and token), then
/// activates it with the volume key under a random name (discards passed down with
/// `--discard=yes`). Logs upstream's "Encrypting…"/"Successfully encrypted…" lines.
pub fn encrypt_live(
    device: &Path,
    params: &LuksParams,
    tpm2: Option<&dyn Tpm2Enroll>,
    partno: u32,
    discard: bool,
) -> Result<ActiveVolume, CryptError> {
    let lib = lib::get().map_err(CryptError::Library)?;
    tracing::info!("Encrypting future partition {partno}...");
    let name = mapping_name();
    let path = Path::new("/dev/mapper").join(&name);
    let ctx = Context::open(lib, device)?;
    format(&ctx, params, None, tpm2, partno)?;
    crate::shell::fault::point("luks-formatted-live");
    let flags = lib::ACTIVATE_PRIVATE
        | if discard {
            lib::ACTIVATE_ALLOW_DISCARDS
        } else {
            0
        };
    let name_c = cstr(&name);
    // SAFETY: cd is live; a NULL volume key means the one crypt_format generated.
    let r = unsafe {
        (lib.activate_by_volume_key)(
            ctx.cd,
            name_c.as_ptr(),
            std::ptr::null(),
            VOLUME_KEY_SIZE,
            flags,
        )
    };
    check(r, || "Failed to activate LUKS superblock".into())?;
    let signal_name = name.clone();
    let on_signal = crate::shell::signal_cleanup::on_signal(Box::new(move || {
        deactivate_by_name(&signal_name);
    }));
    let opened = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(&path);
    let file = match opened {
        Ok(file) => file,
        Err(source) => {
            deactivate_by_name(&name);
            return Err(CryptError::Io {
                what: format!("Failed to open LUKS volume '{}'", path.display()),
                source,
            });
        }
    };
    // Tells udev to keep away while the file system is made.
    // SAFETY: flock on an open descriptor.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } < 0 {
        let source = std::io::Error::last_os_error();
        drop(file);
        deactivate_by_name(&name);
        return Err(CryptError::Io {
            what: format!("Failed to lock '{}'", path.display()),
            source,
        });
    }
    let fd = file.as_raw_fd();
    // Newer than the deactivation above, so it runs first on a signal.
    let release_on_signal = crate::shell::signal_cleanup::on_signal(Box::new(move || {
        release(fd);
    }));
    tracing::info!("Successfully encrypted future partition {partno}.");
    let volume = ActiveVolume {
        file: Some(file),
        release_on_signal: Some(release_on_signal),
        path,
        name,
        ctx,
        _on_signal: on_signal,
    };
    crate::shell::fault::point("activated-live");
    Ok(volume)
}

/// Makes `fd` (the open mapping, owned by the interrupted main thread) refer to
/// /dev/null, so that the mapping is no longer held open when the signal path removes
/// it: an open descriptor makes the removal fail with EBUSY (after ~25 s of retries)
/// and leaves the mapping behind. The descriptor stays valid (no close, so its number
/// cannot be reused by another open before the process exits).
fn release(fd: std::os::fd::RawFd) {
    if let Ok(null) = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open("/dev/null")
    {
        // SAFETY: dup3 onto a descriptor number this process owns; both are valid.
        unsafe { libc::dup3(null.as_raw_fd(), fd, libc::O_CLOEXEC) };
    }
}

/// Removes the mapping `name` without a context (error paths and signals).
fn deactivate_by_name(name: &str) {
    if let Ok(lib) = lib::get() {
        let c = cstr(name);
        // SAFETY: a NULL context is allowed for deactivation by name.
        unsafe {
            (lib.deactivate_by_name)(std::ptr::null_mut(), c.as_ptr(), lib::DEACTIVATE_FORCE)
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_names_are_upstreams_shape_and_differ() {
        let (a, b) = (mapping_name(), mapping_name());
        assert_ne!(a, b);
        let hex = a.strip_prefix("luks-repart-").unwrap();
        assert!(hex.len() >= 8 && hex.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
