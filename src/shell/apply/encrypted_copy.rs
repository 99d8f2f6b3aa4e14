//! The block copy of an encrypted partition (`CopyBlocks=` or a `Minimize=` image with
//! `Encrypt=`), both ways upstream 257's context_copy_blocks makes it: through dm-crypt
//! on a loop device (LUKS2 first, then the bytes copied into the mapping), or — without
//! loop devices — into a temporary file of the partition's size that is encrypted in
//! place offline and then copied into the partition. Unlike for file systems, upstream
//! adds no "Failed to encrypt device" line to a failure here.

use std::fs::File;

use super::{ApplyError, Work, announce_copy, copy_in, luks_params, sync_live};
use crate::pure::config::Definition;
use crate::pure::plan::PlannedPartition;
use crate::shell::block_sources::{BlockSource, SourceKind};
use crate::shell::crypt::Tpm2Enroll;
use crate::shell::disk::Target;
use crate::shell::disk::blockcopy::{copy_sparse, copy_stream};
use crate::shell::disk::loopdev::LoopDevice;

/// One encrypted block copy: `size` bytes of `image` (a stream: up to `size`).
pub(super) struct Copy<'a> {
    pub image: &'a BlockSource,
    pub size: u64,
    pub def: &'a Definition,
    pub row: &'a PlannedPartition,
    pub work: &'a Work<'a>,
    pub tpm2: Option<&'a dyn Tpm2Enroll>,
}

impl Copy<'_> {
    fn copy_err(&self) -> impl Fn(std::io::Error) -> ApplyError {
        let partno = self.row.partno;
        move |source| ApplyError::Copy { partno, source }
    }

    /// Copies the bytes into `dst` at offset 0. Every byte is written (no holes are
    /// skipped): `dst` may be a mapping over old data.
    fn copy_into(&self, dst: &File) -> Result<(), ApplyError> {
        let err = self.copy_err();
        let mut src = File::open(&self.image.path).map_err(&err)?;
        if self.image.kind != SourceKind::Stream && self.image.offset > 0 {
            use std::io::Seek;
            src.seek(std::io::SeekFrom::Start(self.image.offset))
                .map_err(&err)?;
        }
        copy_stream(&src, self.size, dst, 0).map_err(&err)?;
        Ok(())
    }

    fn completed(&self) {
        tracing::info!(
            "Copying in of '{}' on block level completed.",
            self.image.path.display()
        );
    }

    /// Live: LUKS2 on the loop device, the bytes written through the mapping.
    pub fn through_dm_crypt(&self, device: &LoopDevice) -> Result<(), ApplyError> {
        let n = self.row.partno;
        let params = luks_params(self.def, self.row, self.work);
        let discard = self.work.options.discard;
        let volume =
            crate::shell::crypt::encrypt_live(device.node(), &params, self.tpm2, n, discard)?;
        announce_copy(self.image, self.size, n);
        self.copy_into(volume.file())?;
        self.completed();
        sync_live(&volume, device, n)
    }

    /// Offline: copied into a temporary file of the partition's size (the rest stays a
    /// hole), encrypted there, then copied into the partition.
    pub fn offline(&self, target: &mut Target) -> Result<(), ApplyError> {
        let n = self.row.partno;
        let err = self.copy_err();
        let tmp_dir = &self.work.settings.env.tmp_dir;
        announce_copy(self.image, self.size, n);
        let temp = tempfile::Builder::new()
            .prefix("repart-")
            .tempfile_in(tmp_dir)
            .map_err(&err)?
            .into_temp_path();
        let _tracked = crate::shell::signal_cleanup::track(&temp);
        {
            let dst = std::fs::OpenOptions::new()
                .write(true)
                .open(&temp)
                .map_err(&err)?;
            dst.set_len(self.row.new_size).map_err(&err)?;
            if self.image.kind == SourceKind::Stream {
                self.copy_into(&dst)?;
            } else {
                // A regular image may be sparse: its holes stay holes in the file.
                let src = File::open(&self.image.path).map_err(&err)?;
                copy_sparse(&src, self.image.offset, self.size, &dst, 0).map_err(&err)?;
            }
        }
        self.completed();
        let params = luks_params(self.def, self.row, self.work);
        crate::shell::crypt::encrypt_offline(&temp, tmp_dir, &params, self.tpm2, n)?;
        tracing::info!("Syncing future partition {n} contents to disk.");
        copy_in(&temp, 0, self.row.new_size, self.row, target)?;
        target.file.sync_data().map_err(&err)?;
        Ok(())
    }
}
