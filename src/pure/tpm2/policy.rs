//! The policy a sealed secret is bound to, computed as the TPM computes it in a policy
//! session (so nothing but sha256 is needed to predict it), and the choice of the PCR
//! bank when the user named none. Pure.

use sha2::{Digest, Sha256};

use super::marshal::{alg, pcr_selection};

/// TPM_CC_PolicyPCR.
const CC_POLICY_PCR: u32 = 0x0000_017F;

/// The policy digest every session starts with.
pub const ZERO_DIGEST: [u8; 32] = [0; 32];

/// PolicyPCR: binds to the PCRs of `mask` in `bank` having `values` (in PCR order).
pub fn policy_pcr(old: &[u8; 32], bank: u16, mask: u32, values: &[Vec<u8>]) -> [u8; 32] {
    let mut pcr_digest = Sha256::new();
    for v in values {
        pcr_digest.update(v);
    }
    let mut h = Sha256::new();
    h.update(old);
    h.update(CC_POLICY_PCR.to_be_bytes());
    h.update(pcr_selection(Some(bank), mask));
    h.update(pcr_digest.finalize());
    h.finalize().into()
}

/// The policies of the shards a secret is split into, in upstream's order of steps:
/// PolicyAuthorize by the signing key (`key_name`), PolicyAuthorizeNV of a pcrlock
/// policy (`pcrlock_nv_public`), PolicyPCR (`pcr`: bank, mask, values). The two
/// authorizations cannot be combined in one policy, so with both the secret gets two
/// shards: the first with the signing key, the second with the pcrlock policy, both
/// with the PCRs. Err: the shard whose pcrlock step failed, and why.
pub fn sealing_policies(
    key_name: Option<&[u8]>,
    pcrlock_nv_public: Option<&[u8]>,
    pcr: Option<(u16, u32, &[Vec<u8>])>,
) -> Result<Vec<[u8; 32]>, (usize, super::pcrlock::NvPublicError)> {
    let with_pcrs = |mut d: [u8; 32]| {
        if let Some((bank, mask, values)) = pcr {
            d = policy_pcr(&d, bank, mask, values);
        }
        d
    };
    let nv = |shard: usize, nv_public: &[u8]| {
        super::pcrlock::policy_authorize_nv(&ZERO_DIGEST, nv_public).map_err(|e| (shard, e))
    };
    Ok(match (key_name, pcrlock_nv_public) {
        (Some(name), None) => vec![with_pcrs(super::pubkey::policy_authorize(
            &ZERO_DIGEST,
            name,
        ))],
        (None, Some(nv_public)) => vec![with_pcrs(nv(0, nv_public)?)],
        (Some(name), Some(nv_public)) => vec![
            with_pcrs(super::pubkey::policy_authorize(&ZERO_DIGEST, name)),
            with_pcrs(nv(1, nv_public)?),
        ],
        (None, None) => vec![with_pcrs(ZERO_DIGEST)],
    })
}

/// A PCR value "measured" by nothing: all zeros or all ones (upstream's test for
/// firmware that did not initialize the PCR).
pub fn pcr_is_unset(value: &[u8]) -> bool {
    value.iter().all(|&b| b == 0) || value.iter().all(|&b| b == 0xff)
}

/// What the TPM offers for the bank choice: per bank (sha1/sha256 only), whether it
/// covers all 24 PCRs and whether any of the selected PCRs holds a real measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankInfo {
    /// The bank's algorithm.
    pub hash: u16,
    /// Any selected PCR of this bank is neither all-zero nor all-ones.
    pub measured: bool,
}

/// The bank chosen for PCRs given without one, and the notice upstream prints about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankChoice {
    /// The algorithm.
    pub hash: u16,
    /// A notice for stderr, if any.
    pub notice: Option<&'static str>,
}

