//! Executes a [`Plan`] on the target in an order that never loses data: only space
//! that the plan gives to new partitions is touched before the partition table, and
//! the table itself is written last, in one go.

use std::fs::File;
use std::path::Path;
use std::time::Instant;

use crate::pure::cli::{EmptyMode, Options};
use crate::pure::config::{Definition, EncryptMode};
use crate::pure::model::ExistingPartition;
use crate::pure::plan::flags::new_partition_attrs;
use crate::pure::plan::{Plan, PlannedPartition};
use crate::pure::policy::{self, LoopUse};
use crate::pure::size::format_bytes;
use crate::shell::block_sources::{BlockSource, JobSettings, SourceKind};
use crate::shell::disk::blkid;
use crate::shell::disk::blockcopy::{copy_sparse, copy_stream};
use crate::shell::disk::gpt::{Extent, NewEntry, NewTable};
use crate::shell::disk::loopdev::LoopDevice;
use crate::shell::disk::{DiscardOutcome, DiskError, Target, TargetKind};
use crate::shell::fs::FsError;

mod encrypted_copy;

/// Why applying failed (the caller prints it; `--empty=create` images are removed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The target could not be written.
    #[error(transparent)]
    Disk(#[from] DiskError),
    /// Erasing old signatures (libblkid) failed.
    #[error(transparent)]
    Wipe(#[from] blkid::WipeError),
    /// Making or populating a file system failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// Copying prepared contents into the target failed.
    #[error(
        "Failed to copy in data for partition {partno}: {}",
        crate::shell::disk::strerror(source)
    )]
    Copy {
        /// 0-based partition number.
        partno: u32,
        /// The cause.
        source: std::io::Error,
    },
    /// The prepared file system is larger than its partition.
    #[error("Partition {partno}'s contents ({}) don't fit in the partition ({}).", format_bytes(*size), format_bytes(*room))]
    DoesNotFit {
        /// 0-based partition number.
        partno: u32,
        /// Bytes of content.
        size: u64,
        /// Bytes of partition.
        room: u64,
    },
    /// `--offline=no` (or an unexpected error) and no loop device for a new partition.
    #[error(
        "Failed to make loopback device of future partition {partno}: {}",
        crate::shell::disk::strerror(source)
    )]
    Loop {
        /// 0-based partition number.
        partno: u32,
        /// The cause.
        source: std::io::Error,
    },
    /// A partition needs a feature this build does not have yet.
    #[error("{0}")]
    Unsupported(String),
    /// Encrypting a partition failed (libcryptsetup missing, or one of its steps).
    #[error(transparent)]
    Crypt(#[from] crate::shell::crypt::CryptError),
    /// Signing a verity root hash failed (upstream's message, with OpenSSL's reason).
    #[error("{0}")]
    Sign(String),
}

/// Everything besides the plan that applying needs.
#[derive(Debug)]
pub struct Work<'a> {
    /// Definitions, indexed by `PlannedPartition::definition`.
    pub definitions: &'a [Definition],
    /// The table the plan was made from.
    pub existing: &'a [ExistingPartition],
    /// Block sources (`CopyBlocks=`, `Minimize=` images), indexed by definition.
    pub images: &'a [Option<BlockSource>],
    /// File-system job settings.
    pub settings: &'a JobSettings<'a>,
    /// Command-line options.
    pub options: &'a Options,
    /// Seed (verity salt and superblock UUID).
    pub seed: uuid::Uuid,
    /// Root hashes `Minimize=` found before planning, indexed by (hash) definition.
    pub root_hashes: &'a [Option<[u8; 32]>],
    /// `$SYSTEMD_TPM2_DEVICE` (read with the rest of the environment).
    pub tpm2_device_env: Option<&'a str>,
}

