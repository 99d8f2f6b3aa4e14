//! Sealing a fresh secret to the TPM the way upstream's repart 257 does for
//! `Encrypt=tpm2`: under the storage root key (created and persisted at 0x81000001 if
//! the TPM has none) or `--tpm2-seal-key-handle=`, bound by a policy (signing key,
//! pcrlock policy, the selected PCRs' current or given values). Shell: talks to the TPM.

use super::tss::{Esys, Tr, Tss, TssError};
use crate::pure::security_args::PcrValue;
use crate::pure::tpm2::marshal::{
    BankSelection, ECC_NIST_P256, PrimaryAlg, Reader, alg, parse_digest_list, parse_pcr_selection,
    pcr_selection, sealed_object_template, sensitive_create, srk_template,
};
use crate::pure::tpm2::pcrlock::{NvPublicError, PcrlockPolicy};
use crate::pure::tpm2::policy::{
    BankInfo, bank_digest_size, choose_bank, pcr_is_unset, sealing_policies,
};
use crate::pure::tpm2::pubkey::{name, tpmt_public_from_pem};
use crate::pure::tpm2::token::TokenFields;

/// The persistent handle of the storage root key (TCG provisioning guidance).
pub const SRK_HANDLE: u32 = 0x8100_0001;

const CAP_ALGS: u32 = 0;
const CAP_HANDLES: u32 = 1;
const CAP_PCRS: u32 = 5;
const CAP_ECC_CURVES: u32 = 8;

/// A sealed secret: the passphrase material and what the token records (its keyslot
/// is filled in by the caller once the keyslot exists).
pub struct Sealed {
    /// 32 random bytes; base64 of them is the keyslot passphrase.
    pub secret: Vec<u8>,
    /// The token fields, `keyslot` still 0.
    pub token: TokenFields,
}

impl Drop for Sealed {
    fn drop(&mut self) {
        self.secret.iter_mut().for_each(|b| *b = 0);
    }
}

/// Notices for stderr, printed by the caller as they happen upstream.
pub type Notices = Vec<&'static str>;

fn capability(esys: &Esys<'_>, cap: u32, property: u32, count: u32) -> Result<Vec<u8>, TssError> {
    let data = esys.get_capability(cap, property, count)?;
    // TPMS_CAPABILITY_DATA: the capability, then its list.
    Ok(data.get(4..).unwrap_or_default().to_vec())
}

/// Whether the TPM has an object at `handle` (a capability query, so a missing key is
/// not an error the library logs).
fn handle_exists(esys: &Esys<'_>, handle: u32) -> Result<bool, TssError> {
    let list = capability(esys, CAP_HANDLES, handle, 1)?;
    let mut r = Reader(&list);
    Ok(r.u32().unwrap_or(0) >= 1 && r.u32() == Some(handle))
}

fn supports_ecc_p256(esys: &Esys<'_>) -> Result<bool, TssError> {
    let algs = capability(esys, CAP_ALGS, u32::from(alg::ECC), 1)?;
    let mut r = Reader(&algs);
    if !(r.u32().unwrap_or(0) >= 1 && r.u16() == Some(alg::ECC)) {
        return Ok(false);
    }
    let curves = capability(esys, CAP_ECC_CURVES, u32::from(ECC_NIST_P256), 1)?;
    let mut r = Reader(&curves);
    Ok(r.u32().unwrap_or(0) >= 1 && r.u16() == Some(ECC_NIST_P256))
}

/// The key the secret is sealed under.
fn parent_key(esys: &Esys<'_>, seal_key_handle: Option<u32>) -> Result<Tr, TssError> {
    let handle = seal_key_handle.unwrap_or(0);
    if handle != 0 && handle != SRK_HANDLE {
        // Upstream logs the reason at debug level and fails with the bare errno.
        if !matches!(handle >> 24, 0x80 | 0x81) {
            tracing::debug!("Seal key handle 0x{handle:x} is neither transient nor persistent.");
            return Err(TssError::errno(libc::EINVAL));
        }
        if !handle_exists(esys, handle)? {
            tracing::debug!("Could not find seal key handle 0x{handle:x}.");
            return Err(TssError::errno(libc::ENOENT));
        }
        return esys.from_tpm_public(handle);
    }
    if handle_exists(esys, SRK_HANDLE)? {
        return esys.from_tpm_public(SRK_HANDLE);
    }
    let alg = if supports_ecc_p256(esys)? {
        PrimaryAlg::Ecc
    } else {
        PrimaryAlg::Rsa
    };
    let transient = esys.create_primary(&srk_template(alg))?;
    let persistent = esys.persist(transient, SRK_HANDLE);
    esys.flush(transient);
    persistent
}

