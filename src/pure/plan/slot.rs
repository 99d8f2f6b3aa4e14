//! The planner's working record for one partition while the plan is computed.

use crate::pure::config::Definition;
use crate::pure::gpt_types::PartitionType;
use crate::pure::model::ExistingPartition;
use crate::pure::plan::PlannedPartition;
use crate::pure::plan::flags::new_partition_attrs;
use crate::pure::plan::identity::{Identity, RootHash};

/// One partition (defined, existing or both) during planning.
#[derive(Debug, Clone)]
pub struct Slot<'a> {
    /// Index into the definitions, `None` for foreign partitions.
    pub definition: Option<usize>,
    /// The definition itself.
    pub def: Option<&'a Definition>,
    /// Dropped to a foreign partition by priority: kept, never grown.
    pub foreignized: bool,
    /// Partition type.
    pub partition_type: PartitionType,
    /// The matched existing partition.
    pub existing: Option<ExistingPartition>,
    /// Current padding of an existing partition.
    pub current_padding: Option<u64>,
    /// Free area following this (existing) partition.
    pub padding_area: Option<usize>,
    /// Free area a new partition was allocated to.
    pub allocated_area: Option<usize>,
    /// Block content size (CopyBlocks or minimized image).
    pub copy_size: Option<u64>,
    /// Size found by Minimize=.
    pub minimized: Option<u64>,
    /// Minimum size a new verity hash partition without `SizeMinBytes=` reserves for
    /// its data partition's `SizeMaxBytes=`.
    pub reserved_size_min: Option<u64>,
    /// Dropped for lack of space.
    pub dropped: bool,
    /// Decided size.
    pub new_size: Option<u64>,
    /// Decided padding.
    pub new_padding: Option<u64>,
    /// Decided offset of a new partition.
    pub offset: Option<u64>,
    /// Slot number of a new partition.
    pub partno: Option<u32>,
    /// UUID and label, fixed before any content is made.
    pub identity: Identity,
    /// ROOTHASH of a verity partition.
    pub roothash: Option<RootHash>,
    /// Slot of the partition this one supplements (`SupplementFor=`), while linked.
    pub supplement_for: Option<usize>,
    /// The supplement merged into this partition while it is suppressed: its slot and
    /// definition (sizes, paddings and weights then merge with it, spec §5.7).
    pub suppressing: Option<(usize, &'a Definition)>,
}

impl<'a> Slot<'a> {
    fn blank(partition_type: PartitionType) -> Slot<'a> {
        Slot {
            definition: None,
            def: None,
            foreignized: false,
            partition_type,
            existing: None,
            current_padding: None,
            padding_area: None,
            allocated_area: None,
            copy_size: None,
            minimized: None,
            reserved_size_min: None,
            dropped: false,
            new_size: None,
            new_padding: None,
            offset: None,
            partno: None,
            identity: Identity::default(),
            roothash: None,
            supplement_for: None,
            suppressing: None,
        }
    }

    /// A slot for definition `index`.
    pub fn for_definition(index: usize, def: &'a Definition) -> Slot<'a> {
        Slot {
            definition: Some(index),
            def: Some(def),
            ..Slot::blank(def.partition_type)
        }
    }

    /// A slot for an existing partition no definition claimed.
    pub fn foreign(existing: ExistingPartition) -> Slot<'a> {
        Slot {
            existing: Some(existing.clone()),
            ..Slot::blank(PartitionType::from_uuid(existing.type_uuid))
        }
    }

    /// The definition, unless this slot is (or became) foreign.
    pub fn active_definition(&self) -> Option<&'a Definition> {
        if self.foreignized { None } else { self.def }
    }

    /// Whether the slot is a foreign partition.
    pub fn is_foreign(&self) -> bool {
        self.active_definition().is_none()
    }

    /// Current size of the existing partition.
    pub fn current_size(&self) -> Option<u64> {
        self.existing.as_ref().map(|e| e.size)
    }

    /// `SizeMinBytes=` (or the verity hash reservation), or the Minimize= result without it: a minimized partition gets no
    /// default floor, but `SizeMinBytes=` still is one (observed in upstream 257).
    pub fn size_min(&self) -> Option<u64> {
        let configured = self.def.and_then(|d| d.size_min).or(self.reserved_size_min);
        match (self.minimized, configured) {
            (Some(m), Some(c)) => Some(m.max(c)),
            (m, c) => m.or(c),
        }
    }

    /// The supplement merged into this partition, if any.
    pub fn merged(&self) -> Option<&'a Definition> {
        self.suppressing.map(|(_, d)| d)
    }

    /// `Weight=` (foreign partitions carry the default); a merged supplement's replaces
    /// the partition's own.
    pub fn weight(&self) -> u32 {
        self.merged()
            .or(self.active_definition())
            .map_or(1000, |d| d.weight)
    }

    /// `PaddingWeight=`, a merged supplement's replacing the partition's own.
    pub fn padding_weight(&self) -> u32 {
        self.merged()
            .or(self.active_definition())
            .map_or(0, |d| d.padding_weight)
    }

    /// The row this slot becomes in the plan.
    pub fn to_planned(&self) -> PlannedPartition {
        let def = self.active_definition();
        let attrs = match (&self.existing, def) {
            (Some(e), _) => e.attrs,
            (None, Some(d)) => new_partition_attrs(d).0,
            (None, None) => 0,
        };
        PlannedPartition {
            definition: def.map(|_| self.definition.unwrap_or(0)),
            path: def.map(|d| d.path.clone()),
            dropins: def.map(|d| d.dropins.clone()).unwrap_or_default(),
            partition_type: self.partition_type,
            identity: Identity {
                label: if self.identity.label.is_empty() && def.is_none() {
                    // Foreign partitions without a name show their type's name.
                    self.partition_type.name.unwrap_or_default().to_string()
                } else {
                    self.identity.label.clone()
                },
                ..self.identity.clone()
            },
            partno: self
                .existing
                .as_ref()
                .map(|e| e.partno)
                .or(self.partno)
                .unwrap_or(0),
            offset: self
                .existing
                .as_ref()
                .map(|e| e.offset)
                .or(self.offset)
                .unwrap_or(0),
            old_size: self.current_size(),
            new_size: self.new_size.unwrap_or(0),
            old_padding: self.current_padding.filter(|_| self.existing.is_some()),
            new_padding: self.new_padding.unwrap_or(0),
            attrs,
            split_path: None,
            roothash: self.roothash.filter(|_| def.is_some()),
        }
    }
}