/// Applies `plan` to `target`, in upstream's order: wipe and discard, block copies and
/// file systems (each data partition followed by its verity hash tree and signature),
/// then the partition table. The root hashes computed
/// here are recorded in `plan` (its ROOTHASH cells and the UUIDs they give).
pub fn apply(plan: &mut Plan, work: &Work, target: &mut Target) -> Result<(), ApplyError> {
    let options = work.options;
    let written = to_write(plan, work);
    // libcryptsetup is loaded on demand; without it nothing is written at all (upstream
    // notices only when it gets to the partition, after wiping and copying others).
    let encrypts = written.partitions.iter().filter(|p| p.is_new()).any(|row| {
        row.definition
            .and_then(|i| work.definitions.get(i))
            .is_some_and(|d| d.encrypt != EncryptMode::Off)
    });
    if encrypts {
        crate::shell::crypt::available()?;
    }
    // Settings this repart refuses are refused before anything is written; the TPM is
    // reached when the first partition is sealed, as upstream (its errors come then).
    let tpm2 = if needs_tpm2(&written, work.definitions) {
        let settings = crate::shell::tpm2::Tpm2Settings::from_options(
            options,
            work.tpm2_device_env.map(str::to_owned),
        );
        Some(
            crate::shell::tpm2::Tpm2Enroller::open(&settings)
                .map_err(|e| ApplyError::Unsupported(e.message))?,
        )
    } else {
        None
    };
    // A freshly created image holds nothing to wipe; everything else is cleaned first.
    if options.empty != EmptyMode::Create {
        blkid::require()?;
        if written.from_scratch {
            wipe_whole_device(target, options)?;
        }
        wipe_and_discard(&written, target, options)?;
    }
    crate::shell::fault::point("wiped");
    // Verity hash trees and signatures are written right after their data partition.
    let mut roots = Vec::new();
    copy_images(&written, work, target, &mut roots, tpm2.as_ref())?;
    crate::shell::fault::point("copied");
    format_partitions(&written, work, target, &mut roots, tpm2.as_ref())?;
    crate::shell::fault::point("formatted");
    for (hash_definition, root) in roots {
        plan.set_root_hash(work.definitions, hash_definition, &root);
    }
    write_partition_table(&to_write(plan, work), work, target)
}

/// The part of the plan that is written. Deferred partitions are planned and shown, but
/// nothing of them is written: a new one is left out, an existing one keeps its entry as
/// it was (size, UUID, label).
fn to_write(plan: &Plan, work: &Work) -> Plan {
    let deferred = |row: &PlannedPartition| {
        work.options
            .defer_partitions
            .contains(&row.partition_type.uuid)
    };
    let mut plan = plan.clone();
    plan.partitions
        .retain(|row| !(row.is_new() && deferred(row)));
    for row in plan.partitions.iter_mut().filter(|row| deferred(row)) {
        if let Some(current) = work.existing.iter().find(|e| e.partno == row.partno) {
            leave_alone(row, current);
        }
    }
    plan
}

/// The last step: the new table, written in one go, then announced to the kernel.
fn write_partition_table(plan: &Plan, work: &Work, target: &mut Target) -> Result<(), ApplyError> {
    let mut entries = Vec::new();
    for row in &plan.partitions {
        announce(row, work.definitions);
        let current = work
            .existing
            .iter()
            .find(|e| e.partno == row.partno && !row.is_new());
        entries.push(new_entry(row, current, plan.sector_size));
    }
    tracing::info!("Writing new partition table.");
    let table = NewTable {
        disk_guid: plan.disk_guid,
        first_lba: plan.first_lba,
        last_lba: plan.last_lba,
        entry_count: plan.entry_count,
        entries,
    };
    target.write_table(plan.sector_size, &table)?;
    if target.kind == TargetKind::BlockDevice {
        tell_kernel(plan, target);
    }
    Ok(())
}

/// Makes an existing row write back the entry it has on disk.
fn leave_alone(row: &mut PlannedPartition, current: &ExistingPartition) {
    row.new_size = current.size;
    row.identity.uuid = current.uuid;
    row.identity.label = current.label.clone();
    row.identity.init_uuid = false;
    row.identity.init_label = false;
}