/// The full sha1/sha256 banks of the TPM, in its order.
fn pcr_banks(esys: &Esys<'_>) -> Result<Vec<BankSelection>, TssError> {
    let list = capability(esys, CAP_PCRS, 0, 1)?;
    let banks = parse_pcr_selection(&mut Reader(&list))
        .ok_or_else(|| TssError::tpm("Malformed PCR bank list from TPM."))?;
    Ok(banks
        .into_iter()
        .filter(|b| b.mask & 0xff_ffff == 0xff_ffff)
        .collect())
}

/// The current values of the PCRs of `mask` in `bank`, in PCR order (several reads:
/// a TPM returns at most 8 per call).
fn read_pcrs(esys: &Esys<'_>, bank: u16, mask: u32) -> Result<Vec<(u32, Vec<u8>)>, TssError> {
    let mut left = mask;
    let mut out = Vec::new();
    while left != 0 {
        let (sel, values) = esys.pcr_read(&pcr_selection(Some(bank), left))?;
        let read = parse_pcr_selection(&mut Reader(&sel)).unwrap_or_default();
        let values = parse_digest_list(&mut Reader(&values)).unwrap_or_default();
        let got = read
            .iter()
            .filter(|b| b.hash == bank)
            .fold(0, |m, b| m | b.mask)
            & left;
        if got == 0 || got.count_ones() as usize != values.len() {
            return Err(TssError::tpm(
                "Could not read pcr values: PCR bank not available in TPM.",
            ));
        }
        let indices = (0..32).filter(|i| got & (1 << i) != 0);
        out.extend(indices.zip(values));
        left &= !got;
    }
    out.sort();
    Ok(out)
}

/// The PCR values to seal to: entries without a bank get the best bank (with
/// upstream's notice), entries without a value get the TPM's current value.
pub fn complete_pcr_values(
    esys: &Esys<'_>,
    values: &[PcrValue],
    notices: &mut Notices,
) -> Result<Vec<PcrValue>, TssError> {
    let mut values = values.to_vec();
    let bankless = values
        .iter()
        .filter(|v| v.hash == 0)
        .fold(0u32, |m, v| m | (1 << v.index));
    if bankless != 0 {
        let mut infos = Vec::new();
        for b in pcr_banks(esys)? {
            if b.hash != alg::SHA1 && b.hash != alg::SHA256 {
                continue;
            }
            let measured = read_pcrs(esys, b.hash, bankless)?
                .iter()
                .any(|(_, v)| !pcr_is_unset(v));
            infos.push(BankInfo {
                hash: b.hash,
                measured,
            });
        }
        let choice = choose_bank(&infos).ok_or_else(|| {
            TssError::tpm("TPM2 module supports neither SHA1 nor SHA256 PCR banks, cannot operate.")
        })?;
        notices.extend(choice.notice);
        values
            .iter_mut()
            .filter(|v| v.hash == 0)
            .for_each(|v| v.hash = choice.hash);
    }
    let mut by_bank: Vec<(u16, u32)> = Vec::new();
    for v in values.iter().filter(|v| v.value.is_empty()) {
        match by_bank.iter_mut().find(|(h, _)| *h == v.hash) {
            Some((_, m)) => *m |= 1 << v.index,
            None => by_bank.push((v.hash, 1 << v.index)),
        }
    }
    for (bank, mask) in by_bank {
        for (index, value) in read_pcrs(esys, bank, mask)? {
            if let Some(v) = values
                .iter_mut()
                .find(|v| v.hash == bank && v.index == index)
            {
                v.value = value;
            }
        }
    }
    values.sort();
    Ok(values)
}

/// A signed-PCR-policy key: the PEM file's bytes and the PCRs it signs policies for.
pub struct SigningKey {
    /// The PEM text as read (stored in the token as is).
    pub pem: Vec<u8>,
    /// `--tpm2-public-key-pcrs=` (never 0 here).
    pub pcr_mask: u32,
}

/// How a secret is bound: the policy of each shard (one, or two with both a signing
/// key and a pcrlock policy), and the PCR bank and mask for the token.
pub struct Binding {
    /// Per shard.
    pub policies: Vec<[u8; 32]>,
    /// The bank of the PCRs (0: none).
    pub bank: u16,
    /// The PCRs.
    pub mask: u32,
}