/// Upstream's preference: sha256 with measured PCRs, else sha1 with measured PCRs,
/// else sha256, else sha1 (both "unenforced", with a notice). `banks` lists the full
/// (24-PCR) sha1/sha256 banks in the TPM's order. `None`: neither bank exists.
pub fn choose_bank(banks: &[BankInfo]) -> Option<BankChoice> {
    let mut supported = None;
    let mut measured = None;
    for b in banks {
        if b.hash == alg::SHA256 {
            supported = Some(alg::SHA256);
            if b.measured {
                measured = Some(alg::SHA256);
                break;
            }
        } else if b.hash == alg::SHA1 {
            supported.get_or_insert(alg::SHA1);
            if b.measured {
                measured.get_or_insert(alg::SHA1);
            }
        }
    }
    let choice = |hash, notice| Some(BankChoice { hash, notice });
    match (measured, supported) {
        (Some(alg::SHA256), _) => choice(alg::SHA256, None),
        (Some(_), Some(alg::SHA256)) => choice(
            alg::SHA1,
            Some(
                "TPM2 device supports both SHA1 and SHA256 PCR banks, but only SHA1 PCRs are valid, falling back to SHA1 bank. This reduces the security level substantially.",
            ),
        ),
        (Some(_), _) => choice(
            alg::SHA1,
            Some(
                "TPM2 device lacks support for SHA256 PCR bank, but SHA1 bank is supported and SHA1 PCRs are valid, falling back to SHA1 bank. This reduces the security level substantially.",
            ),
        ),
        (None, Some(alg::SHA256)) => choice(
            alg::SHA256,
            Some(
                "TPM2 device supports SHA256 PCR bank but none of the selected PCRs are valid! Firmware apparently did not initialize any of the selected PCRs. Proceeding anyway with SHA256 bank. PCR policy effectively unenforced!",
            ),
        ),
        (None, Some(_)) => choice(
            alg::SHA1,
            Some(
                "TPM2 device lacks support for SHA256 bank, but SHA1 bank is supported, but none of the selected PCRs are valid! Firmware apparently did not initialize any of the selected PCRs. Proceeding anyway with SHA1 bank. PCR policy effectively unenforced!",
            ),
        ),
        (None, None) => None,
    }
}

/// Upstream's name of a PCR bank in the token (`tpm2-pcr-bank`).
pub fn bank_name(hash: u16) -> Option<&'static str> {
    match hash {
        alg::SHA1 => Some("sha1"),
        alg::SHA256 => Some("sha256"),
        alg::SHA384 => Some("sha384"),
        alg::SHA512 => Some("sha512"),
        _ => None,
    }
}

/// The digest size of a bank.
pub fn bank_digest_size(hash: u16) -> Option<usize> {
    match hash {
        alg::SHA1 => Some(20),
        alg::SHA256 => Some(32),
        alg::SHA384 => Some(48),
        alg::SHA512 => Some(64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    // Expected digests: tpm2-policy-hash of tokens the oracle (systemd-repart 257.13)
    // wrote against swtpm with these PCR values.
    #[test]
    fn pcr7_zero() {
        let d = policy_pcr(&ZERO_DIGEST, alg::SHA256, 1 << 7, &[vec![0; 32]]);
        assert_eq!(
            hex(&d),
            "8b5682d81b29435d08d79278150611dc7e5923b2fefcce684a09577b40130a8b"
        );
    }

    #[test]
    fn pcr7_one() {
        let mut v = vec![0; 32];
        v[31] = 1;
        let d = policy_pcr(&ZERO_DIGEST, alg::SHA256, 1 << 7, &[v]);
        assert_eq!(
            hex(&d),
            "082e16fa8e47dc9abe7132ae35d303e399ad58e3cdcbea506cad56383e238af2"
        );
    }

    #[test]
    fn pcr0_and_7_zero() {
        let d = policy_pcr(
            &ZERO_DIGEST,
            alg::SHA256,
            1 | (1 << 7),
            &[vec![0; 32], vec![0; 32]],
        );
        assert_eq!(
            hex(&d),
            "02e3642b3e29eeccfffd8031c00a6f0a0febe5ceea2f6ef6b0322fe81598cf31"
        );
    }

    #[test]
    fn bank_preference() {
        let b = |hash, measured| BankInfo { hash, measured };
        assert_eq!(choose_bank(&[b(alg::SHA256, true)]).unwrap().notice, None);
        let c = choose_bank(&[b(alg::SHA1, true), b(alg::SHA256, false)]).unwrap();
        assert_eq!(c.hash, alg::SHA1);
        assert!(c.notice.unwrap().starts_with("TPM2 device supports both"));
        let c = choose_bank(&[b(alg::SHA256, false)]).unwrap();
        assert_eq!(c.hash, alg::SHA256);
        assert!(c.notice.unwrap().contains("Proceeding anyway with SHA256"));
        assert_eq!(choose_bank(&[]), None);
    }

    #[test]
    fn unset_values() {
        assert!(pcr_is_unset(&[0; 32]));
        assert!(pcr_is_unset(&[0xff; 32]));
        assert!(!pcr_is_unset(&[0, 1]));
    }
}
