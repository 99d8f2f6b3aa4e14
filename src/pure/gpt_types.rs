//! The GPT partition type table: names, aliases, designators, architectures and the
//! per-type capabilities (read-only/growfs/no-auto flags, file system, mount points).
//!
//! Pure data and lookups only. The type UUIDs are the public values of the UAPI
//! Discoverable Partitions Specification (checked against the v257 oracle).

use uuid::Uuid;

/// What a partition type is for, per the Discoverable Partitions Specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Designator {
    /// `root-ARCH`
    Root,
    /// `root-ARCH-verity`
    RootVerity,
    /// `root-ARCH-verity-sig`
    RootVeritySig,
    /// `usr-ARCH`
    Usr,
    /// `usr-ARCH-verity`
    UsrVerity,
    /// `usr-ARCH-verity-sig`
    UsrVeritySig,
    /// EFI system partition.
    Esp,
    /// Extended boot loader partition.
    Xbootldr,
    /// Swap.
    Swap,
    /// `/home`.
    Home,
    /// `/srv`.
    Srv,
    /// `/var`.
    Var,
    /// `/var/tmp`.
    Tmp,
}

impl Designator {
    /// Upstream's designator name (`root`, `root-verity`, `esp`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Designator::Root => "root",
            Designator::RootVerity => "root-verity",
            Designator::RootVeritySig => "root-verity-sig",
            Designator::Usr => "usr",
            Designator::UsrVerity => "usr-verity",
            Designator::UsrVeritySig => "usr-verity-sig",
            Designator::Esp => "esp",
            Designator::Xbootldr => "xbootldr",
            Designator::Swap => "swap",
            Designator::Home => "home",
            Designator::Srv => "srv",
            Designator::Var => "var",
            Designator::Tmp => "tmp",
        }
    }

    /// The suffix of `SYSTEMD_REPART_OVERRIDE_FSTYPE_<SUFFIX>`: the name uppercased,
    /// `-` replaced by `_` (`ROOT_VERITY`).
    pub fn env_suffix(self) -> String {
        self.name().to_ascii_uppercase().replace('-', "_")
    }

    /// Whether this is one of the six architecture-specific designators.
    pub fn is_arch_specific(self) -> bool {
        ARCH_DESIGNATORS.contains(&self)
    }
}

/// A resolved partition type: its UUID plus what the table knows about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionType {
    /// The GPT type UUID.
    pub uuid: Uuid,
    /// Canonical name (first table entry with this UUID), `None` for unknown UUIDs.
    pub name: Option<&'static str>,
    /// Designator, if the type has one.
    pub designator: Option<Designator>,
    /// Architecture (systemd name) for arch-specific types.
    pub arch: Option<&'static str>,
}

/// The six types every architecture has, in the order of [`ArchTypes::uuids`].
const ARCH_DESIGNATORS: [Designator; 6] = [
    Designator::Root,
    Designator::RootVerity,
    Designator::RootVeritySig,
    Designator::Usr,
    Designator::UsrVerity,
    Designator::UsrVeritySig,
];

/// The per-architecture sextet of type UUIDs.
struct ArchTypes {
    /// Canonical systemd architecture name.
    arch: &'static str,
    /// Alternative spellings accepted inside type names (`root-aarch64`).
    aliases: &'static [&'static str],
    /// Canonical type names, in [`ARCH_DESIGNATORS`] order.
    names: [&'static str; 6],
    /// Type UUIDs, in [`ARCH_DESIGNATORS`] order.
    uuids: [Uuid; 6],
}

macro_rules! arch {
    ($arch:literal, [$($alias:literal),*], $r:literal, $rv:literal, $rs:literal,
     $u:literal, $uv:literal, $us:literal) => {
        ArchTypes {
            arch: $arch,
            aliases: &[$($alias),*],
            names: [
                concat!("root-", $arch),
                concat!("root-", $arch, "-verity"),
                concat!("root-", $arch, "-verity-sig"),
                concat!("usr-", $arch),
                concat!("usr-", $arch, "-verity"),
                concat!("usr-", $arch, "-verity-sig"),
            ],
            uuids: [
                Uuid::from_u128($r),
                Uuid::from_u128($rv),
                Uuid::from_u128($rs),
                Uuid::from_u128($u),
                Uuid::from_u128($uv),
                Uuid::from_u128($us),
            ],
        }
    };
}

