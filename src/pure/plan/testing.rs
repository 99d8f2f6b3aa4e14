//! Test helper: one value with everything a run feeds the stages, and the questions the
//! shell asks of them, each answered by running the stages from the start.

use uuid::Uuid;

use crate::pure::config::{Definition, Diagnostic};
use crate::pure::model::DiskState;
use crate::pure::plan::{Content, Draft, Identified, Plan, PlanError};

/// Everything the stages take in, as one value.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// Definitions in definition order.
    pub definitions: &'a [Definition],
    /// The target's state.
    pub disk: &'a DiskState,
    /// Ignore any existing table.
    pub from_scratch: bool,
    /// Seed for derived UUIDs.
    pub seed: Uuid,
    /// Per definition: block content size.
    pub copy_sizes: &'a [Option<u64>],
    /// Per definition: the size `Minimize=` found.
    pub minimized_sizes: &'a [Option<u64>],
    /// Move the end of an existing table to the end of the device.
    pub extend_table: bool,
    /// Per definition: a known root hash.
    pub root_hashes: &'a [Option<[u8; 32]>],
    /// Per definition: the UUID used when the derived one is taken.
    pub fallback_uuids: &'a [Uuid],
}

impl PlanInput<'_> {
    fn identified(&self) -> (Identified<'_>, Vec<Diagnostic>) {
        Draft::new(self.definitions, self.disk, self.from_scratch, self.seed)
            .identify(self.fallback_uuids)
    }

    fn contents(&self) -> Vec<Content> {
        (0..self.definitions.len())
            .map(|i| Content {
                copy_size: self.copy_sizes.get(i).copied().flatten(),
                minimized_size: self.minimized_sizes.get(i).copied().flatten(),
                root_hash: self.root_hashes.get(i).copied().flatten(),
            })
            .collect()
    }
}

/// The placed plan and the messages logged while placing.
pub fn compute(input: &PlanInput) -> Result<(Plan, Vec<Diagnostic>), (PlanError, Vec<Diagnostic>)> {
    input
        .identified()
        .0
        .measure(&input.contents())
        .place(input.disk, input.extend_table)
}

/// `--size=auto`'s answer.
pub fn minimal_disk_size(input: &PlanInput) -> u64 {
    input
        .identified()
        .0
        .measure(&input.contents())
        .minimal_disk_size()
}

/// UUID, label and "is new" of every definition's partition.
pub fn identities(input: &PlanInput) -> Vec<Option<(Uuid, String, bool)>> {
    let (identified, _) = input.identified();
    let all = identified.identities();
    let new = identified.new_identities();
    all.iter()
        .zip(&new)
        .map(|(a, n)| a.map(|i| (i.uuid, i.label.clone(), n.is_some())))
        .collect()
}

/// UUID and label of each new partition, with the messages logged deciding them.
pub fn new_partition_identities(
    input: &PlanInput,
) -> (Vec<Option<(Uuid, String)>>, Vec<Diagnostic>) {
    let (identified, diags) = input.identified();
    let new = identified
        .new_identities()
        .into_iter()
        .map(|i| i.map(|i| (i.uuid, i.label.clone())))
        .collect();
    (new, diags)
}
