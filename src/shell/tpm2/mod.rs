//! `Encrypt=tpm2` / `key-file+tpm2`: a random secret sealed to the TPM, enrolled as a
//! LUKS2 keyslot (passphrase = base64 of the secret, minimal PBKDF) plus a
//! `systemd-tpm2` token that upstream's systemd-cryptsetup and cryptsetup token plugin
//! unlock. The tpm2-tss libraries are loaded only here, on demand.
//!
//! Core (in `pure::tpm2`): TPM wire format, policy digests, bank choice, token text.
//! Here: `tss` (dlopen FFI), `seal` (the TPM conversation), `offline` (`--tpm2-device-key=`:
//! no TPM), `list` (`--tpm2-device=list`), and the enroller below that
//! ties them to the command line.

pub mod list;
pub mod offline;
pub mod pcrlock;
pub mod seal;
pub mod tss;

use std::path::PathBuf;

use crate::pure::security_args::PcrValue;
use crate::pure::tpm2::pcrlock::PcrlockPolicy;
use crate::pure::tpm2::token;
use seal::{Notices, Sealed, SigningKey};
use tss::{Esys, Tcti, Tss, TssError};

/// The `--tpm2-*` options that matter for sealing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tpm2Settings {
    /// `--tpm2-device=` (None: auto).
    pub device: Option<String>,
    /// `--tpm2-device-key=`.
    pub device_key: Option<PathBuf>,
    /// `--tpm2-seal-key-handle=`.
    pub seal_key_handle: Option<u32>,
    /// `--tpm2-pcrs=` (None: not given, upstream's default PCR 7).
    pub pcrs: Option<Vec<PcrValue>>,
    /// `--tpm2-public-key=`.
    pub public_key: Option<PathBuf>,
    /// `--tpm2-public-key-pcrs=` (None: not given).
    pub public_key_pcr_mask: Option<u32>,
    /// The pcrlock policy file: `--tpm2-pcrlock=` (absolute) or the one found in
    /// [`PCRLOCK_SEARCH_DIRS`] without that option.
    pub pcrlock: Option<PathBuf>,
    /// `$SYSTEMD_TPM2_DEVICE`.
    pub env_device: Option<String>,
}

impl Tpm2Settings {
    /// The settings of a parsed command line; `env_device` is `$SYSTEMD_TPM2_DEVICE`.
    pub fn from_options(o: &crate::pure::cli::Options, env_device: Option<String>) -> Self {
        Tpm2Settings {
            device: o.tpm2_device.clone(),
            device_key: o.tpm2_device_key.clone(),
            seal_key_handle: o.tpm2_seal_key_handle,
            pcrs: o.tpm2_pcrs.clone(),
            public_key: o.tpm2_public_key.clone(),
            public_key_pcr_mask: o.tpm2_public_key_pcr_mask,
            pcrlock: pcrlock::resolve(&o.tpm2_pcrlock, &PCRLOCK_SEARCH_DIRS),
            env_device,
        }
    }
}

/// Where upstream looks for the signed-PCR-policy public key when none is named
/// (systemd's configuration directories, first found wins).
pub const DEFAULT_PUBLIC_KEY_DIRS: [&str; 4] = [
    "/etc/systemd",
    "/run/systemd",
    "/usr/local/lib/systemd",
    "/usr/lib/systemd",
];

/// PCR 11 (kernel-boot): what signed policies cover unless `--tpm2-public-key-pcrs=`.
const DEFAULT_PUBLIC_KEY_PCRS: u32 = 1 << 11;

/// The PCRs bound without `--tpm2-pcrs=`: none with a pcrlock policy (it covers the
/// PCRs), else PCR 7 (secure-boot-policy), bank chosen by the TPM.
fn default_pcrs(s: &Tpm2Settings) -> Vec<PcrValue> {
    if s.pcrlock.is_some() {
        return Vec::new();
    }
    vec![PcrValue {
        hash: 0,
        index: 7,
        value: Vec::new(),
    }]
}

/// The PCRs to bind: `--tpm2-pcrs=` or [`default_pcrs`].
fn wanted_pcrs(s: &Tpm2Settings) -> Vec<PcrValue> {
    s.pcrs.clone().unwrap_or_else(|| default_pcrs(s))
}

/// Where upstream finds a pcrlock policy (`pcrlock.json`) when `--tpm2-pcrlock=` is not
/// given, first found wins: it then binds to it instead of the default PCR 7.
pub const PCRLOCK_SEARCH_DIRS: [&str; 2] = ["/run/systemd", "/var/lib/systemd"];