/// Announces new and grown partitions to the kernel one by one (BLKPG). Re-reading
/// the whole table (BLKRRPART) fails with EBUSY while any partition is mounted, which
/// is the normal case in an initrd; BLKPG works regardless. Failures are logged, not
/// fatal: the table on disk is already complete and a reboot picks it up.
fn tell_kernel(plan: &Plan, target: &Target) {
    if !target.partition_scanning_enabled() {
        crate::shell::log::notice(
            "Not telling kernel to reread partition table, because selected image does not support kernel partition block devices.",
        );
        return;
    }
    tracing::info!("Telling kernel to reread partition table.");
    for row in &plan.partitions {
        let result = match row.old_size {
            None => target.kernel_add_partition(row.partno, row.offset, row.new_size),
            Some(old) if old != row.new_size => {
                target.kernel_resize_partition(row.partno, row.offset, row.new_size)
            }
            Some(_) => continue,
        };
        if let Err(e) = result {
            tracing::warn!(
                "Failed to tell the kernel about partition {}: {e}",
                row.partno
            );
        }
    }
}

/// Copies a prepared image file into the partition at `row`, checking it fits.
fn copy_in(
    path: &Path,
    from: u64,
    size: u64,
    row: &PlannedPartition,
    target: &mut Target,
) -> Result<(), ApplyError> {
    let copy_err = |source| ApplyError::Copy {
        partno: row.partno,
        source,
    };
    let src = File::open(path).map_err(copy_err)?;
    if size > row.new_size {
        return Err(ApplyError::DoesNotFit {
            partno: row.partno,
            size,
            room: row.new_size,
        });
    }
    copy_sparse(&src, from, size, &target.file, row.offset).map_err(copy_err)?;
    Ok(())
}

/// Reads up to `len` bytes of a character device into the partition at `row` (less if
/// the device ends).
fn stream_in(
    path: &Path,
    len: u64,
    row: &PlannedPartition,
    target: &mut Target,
) -> Result<(), ApplyError> {
    let copy_err = |source| ApplyError::Copy {
        partno: row.partno,
        source,
    };
    let src = File::open(path).map_err(copy_err)?;
    copy_stream(&src, len, &target.file, row.offset).map_err(copy_err)?;
    Ok(())
}

/// Block copies (`CopyBlocks=` sources and `Minimize=` images) go in first, each
/// followed by its verity siblings. An encrypted partition's copy goes through
/// dm-crypt on a loop device, or into a temporary file encrypted offline (see
/// [`encrypted_copy`]).
fn copy_images(
    plan: &Plan,
    work: &Work,
    target: &mut Target,
    roots: &mut Vec<(usize, [u8; 32])>,
    tpm2: Option<&crate::shell::tpm2::Tpm2Enroller>,
) -> Result<(), ApplyError> {
    let loop_use = policy::loop_use(work.options.offline);
    for row in plan.partitions.iter().filter(|p| p.is_new()) {
        let Some(index) = row.definition else {
            continue;
        };
        let Some(Some(image)) = work.images.get(index) else {
            continue;
        };
        let encrypt = work
            .definitions
            .get(index)
            .filter(|d| d.encrypt != EncryptMode::Off);
        let n = row.partno;
        let path = image.path.clone();
        let started = Instant::now();
        // A stream (character device) fills the partition, as upstream's: all of it, or
        // what the LUKS2 metadata leaves of it.
        let stream = image.kind == SourceKind::Stream;
        let size = match (stream, encrypt) {
            (false, _) => image.size,
            (true, None) => row.new_size,
            (true, Some(_)) => row
                .new_size
                .saturating_sub(crate::shell::crypt::LUKS2_METADATA_KEEP_FREE),
        };
        if let Some(def) = encrypt {
            let copy = encrypted_copy::Copy {
                image,
                size,
                def,
                row,
                work,
                tpm2: tpm2_for(def, tpm2),
            };
            match partition_loop(loop_use, true, plan, row, target)? {
                Some(device) => copy.through_dm_crypt(&device)?,
                None => copy.offline(target)?,
            }
        } else {
            // Upstream cuts a device out of the target for a copy with a hash tree to
            // read back: with --offline=no that needs a loop device. The bytes are the
            // same written directly, so the device only proves it can be had.
            let definition = &work.definitions[index];
            let has_hash = definition.verity == crate::pure::config::VerityMode::Data
                && crate::pure::verity::sibling(
                    work.definitions,
                    index,
                    crate::pure::config::VerityMode::Hash,
                )
                .is_some();
            if policy::block_copy_uses_partition_device(false, has_hash) {
                drop(partition_loop(loop_use, false, plan, row, target)?);
            }
            announce_copy(image, size, n);
            if stream {
                stream_in(&path, size, row, target)?;
            } else {
                copy_in(&path, image.offset, size, row, target)?;
            }
            tracing::info!(
                "Copying in of '{}' on block level completed.",
                path.display()
            );
            tracing::info!("Syncing future partition {n} contents to disk.");
            target
                .file
                .sync_data()
                .map_err(|source| ApplyError::Copy { partno: n, source })?;
        }
        let elapsed = started.elapsed();
        // Upstream adds the rate once the copy took long enough to measure it.
        let rate = if elapsed.as_millis() > 250 {
            let per_second = (u128::from(size) * 1000 / elapsed.as_millis().max(1)) as u64;
            format!(" ({}/s)", format_bytes(per_second))
        } else {
            String::new()
        };
        tracing::info!(
            "Block level copying and synchronization of partition {n} complete in {}{rate}.",
            format_duration(elapsed)
        );
        crate::shell::verity::write::after_data_partition(plan, work, target, row, roots)?;
    }
    Ok(())
}

