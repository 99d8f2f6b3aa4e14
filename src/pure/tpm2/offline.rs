//! `--tpm2-device-key=`: sealing without the TPM, to the public key of its storage root
//! key (a TPM2B_PUBLIC file), as upstream 257 does. The result is a keyed-hash object in
//! the TPM's duplication format (TPM 2.0 Part 1, "Protected storage" and "Duplication"):
//! the TPM imports it under the parent (TPM2_Import, done by the unlocker) with the
//! seed the parent's key protects. Pure: the random seed and secret come in, and the
//! asymmetric protection of the seed (RSA-OAEP or ECDH) is done by the caller.

use hmac::{Hmac, Mac};
use openssl::symm::{Cipher, encrypt};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::marshal::{Reader, Writer, alg};

/// Why the key file or the parent key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfflineError {
    /// The file is not a TPM2B_PUBLIC this repart understands.
    #[error("Could not unmarshal public key from file.")]
    Unmarshal,
    /// Bytes after the structure.
    #[error("Found {0} bytes of trailing garbage in public key file.")]
    TrailingGarbage(usize),
    /// A parent key or name algorithm upstream cannot seal to either.
    #[error("Operation not supported")]
    Unsupported,
    /// Neither a persistent, transient nor NV handle.
    #[error("Invalid argument")]
    BadHandle,
}

impl OfflineError {
    /// The errno upstream fails with.
    pub fn errno(&self) -> i32 {
        const EINVAL: i32 = 22;
        const EOPNOTSUPP: i32 = 95;
        match self {
            OfflineError::Unsupported => EOPNOTSUPP,
            OfflineError::Unmarshal
            | OfflineError::TrailingGarbage(_)
            | OfflineError::BadHandle => EINVAL,
        }
    }
}

/// The parent's name (and KDF) hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameHash {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl NameHash {
    fn from_alg(id: u16) -> Option<NameHash> {
        match id {
            alg::SHA256 => Some(NameHash::Sha256),
            alg::SHA384 => Some(NameHash::Sha384),
            alg::SHA512 => Some(NameHash::Sha512),
            _ => None,
        }
    }
    /// The TPM algorithm id.
    pub fn alg(self) -> u16 {
        match self {
            NameHash::Sha256 => alg::SHA256,
            NameHash::Sha384 => alg::SHA384,
            NameHash::Sha512 => alg::SHA512,
        }
    }
    /// Digest size in bytes.
    pub fn size(self) -> usize {
        match self {
            NameHash::Sha256 => 32,
            NameHash::Sha384 => 48,
            NameHash::Sha512 => 64,
        }
    }
    /// The digest of the concatenated parts.
    pub fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            parts.iter().for_each(|p| d.update(p));
            d.finalize().to_vec()
        }
        match self {
            NameHash::Sha256 => run::<Sha256>(parts),
            NameHash::Sha384 => run::<Sha384>(parts),
            NameHash::Sha512 => run::<Sha512>(parts),
        }
    }
    /// HMAC of the concatenated parts.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .expect("HMAC takes keys of any length");
            parts.iter().for_each(|p| m.update(p));
            m.finalize().into_bytes().to_vec()
        }
        match self {
            NameHash::Sha256 => run::<Hmac<Sha256>>(key, parts),
            NameHash::Sha384 => run::<Hmac<Sha384>>(key, parts),
            NameHash::Sha512 => run::<Hmac<Sha512>>(key, parts),
        }
    }
}

/// The parent's asymmetric key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParentKey {
    /// RSA: modulus and public exponent.
    Rsa {
        /// Big-endian modulus.
        modulus: Vec<u8>,
        /// Exponent (the TPM's 0 already turned into 65537).
        exponent: u32,
    },
    /// ECC: TPM curve id and the point.
    Ecc {
        /// TPM_ECC_CURVE.
        curve: u16,
        /// Big-endian x.
        x: Vec<u8>,
        /// Big-endian y.
        y: Vec<u8>,
    },
}

/// A storage parent as read from its TPM2B_PUBLIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentPublic {
    /// The TPM2B_PUBLIC as given (goes into the token's `tpm2_srk`).
    pub tpm2b: Vec<u8>,
    /// Its name algorithm.
    pub name_hash: NameHash,
    /// Its symmetric algorithm's key bits (AES-128-CFB only, as every SRK template).
    pub sym_bits: u16,
    /// The key.
    pub key: ParentKey,
}

