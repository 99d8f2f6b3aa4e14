//! `--tpm2-device=list`: the table of TPM2 devices upstream prints (PATH, DEVICE,
//! DRIVER), one row per resource-manager node in `/sys/class/tpmrm`, unsorted.

use super::RenderOptions;
use super::table::{self, Align, Cell, Style, Table};

/// One TPM2 device as sysfs describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tpm2Device {
    /// `/dev/tpmrmN`.
    pub node: String,
    /// The last component of the `device` link (e.g. `MSFT0101:00`), if readable.
    pub device: Option<String>,
    /// The last component of the device's `driver` link (e.g. `tpm_crb`), if readable.
    pub driver: Option<String>,
}

fn cell(text: Option<&str>) -> Cell {
    Cell {
        text: text.unwrap_or_default().to_string(),
        color: None,
    }
}

/// The table text (header always shown); `None` when there is no device (upstream then
/// logs "No suitable TPM2 devices found." instead).
pub fn tpm2_device_table(devices: &[Tpm2Device], opts: &RenderOptions) -> Option<String> {
    if devices.is_empty() {
        return None;
    }
    let t = Table {
        header: Some(vec!["PATH".into(), "DEVICE".into(), "DRIVER".into()]),
        align: vec![Align::Left; 3],
        rows: devices
            .iter()
            .map(|d| {
                vec![
                    cell(Some(&d.node)),
                    cell(d.device.as_deref()),
                    cell(d.driver.as_deref()),
                ]
            })
            .collect(),
    };
    let style = Style {
        max_width: opts.tty.then_some(opts.columns),
        colors: opts.colors,
        grey: opts.color_mode.grey(),
        underline: opts.underline,
        utf8: opts.utf8,
    };
    Some(table::render(&t, &style))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_in_given_order_missing_links_empty() {
        let d = |n: &str, dev: Option<&str>, drv: Option<&str>| Tpm2Device {
            node: n.into(),
            device: dev.map(Into::into),
            driver: drv.map(Into::into),
        };
        let opts = RenderOptions::default();
        assert_eq!(tpm2_device_table(&[], &opts), None);
        let text = tpm2_device_table(
            &[
                d("/dev/tpmrm1", Some("MSFT0101:00"), Some("tpm_crb")),
                d("/dev/tpmrm0", None, None),
            ],
            &opts,
        )
        .unwrap();
        assert_eq!(
            text,
            // Only the last column's trailing blanks are dropped, as upstream's table.
            "PATH        DEVICE      DRIVER\n/dev/tpmrm1 MSFT0101:00 tpm_crb\n/dev/tpmrm0             \n"
        );
    }
}
