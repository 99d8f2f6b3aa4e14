//! TPM 2.0 wire format (big-endian, sized buffers) of the few structures repart sends:
//! key templates, the sealed secret, PCR selections. Pure. The bytes are handed to
//! libtss2-mu, which turns them into its C structures, so we never mirror those layouts.

/// TPM2_ALG_ID values used here.
pub mod alg {
    /// RSA.
    pub const RSA: u16 = 0x0001;
    /// SHA-1.
    pub const SHA1: u16 = 0x0004;
    /// AES.
    pub const AES: u16 = 0x0006;
    /// Keyed hash (the object type of a sealed secret).
    pub const KEYEDHASH: u16 = 0x0008;
    /// SHA-256.
    pub const SHA256: u16 = 0x000B;
    /// SHA-384.
    pub const SHA384: u16 = 0x000C;
    /// SHA-512.
    pub const SHA512: u16 = 0x000D;
    /// The empty algorithm.
    pub const NULL: u16 = 0x0010;
    /// ECC.
    pub const ECC: u16 = 0x0023;
    /// Cipher feedback mode.
    pub const CFB: u16 = 0x0043;
}

/// TPM_ECC_NIST_P256.
pub const ECC_NIST_P256: u16 = 0x0003;

/// Object attributes (TPMA_OBJECT bits).
mod attr {
    pub const FIXED_TPM: u32 = 1 << 1;
    pub const FIXED_PARENT: u32 = 1 << 4;
    pub const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
    pub const USER_WITH_AUTH: u32 = 1 << 6;
    pub const NO_DA: u32 = 1 << 10;
    pub const RESTRICTED: u32 = 1 << 16;
    pub const DECRYPT: u32 = 1 << 17;
}

/// A growing big-endian buffer.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    /// Appends a u8.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    /// Appends a big-endian u16.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// Appends a big-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    /// Appends a TPM2B: a u16 size, then the bytes.
    pub fn sized(&mut self, b: &[u8]) -> &mut Self {
        self.u16(b.len() as u16).bytes(b)
    }
}

/// The primary key algorithm of a storage root key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrimaryAlg {
    /// NIST P-256.
    Ecc,
    /// RSA 2048.
    Rsa,
}

/// AES-128-CFB as TPMT_SYM_DEF(_OBJECT): the SRK's and the sessions' cipher.
pub fn aes128_cfb() -> Vec<u8> {
    let mut w = Writer::default();
    w.u16(alg::AES).u16(128).u16(alg::CFB);
    w.0
}

/// The storage root key template of the TCG provisioning guidance (as TPM2B_PUBLIC):
/// restricted decryption key, user auth, no dictionary-attack protection, empty unique.
/// Same template as upstream, so the SRK is the same key whoever creates it first.
pub fn srk_template(alg: PrimaryAlg) -> Vec<u8> {
    let attrs = attr::FIXED_TPM
        | attr::FIXED_PARENT
        | attr::SENSITIVE_DATA_ORIGIN
        | attr::USER_WITH_AUTH
        | attr::NO_DA
        | attr::RESTRICTED
        | attr::DECRYPT;
    let mut t = Writer::default();
    match alg {
        PrimaryAlg::Ecc => {
            t.u16(alg::ECC).u16(alg::SHA256).u32(attrs).sized(&[]);
            t.bytes(&aes128_cfb())
                .u16(alg::NULL)
                .u16(ECC_NIST_P256)
                .u16(alg::NULL);
            t.sized(&[]).sized(&[]);
        }
        PrimaryAlg::Rsa => {
            t.u16(alg::RSA).u16(alg::SHA256).u32(attrs).sized(&[]);
            t.bytes(&aes128_cfb()).u16(alg::NULL).u16(2048).u32(0);
            t.sized(&[]);
        }
    }
    let mut w = Writer::default();
    w.sized(&t.0);
    w.0
}

/// The template of the sealed secret (TPM2B_PUBLIC): a keyed-hash object bound to the
/// TPM and its parent, usable only through `policy`, exempt from dictionary-attack
/// lockout (repart seals without a PIN).
pub fn sealed_object_template(policy: &[u8]) -> Vec<u8> {
    let attrs = attr::FIXED_TPM | attr::FIXED_PARENT | attr::NO_DA;
    let mut t = Writer::default();
    t.u16(alg::KEYEDHASH)
        .u16(alg::SHA256)
        .u32(attrs)
        .sized(policy);
    t.u16(alg::NULL).sized(&[0; 32]);
    let mut w = Writer::default();
    w.sized(&t.0);
    w.0
}