/// Upstream's line before a block copy (only `--copy-from=` regions, never at offset
/// 0, name their offset).
fn announce_copy(image: &BlockSource, size: u64, partno: u32) {
    let at = if image.offset > 0 {
        format!(" @ {}", image.offset)
    } else {
        String::new()
    };
    tracing::info!(
        "Copying in '{}'{at} ({}) on block level into future partition {partno}.",
        image.path.display(),
        format_bytes(size)
    );
}

/// The TPM2 enrolment step for `def`, if its `Encrypt=` includes tpm2.
fn tpm2_for<'a>(
    def: &Definition,
    tpm2: Option<&'a crate::shell::tpm2::Tpm2Enroller>,
) -> Option<&'a dyn crate::shell::crypt::Tpm2Enroll> {
    tpm2.filter(|_| matches!(def.encrypt, EncryptMode::Tpm2 | EncryptMode::KeyFileTpm2))
        .map(|t| t as &dyn crate::shell::crypt::Tpm2Enroll)
}

/// File systems. An encrypted one goes through dm-crypt on a loop device cut out of the
/// target when loop devices can be had (see [`policy::loop_use`]); otherwise, and for
/// every unencrypted one, it is made in a temporary file, encrypted offline if asked
/// to, then copied into place, so a failure leaves the partition area as the plan found
/// it. Each is followed by its verity siblings.
fn format_partitions(
    plan: &Plan,
    work: &Work,
    target: &mut Target,
    roots: &mut Vec<(usize, [u8; 32])>,
    tpm2: Option<&crate::shell::tpm2::Tpm2Enroller>,
) -> Result<(), ApplyError> {
    let designators = crate::shell::block_sources::designators(work.definitions);
    let loop_use = policy::loop_use(work.options.offline);
    for row in plan.partitions.iter().filter(|p| p.is_new()) {
        let Some(index) = row.definition else {
            continue;
        };
        let Some(def) = work.definitions.get(index) else {
            continue;
        };
        let prepared = matches!(work.images.get(index), Some(Some(_)));
        if def.format.is_none() || prepared {
            continue;
        }
        let hint = def.file_name();
        let job = crate::shell::block_sources::job(
            def,
            row.identity.fs_key(),
            &row.identity.label,
            &hint,
            work.settings,
            &designators,
        );
        let enroll = tpm2_for(def, tpm2);
        let encrypted = def.encrypt != EncryptMode::Off;
        match partition_loop(loop_use, encrypted, plan, row, target)? {
            Some(device) if encrypted => {
                let params = luks_params(def, row, work);
                format_through_dm_crypt(&device, &params, enroll, &job, row, work.options)?;
            }
            _ => format_in_file(&job, def, row, work, target, enroll)?,
        }
        crate::shell::verity::write::after_data_partition(plan, work, target, row, roots)?;
    }
    Ok(())
}