/// All architectures with GPT types, in upstream's table order.
#[rustfmt::skip]
static ARCHES: [ArchTypes; 21] = [
    arch!("alpha", [], 0x6523f8ae_3eb1_4e2a_a05a_18b695ae656f, 0xfc56d9e9_e6e5_4c06_be32_e74407ce09a5, 0xd46495b7_a053_414f_80f7_700c99921ef8, 0xe18cf08c_33ec_4c0d_8246_c6c6fb3da024, 0x8cce0d25_c0d0_4a44_bd87_46331bf1df67, 0x5c6e1c76_076a_457a_a0fe_f3b4cd21ce6e),
    arch!("arc", [], 0xd27f46ed_2919_4cb8_bd25_9531f3c16534, 0x24b2d975_0f97_4521_afa1_cd531e421b8d, 0x143a70ba_cbd3_4f06_919f_6c05683a78bc, 0x7978a683_6316_4922_bbee_38bff5a2fecc, 0xfca0598c_d880_4591_8c16_4eda05c7347c, 0x94f9a9a1_9971_427a_a400_50cb297f0f35),
    arch!("arm", ["armv7l"], 0x69dad710_2ce4_4e3c_b16c_21a1d49abed3, 0x7386cdf2_203c_47a9_a498_f2ecce45a2d6, 0x42b0455f_eb11_491d_98d3_56145ba9d037, 0x7d0359a3_02b3_4f0a_865c_654403e70625, 0xc215d751_7bcd_4649_be90_6627490a4c05, 0xd7ff812f_37d1_4902_a810_d76ba57b975a),
    arch!("arm64", ["aarch64"], 0xb921b045_1df0_41c3_af44_4c6f280d3fae, 0xdf3300ce_d69f_4c92_978c_9bfb0f38d820, 0x6db69de6_29f4_4758_a7a5_962190f00ce3, 0xb0e01050_ee5f_4390_949a_9101b17104e9, 0x6e11a4e7_fbca_4ded_b9e9_e1a512bb664e, 0xc23ce4ff_44bd_4b00_b2d4_b41b3419e02a),
    arch!("ia64", [], 0x993d8d3d_f80e_4225_855a_9daf8ed7ea97, 0x86ed10d5_b607_45bb_8957_d350f23d0571, 0xe98b36ee_32ba_4882_9b12_0ce14655f46a, 0x4301d2a6_4e3b_4b2a_bb94_9e0b2c4225ea, 0x6a491e03_3be7_4545_8e38_83320e0ea880, 0x8de58bc2_2a43_460d_b14e_a76e4a17b47f),
    arch!("loongarch64", ["loong64"], 0x77055800_792c_4f94_b39a_98c91b762bb6, 0xf3393b22_e9af_4613_a948_9d3bfbd0c535, 0x5afb67eb_ecc8_4f85_ae8e_ac1e7c50e7d0, 0xe611c702_575c_4cbe_9a46_434fa0bf7e3f, 0xf46b2c26_59ae_48f0_9106_c50ed47f673d, 0xb024f315_d330_444c_8461_44bbde524e99),
    arch!("mips", [], 0xe9434544_6e2c_47cc_bae2_12d6deafb44c, 0x7a430799_f711_4c7e_8e5b_1d685bd48607, 0xbba210a2_9c5d_45ee_9e87_ff2ccbd002d0, 0x773b2abc_2a99_4398_8bf5_03baac40d02b, 0x6e5a1bc8_d223_49b7_bca8_37a5fcceb996, 0x97ae158d_f216_497b_8057_f7f905770f54),
    arch!("mips64", [], 0xd113af76_80ef_41b4_bdb6_0cff4d3d4a25, 0x579536f8_6a33_4055_a95a_df2d5e2c42a8, 0x43ce94d4_0f3d_4999_8250_b9deafd98e6e, 0x57e13958_7331_4365_8e6e_35eeee17c61b, 0x81cf9d90_7458_4df4_8dcf_c8a3a404f09b, 0x05816ce2_dd40_4ac6_a61d_37d32dc1ba7d),
    arch!("mips-le", ["mipsel"], 0x37c58c8a_d913_4156_a25f_48b1b64e07f0, 0xd7d150d2_2a04_4a33_8f12_16651205ff7b, 0xc919cc1f_4456_4eff_918c_f75e94525ca5, 0x0f4868e9_9952_4706_979f_3ed3a473e947, 0x46b98d8d_b55c_4e8f_aab3_37fca7f80752, 0x3e23ca0b_a4bc_4b4e_8087_5ab6a26aa8a9),
    arch!("mips64-le", ["mips64el"], 0x700bda43_7a34_4507_b179_eeb93d7a7ca3, 0x16b417f8_3e06_4f57_8dd2_9b5232f41aa6, 0x904e58ef_5c65_4a31_9c57_6af5fc7c5de7, 0xc97c1f32_ba06_40b4_9f22_236061b08aa8, 0x3c3d61fe_b5f3_414d_bb71_8739a694a4ef, 0xf2c2c7ee_adcc_4351_b5c6_ee9816b66e16),
    arch!("parisc", ["hppa"], 0x1aacdb3b_5444_4138_bd9e_e5c2239b2346, 0xd212a430_fbc5_49f9_a983_a7feef2b8d0e, 0x15de6170_65d3_431c_916e_b0dcd8393f25, 0xdc4a4480_6917_4262_a4ec_db9384949f25, 0x5843d618_ec37_48d7_9f12_cea8e08768b2, 0x450dd7d1_3224_45ec_9cf2_a43a346d71ee),
    arch!("ppc", [], 0x1de3f1ef_fa98_47b5_8dcd_4a860a654d78, 0x98cfe649_1588_46dc_b2f0_add147424925, 0x1b31b5aa_add9_463a_b2ed_bd467fc857e7, 0x7d14fec5_cc71_415d_9d6c_06bf0b3c3eaf, 0xdf765d00_270e_49e5_bc75_f47bb2118b09, 0x7007891d_d371_4a80_86a4_5cb875b9302e),
    arch!("ppc64", [], 0x912ade1d_a839_4913_8964_a10eee08fbd2, 0x9225a9a3_3c19_4d89_b4f6_eeff88f17631, 0xf5e2c20c_45b2_4ffa_bce9_2a60737e1aaf, 0x2c9739e2_f068_46b3_9fd0_01c5a9afbcca, 0xbdb528a5_a259_475f_a87d_da53fa736a07, 0x0b888863_d7f8_4d9e_9766_239fce4d58af),
    arch!("ppc64-le", ["ppc64le", "ppc64el"], 0xc31c45e6_3f39_412e_80fb_4809c4980599, 0x906bd944_4589_4aae_a4e4_dd983917446a, 0xd4a236e7_e873_4c07_bf1d_bf6cf7f1c3c6, 0x15bb03af_77e7_4d4a_b12b_c0d084f7491c, 0xee2b9983_21e8_4153_86d9_b6901a54d1ce, 0xc8bfbd1e_268e_4521_8bba_bf314c399557),
    arch!("riscv32", [], 0x60d5a7fe_8e7d_435c_b714_3dd8162144e1, 0xae0253be_1167_4007_ac68_43926c14c5de, 0x3a112a75_8729_4380_b4cf_764d79934448, 0xb933fb22_5c3f_4f91_af90_e2bb0fa50702, 0xcb1ee4e3_8cd0_4136_a0a4_aa61a32e8730, 0xc3836a13_3137_45ba_b583_b16c50fe5eb4),
    arch!("riscv64", [], 0x72ec70a6_cf74_40e6_bd49_4bda08e8f224, 0xb6ed5582_440b_4209_b8da_5ff7c419ea3d, 0xefe0f087_ea8d_4469_821a_4c2a96a8386a, 0xbeaec34b_8442_439b_a40b_984381ed097d, 0x8f1056be_9b05_47c4_81d6_be53128e5b54, 0xd2f9000a_7a18_453f_b5cd_4d32f77a7b32),
    arch!("s390", [], 0x08a7acea_624c_4a20_91e8_6e0fa67d23f9, 0x7ac63b47_b25c_463b_8df8_b4a94e6c90e1, 0x3482388e_4254_435a_a241_766a065f9960, 0xcd0f869b_d0fb_4ca0_b141_9ea87cc78d66, 0xb663c618_e7bc_4d6d_90aa_11b756bb1797, 0x17440e4f_a8d0_467f_a46e_3912ae6ef2c5),
    arch!("s390x", [], 0x5eead9a9_fe09_4a1e_a1d7_520d00531306, 0xb325bfbe_c7be_4ab8_8357_139e652d2f6b, 0xc80187a5_73a3_491a_901a_017c3fa953e9, 0x8a4f5770_50aa_4ed3_874a_99b710db6fea, 0x31741cc4_1a2a_4111_a581_e00b447d2d06, 0x3f324816_667b_46ae_86ee_9b0c0c6c11b4),
    arch!("tilegx", [], 0xc50cdd70_3862_4cc3_90e1_809a8c93ee2c, 0x966061ec_28e4_4b2e_b4a5_1f0a825a1d84, 0xb3671439_97b0_4a53_90f7_2d5a8f3ad47b, 0x55497029_c7c1_44cc_aa39_815ed1558630, 0x2fb4bf56_07fa_42da_8132_6b139f2026ae, 0x4ede75e2_6ccc_4cc8_b9c7_70334b087510),
    arch!("x86", ["i386", "i486", "i586", "i686"], 0x44479540_f297_41b2_9af7_d131d5f0458a, 0xd13c5d3b_b5d1_422a_b29f_9454fdc89d76, 0x5996fc05_109c_48de_808b_23fa0830b676, 0x75250d76_8cc6_458e_bd66_bd47cc81a812, 0x8f461b0d_14ee_4e81_9aa9_049b6fb97abd, 0x974a71c0_de41_43c3_be5d_5c5ccd1ad2c0),
    arch!("x86-64", ["x86_64", "amd64"], 0x4f68bce3_e8cd_4db1_96e7_fbcaf984b709, 0x2c7357ed_ebd2_46d9_aec1_23d437ec2bf5, 0x41092b05_9fc8_4523_994f_2def0408b176, 0x8484680c_9521_48c6_9c11_b0720656f69e, 0x77ff5f63_e7b6_4633_acf4_1565b864c0e6, 0xe7bb33fb_06cf_4e81_8273_e543b413e2e2),
];

