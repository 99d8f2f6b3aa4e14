//! Factory reset (spec §12): removing the partitions whose definitions say
//! `FactoryReset=yes`, so the normal run re-creates them empty. Requested with
//! `--factory-reset=yes` or, in the initrd only and when the option is not given, by
//! `systemd.factory_reset=` on the kernel command line or the `FactoryReset` EFI
//! variable.

use std::path::Path;

use crate::pure::model::ExistingTable;
use crate::shell::disk::gpt::NewTable;
use crate::shell::disk::{DiskError, Target};

/// The EFI variable, named with systemd's vendor GUID.
const EFI_VARIABLE: &str =
    "/sys/firmware/efi/efivars/FactoryReset-8cf2644b-4b0b-428f-9387-6d876050dc67";

/// Where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// No factory reset.
    No,
    /// `--factory-reset=yes` or the kernel command line.
    Yes,
    /// The EFI variable (removed once the reset was done).
    EfiVariable,
}

/// Value of `systemd.factory_reset` in a kernel command line (a bare switch is true).
pub fn from_cmdline(cmdline: &str) -> Option<bool> {
    cmdline.split_whitespace().rev().find_map(|word| {
        let value = word.strip_prefix("systemd.factory_reset")?;
        match value.strip_prefix('=') {
            Some(v) => crate::pure::config::values::parse_boolean(v),
            None if value.is_empty() => Some(true),
            None => None,
        }
    })
}

/// An EFI variable's payload (4 attribute bytes, then UTF-16LE text) as a boolean.
pub fn from_efi_payload(bytes: &[u8]) -> Option<bool> {
    let text: Vec<u16> = bytes
        .get(4..)?
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    crate::pure::config::values::parse_boolean(String::from_utf16(&text).ok()?.trim())
}

/// Decides whether a factory reset was asked for.
pub fn requested(option: Option<bool>, in_initrd: bool) -> Request {
    match option {
        Some(true) => return Request::Yes,
        Some(false) => return Request::No,
        None if !in_initrd => return Request::No,
        None => {}
    }
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    if let Some(value) = from_cmdline(&cmdline) {
        return if value { Request::Yes } else { Request::No };
    }
    match std::fs::read(EFI_VARIABLE)
        .ok()
        .and_then(|b| from_efi_payload(&b))
    {
        Some(true) => Request::EfiVariable,
        _ => Request::No,
    }
}

/// Removes partitions `partnos` from `table` and writes the result at once.
pub fn remove_partitions(
    target: &mut Target,
    table: &ExistingTable,
    sector_size: u64,
    partnos: &[u32],
) -> Result<(), DiskError> {
    let mut new = NewTable::from_existing(table, sector_size);
    new.entries.retain(|e| !partnos.contains(&e.partno));
    target.write_table(sector_size, &new)
}

/// Removes the EFI variable after a reset it requested (efivarfs files are immutable
/// until that flag is cleared).
pub fn unset_efi_variable() -> std::io::Result<()> {
    let path = Path::new(EFI_VARIABLE);
    clear_immutable(path);
    std::fs::remove_file(path)
}

fn clear_immutable(path: &Path) {
    use std::os::fd::AsRawFd;
    const FS_IMMUTABLE_FL: libc::c_long = 0x10;
    let Ok(file) = std::fs::File::open(path) else {
        return;
    };
    let mut flags: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS/SETFLAGS read and write one long we own.
    unsafe {
        if libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) == 0 {
            flags &= !FS_IMMUTABLE_FL;
            libc::ioctl(file.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_command_line() {
        assert_eq!(from_cmdline("quiet systemd.factory_reset=1"), Some(true));
        assert_eq!(from_cmdline("systemd.factory_reset"), Some(true));
        assert_eq!(from_cmdline("systemd.factory_reset=no ro"), Some(false));
        assert_eq!(from_cmdline("systemd.factory_resetx=1 ro"), None);
        assert_eq!(from_cmdline("root=/dev/sda"), None);
    }

    #[test]
    fn efi_payload() {
        let mut bytes = vec![7, 0, 0, 0];
        bytes.extend("yes".encode_utf16().flat_map(u16::to_le_bytes));
        bytes.extend([0, 0]);
        assert_eq!(from_efi_payload(&bytes), Some(true));
        assert_eq!(from_efi_payload(&[7, 0, 0]), None);
    }
}
