//! `--tpm2-device-key=`: sealing to a TPM that is not here, from its storage root key's
//! public part. The random secret and seed and the asymmetric protection of the seed
//! (RSA-OAEP, or ECDH with an ephemeral key, as upstream) are made here; the rest is
//! `pure::tpm2::offline`.

use std::path::Path;

use openssl::bn::{BigNum, BigNumContext};
use openssl::derive::Deriver;
use openssl::ec::{EcGroup, EcKey};
use openssl::encrypt::Encrypter;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::{Padding, Rsa};

use super::seal::{Binding, Sealed, SigningKey, getrandom};
use super::tss::TssError;
use crate::pure::tpm2::offline::{
    DUPLICATE_LABEL, NameHash, OfflineError, ParentKey, ParentPublic, ecc_point, ecc_seed,
    parent_handle, parse_parent, seal,
};
use crate::pure::tpm2::token::TokenFields;

/// Reads the TPM2B_PUBLIC file; errors as upstream words them.
pub fn load_device_key(path: &Path) -> Result<ParentPublic, TssError> {
    // Upstream makes the option's path absolute when parsing it; its message shows that.
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let bytes = std::fs::read(&path).map_err(|e| TssError {
        message: format!(
            "Failed to read device key from file '{}': {}",
            path.display(),
            crate::shell::disk::strerror(&e)
        ),
        errno: e.raw_os_error().unwrap_or(libc::EIO),
    })?;
    parse_parent(&bytes).map_err(|e| TssError {
        message: match e {
            OfflineError::Unmarshal | OfflineError::TrailingGarbage(_) => e.to_string(),
            // Parsed, but not a key upstream can seal to: it fails when sealing.
            _ => format!("Failed to seal to TPM2: {e}"),
        },
        errno: e.errno(),
    })
}

/// "Failed to seal to TPM2: …" with the errno's text.
fn seal_failed(errno: i32) -> TssError {
    let e = TssError::errno(errno);
    TssError {
        message: format!("Failed to seal to TPM2: {}", e.message),
        errno,
    }
}

fn openssl_error(e: openssl::error::ErrorStack) -> TssError {
    TssError {
        message: format!("Failed to seal to TPM2: {e}"),
        errno: libc::EIO,
    }
}

fn digest(h: NameHash) -> MessageDigest {
    match h {
        NameHash::Sha256 => MessageDigest::sha256(),
        NameHash::Sha384 => MessageDigest::sha384(),
        NameHash::Sha512 => MessageDigest::sha512(),
    }
}

/// A fresh seed and its protection under the parent's key.
fn protected_seed(parent: &ParentPublic) -> Result<(Vec<u8>, Vec<u8>), TssError> {
    match &parent.key {
        ParentKey::Rsa { modulus, exponent } => {
            let mut seed = vec![0u8; parent.name_hash.size()];
            getrandom(&mut seed).map_err(|e| seal_failed(e.raw_os_error().unwrap_or(libc::EIO)))?;
            let rsa = Rsa::from_public_components(
                BigNum::from_slice(modulus).map_err(openssl_error)?,
                BigNum::from_u32(*exponent).map_err(openssl_error)?,
            )
            .map_err(openssl_error)?;
            let key = PKey::from_rsa(rsa).map_err(openssl_error)?;
            let mut enc = Encrypter::new(&key).map_err(openssl_error)?;
            enc.set_rsa_padding(Padding::PKCS1_OAEP)
                .map_err(openssl_error)?;
            enc.set_rsa_oaep_md(digest(parent.name_hash))
                .map_err(openssl_error)?;
            enc.set_rsa_mgf1_md(digest(parent.name_hash))
                .map_err(openssl_error)?;
            let label = format!("{DUPLICATE_LABEL}\0");
            enc.set_rsa_oaep_label(label.as_bytes())
                .map_err(openssl_error)?;
            let mut out = vec![0u8; enc.encrypt_len(&seed).map_err(openssl_error)?];
            let n = enc.encrypt(&seed, &mut out).map_err(openssl_error)?;
            out.truncate(n);
            Ok((seed, out))
        }
        ParentKey::Ecc { curve, x, y } => {
            let nid = match curve {
                0x0003 => Nid::X9_62_PRIME256V1,
                0x0004 => Nid::SECP384R1,
                0x0005 => Nid::SECP521R1,
                _ => return Err(seal_failed(libc::EOPNOTSUPP)),
            };
            let group = EcGroup::from_curve_name(nid).map_err(openssl_error)?;
            let (px, py) = (
                BigNum::from_slice(x).map_err(openssl_error)?,
                BigNum::from_slice(y).map_err(openssl_error)?,
            );
            let theirs = EcKey::from_public_key_affine_coordinates(&group, &px, &py)
                .map_err(openssl_error)?;
            let ours = EcKey::generate(&group).map_err(openssl_error)?;
            let mut ctx = BigNumContext::new().map_err(openssl_error)?;
            let (mut ex, mut ey) = (
                BigNum::new().map_err(openssl_error)?,
                BigNum::new().map_err(openssl_error)?,
            );
            ours.public_key()
                .affine_coordinates(&group, &mut ex, &mut ey, &mut ctx)
                .map_err(openssl_error)?;
            let ours = PKey::from_ec_key(ours).map_err(openssl_error)?;
            let theirs = PKey::from_ec_key(theirs).map_err(openssl_error)?;
            let mut d = Deriver::new(&ours).map_err(openssl_error)?;
            d.set_peer(&theirs).map_err(openssl_error)?;
            let z = d.derive_to_vec().map_err(openssl_error)?;
            // Coordinates without leading zeros, as upstream passes them.
            let (ex, ey) = (ex.to_vec(), ey.to_vec());
            Ok((ecc_seed(parent, &z, &ex), ecc_point(&ex, &ey)))
        }
    }
}

/// Seals a fresh secret for `parent` with the same policy as a TPM-side seal (one
/// shard: the caller refuses two, as upstream).
pub fn seal_offline(
    parent: &ParentPublic,
    seal_key_handle: Option<u32>,
    binding: &Binding,
    signing_key: Option<&SigningKey>,
    pcrlock_nv: Option<Vec<u8>>,
) -> Result<Sealed, TssError> {
    let policy = binding.policies[0];
    let (handle, transient) = parent_handle(seal_key_handle).map_err(|e| seal_failed(e.errno()))?;
    if transient {
        tracing::warn!("Handle is transient, sealed secret may not be recoverable.");
    }
    let mut secret = vec![0u8; 32];
    getrandom(&mut secret).map_err(|e| TssError {
        message: format!("Failed to generate secret key: {e}"),
        errno: e.raw_os_error().unwrap_or(libc::EIO),
    })?;
    let (mut seed, encrypted_seed) = protected_seed(parent)?;
    let sealed = seal(parent, handle, &policy, &seed, &encrypted_seed, &secret);
    seed.iter_mut().for_each(|b| *b = 0);
    Ok(Sealed {
        secret,
        token: TokenFields {
            keyslot: 0,
            blobs: vec![sealed.blob],
            pcr_mask: binding.mask,
            pcr_bank: binding.bank,
            policy_hashes: vec![policy.to_vec()],
            pcrlock_nv,
            signing_key: signing_key.map(|k| (k.pcr_mask, k.pem.clone())),
            srk: sealed.srk,
        },
    })
}