/// The NV public area of a pcrlock policy through libtss2-mu's unmarshal function, as
/// upstream checks it (the library's own complaints included).
fn check_nv_public(tss: Option<&Tss>, nv_public: &[u8]) -> Result<(), NvPublicError> {
    let Some(tss) = tss else {
        tracing::debug!("TPM2 support not installed.");
        return Err(NvPublicError::Unmarshal);
    };
    match tss.unmarshalled_len("TPM2B_NV_PUBLIC", nv_public) {
        Err(e) => {
            tracing::debug!("{}", e.message);
            Err(NvPublicError::Unmarshal)
        }
        Ok(n) if n != nv_public.len() => Err(NvPublicError::Garbage),
        Ok(_) => Ok(()),
    }
}

/// The sealing policies (see [`sealing_policies`]) for `pcrs` (complete, one bank),
/// the signing key and the pcrlock policy (`tss`: to check its NV public area).
pub fn binding(
    tss: Option<&Tss>,
    pcrs: &[PcrValue],
    signing_key: Option<&SigningKey>,
    pcrlock: Option<&PcrlockPolicy>,
) -> Result<Binding, TssError> {
    let bank = pcrs.first().map_or(0, |v| v.hash);
    if pcrs.iter().any(|v| v.hash != bank) {
        return Err(TssError::invalid("Multiple PCR banks selected."));
    }
    if pcrs
        .iter()
        .any(|v| Some(v.value.len()) != bank_digest_size(bank))
    {
        return Err(TssError::invalid("PCR value of the wrong size."));
    }
    let mask = pcrs.iter().fold(0u32, |m, v| m | (1 << v.index));
    let values: Vec<Vec<u8>> = pcrs.iter().map(|v| v.value.clone()).collect();
    let key_name = match signing_key {
        Some(key) => Some(name(&tpmt_public_from_pem(&key.pem).map_err(|e| {
            TssError::invalid(format!("Failed to convert public key to TPM2B_PUBLIC: {e}"))
        })?)),
        None => None,
    };
    let pcr = (!pcrs.is_empty()).then_some((bank, mask, values.as_slice()));
    // The shard whose policy holds the pcrlock step: the second with a signing key.
    let pcrlock_shard = usize::from(key_name.is_some());
    let policies = match pcrlock {
        Some(p) => check_nv_public(tss, &p.nv_public).map_err(|e| (pcrlock_shard, e)),
        None => Ok(()),
    }
    .and_then(|()| {
        sealing_policies(
            key_name.as_deref(),
            pcrlock.map(|p| p.nv_public.as_slice()),
            pcr,
        )
    })
    .map_err(|(shard, e)| {
        if e == NvPublicError::Garbage {
            tracing::error!("{e}");
        } else {
            tracing::debug!("{e}");
        }
        let errno = e.errno();
        TssError {
            message: format!(
                "Could not calculate sealing policy digest for shard {shard}: {}",
                crate::shell::disk::strerror(&std::io::Error::from_raw_os_error(errno))
            ),
            errno,
        }
    })?;
    Ok(Binding {
        policies,
        bank,
        mask,
    })
}

/// Seals random bytes under the parent key, 32 per shard, each shard's object with its
/// policy of `binding`; `pcrlock_nv` for the token.
pub fn seal(
    esys: &Esys<'_>,
    seal_key_handle: Option<u32>,
    binding: &Binding,
    signing_key: Option<&SigningKey>,
    pcrlock_nv: Option<Vec<u8>>,
) -> Result<Sealed, TssError> {
    let parent = parent_key(esys, seal_key_handle)?;
    let mut secret = vec![0u8; 32 * binding.policies.len()];
    getrandom(&mut secret).map_err(|e| TssError {
        message: format!("Failed to generate secret key: {e}"),
        errno: e.raw_os_error().unwrap_or(libc::EIO),
    })?;
    let session = esys.encryption_session(parent)?;
    let mut blobs = Vec::new();
    for (policy, part) in binding.policies.iter().zip(secret.chunks(32)) {
        let created = esys.create(
            parent,
            session,
            &sensitive_create(part),
            &sealed_object_template(policy),
        );
        match created {
            Ok((private, public)) => blobs.push([private, public].concat()),
            Err(e) => {
                esys.flush(session);
                return Err(e);
            }
        }
    }
    esys.flush(session);
    let srk = esys.serialize(parent)?;
    Ok(Sealed {
        secret,
        token: TokenFields {
            keyslot: 0,
            blobs,
            pcr_mask: binding.mask,
            pcr_bank: binding.bank,
            policy_hashes: binding.policies.iter().map(|p| p.to_vec()).collect(),
            pcrlock_nv,
            signing_key: signing_key.map(|k| (k.pcr_mask, k.pem.clone())),
            srk,
        },
    })
}

pub(crate) fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: writes at most the remaining bytes of `buf`.
        let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(())
}