/// The loop device upstream would cut out of the target for `row`, or `None` for the
/// regular-file path (`--offline=yes`, or no access to loop devices). Only encrypted
/// partitions use it: an unencrypted one comes out byte for byte the same from a
/// temporary file, so with `--offline=no` the device is only made to fail as upstream
/// when there is none.
pub(crate) fn partition_loop(
    loop_use: LoopUse,
    encrypted: bool,
    plan: &Plan,
    row: &PlannedPartition,
    target: &Target,
) -> Result<Option<LoopDevice>, ApplyError> {
    if loop_use == LoopUse::Never || !(encrypted || loop_use == LoopUse::Require) {
        return Ok(None);
    }
    let block_size = plan.sector_size as u32;
    match LoopDevice::attach(&target.file, row.offset, row.new_size, block_size) {
        Ok(device) => Ok(Some(device)),
        Err(source)
            if policy::loop_error_is_fatal(loop_use, source.raw_os_error().unwrap_or(0)) =>
        {
            Err(ApplyError::Loop {
                partno: row.partno,
                source,
            })
        }
        Err(e) => {
            tracing::debug!("No access to loop devices, falling back to a regular file: {e}");
            Ok(None)
        }
    }
}

/// Live mode: LUKS2 on the loop device, the file system made on the dm-crypt mapping.
/// Nothing but the header and what mkfs writes is written; the mapping and the loop
/// device go again when this returns (or fails).
fn format_through_dm_crypt(
    device: &LoopDevice,
    params: &crate::shell::crypt::LuksParams,
    enroll: Option<&dyn crate::shell::crypt::Tpm2Enroll>,
    job: &crate::shell::fs::FormatJob,
    row: &PlannedPartition,
    options: &Options,
) -> Result<(), ApplyError> {
    let n = row.partno;
    let volume =
        crate::shell::crypt::encrypt_live(device.node(), params, enroll, n, options.discard)
            .map_err(encrypt_failed)?;
    tracing::info!("Formatting future partition {n}.");
    let def = job.definition;
    let btrfs_subvolumes = !def.subvolumes.is_empty() || def.default_subvolume.is_some();
    let by_mount = def.needs_populate()
        && policy::populate_by_mount(job.fstype(), def.compression.is_some(), btrfs_subvolumes);
    if by_mount {
        crate::shell::fs::format_empty(job, volume.path())?;
    } else {
        crate::shell::fs::format_file(job, volume.path())?;
    }
    tracing::info!("Successfully formatted future partition {n}.");
    if by_mount {
        crate::shell::fs::mounted::populate(job, volume.path())?;
    }
    crate::shell::fault::point("formatted-live");
    sync_live(&volume, device, n)
}

/// Announces and flushes a live-mode partition: the dm-crypt mapping, then the loop
/// device under it.
fn sync_live(
    volume: &crate::shell::crypt::ActiveVolume,
    device: &crate::shell::disk::loopdev::LoopDevice,
    n: u32,
) -> Result<(), ApplyError> {
    tracing::info!("Syncing future partition {n} contents to disk.");
    volume.sync()?;
    device.sync().map_err(|source| {
        ApplyError::Crypt(crate::shell::crypt::CryptError::Io {
            what: "Failed to sync loopback device".into(),
            source,
        })
    })?;
    Ok(())
}

/// Upstream logs the step's own error, then "Failed to encrypt device" with its cause.
fn encrypt_failed(e: crate::shell::crypt::CryptError) -> ApplyError {
    use crate::shell::crypt::CryptError;
    match e {
        CryptError::Call { what, errno } => {
            let inner = CryptError::Call { what, errno };
            tracing::error!("{inner}");
            ApplyError::Crypt(CryptError::Call {
                what: "Failed to encrypt device".into(),
                errno,
            })
        }
        CryptError::Enroll(e) => {
            tracing::error!("{e}");
            ApplyError::Crypt(CryptError::Call {
                what: "Failed to encrypt device".into(),
                errno: e.errno,
            })
        }
        other => ApplyError::Crypt(other),
    }
}

