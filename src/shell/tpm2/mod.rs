//! `Encrypt=tpm2` / `key-file+tpm2`: a random secret sealed to the TPM, enrolled as a
//! LUKS2 keyslot (passphrase = base64 of the secret, minimal PBKDF) plus a
//! `systemd-tpm2` token that upstream's systemd-cryptsetup and cryptsetup token plugin
//! unlock. The tpm2-tss libraries are loaded only here, on demand.
//!
//! Core (in `pure::tpm2`): TPM wire format, policy digests, bank choice, token text.
//! Here: `tss` (dlopen FFI), `seal` (the TPM conversation), and the enroller below that
//! ties them to the command line.

pub mod seal;
pub mod tss;

use std::path::PathBuf;

use crate::pure::security_args::PcrValue;
use crate::pure::tpm2::token;
use seal::{Notices, Sealed};
use tss::{Esys, Tcti, Tss};

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
    /// `--tpm2-pcrlock=`.
    pub pcrlock: Option<PathBuf>,
    /// `$SYSTEMD_TPM2_DEVICE`.
    pub env_device: Option<String>,
}

/// Where upstream looks for the signed-PCR-policy public key when none is named.
pub const DEFAULT_PUBLIC_KEY: &str = "/etc/systemd/tpm2-pcr-public-key.pem";

/// PCR 7 (secure-boot-policy), bank chosen by the TPM: upstream's default binding.
fn default_pcrs() -> Vec<PcrValue> {
    vec![PcrValue {
        hash: 0,
        index: 7,
        value: Vec::new(),
    }]
}

/// Settings this repart cannot honour yet; refused before anything is written, with
/// the option named, never ignored.
pub fn unsupported(s: &Tpm2Settings) -> Option<String> {
    if s.device_key.is_some() {
        return Some("--tpm2-device-key= (sealing offline to a TPM's public key) is not supported yet: Operation not supported".into());
    }
    if s.pcrlock.is_some() {
        return Some("--tpm2-pcrlock= is not supported yet: Operation not supported".into());
    }
    let mask = s.public_key_pcr_mask.unwrap_or(1 << 11);
    if s.public_key.is_some() && mask != 0 {
        return Some("--tpm2-public-key= (signed PCR policies) is not supported yet: Operation not supported".into());
    }
    if s.public_key.is_none() && mask != 0 && std::path::Path::new(DEFAULT_PUBLIC_KEY).exists() {
        return Some(format!(
            "{DEFAULT_PUBLIC_KEY} exists: signed PCR policies are not supported yet (pass --tpm2-public-key-pcrs= to seal without one): Operation not supported"
        ));
    }
    None
}

/// An open TPM, ready to seal one secret per encrypted partition.
pub struct Tpm2Enroller {
    esys: Esys<'static>,
    settings: Tpm2Settings,
}

/// What one enrolment needs from the LUKS side (implemented by the LUKS header).
pub trait LuksEnrollTarget {
    /// Adds a keyslot for `passphrase` with the minimal PBKDF; its number.
    fn add_keyslot_minimal_pbkdf(&mut self, passphrase: &[u8]) -> Result<u32, String>;
    /// Adds a token (complete JSON object text); its number.
    fn add_token_json(&mut self, json: &str) -> Result<u32, String>;
}

impl Tpm2Enroller {
    /// Loads the tpm2-tss libraries and the TCTI driver and connects to the TPM; the
    /// caller does this before writing anything, so a missing library or TPM leaves
    /// the target untouched.
    pub fn open(settings: &Tpm2Settings) -> Result<Tpm2Enroller, String> {
        if let Some(why) = unsupported(settings) {
            return Err(why);
        }
        let tss: &'static Tss = Box::leak(Box::new(Tss::load().map_err(|e| e.0)?));
        let tcti = Tcti::resolve(settings.device.as_deref(), settings.env_device.as_deref())
            .map_err(|e| e.0)?;
        let esys = Esys::open(tss, &tcti)
            .map_err(|e| format!("Failed to create TPM2 context: {}", e.0))?;
        Ok(Tpm2Enroller {
            esys,
            settings: settings.clone(),
        })
    }

    /// Seals a fresh secret; notices (bank choice) are returned for the caller to print.
    pub fn seal(&self, notices: &mut Notices) -> Result<Sealed, String> {
        let pcrs = self.settings.pcrs.clone().unwrap_or_else(default_pcrs);
        let pcrs = seal::complete_pcr_values(&self.esys, &pcrs, notices).map_err(|e| e.0)?;
        seal::seal(&self.esys, self.settings.seal_key_handle, &pcrs)
            .map_err(|e| format!("Failed to seal to TPM2: {}", e.0))
    }

    /// The whole enrolment into one LUKS header: seal, add the keyslot and the token.
    /// Returns the keyslot passphrase (upstream unlocks the header with it next).
    pub fn enroll(&self, target: &mut dyn LuksEnrollTarget) -> Result<Vec<u8>, String> {
        let mut notices = Notices::new();
        let sealed = self.seal(&mut notices);
        for n in notices {
            crate::shell::log::notice(n);
        }
        let mut sealed = sealed?;
        let passphrase = token::passphrase(&sealed.secret);
        sealed.token.keyslot = target.add_keyslot_minimal_pbkdf(&passphrase)?;
        target.add_token_json(&token::token_json(&sealed.token))?;
        Ok(passphrase)
    }
}