/// Types without an architecture: (name, UUID, designator), in table order.
static FIXED: [(&str, Uuid, Option<Designator>); 9] = [
    (
        "esp",
        Uuid::from_u128(0xc12a7328_f81f_11d2_ba4b_00a0c93ec93b),
        Some(Designator::Esp),
    ),
    (
        "xbootldr",
        Uuid::from_u128(0xbc13c2ff_59e6_4262_a352_b275fd6f7172),
        Some(Designator::Xbootldr),
    ),
    (
        "swap",
        Uuid::from_u128(0x0657fd6d_a4ab_43c4_84e5_0933c84b4f4f),
        Some(Designator::Swap),
    ),
    (
        "home",
        Uuid::from_u128(0x933ac7e1_2eb4_4f13_b844_0e14e2aef915),
        Some(Designator::Home),
    ),
    (
        "srv",
        Uuid::from_u128(0x3b8f8425_20e0_4f3b_907f_1a25a76f98e8),
        Some(Designator::Srv),
    ),
    (
        "var",
        Uuid::from_u128(0x4d21b016_b534_45c2_a9fb_5c16e091fd2d),
        Some(Designator::Var),
    ),
    (
        "tmp",
        Uuid::from_u128(0x7ec6f557_3bc5_4aca_b293_16ef5df639d1),
        Some(Designator::Tmp),
    ),
    (
        "user-home",
        Uuid::from_u128(0x773f91ef_66d4_49b5_bd83_d683bf40ad16),
        None,
    ),
    (
        "linux-generic",
        Uuid::from_u128(0x0fc63daf_8483_4772_8e79_3d69d8477de4),
        None,
    ),
];