/// The regular-file path: made in a temporary file (encrypted offline, the file system
/// shifted back by the LUKS2 metadata), then copied into the partition.
fn format_in_file(
    job: &crate::shell::fs::FormatJob,
    def: &Definition,
    row: &PlannedPartition,
    work: &Work,
    target: &mut Target,
    enroll: Option<&dyn crate::shell::crypt::Tpm2Enroll>,
) -> Result<(), ApplyError> {
    let n = row.partno;
    tracing::info!("Formatting future partition {n}.");
    let temp = tempfile::Builder::new()
        .prefix("repart-")
        .tempfile_in(&work.settings.env.tmp_dir)
        .map_err(|source| ApplyError::Copy { partno: n, source })?
        .into_temp_path();
    let _tracked = crate::shell::signal_cleanup::track(&temp);
    // Offline encryption shifts the file system back by the LUKS2 metadata, and the
    // shift needs as much room again behind it: the file system gets what remains.
    let encrypted = def.encrypt != EncryptMode::Off;
    let fs_size = if encrypted {
        row.new_size
            .saturating_sub(crate::shell::crypt::LUKS2_METADATA_KEEP_FREE)
    } else {
        row.new_size
    };
    let resize = |len: u64| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&temp)
            .and_then(|f| f.set_len(len))
            .map_err(|source| ApplyError::Copy { partno: n, source })
    };
    resize(fs_size)?;
    crate::shell::fs::format_file(job, &temp)?;
    tracing::info!("Successfully formatted future partition {n}.");
    if encrypted {
        resize(row.new_size)?;
        let params = luks_params(def, row, work);
        let tmp_dir = &work.settings.env.tmp_dir;
        crate::shell::crypt::encrypt_offline(&temp, tmp_dir, &params, enroll, n)
            .map_err(encrypt_failed)?;
    }
    // Upstream announces the sync before it finds out whether the contents fit.
    tracing::info!("Syncing future partition {n} contents to disk.");
    let size = std::fs::metadata(&temp)
        .map_err(|source| ApplyError::Copy { partno: n, source })?
        .len();
    copy_in(&temp, 0, size, row, target)?;
    target
        .file
        .sync_data()
        .map_err(|source| ApplyError::Copy { partno: n, source })?;
    Ok(())
}

/// Whether a new partition is sealed to the TPM (`Encrypt=tpm2` or `key-file+tpm2`).
fn needs_tpm2(plan: &Plan, definitions: &[Definition]) -> bool {
    plan.partitions.iter().filter(|p| p.is_new()).any(|row| {
        row.definition
            .and_then(|i| definitions.get(i))
            .is_some_and(|d| matches!(d.encrypt, EncryptMode::Tpm2 | EncryptMode::KeyFileTpm2))
    })
}

/// The LUKS2 header of a new encrypted partition, as upstream 257 derives it: the
/// partition's label, a UUID derived from the partition UUID, the file system's sector
/// size, and the `--key-file=` contents (empty without one) for a key-file keyslot.
fn luks_params(
    def: &Definition,
    row: &PlannedPartition,
    work: &Work,
) -> crate::shell::crypt::LuksParams {
    let key = matches!(def.encrypt, EncryptMode::KeyFile | EncryptMode::KeyFileTpm2).then(|| {
        work.options
            .key_file
            .as_ref()
            .map(|k| k.0.clone())
            .unwrap_or_default()
    });
    crate::shell::crypt::LuksParams {
        label: row.identity.label.clone(),
        uuid: crate::pure::plan::ids::luks_uuid(row.identity.uuid),
        sector_size: work.settings.fs_sector_size as u32,
        key,
    }
}

/// Durations like upstream's log lines (`4.939ms`, `1.204s`).
fn format_duration(d: std::time::Duration) -> String {
    let micros = d.as_micros();
    if micros < 1_000_000 {
        format!("{}.{:03}ms", micros / 1000, micros % 1000)
    } else {
        format!("{}.{:03}s", micros / 1_000_000, (micros / 1000) % 1000)
    }
}

fn announce(row: &PlannedPartition, definitions: &[Definition]) {
    if row.is_new() {
        // Upstream computes the flags (and warns about them) before announcing.
        if let Some(def) = row.definition.and_then(|i| definitions.get(i)) {
            for warning in new_partition_attrs(def).1 {
                tracing::warn!("{warning}");
            }
        }
        tracing::info!("Adding new partition {} to partition table.", row.partno);
        return;
    }
    if row.old_size != Some(row.new_size) {
        tracing::info!("Growing existing partition {}.", row.partno);
    }
    if row.identity.init_uuid {
        tracing::info!("Initializing UUID of existing partition {}.", row.partno);
    }
    if row.identity.init_label {
        tracing::info!(
            "Setting partition label of existing partition {}.",
            row.partno
        );
    }
}

