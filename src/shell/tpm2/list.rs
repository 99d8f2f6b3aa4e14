//! `--tpm2-device=list`: the TPM2 resource-manager devices sysfs knows, read the way
//! upstream does (directory order, the `device` and `driver` links' last components).
//! Like upstream, the TPM2 stack must be loadable even to list.

use std::fs;
use std::path::Path;

use crate::pure::output::Tpm2Device;

/// The devices below `class_dir` (`/sys/class/tpmrm`); none when it does not exist.
pub fn devices(class_dir: &Path) -> Result<Vec<Tpm2Device>, String> {
    let entries = match fs::read_dir(class_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(format!(
                "Failed to open {}: {}",
                class_dir.display(),
                crate::shell::disk::strerror(&e)
            ));
        }
    };
    let last = |p: &Path| {
        fs::read_link(p)
            .ok()
            .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let device_link = entry.path().join("device");
        let device = last(&device_link);
        let driver = device
            .as_ref()
            .and_then(|_| last(&device_link.join("driver")));
        out.push(Tpm2Device {
            node: format!("/dev/{name}"),
            device,
            driver,
        });
    }
    Ok(out)
}

/// Loads the TPM2 libraries, then lists; the text for stdout, or the message for
/// stderr (info when there is nothing, error when the stack is missing).
pub fn list(
    class_dir: &Path,
    opts: &crate::pure::output::RenderOptions,
) -> Result<Option<String>, String> {
    if let Err(e) = super::tss::Tss::load() {
        tracing::debug!("{}", e.message);
        return Err("TPM2 support is not installed.".into());
    }
    let devices = devices(class_dir)?;
    Ok(crate::pure::output::tpm2_device_table(&devices, opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_links_and_tolerates_missing_ones() {
        let tmp = std::env::temp_dir().join(format!("repart-tpmrm-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        let class = tmp.join("class");
        let dev = tmp.join("devices/MSFT0101:00");
        fs::create_dir_all(dev.join("tpmrm/tpmrm0")).unwrap();
        fs::create_dir_all(tmp.join("drivers/tpm_crb")).unwrap();
        std::os::unix::fs::symlink("../../drivers/tpm_crb", dev.join("driver")).unwrap();
        fs::create_dir_all(&class).unwrap();
        std::os::unix::fs::symlink(&dev, dev.join("tpmrm/tpmrm0/device")).unwrap();
        std::os::unix::fs::symlink(dev.join("tpmrm/tpmrm0"), class.join("tpmrm0")).unwrap();
        assert_eq!(
            devices(&class).unwrap(),
            vec![Tpm2Device {
                node: "/dev/tpmrm0".into(),
                device: Some("MSFT0101:00".into()),
                driver: Some("tpm_crb".into()),
            }]
        );
        assert_eq!(devices(&tmp.join("none")).unwrap(), Vec::new());
        fs::remove_dir_all(&tmp).unwrap();
    }
}