/// Every architecture name systemd knows (`--architecture=`), with or without GPT types.
const SYSTEMD_ARCHITECTURES: [&str; 33] = [
    "alpha",
    "arc",
    "arc-be",
    "arm",
    "arm64",
    "arm64-be",
    "arm-be",
    "cris",
    "ia64",
    "loongarch64",
    "m68k",
    "mips64-le",
    "mips64",
    "mips-le",
    "mips",
    "nios2",
    "parisc64",
    "parisc",
    "ppc64-le",
    "ppc64",
    "ppc",
    "ppc-le",
    "riscv32",
    "riscv64",
    "s390x",
    "s390",
    "sh64",
    "sh",
    "sparc64",
    "sparc",
    "tilegx",
    "x86-64",
    "x86",
];

/// The architecture this binary was built for, as a systemd name (`x86-64`, `arm64`, ...).
pub fn native_architecture() -> &'static str {
    if cfg!(target_arch = "x86_64") {
        "x86-64"
    } else if cfg!(target_arch = "aarch64") {
        if cfg!(target_endian = "big") {
            "arm64-be"
        } else {
            "arm64"
        }
    } else if cfg!(target_arch = "x86") {
        "x86"
    } else if cfg!(target_arch = "arm") {
        if cfg!(target_endian = "big") {
            "arm-be"
        } else {
            "arm"
        }
    } else if cfg!(target_arch = "riscv64") {
        "riscv64"
    } else if cfg!(target_arch = "riscv32") {
        "riscv32"
    } else if cfg!(target_arch = "powerpc64") {
        if cfg!(target_endian = "little") {
            "ppc64-le"
        } else {
            "ppc64"
        }
    } else if cfg!(target_arch = "powerpc") {
        "ppc"
    } else if cfg!(target_arch = "s390x") {
        "s390x"
    } else if cfg!(target_arch = "loongarch64") {
        "loongarch64"
    } else if cfg!(target_arch = "mips64") {
        if cfg!(target_endian = "little") {
            "mips64-le"
        } else {
            "mips64"
        }
    } else if cfg!(target_arch = "mips") {
        if cfg!(target_endian = "little") {
            "mips-le"
        } else {
            "mips"
        }
    } else if cfg!(target_arch = "sparc64") {
        "sparc64"
    } else {
        "x86-64"
    }
}