/// The signing key for the policy: the named file, else upstream's default file if it
/// exists; none when its PCR mask is empty.
fn load_signing_key(s: &Tpm2Settings) -> Result<Option<SigningKey>, TssError> {
    let pcr_mask = s.public_key_pcr_mask.unwrap_or(DEFAULT_PUBLIC_KEY_PCRS);
    if pcr_mask == 0 {
        return Ok(None);
    }
    let path = match &s.public_key {
        Some(p) => p.clone(),
        None => match DEFAULT_PUBLIC_KEY_DIRS
            .iter()
            .map(|d| PathBuf::from(d).join("tpm2-pcr-public-key.pem"))
            .find(|p| p.exists())
        {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    // Upstream's words (257.13): the file is not named; a key it cannot use is an
    // I/O error (its PEM reader's).
    let pem = std::fs::read(&path).map_err(|e| {
        let errno = e.raw_os_error().unwrap_or(libc::EIO);
        TssError {
            message: format!(
                "Failed to read TPM PCR public key: {}",
                crate::shell::disk::strerror(&e)
            ),
            errno,
        }
    })?;
    crate::pure::tpm2::pubkey::tpmt_public_from_pem(&pem).map_err(|e| {
        tracing::debug!("{}: {e}", path.display());
        TssError {
            message: "Could not convert public key to TPM2B_PUBLIC: Input/output error".into(),
            errno: libc::EIO,
        }
    })?;
    Ok(Some(SigningKey { pem, pcr_mask }))
}

/// Seals one secret per encrypted partition. The TPM (or the `--tpm2-device-key=`
/// file) is reached when the first partition is enrolled, after its LUKS2 header is
/// made, as upstream's partition_encrypt() does: an unreachable TPM or an unreadable
/// key fails there, with upstream's messages.
pub struct Tpm2Enroller {
    settings: Tpm2Settings,
    /// The TPM and signing key once reached (upstream reaches them per partition; the
    /// same ones every time).
    opened: std::cell::OnceCell<Opened>,
    /// The PCR values once completed (bank chosen, values read): upstream keeps them
    /// for the next partition, so the bank notice appears once per run.
    pcrs: std::cell::RefCell<Option<Vec<PcrValue>>>,
}

/// What sealing needs, in the order upstream gets it.
struct Opened {
    signing_key: Option<SigningKey>,
    /// The pcrlock policy (read before the TPM is reached, as upstream).
    pcrlock: Option<PcrlockPolicy>,
    /// The TSS libraries for checking the pcrlock policy (None: not installed, which
    /// fails only if a pcrlock policy is used).
    tss: Option<&'static Tss>,
    /// The TPM, or the public key of the one sealed to offline (`--tpm2-device-key=`).
    tpm: Target,
}

/// Where secrets are sealed.
enum Target {
    /// A TPM present here.
    Device(Esys<'static>),
    /// A TPM elsewhere, by its storage root key's public part.
    DeviceKey(crate::pure::tpm2::offline::ParentPublic),
}

/// What one enrolment needs from the LUKS side (implemented by the LUKS header).
pub trait LuksEnrollTarget {
    /// Adds a keyslot for `passphrase` with the minimal PBKDF; its number.
    fn add_keyslot_minimal_pbkdf(&mut self, passphrase: &[u8]) -> Result<u32, String>;
    /// Adds a token (complete JSON object text); its number.
    fn add_token_json(&mut self, json: &str) -> Result<u32, String>;
}

impl std::fmt::Display for TssError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<TssError> for String {
    fn from(e: TssError) -> String {
        e.message
    }
}

impl Tpm2Enroller {
    /// Refuses the settings this repart cannot honour (before anything is written);
    /// the TPM itself is reached by the first [`Tpm2Enroller::enroll`].
    pub fn open(settings: &Tpm2Settings) -> Result<Tpm2Enroller, TssError> {
        Ok(Tpm2Enroller {
            settings: settings.clone(),
            opened: std::cell::OnceCell::new(),
            pcrs: std::cell::RefCell::new(None),
        })
    }

    /// The signing key, then the TPM: connected, or the device key read (all PCR
    /// values needed then), as upstream's partition_encrypt() in that order.
    fn reach(&self) -> Result<&Opened, TssError> {
        if let Some(opened) = self.opened.get() {
            return Ok(opened);
        }
        let settings = &self.settings;
        let signing_key = load_signing_key(settings)?;
        let pcrlock = match &settings.pcrlock {
            Some(path) => Some(pcrlock::load(path)?),
            None => None,
        };
        let tpm = match &settings.device_key {
            Some(path) => {
                let parent = offline::load_device_key(path)?;
                let wanted = wanted_pcrs(settings);
                if wanted.iter().any(|v| v.value.is_empty()) {
                    return Err(TssError::invalid(
                        "Must provide all PCR values when using TPM2 device key.",
                    ));
                }
                Target::DeviceKey(parent)
            }
            None => Target::Device(connect(settings)?),
        };
        let tss = match (&pcrlock, &tpm) {
            (None, _) => None,
            (Some(_), Target::Device(esys)) => Some(esys.tss()),
            (Some(_), Target::DeviceKey(_)) => Tss::load().ok().map(|t| &*Box::leak(Box::new(t))),
        };
        Ok(self.opened.get_or_init(|| Opened {
            signing_key,
            pcrlock,
            tss,
            tpm,
        }))
    }

    /// Seals a fresh secret; notices (bank choice) are returned for the caller to print.
    /// In upstream's order: the signing key and the pcrlock policy read, the TPM
    /// reached, the PCR values completed, the policies computed, the secret sealed.
    pub fn seal(&self, notices: &mut Notices) -> Result<Sealed, TssError> {
        let opened = self.reach()?;
        let pcrs = match &opened.tpm {
            Target::DeviceKey(_) => {
                let mut pcrs = wanted_pcrs(&self.settings);
                pcrs.sort();
                pcrs
            }
            Target::Device(esys) => {
                let known = self.pcrs.borrow().clone();
                match known {
                    Some(p) => p,
                    None => {
                        let p =
                            seal::complete_pcr_values(esys, &wanted_pcrs(&self.settings), notices)?;
                        *self.pcrs.borrow_mut() = Some(p.clone());
                        p
                    }
                }
            }
        };
        let binding = seal::binding(
            opened.tss,
            &pcrs,
            opened.signing_key.as_ref(),
            opened.pcrlock.as_ref(),
        )?;
        let pcrlock_nv = opened.pcrlock.as_ref().map(|p| p.nv_handle.clone());
        match &opened.tpm {
            Target::DeviceKey(parent) => {
                if binding.policies.len() > 1 {
                    return Err(TssError {
                        message: "Combined signed PCR policies and pcrlock policies cannot be calculated offline, currently.".into(),
                        errno: libc::EOPNOTSUPP,
                    });
                }
                offline::seal_offline(
                    parent,
                    self.settings.seal_key_handle,
                    &binding,
                    opened.signing_key.as_ref(),
                    pcrlock_nv,
                )
            }
            Target::Device(esys) => seal::seal(
                esys,
                self.settings.seal_key_handle,
                &binding,
                opened.signing_key.as_ref(),
                pcrlock_nv,
            )
            .map_err(|e| TssError {
                message: format!("Failed to seal to TPM2: {}", e.message),
                errno: e.errno,
            }),
        }
    }

    /// The whole enrolment into one LUKS header: seal, add the keyslot and the token.
    /// Returns the keyslot passphrase (upstream unlocks the header with it next).
    pub fn enroll(&self, target: &mut dyn LuksEnrollTarget) -> Result<Vec<u8>, TssError> {
        let mut notices = Notices::new();
        let sealed = self.seal(&mut notices);
        for n in notices {
            crate::shell::log::notice(n);
        }
        let mut sealed = sealed?;
        let passphrase = token::passphrase(&sealed.secret);
        sealed.token.keyslot = target
            .add_keyslot_minimal_pbkdf(&passphrase)
            .map_err(TssError::tpm)?;
        target
            .add_token_json(&token::token_json(&sealed.token))
            .map_err(TssError::tpm)?;
        Ok(passphrase)
    }
}

/// Loads the TSS libraries and connects to the TPM. Upstream shows only that the
/// context could not be made (ENOTRECOVERABLE), the driver's reason at debug level; a
/// missing library or TCTI driver is named as such.
fn connect(settings: &Tpm2Settings) -> Result<Esys<'static>, TssError> {
    let tss = Tss::load().map_err(|e| {
        tracing::debug!("{}", e.message);
        TssError {
            message: "TPM2 support is not installed.".into(),
            errno: e.errno,
        }
    })?;
    let tss: &'static Tss = Box::leak(Box::new(tss));
    let tcti = Tcti::resolve(settings.device.as_deref(), settings.env_device.as_deref())?;
    Esys::open(tss, &tcti).map_err(|e| {
        if e.errno == libc::ENOPKG {
            return e;
        }
        tracing::debug!("{}", e.message);
        TssError {
            message: "Failed to create TPM2 context: State not recoverable".into(),
            errno: libc::ENOTRECOVERABLE,
        }
    })
}

/// The LUKS side's header, as the enrolment sees it.
struct Header<'a, 'b>(&'a mut crate::shell::crypt::LuksHeader<'b>);

impl LuksEnrollTarget for Header<'_, '_> {
    fn add_keyslot_minimal_pbkdf(&mut self, passphrase: &[u8]) -> Result<u32, String> {
        self.0
            .add_keyslot_minimal_pbkdf(passphrase)
            .map_err(|e| e.to_string())
    }
    fn add_token_json(&mut self, json: &str) -> Result<u32, String> {
        self.0.add_token_json(json).map_err(|e| e.to_string())
    }
}

impl crate::shell::crypt::Tpm2Enroll for Tpm2Enroller {
    fn enroll(
        &self,
        header: &mut crate::shell::crypt::LuksHeader<'_>,
        _partno: u32,
    ) -> Result<Vec<u8>, TssError> {
        Tpm2Enroller::enroll(self, &mut Header(header))
    }
}