impl ParentPublic {
    /// The TPMT_PUBLIC inside.
    fn tpmt(&self) -> &[u8] {
        &self.tpm2b[2..]
    }
    /// The TPM name: name algorithm, then the digest of the TPMT_PUBLIC.
    pub fn name(&self) -> Vec<u8> {
        object_name(self.name_hash, self.tpmt())
    }
}

fn object_name(h: NameHash, tpmt: &[u8]) -> Vec<u8> {
    [h.alg().to_be_bytes().to_vec(), h.digest(&[tpmt])].concat()
}

/// Skips a TPMT scheme: the algorithm, and its hash unless it is NULL.
fn scheme(r: &mut Reader<'_>) -> Option<()> {
    if r.u16()? != alg::NULL {
        r.u16()?;
    }
    Some(())
}

/// Parses a TPM2B_PUBLIC file (`systemd-analyze srk`, `tpm2_readpublic -o`).
pub fn parse_parent(file: &[u8]) -> Result<ParentPublic, OfflineError> {
    let bad = OfflineError::Unmarshal;
    let mut r = Reader(file);
    let tpmt = r.sized().ok_or(bad.clone())?;
    let rest = r.0.len();
    let mut t = Reader(tpmt);
    let ty = t.u16().ok_or(bad.clone())?;
    let name_alg = t.u16().ok_or(bad.clone())?;
    t.u32().ok_or(bad.clone())?;
    t.sized().ok_or(bad.clone())?;
    let sym_alg = t.u16().ok_or(bad.clone())?;
    let (sym_bits, sym_mode) = if sym_alg == alg::NULL {
        (0, alg::NULL)
    } else {
        (t.u16().ok_or(bad.clone())?, t.u16().ok_or(bad.clone())?)
    };
    let key = match ty {
        alg::RSA => {
            scheme(&mut t).ok_or(bad.clone())?;
            t.u16().ok_or(bad.clone())?;
            let exponent = t.u32().ok_or(bad.clone())?;
            let modulus = t.sized().ok_or(bad.clone())?.to_vec();
            ParentKey::Rsa {
                modulus,
                exponent: if exponent == 0 { 65537 } else { exponent },
            }
        }
        alg::ECC => {
            scheme(&mut t).ok_or(bad.clone())?;
            let curve = t.u16().ok_or(bad.clone())?;
            scheme(&mut t).ok_or(bad.clone())?;
            let x = t.sized().ok_or(bad.clone())?.to_vec();
            let y = t.sized().ok_or(bad.clone())?.to_vec();
            ParentKey::Ecc { curve, x, y }
        }
        _ => return Err(OfflineError::Unsupported),
    };
    if !t.0.is_empty() {
        return Err(bad);
    }
    if rest != 0 {
        return Err(OfflineError::TrailingGarbage(rest));
    }
    let name_hash = NameHash::from_alg(name_alg).ok_or(OfflineError::Unsupported)?;
    if sym_alg != alg::AES || sym_mode != alg::CFB || sym_bits != 128 {
        return Err(OfflineError::Unsupported);
    }
    Ok(ParentPublic {
        tpm2b: file.to_vec(),
        name_hash,
        sym_bits,
        key,
    })
}

/// The counter loop both TPM KDFs share: `block(i)` for i = 1, 2, … concatenated and
/// cut to `bits` (rounded up to bytes).
fn counter_mode(bits: u32, mut block: impl FnMut(u32) -> Vec<u8>) -> Vec<u8> {
    let len = bits.div_ceil(8) as usize;
    let mut out = Vec::new();
    let mut i = 1u32;
    while out.len() < len {
        out.extend(block(i));
        i += 1;
    }
    out.truncate(len);
    out
}

/// KDFa (TPM 2.0 Part 1, 11.4.10.2): HMAC in counter mode over
/// `i || label || 0 || context_u || context_v || bits`.
pub fn kdfa(
    h: NameHash,
    key: &[u8],
    label: &str,
    context_u: &[u8],
    context_v: &[u8],
    bits: u32,
) -> Vec<u8> {
    let mut out = counter_mode(bits, |i| {
        h.hmac(
            key,
            &[
                &i.to_be_bytes(),
                label.as_bytes(),
                &[0],
                context_u,
                context_v,
                &bits.to_be_bytes(),
            ],
        )
    });
    if !bits.is_multiple_of(8) {
        out[0] &= 0xff >> (8 - bits % 8);
    }
    out
}

