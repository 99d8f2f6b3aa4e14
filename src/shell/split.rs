//! `--split=yes`: one file per partition next to the image, named from `SplitName=`
//! (spec §9.7). Runs after writing, and also in dry-run mode, like upstream.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use crate::pure::config::Definition;
use crate::pure::config::specifier::{SplitInfo, SystemInfo, expand_split_name};
use crate::pure::plan::Plan;

/// Why splitting failed; split files made so far are removed by the caller.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SplitError {
    /// `SplitName=` could not be expanded.
    #[error("Failed to determine split name for {path}: {reason}")]
    Name {
        /// Definition file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Two partitions resolve to the same name.
    #[error("{first} and {second} have the same resolved split name \"{name}\", refusing.")]
    Duplicate {
        /// First definition.
        first: String,
        /// Second definition.
        second: String,
        /// The name.
        name: String,
    },
    /// Creating or filling a split file failed.
    #[error("Failed to open split partition file {path}: {reason}")]
    Io {
        /// The split file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// `<dir of node>/<node name without .raw>.<name>[.raw]`.
pub fn split_path(node: &str, name: &str) -> String {
    let (dir, file) = match node.rfind('/') {
        Some(i) => (&node[..=i], &node[i + 1..]),
        None => ("", node),
    };
    match file.strip_suffix(".raw") {
        Some(base) => format!("{dir}{base}.{name}.raw"),
        None => format!("{dir}{file}.{name}"),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    crate::shell::disk::strerror(e)
}

/// Writes the split files and records their paths in the plan (`-` for rows that get
/// none, when any row has one); deferred partitions are named but not written.
/// Returns the files created, for cleanup on failure.
pub fn split(
    plan: &mut Plan,
    definitions: &[Definition],
    deferred: &[Uuid],
    node: &str,
    image: &File,
    sys: &SystemInfo,
    created: &mut Vec<PathBuf>,
) -> Result<(), SplitError> {
    let mut names: Vec<(String, String)> = Vec::new();
    // Split files are removed if the run is killed while they are being written.
    let mut tracked = Vec::new();
    let mut jobs = Vec::new();
    let mut named_only = Vec::new();
    for (row_index, row) in plan.partitions.iter().enumerate() {
        let Some(def) = row.definition.and_then(|i| definitions.get(i)) else {
            continue;
        };
        let Some(template) = &def.split_name else {
            continue;
        };
        let info = SplitInfo {
            type_name: row
                .partition_type
                .name
                .map_or_else(|| row.partition_type.uuid.to_string(), str::to_string),
            type_uuid: row.partition_type.uuid.simple().to_string(),
            partition_uuid: row.identity.uuid.simple().to_string(),
            partno: u64::from(row.partno),
        };
        let path = def.path.display().to_string();
        let name = expand_split_name(template, &info, sys).map_err(|e| SplitError::Name {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if let Some((first, _)) = names.iter().find(|(_, n)| *n == name) {
            return Err(SplitError::Duplicate {
                first: first.clone(),
                second: path,
                name,
            });
        }
        names.push((path, name.clone()));
        // A deferred partition is named like upstream (its path is in the table) but
        // has no contents to write yet.
        if deferred.contains(&row.partition_type.uuid) {
            named_only.push((row_index, split_path(node, &name)));
            continue;
        }
        jobs.push((row_index, split_path(node, &name)));
    }
    for (row_index, path) in named_only {
        plan.partitions[row_index].split_path = Some(path);
    }
    for (row_index, path) in jobs {
        let row = &plan.partitions[row_index];
        let absolute =
            std::path::absolute(Path::new(&path)).unwrap_or_else(|_| PathBuf::from(&path));
        let err = |e: std::io::Error| SplitError::Io {
            path: absolute.display().to_string(),
            reason: io_reason(&e),
        };
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&absolute)
            .map_err(err)?;
        created.push(absolute.clone());
        tracked.push(crate::shell::signal_cleanup::track(&absolute));
        copy_region(image, row.offset, row.new_size, &file).map_err(err)?;
        plan.partitions[row_index].split_path = Some(path);
    }
    Ok(())
}

/// Copies `len` bytes at `offset` of `image` into `out`, leaving holes where the
/// image reads as zeros.
fn copy_region(image: &File, offset: u64, len: u64, out: &File) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    out.set_len(len)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    while done < len {
        let chunk = usize::try_from((len - done).min(1 << 20)).unwrap_or(1 << 20);
        image.read_exact_at(&mut buf[..chunk], offset + done)?;
        if buf[..chunk].iter().any(|&b| b != 0) {
            out.write_all_at(&buf[..chunk], done)?;
        }
        done += chunk as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names_follow_the_node() {
        // Observed from upstream 257: img2.raw + %t → img2.linux-generic.raw.
        assert_eq!(
            split_path("img2.raw", "linux-generic"),
            "img2.linux-generic.raw"
        );
        assert_eq!(split_path("/x/y/disk", "esp"), "/x/y/disk.esp");
        assert_eq!(
            split_path("/x/a.raw", "root-x86-64"),
            "/x/a.root-x86-64.raw"
        );
    }
}