/// The secondary architecture of the native one (`x86` on x86-64, `arm` on arm64).
pub fn secondary_architecture() -> Option<&'static str> {
    match native_architecture() {
        "x86-64" => Some("x86"),
        "arm64" => Some("arm"),
        _ => None,
    }
}

/// Normalizes an architecture name as `--architecture=` accepts it: any exact systemd
/// architecture name (including ones without GPT types such as `sparc`), else `None`.
pub fn parse_architecture(text: &str) -> Option<&'static str> {
    SYSTEMD_ARCHITECTURES.iter().copied().find(|a| *a == text)
}

/// Resolves an architecture name or type-name alias (`aarch64`, `x86_64`) to the
/// canonical architecture of the type table.
fn arch_entry(name: &str) -> Option<&'static ArchTypes> {
    ARCHES
        .iter()
        .find(|a| a.arch == name || a.aliases.contains(&name))
}

/// Splits `root-ARCH-verity` into (designator index, ARCH).
fn split_arch_name(text: &str) -> Option<(usize, &str)> {
    let (base, rest) = if let Some(rest) = text.strip_prefix("root-") {
        (0, rest)
    } else if let Some(rest) = text.strip_prefix("usr-") {
        (3, rest)
    } else {
        return None;
    };
    if let Some(arch) = rest.strip_suffix("-verity-sig") {
        Some((base + 2, arch))
    } else if let Some(arch) = rest.strip_suffix("-verity") {
        Some((base + 1, arch))
    } else {
        Some((base, rest))
    }
}