/// KDFe (TPM 2.0 Part 1, 11.4.10.3, SP 800-56A concatenation KDF):
/// `H(i || Z || label || 0 || party_u || party_v)`.
pub fn kdfe(
    h: NameHash,
    z: &[u8],
    label: &str,
    party_u: &[u8],
    party_v: &[u8],
    bits: u32,
) -> Vec<u8> {
    counter_mode(bits, |i| {
        h.digest(&[
            &i.to_be_bytes(),
            z,
            label.as_bytes(),
            &[0],
            party_u,
            party_v,
        ])
    })
}

/// The label the seed is protected with (RSA-OAEP label with its NUL, KDFe label).
pub const DUPLICATE_LABEL: &str = "DUPLICATE";

/// The seed from an ECDH shared secret `z` with the ephemeral key's x (upstream's
/// derivation: KDFe over the ephemeral and the parent's x coordinates).
pub fn ecc_seed(parent: &ParentPublic, z: &[u8], ephemeral_x: &[u8]) -> Vec<u8> {
    let ParentKey::Ecc { x, .. } = &parent.key else {
        return Vec::new();
    };
    let h = parent.name_hash;
    kdfe(h, z, DUPLICATE_LABEL, ephemeral_x, x, (h.size() * 8) as u32)
}

/// The seed as the TPM receives it for an ECC parent: the ephemeral point.
pub fn ecc_point(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut w = Writer::default();
    w.sized(x).sized(y);
    w.0
}

/// The handle the sealed object's parent lives at (0: the SRK); whether upstream warns
/// that it is transient.
pub fn parent_handle(seal_key_handle: Option<u32>) -> Result<(u32, bool), OfflineError> {
    let h = match seal_key_handle.unwrap_or(0) {
        0 => 0x8100_0001,
        h => h,
    };
    match h >> 24 {
        0x81 | 0x01 => Ok((h, false)),
        0x80 => Ok((h, true)),
        _ => Err(OfflineError::BadHandle),
    }
}

/// What sealing computed: the token's blob and its `tpm2_srk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineSealed {
    /// TPM2B_PRIVATE, TPM2B_PUBLIC and the TPM2B_ENCRYPTED_SECRET of the seed.
    pub blob: Vec<u8>,
    /// The parent as Esys_TR_Serialize would describe it.
    pub srk: Vec<u8>,
}

