//! The verity partitions written while applying, in upstream's order: right after a
//! new data partition got its contents, its hash tree, then its signature.

use crate::pure::config::VerityMode;
use crate::pure::plan::{Plan, PlannedPartition};
use crate::shell::apply::{ApplyError, Work};
use crate::shell::disk::Target;

/// What upstream does right after new data partition `data` got its contents (block
/// copy or file system): the hash tree of its `Verity=hash` sibling, unless
/// `Minimize=` built that already, then its `Verity=signature` sibling. A data
/// partition that gets no contents gets neither, as upstream's: its hash partition
/// stays empty and both keep their planned UUIDs.
pub fn after_data_partition(
    plan: &Plan,
    work: &Work,
    target: &mut Target,
    data: &PlannedPartition,
    roots: &mut Vec<(usize, [u8; 32])>,
) -> Result<(), ApplyError> {
    let definitions = work.definitions;
    let Some(index) = data.definition else {
        return Ok(());
    };
    if definitions.get(index).map(|d| d.verity) != Some(VerityMode::Data) {
        return Ok(());
    }
    let new_sibling = |mode| {
        let sibling = crate::pure::verity::sibling(definitions, index, mode)?;
        let row = plan
            .partitions
            .iter()
            .find(|p| p.is_new() && p.definition == Some(sibling))?;
        Some((sibling, row))
    };
    let Some((hash_index, hash_row)) = new_sibling(VerityMode::Hash) else {
        return Ok(());
    };
    if work.images.get(hash_index).is_none_or(Option::is_none) {
        // Upstream writes the tree through a device cut out of the target: with
        // --offline=no a loop device must be had (the bytes are the same without).
        let loop_use = crate::pure::policy::loop_use(work.options.offline);
        drop(crate::shell::apply::partition_loop(
            loop_use, false, plan, hash_row, target,
        )?);
        let root = write_hash_tree(work, target, data, hash_index, hash_row)?;
        roots.push((hash_index, root));
    }
    let Some((_, signature_row)) = new_sibling(VerityMode::Signature) else {
        return Ok(());
    };
    let root = roots
        .iter()
        .find(|(i, _)| *i == hash_index)
        .map(|(_, root)| *root)
        .or_else(|| work.root_hashes.get(hash_index).copied().flatten());
    match root {
        Some(root) => write_signature(work, target, signature_row, &root),
        None => Ok(()),
    }
}

/// Builds the hash tree over data partition `data` as written (spec §9.6) into
/// `hash_row`; returns the root hash.
fn write_hash_tree(
    work: &Work,
    target: &mut Target,
    data: &PlannedPartition,
    hash_index: usize,
    hash_row: &PlannedPartition,
) -> Result<[u8; 32], ApplyError> {
    let n = hash_row.partno;
    let params = super::params(&work.definitions[hash_index], work.settings, work.seed);
    let copy_err = |source| ApplyError::Copy { partno: n, source };
    let tree =
        super::tree_from(&target.file, data.offset, data.new_size, &params).map_err(copy_err)?;
    // Like upstream, the tree is built aside and then copied in, checking it fits.
    tracing::info!("Syncing future partition {n} contents to disk.");
    if tree.image.len() as u64 > hash_row.new_size {
        return Err(ApplyError::DoesNotFit {
            partno: n,
            size: tree.image.len() as u64,
            room: hash_row.new_size,
        });
    }
    std::os::unix::fs::FileExt::write_all_at(&target.file, &tree.image, hash_row.offset)
        .map_err(copy_err)?;
    target.file.sync_data().map_err(copy_err)?;
    Ok(tree.root_hash)
}

/// Signs `root` with `--private-key=`/`--certificate=` and writes the JSON object
/// into `Verity=signature` partition `row`, padded to its size.
fn write_signature(
    work: &Work,
    target: &mut Target,
    row: &PlannedPartition,
    root: &[u8; 32],
) -> Result<(), ApplyError> {
    let options = work.options;
    let (Some(certificate), Some(key)) = (&options.certificate_der, &options.private_key_der)
    else {
        // Definitions with Verity=signature were refused without both.
        return Err(ApplyError::Sign(
            "Verity signature partition requested but no key or certificate loaded.".into(),
        ));
    };
    let signature =
        crate::shell::signing::sign_root_hash(&crate::pure::verity::hex(root), certificate, key)
            .map_err(ApplyError::Sign)?;
    let fingerprint = crate::shell::signing::certificate_fingerprint(certificate);
    let payload =
        crate::pure::verity::signature_payload(root, &fingerprint, &signature, row.new_size)
            .ok_or_else(|| {
                ApplyError::Sign(
                    "Verity signature too long for partition: Argument list too long".into(),
                )
            })?;
    let copy_err = |source| ApplyError::Copy {
        partno: row.partno,
        source,
    };
    std::os::unix::fs::FileExt::write_all_at(&target.file, &payload, row.offset)
        .map_err(copy_err)?;
    target.file.sync_data().map_err(copy_err)
}
