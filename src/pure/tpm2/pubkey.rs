//! `--tpm2-public-key=`: the PEM public key that signs PCR policies, as the TPM sees it
//! (TPMT_PUBLIC, its name) and the PolicyAuthorize step it adds to the sealing policy.
//! Pure: takes the file's bytes. RSA and NIST P-256/384/521 keys, as upstream accepts.

use sha2::{Digest, Sha256};

use super::marshal::{Writer, alg};

/// TPM_CC_PolicyAuthorize.
const CC_POLICY_AUTHORIZE: u32 = 0x0000_016A;
/// decrypt | sign | userWithAuth: how upstream describes an external verification key.
const KEY_ATTRIBUTES: u32 = (1 << 17) | (1 << 18) | (1 << 6);

/// Why the key file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicKeyError {
    /// Not a PEM "PUBLIC KEY" block.
    #[error("not a PEM public key")]
    NotPem,
    /// DER structure not understood.
    #[error("malformed public key")]
    Malformed,
    /// Neither RSA nor a supported NIST curve.
    #[error("unsupported public key type")]
    Unsupported,
}

/// One DER element: (tag, contents, rest).
fn der(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = data.split_first()?;
    let (&len0, mut rest) = rest.split_first()?;
    let len = if len0 < 0x80 {
        usize::from(len0)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let l = rest[..n]
            .iter()
            .fold(0usize, |l, &b| (l << 8) | usize::from(b));
        rest = &rest[n..];
        l
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];

fn strip_leading_zeros(mut b: &[u8]) -> &[u8] {
    while b.len() > 1 && b[0] == 0 {
        b = &b[1..];
    }
    b
}

/// The key as a marshalled TPMT_PUBLIC.
pub fn tpmt_public_from_pem(pem: &[u8]) -> Result<Vec<u8>, PublicKeyError> {
    let text = std::str::from_utf8(pem).map_err(|_| PublicKeyError::NotPem)?;
    let begin = "-----BEGIN PUBLIC KEY-----";
    let start = text.find(begin).ok_or(PublicKeyError::NotPem)? + begin.len();
    let end = text[start..]
        .find("-----END PUBLIC KEY-----")
        .ok_or(PublicKeyError::NotPem)?;
    let spki =
        crate::pure::base64::decode(&text[start..start + end]).ok_or(PublicKeyError::NotPem)?;
    let bad = PublicKeyError::Malformed;
    let (0x30, body, _) = der(&spki).ok_or(bad.clone())? else {
        return Err(bad);
    };
    let (0x30, algid, rest) = der(body).ok_or(bad.clone())? else {
        return Err(bad);
    };
    let (0x03, bits, _) = der(rest).ok_or(bad.clone())? else {
        return Err(bad);
    };
    let key = bits.get(1..).ok_or(bad.clone())?;
    let (0x06, oid, params) = der(algid).ok_or(bad.clone())? else {
        return Err(bad);
    };
    let mut w = Writer::default();
    if oid == OID_RSA {
        let (0x30, seq, _) = der(key).ok_or(bad.clone())? else {
            return Err(bad);
        };
        let (0x02, n, rest) = der(seq).ok_or(bad.clone())? else {
            return Err(bad);
        };
        let (0x02, e, _) = der(rest).ok_or(bad.clone())? else {
            return Err(bad);
        };
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        if e.len() > 4 {
            return Err(PublicKeyError::Unsupported);
        }
        let e = e.iter().fold(0u32, |v, &b| (v << 8) | u32::from(b));
        w.u16(alg::RSA)
            .u16(alg::SHA256)
            .u32(KEY_ATTRIBUTES)
            .sized(&[]);
        w.u16(alg::NULL).u16(alg::NULL).u16((n.len() * 8) as u16);
        w.u32(e);
        w.sized(n);
        return Ok(w.0);
    }
    if oid == OID_EC {
        let (0x06, curve, _) = der(params).ok_or(bad.clone())? else {
            return Err(bad);
        };
        let (id, size) = match curve {
            c if c == OID_P256 => (0x0003, 32),
            c if c == OID_P384 => (0x0004, 48),
            c if c == OID_P521 => (0x0005, 66),
            _ => return Err(PublicKeyError::Unsupported),
        };
        if key.len() != 1 + 2 * size || key[0] != 0x04 {
            return Err(PublicKeyError::Unsupported);
        }
        w.u16(alg::ECC)
            .u16(alg::SHA256)
            .u32(KEY_ATTRIBUTES)
            .sized(&[]);
        w.u16(alg::NULL).u16(alg::NULL).u16(id).u16(alg::NULL);
        w.sized(&key[1..=size]).sized(&key[1 + size..]);
        return Ok(w.0);
    }
    Err(PublicKeyError::Unsupported)
}

/// The TPM name of a key: its name algorithm, then the digest of its TPMT_PUBLIC.
pub fn name(tpmt_public: &[u8]) -> Vec<u8> {
    let mut n = alg::SHA256.to_be_bytes().to_vec();
    n.extend_from_slice(&Sha256::digest(tpmt_public));
    n
}

/// PolicyAuthorize by the key named `key_name`, with an empty policy reference.
pub fn policy_authorize(old: &[u8; 32], key_name: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(old);
    h.update(CC_POLICY_AUTHORIZE.to_be_bytes());
    h.update(key_name);
    let first: [u8; 32] = h.finalize().into();
    Sha256::digest(first).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pure::tpm2::policy::{ZERO_DIGEST, policy_pcr};

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    // Keys made with openssl; expected digests are the tpm2-policy-hash of tokens the
    // oracle wrote with --tpm2-public-key= (and PCR 7 = 0 where noted).
    const RSA_PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAxjbAjVSxjUImdOagjCwZ
kobQNQnJLQy1PxAK+9c2zG41o7lwImcewVj2yFrbKhb8D4RXVuocFUY19lXPyQLM
gyUkV4Wkg4rfemrj7fEZ2IAvlBEz94srMHKkvn7fiU8aU7O495tbXrDTlBSj9YWN
ZUeWeX9qjHejpaJ5lqeO6uVQLLfBgKDJpZbK5CSHZzM5JuHfzXw5emQcMdUII6VU
1uveLysg9Po6aKX4UQkBVMX81ZNafZs/eu9MDGdyFFc2KQk9WANBCTzc5JGw6PWG
7J+1vBh8Otbu8yZ7uhIZT2BBUyR9Npe3E/klaX2jFt5En8QoyVAWzYb7rO5H4z5y
jwIDAQAB
-----END PUBLIC KEY-----
";
    const EC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUHZCaFhc9GaivK4vhh2ooJmIlrOY
rs+/QITe04KhGuvziyaov2nwkyL7n1ZrlC00Bp5Pq7n80BQe+U8CTYtA3w==
-----END PUBLIC KEY-----
";

    #[test]
    fn rsa_key_then_pcr7() {
        let key = tpmt_public_from_pem(RSA_PEM.as_bytes()).unwrap();
        let d = policy_authorize(&ZERO_DIGEST, &name(&key));
        let d = policy_pcr(&d, alg::SHA256, 1 << 7, &[vec![0; 32]]);
        assert_eq!(
            hex(&d),
            "332b3eb1f6acaa37bc9c7adf1fc57e8469f9a9c7ceb81d36c218d4d5d28a0225"
        );
    }

    #[test]
    fn ec_key_alone() {
        let key = tpmt_public_from_pem(EC_PEM.as_bytes()).unwrap();
        let d = policy_authorize(&ZERO_DIGEST, &name(&key));
        assert_eq!(
            hex(&d),
            "874ead8a0738cfcd94e441ba2fe105526937d59854f0cb89bc63e7b77eac32f9"
        );
    }

    #[test]
    fn refuses_garbage() {
        assert_eq!(tpmt_public_from_pem(b"hello"), Err(PublicKeyError::NotPem));
        let bad = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
        assert_eq!(
            tpmt_public_from_pem(bad.as_bytes()),
            Err(PublicKeyError::Malformed)
        );
    }
}