/// The UUID an exact table name stands for (arch names, aliases, native aliases, fixed).
fn uuid_for_name(text: &str) -> Option<Uuid> {
    if let Some((idx, arch)) = split_arch_name(text) {
        let arch = match arch {
            "secondary" => secondary_architecture(),
            other => Some(other),
        };
        if let Some(entry) = arch.and_then(arch_entry) {
            return entry.uuids.get(idx).copied();
        }
    }
    let native_idx = match text {
        "root" => Some(0),
        "root-verity" => Some(1),
        "root-verity-sig" => Some(2),
        "usr" => Some(3),
        "usr-verity" => Some(4),
        "usr-verity-sig" => Some(5),
        _ => None,
    };
    if let Some(idx) = native_idx {
        return arch_entry(native_architecture()).and_then(|e| e.uuids.get(idx).copied());
    }
    FIXED
        .iter()
        .find(|(n, _, _)| *n == text)
        .map(|(_, u, _)| *u)
}

/// Parses systemd's id128 syntaxes: 32 hex digits or the 8-4-4-4-12 form, any case.
pub fn parse_id128(text: &str) -> Option<Uuid> {
    let bytes = text.as_bytes();
    let hex: String = match bytes.len() {
        32 => text.to_string(),
        36 => {
            let dashes_ok = [8, 13, 18, 23].iter().all(|&i| bytes.get(i) == Some(&b'-'));
            if !dashes_ok {
                return None;
            }
            text.chars().filter(|c| *c != '-').collect()
        }
        _ => return None,
    };
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok().map(Uuid::from_u128)
}

impl PartitionType {
    /// Parses a `Type=` value: a name/alias from the table, or any UUID.
    pub fn parse(text: &str) -> Option<PartitionType> {
        uuid_for_name(text)
            .or_else(|| parse_id128(text))
            .map(PartitionType::from_uuid)
    }

    /// Looks a UUID up in the table (unknown UUIDs get no name).
    pub fn from_uuid(uuid: Uuid) -> PartitionType {
        for entry in &ARCHES {
            if let Some(idx) = entry.uuids.iter().position(|u| *u == uuid) {
                return PartitionType {
                    uuid,
                    name: entry.names.get(idx).copied(),
                    designator: ARCH_DESIGNATORS.get(idx).copied(),
                    arch: Some(entry.arch),
                };
            }
        }
        match FIXED.iter().find(|(_, u, _)| *u == uuid) {
            Some((name, _, designator)) => PartitionType {
                uuid,
                name: Some(name),
                designator: *designator,
                arch: None,
            },
            None => PartitionType {
                uuid,
                name: None,
                designator: None,
                arch: None,
            },
        }
    }

    /// Rewrites an arch-specific type to the same designator for `arch`, if such a type exists.
    pub fn with_architecture(self, arch: &str) -> PartitionType {
        let (Some(_), Some(designator)) = (self.arch, self.designator) else {
            return self;
        };
        let idx = ARCH_DESIGNATORS.iter().position(|d| *d == designator);
        match (ARCHES.iter().find(|a| a.arch == arch), idx) {
            (Some(entry), Some(idx)) => entry
                .uuids
                .get(idx)
                .map(|u| PartitionType::from_uuid(*u))
                .unwrap_or(self),
            _ => self,
        }
    }

    /// The canonical name, or the lowercase UUID string for unknown types.
    pub fn display_name(&self) -> String {
        match self.name {
            Some(name) => name.to_string(),
            None => self.uuid.hyphenated().to_string(),
        }
    }

    /// Whether the GPT read-only flag (bit 60) is meaningful for this type.
    pub fn supports_read_only(&self) -> bool {
        matches!(
            self.designator,
            Some(
                Designator::Root
                    | Designator::Usr
                    | Designator::Home
                    | Designator::Srv
                    | Designator::Var
                    | Designator::Tmp
                    | Designator::Xbootldr
                    | Designator::RootVerity
                    | Designator::UsrVerity
            )
        )
    }

    /// Whether the GPT grow-fs flag (bit 59) is meaningful for this type.
    pub fn supports_growfs(&self) -> bool {
        matches!(
            self.designator,
            Some(
                Designator::Root
                    | Designator::Usr
                    | Designator::Home
                    | Designator::Srv
                    | Designator::Var
                    | Designator::Tmp
                    | Designator::Xbootldr
            )
        )
    }