/// TPM2B_SENSITIVE_CREATE carrying `secret` as the object's data, with an empty auth.
pub fn sensitive_create(secret: &[u8]) -> Vec<u8> {
    let mut inner = Writer::default();
    inner.sized(&[]).sized(secret);
    let mut w = Writer::default();
    w.sized(&inner.0);
    w.0
}

/// TPML_PCR_SELECTION of one bank (`mask` bit i = PCR i), or of no bank when `mask` is
/// 0 and `bank` is `None`.
pub fn pcr_selection(bank: Option<u16>, mask: u32) -> Vec<u8> {
    let mut w = Writer::default();
    match bank {
        None => {
            w.u32(0);
        }
        Some(bank) => {
            let b = mask.to_le_bytes();
            w.u32(1).u16(bank).u8(3).bytes(&b[..3]);
        }
    }
    w.0
}

/// A cursor over TPM wire-format bytes; every read fails cleanly at the end.
pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    /// Takes `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    /// Reads a u8.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    /// Reads a big-endian u16.
    pub fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    /// Reads a big-endian u32.
    pub fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// Reads a TPM2B's contents.
    pub fn sized(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()? as usize;
        self.take(n)
    }
}

/// One bank of a TPML_PCR_SELECTION: the algorithm and the selected PCRs as a mask,
/// plus whether the bank's bitmap covers all 24 PCRs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankSelection {
    /// The bank's hash algorithm.
    pub hash: u16,
    /// Bit i = PCR i selected.
    pub mask: u32,
}

/// Parses a marshalled TPML_PCR_SELECTION.
pub fn parse_pcr_selection(r: &mut Reader<'_>) -> Option<Vec<BankSelection>> {
    let count = r.u32()?;
    let mut out = Vec::new();
    for _ in 0..count.min(16) {
        let hash = r.u16()?;
        let n = r.u8()? as usize;
        let bits = r.take(n)?;
        let mask = bits
            .iter()
            .take(4)
            .enumerate()
            .fold(0u32, |m, (i, b)| m | (u32::from(*b) << (8 * i)));
        out.push(BankSelection { hash, mask });
    }
    Some(out)
}

/// Parses a marshalled TPML_DIGEST.
pub fn parse_digest_list(r: &mut Reader<'_>) -> Option<Vec<Vec<u8>>> {
    let count = r.u32()?;
    (0..count.min(8))
        .map(|_| r.sized().map(<[u8]>::to_vec))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srk_template_is_the_tcg_ecc_template() {
        // As `tpm2_readpublic` shows the persisted SRK upstream made, minus the unique.
        let t = srk_template(PrimaryAlg::Ecc);
        assert_eq!(
            t,
            [
                0x00, 0x1a, 0x00, 0x23, 0x00, 0x0b, 0x00, 0x03, 0x04, 0x72, 0x00, 0x00, 0x00, 0x06,
                0x00, 0x80, 0x00, 0x43, 0x00, 0x10, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00
            ]
        );
    }

    #[test]
    fn pcr_selection_bitmap_is_little_endian_by_byte() {
        assert_eq!(
            pcr_selection(Some(alg::SHA256), (1 << 7) | (1 << 11)),
            [0, 0, 0, 1, 0, 0x0b, 3, 0x80, 0x08, 0]
        );
        let mut r = Reader(&[0, 0, 0, 1, 0, 0x0b, 3, 0x80, 0x08, 0]);
        assert_eq!(
            parse_pcr_selection(&mut r),
            Some(vec![BankSelection {
                hash: alg::SHA256,
                mask: (1 << 7) | (1 << 11)
            }])
        );
    }

    #[test]
    fn sealed_template_carries_the_policy() {
        let t = sealed_object_template(&[0xaa; 32]);
        assert_eq!(&t[..12], &[0, 0x4e, 0, 8, 0, 0x0b, 0, 0, 0x04, 0x12, 0, 32]);
        assert_eq!(t.len(), 2 + 0x4e);
    }
}