/// The table entry for a row. Existing partitions keep their name unless the plan
/// initializes an empty one (the displayed label of a foreign row is only a fallback).
fn new_entry(
    row: &PlannedPartition,
    current: Option<&ExistingPartition>,
    sector_size: u64,
) -> NewEntry {
    let label = match current {
        Some(e) if !row.identity.init_label => e.label.clone(),
        _ => row.identity.label.clone(),
    };
    let extent = Extent {
        offset: row.offset,
        size: row.new_size,
    };
    NewEntry::from_extent(
        row.partno,
        row.partition_type.uuid,
        row.identity.uuid,
        label,
        extent,
        row.attrs,
        sector_size,
    )
}

/// Starting from scratch: the old contents of the whole device go first. A hole
/// punched into an image file reads as zeros, so the signatures need no separate
/// wipe then; otherwise libblkid erases them, and discard follows (upstream's order).
fn wipe_whole_device(target: &mut Target, options: &Options) -> Result<(), ApplyError> {
    let size = target.total_bytes;
    let punched = options.discard
        && target.kind == TargetKind::RegularFile
        && target.discard(0, size)? == DiscardOutcome::Discarded;
    if !punched {
        blkid::wipe_signatures(&target.file, 0, size)?;
    }
    tracing::info!("Wiped block device.");
    if options.discard {
        let outcome = if punched {
            DiscardOutcome::Discarded
        } else {
            target.discard(0, size)?
        };
        match outcome {
            DiscardOutcome::Discarded => tracing::info!("Discarded entire block device."),
            _ => tracing::info!(
                "Storage does not support discard, not discarding entire block device data."
            ),
        }
    }
    Ok(())
}

/// Wipes new partitions; on an existing table also discards them and the gaps.
fn wipe_and_discard(plan: &Plan, target: &mut Target, options: &Options) -> Result<(), ApplyError> {
    for row in plan.partitions.iter().filter(|p| p.is_new()) {
        let n = row.partno;
        let discard = options.discard && !plan.from_scratch;
        // In an image file a punched hole reads as zeros: it wipes by itself, so the
        // bytes are only written when the hole cannot be punched.
        let punched = discard
            && target.kind == TargetKind::RegularFile
            && target.discard(row.offset, row.new_size)? == DiscardOutcome::Discarded;
        if !punched {
            blkid::wipe_signatures(&target.file, row.offset, row.new_size)?;
        }
        tracing::info!("Successfully wiped file system signatures from future partition {n}.");
        if !discard {
            continue;
        }
        let outcome = if punched {
            DiscardOutcome::Discarded
        } else {
            target.discard(row.offset, row.new_size)?
        };
        match outcome {
            DiscardOutcome::Discarded => {
                tracing::info!("Successfully discarded data from future partition {n}.")
            }
            DiscardOutcome::Unsupported => tracing::info!(
                "Storage does not support discard, not discarding data in future partition {n}."
            ),
            DiscardOutcome::Busy => tracing::info!(
                "Block device is busy, not discarding partition {n} because it probably is mounted."
            ),
        }
        let (gap_start, gap_len) = gap_after(plan, row.offset + row.new_size);
        if gap_len > 0 && target.discard(gap_start, gap_len)? == DiscardOutcome::Discarded {
            tracing::info!("Successfully discarded gap after partition {n}.");
        }
    }
    if options.discard && !plan.from_scratch {
        let first = plan.first_lba * plan.sector_size;
        let lowest = plan.partitions.iter().map(|p| p.offset).min();
        if let Some(lowest) = lowest.filter(|&l| l > first)
            && target.discard(first, lowest - first)? == DiscardOutcome::Discarded
        {
            tracing::info!("Successfully discarded gap at beginning of disk.");
        }
    }
    Ok(())
}

/// The unused bytes between `end` and the next partition (or the end of usable space).
fn gap_after(plan: &Plan, end: u64) -> (u64, u64) {
    let usable_end = (plan.last_lba + 1) * plan.sector_size;
    let next = plan
        .partitions
        .iter()
        .map(|p| p.offset)
        .filter(|&o| o >= end)
        .min()
        .unwrap_or(usable_end);
    (end, next.saturating_sub(end))
}