    /// Whether the GPT no-auto flag (bit 63) is meaningful for this type.
    pub fn supports_no_auto(&self) -> bool {
        self.supports_growfs()
            || matches!(
                self.designator,
                Some(Designator::RootVerity | Designator::UsrVerity | Designator::Swap)
            )
    }

    /// Whether the type's designator carries a file system (root, usr, home, srv, var,
    /// tmp, esp, xbootldr): these honour `SYSTEMD_REPART_OVERRIDE_FSTYPE_<DESIGNATOR>`.
    pub fn has_filesystem(&self) -> bool {
        self.supports_growfs() || self.designator == Some(Designator::Esp)
    }

    /// Where partitions of this type are mounted (for fstab generation), in preference order.
    pub fn mount_points(&self) -> &'static [&'static str] {
        match self.designator {
            Some(Designator::Root) => &["/"],
            Some(Designator::Usr) => &["/usr"],
            Some(Designator::Home) => &["/home"],
            Some(Designator::Srv) => &["/srv"],
            Some(Designator::Var) => &["/var"],
            Some(Designator::Tmp) => &["/var/tmp"],
            Some(Designator::Esp) => &["/efi", "/boot"],
            Some(Designator::Xbootldr) => &["/boot"],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of(text: &str) -> Option<String> {
        PartitionType::parse(text).map(|t| t.display_name())
    }

    #[test]
    fn table_has_all_arches_and_unique_uuids() {
        let mut all: Vec<Uuid> = ARCHES.iter().flat_map(|a| a.uuids).collect();
        all.extend(FIXED.iter().map(|f| f.1));
        assert_eq!(all.len(), 21 * 6 + 9);
        let mut dedup = all.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), all.len());
    }

    #[test]
    fn native_aliases_resolve_to_canonical_names() {
        // Verified against the v257 oracle: `Type=root` shows as `root-x86-64`.
        assert_eq!(native_architecture(), "x86-64");
        assert_eq!(name_of("root").as_deref(), Some("root-x86-64"));
        assert_eq!(
            name_of("root-verity").as_deref(),
            Some("root-x86-64-verity")
        );
        assert_eq!(name_of("usr").as_deref(), Some("usr-x86-64"));
        assert_eq!(
            name_of("usr-verity-sig").as_deref(),
            Some("usr-x86-64-verity-sig")
        );
        assert_eq!(name_of("root-secondary").as_deref(), Some("root-x86"));
        assert_eq!(
            name_of("usr-secondary-verity-sig").as_deref(),
            Some("usr-x86-verity-sig")
        );
    }

    #[test]
    fn arch_aliases_resolve() {
        for (alias, canonical) in [
            ("root-aarch64-verity-sig", "root-arm64-verity-sig"),
            ("usr-i586-verity", "usr-x86-verity"),
            ("root-i486", "root-x86"),
            ("root-i386", "root-x86"),
            ("root-i686", "root-x86"),
            ("root-x86_64", "root-x86-64"),
            ("root-amd64", "root-x86-64"),
            ("root-mips64el", "root-mips64-le"),
            ("root-mipsel", "root-mips-le"),
            ("usr-armv7l-verity", "usr-arm-verity"),
            ("root-ppc64le", "root-ppc64-le"),
            ("root-ppc64el", "root-ppc64-le"),
            ("root-hppa", "root-parisc"),
            ("root-loong64", "root-loongarch64"),
            ("root-mips", "root-mips"),
            ("root-mips64", "root-mips64"),
        ] {
            assert_eq!(name_of(alias).as_deref(), Some(canonical), "{alias}");
        }
    }

    #[test]
    fn known_uuids_match_the_specification() {
        let t = PartitionType::parse("root-x86-64").unwrap();
        assert_eq!(t.uuid.to_string(), "4f68bce3-e8cd-4db1-96e7-fbcaf984b709");
        assert_eq!(t.designator, Some(Designator::Root));
        assert_eq!(t.arch, Some("x86-64"));
        let t = PartitionType::parse("usr-arm64").unwrap();
        assert_eq!(t.uuid.to_string(), "b0e01050-ee5f-4390-949a-9101b17104e9");
        let t = PartitionType::parse("root-mips").unwrap();
        assert_eq!(t.uuid.to_string(), "e9434544-6e2c-47cc-bae2-12d6deafb44c");
        let t = PartitionType::parse("esp").unwrap();
        assert_eq!(t.uuid.to_string(), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
        assert_eq!(t.designator, Some(Designator::Esp));
        assert_eq!(t.arch, None);
        let t = PartitionType::parse("linux-generic").unwrap();
        assert_eq!(t.designator, None);
        assert_eq!(t.display_name(), "linux-generic");
        assert_eq!(name_of("user-home").as_deref(), Some("user-home"));
    }

    #[test]
    fn uuid_syntaxes() {
        assert_eq!(
            name_of("4F68BCE3E8CD4DB196E7FBCAF984B709").as_deref(),
            Some("root-x86-64")
        );
        assert_eq!(
            name_of("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709").as_deref(),
            Some("root-x86-64")
        );
        let t = PartitionType::parse("12345678-1234-1234-1234-123456789ABC").unwrap();
        assert_eq!(t.name, None);
        assert_eq!(t.display_name(), "12345678-1234-1234-1234-123456789abc");
        assert_eq!(name_of("{4f68bce3-e8cd-4db1-96e7-fbcaf984b709}"), None);
        assert_eq!(name_of("4f68bce3e8cd4db1-96e7-fbcaf984b709"), None);
        assert_eq!(name_of("ESP"), None);
        assert_eq!(name_of("Root"), None);
        assert_eq!(name_of("root-arm64-be"), None);
        assert_eq!(name_of("root-sparc"), None);
        assert_eq!(name_of(""), None);
    }

    #[test]
    fn architecture_override() {
        let root = PartitionType::parse("root").unwrap();
        assert_eq!(root.with_architecture("arm64").display_name(), "root-arm64");
        let v = PartitionType::parse("usr-verity-sig").unwrap();
        assert_eq!(
            v.with_architecture("riscv64").display_name(),
            "usr-riscv64-verity-sig"
        );
        // No GPT types for sparc: kept.
        assert_eq!(root.with_architecture("sparc"), root);
        let esp = PartitionType::parse("esp").unwrap();
        assert_eq!(esp.with_architecture("arm64"), esp);
    }

    #[test]
    fn architecture_names() {
        assert_eq!(parse_architecture("x86-64"), Some("x86-64"));
        assert_eq!(parse_architecture("arm64-be"), Some("arm64-be"));
        assert_eq!(parse_architecture("sparc"), Some("sparc"));
        assert_eq!(parse_architecture("x86_64"), None);
        assert_eq!(parse_architecture("aarch64"), None);
        assert_eq!(secondary_architecture(), Some("x86"));
    }

    #[test]
    fn capabilities() {
        let p = |s: &str| PartitionType::parse(s).unwrap();
        assert!(p("root").supports_read_only() && p("root").supports_growfs());
        assert!(p("root-verity").supports_read_only() && !p("root-verity").supports_growfs());
        assert!(p("root-verity").supports_no_auto());
        assert!(!p("root-verity-sig").supports_read_only());
        assert!(!p("root-verity-sig").supports_no_auto());
        assert!(!p("esp").supports_read_only() && !p("esp").supports_no_auto());
        assert!(p("esp").has_filesystem());
        assert!(p("swap").supports_no_auto() && !p("swap").has_filesystem());
        assert!(p("xbootldr").supports_growfs());
        assert!(!p("linux-generic").supports_read_only());
        assert!(!p("user-home").has_filesystem());
        assert_eq!(p("esp").mount_points(), &["/efi", "/boot"]);
        assert_eq!(p("tmp").mount_points(), &["/var/tmp"]);
        assert_eq!(p("root").mount_points(), &["/"]);
        assert!(p("swap").mount_points().is_empty());
        assert_eq!(Designator::RootVerity.env_suffix(), "ROOT_VERITY");
        assert!(Designator::UsrVeritySig.is_arch_specific());
        assert!(!Designator::Esp.is_arch_specific());
    }
}
