//! The device or image file repart operates on: opening and locking it, its size and
//! sector size, growing image files, and reading/writing its GPT through `disk::gpt`.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use crate::disk::gpt;
use crate::disk::{Label, gpt::DiskError};

/// An opened target.
#[derive(Debug)]
pub struct Target {
    file: File,
    name: String,
    new: bool,
    block_device: bool,
    size: u64,
}

/// Why the target could not be used; messages are upstream-worded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Opening failed.
    #[error("Failed to open '{path}': {source}")]
    Open {
        /// The path as given.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Another I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The GPT could not be read or written.
    #[error(transparent)]
    Disk(#[from] DiskError),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> TargetError {
    let context = context.into();
    move |source| TargetError::Io { context, source }
}

impl Target {
    /// Wraps a file this run just created (`--empty=create`).
    pub fn from_file(file: File, name: String, new: bool) -> Target {
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Target {
            file,
            name,
            new,
            block_device: false,
            size,
        }
    }

    /// Opens an existing image file or block device and locks it like upstream
    /// (shared lock for dry runs, exclusive otherwise) so udev keeps away.
    pub fn open(path: &Path, name: String, dry_run: bool) -> Result<Target, TargetError> {
        let open_err = |source| TargetError::Open {
            path: path.display().to_string(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(!dry_run)
            .open(path)
            .map_err(open_err)?;
        let meta = file.metadata().map_err(io(format!("Failed to stat '{}'", path.display())))?;
        let block_device = meta.file_type().is_block_device();
        let lock = if dry_run { libc::LOCK_SH } else { libc::LOCK_EX };
        // SAFETY: flock on a valid, owned file descriptor.
        if unsafe { libc::flock(file.as_raw_fd(), lock) } != 0 {
            return Err(io(format!("Failed to lock '{}'", path.display()))(
                std::io::Error::last_os_error(),
            ));
        }
        let size = if block_device {
            crate::disk::blockdev::size_bytes(&file)
                .map_err(io(format!("Failed to get size of '{}'", path.display())))?
        } else {
            meta.len()
        };
        Ok(Target {
            file,
            name,
            new: false,
            block_device,
            size,
        })
    }

    /// The node name as upstream prints it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this run created the file.
    pub fn is_new(&self) -> bool {
        self.new
    }

    /// Whether the target is a block device.
    pub fn is_block_device(&self) -> bool {
        self.block_device
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The underlying file.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Grows an image file (truncate, or allocate when discarding is off).
    pub fn set_len(&mut self, bytes: u64, sparse: bool) -> Result<(), TargetError> {
        let context = format!("Failed to grow '{}'", self.name);
        if sparse {
            self.file.set_len(bytes).map_err(io(context))?;
        } else {
            let len = libc::off_t::try_from(bytes).map_err(|_| {
                io(context.clone())(std::io::Error::from_raw_os_error(libc::EFBIG))
            })?;
            // SAFETY: fallocate on a valid, owned file descriptor.
            let r = unsafe { libc::posix_fallocate(self.file.as_raw_fd(), 0, len) };
            if r != 0 {
                return Err(io(context)(std::io::Error::from_raw_os_error(r)));
            }
        }
        self.size = bytes;
        Ok(())
    }

    /// Sector size: the kernel's for block devices, else probed from an existing GPT.
    pub fn detect_sector_size(&mut self) -> Result<u64, TargetError> {
        if self.block_device {
            return crate::disk::blockdev::logical_sector_size(&self.file)
                .map_err(io(format!("Failed to get sector size of '{}'", self.name)));
        }
        Ok(gpt::probe_sector_size(&mut self.file)?.unwrap_or(512))
    }

    /// Sector size for re-reading after growth.
    pub fn sector_size_guess(&mut self, configured: Option<u64>) -> u64 {
        configured.unwrap_or_else(|| self.detect_sector_size().unwrap_or(512))
    }

    /// Reads the partition table.
    pub fn read_label(&mut self, sector_size: u64) -> Result<Label, TargetError> {
        Ok(gpt::read_label(&mut self.file, self.size, sector_size)?)
    }

    /// Rewrites an existing GPT so its backup header sits at the (new) end of the device.
    pub fn extend_table(&mut self, sector_size: u64) -> Result<(), TargetError> {
        Ok(gpt::extend_table(&mut self.file, self.size, sector_size)?)
    }
}
