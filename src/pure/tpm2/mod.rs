//! The TPM2 enrolment's pure parts: TPM wire format of what repart sends (`marshal`),
//! the policy digest and PCR bank choice (`policy`), the `systemd-tpm2` token text and
//! the keyslot passphrase (`token`), sealing offline to a TPM's public key (`offline`), pcrlock policies (`pcrlock`). The TPM conversation is in `shell::tpm2`.

pub mod marshal;
pub mod offline;
pub mod pcrlock;
pub mod policy;
pub mod pubkey;
pub mod token;