/// Seals `secret` for `parent` at `handle` with `policy`: `seed` is the random
/// duplication seed, `encrypted_seed` its protection under the parent's key.
pub fn seal(
    parent: &ParentPublic,
    handle: u32,
    policy: &[u8],
    seed: &[u8],
    encrypted_seed: &[u8],
    secret: &[u8],
) -> OfflineSealed {
    let h = parent.name_hash;
    // The sealed object: keyed hash, no attributes (upstream's offline choice), its
    // unique field binding the seed and the data as the TPM checks on import.
    let mut tpmt = Writer::default();
    tpmt.u16(alg::KEYEDHASH).u16(h.alg()).u32(0).sized(policy);
    tpmt.u16(alg::NULL).sized(&h.digest(&[seed, secret]));
    let name = object_name(h, &tpmt.0);

    let mut sensitive = Writer::default();
    sensitive
        .u16(alg::KEYEDHASH)
        .sized(&[])
        .sized(seed)
        .sized(secret);
    let mut sensitive2b = Writer::default();
    sensitive2b.sized(&sensitive.0);

    let storage_key = kdfa(h, seed, "STORAGE", &name, &[], u32::from(parent.sym_bits));
    let encrypted = encrypt(
        Cipher::aes_128_cfb128(),
        &storage_key,
        Some(&[0; 16]),
        &sensitive2b.0,
    )
    .expect("AES-128-CFB of a buffer");
    let integrity_key = kdfa(h, seed, "INTEGRITY", &[], &[], (h.size() * 8) as u32);
    let outer_hmac = h.hmac(&integrity_key, &[&encrypted, &name]);

    let mut private = Writer::default();
    private.sized(&outer_hmac).bytes(&encrypted);
    let mut blob = Writer::default();
    blob.sized(&private.0).sized(&tpmt.0).sized(encrypted_seed);

    let mut srk = Writer::default();
    srk.u32(handle)
        .sized(&parent.name())
        .u32(1)
        .bytes(&parent.tpm2b);
    OfflineSealed {
        blob: blob.0,
        srk: srk.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    // Expected values from OpenSSL's KBKDF and SSKDF (`openssl kdf`, the primitives
    // upstream calls), not from this code.
    #[test]
    fn kdfa_matches_openssl_kbkdf() {
        // openssl kdf -keylen 16 -kdfopt mac:HMAC -kdfopt digest:SHA256
        //   -kdfopt hexkey:00..1f -kdfopt salt:STORAGE -kdfopt hexinfo:000b0102 KBKDF
        let key: Vec<u8> = (0..32).collect();
        assert_eq!(
            hex(&kdfa(
                NameHash::Sha256,
                &key,
                "STORAGE",
                &[0, 0x0b, 1, 2],
                &[],
                128
            )),
            KBKDF_STORAGE
        );
        // -keylen 32 -kdfopt salt:INTEGRITY (no info)
        assert_eq!(
            hex(&kdfa(NameHash::Sha256, &key, "INTEGRITY", &[], &[], 256)),
            KBKDF_INTEGRITY
        );
    }

    #[test]
    fn kdfe_matches_openssl_sskdf() {
        // openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:00..1f
        //   -kdfopt hexinfo:4455504c494341544500 || aabb || ccdd SSKDF
        let z: Vec<u8> = (0..32).collect();
        assert_eq!(
            hex(&kdfe(
                NameHash::Sha256,
                &z,
                "DUPLICATE",
                &[0xaa, 0xbb],
                &[0xcc, 0xdd],
                256
            )),
            SSKDF_DUPLICATE
        );
    }

    const KBKDF_STORAGE: &str = "a889755b2f86d140a821afc0272ab93b";
    const KBKDF_INTEGRITY: &str =
        "bacf689f634ece301e1f1b15b072d9c87db6a69585db42b1a0cb8f73ebe2692e";
    const SSKDF_DUPLICATE: &str =
        "fef657ee4f81eb1d7bed5a7330da0a15c571f93c8c53a5af898bf1900ca8a026";

    fn srk_file() -> Vec<u8> {
        // An ECC SRK of the TCG template with a made-up point.
        let mut t = Writer::default();
        t.u16(alg::ECC).u16(alg::SHA256).u32(0x0003_0472).sized(&[]);
        t.u16(alg::AES)
            .u16(128)
            .u16(alg::CFB)
            .u16(alg::NULL)
            .u16(3)
            .u16(alg::NULL);
        t.sized(&[1; 32]).sized(&[2; 32]);
        let mut w = Writer::default();
        w.sized(&t.0);
        w.0
    }

    #[test]
    fn parses_srk_and_refuses_garbage() {
        let f = srk_file();
        let p = parse_parent(&f).unwrap();
        assert_eq!(p.name_hash, NameHash::Sha256);
        assert_eq!(
            p.key,
            ParentKey::Ecc {
                curve: 3,
                x: vec![1; 32],
                y: vec![2; 32]
            }
        );
        let mut g = f.clone();
        g.push(0);
        assert_eq!(parse_parent(&g), Err(OfflineError::TrailingGarbage(1)));
        assert_eq!(parse_parent(&f[..10]), Err(OfflineError::Unmarshal));
    }

    #[test]
    fn blob_layout_and_serialized_parent() {
        let p = parse_parent(&srk_file()).unwrap();
        let s = seal(&p, 0x8100_0001, &[7; 32], &[5; 32], &[9; 68], &[3; 32]);
        let mut r = Reader(&s.blob);
        let private = r.sized().unwrap();
        // outer HMAC (2 + 32), then the encrypted TPM2B_SENSITIVE (2 + 2+2+34+34).
        assert_eq!(private.len(), 34 + 74);
        let public = r.sized().unwrap();
        assert_eq!(&public[..8], &[0, 8, 0, 0x0b, 0, 0, 0, 0]);
        assert_eq!(r.sized().unwrap(), &[9; 68]);
        assert!(r.0.is_empty());
        assert_eq!(&s.srk[..4], &[0x81, 0, 0, 1]);
        assert_eq!(&s.srk[4..6], &[0, 34]);
        assert_eq!(&s.srk[40..44], &[0, 0, 0, 1]);
        assert_eq!(&s.srk[44..], &srk_file()[..]);
    }

    #[test]
    fn handles() {
        assert_eq!(parent_handle(None), Ok((0x8100_0001, false)));
        assert_eq!(parent_handle(Some(0x8000_0001)), Ok((0x8000_0001, true)));
        assert_eq!(parent_handle(Some(0x0150_0000)), Ok((0x0150_0000, false)));
        assert_eq!(
            parent_handle(Some(0x4000_0001)),
            Err(OfflineError::BadHandle)
        );
    }
}
