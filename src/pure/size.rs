//! Byte sizes: systemd's size syntax (`1G 512M`) and its human formatting (`6.6G`).
//!
//! Pure functions only; rounding helpers used by the planner live here too so that
//! saturation rules ("infinity" is `u64::MAX`) are written down once.

use thiserror::Error;

/// Why a size value was rejected (the caller adds file/line context).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SizeError {
    /// Not a number followed by a known suffix.
    #[error("invalid size")]
    Invalid,
    /// Negative, or too large for 64 bits.
    #[error("size out of range")]
    Range,
}

const SUFFIXES: [(char, u64); 7] = [
    ('E', 1 << 60),
    ('P', 1 << 50),
    ('T', 1 << 40),
    ('G', 1 << 30),
    ('M', 1 << 20),
    ('K', 1 << 10),
    ('B', 1),
];

/// Parses a size with base-1024 suffixes like systemd's `parse_size()`.
///
/// Components with strictly decreasing suffixes are summed (`1G 512M`); a fraction is
/// allowed (`1.5G`) and truncated after multiplication.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let mut rest = text;
    let mut total: u64 = 0;
    let mut last_factor: Option<u64> = None;
    loop {
        rest = rest.trim_start();
        if rest.starts_with('-') {
            return Err(SizeError::Range);
        }
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after_int) = rest.split_at(int_len);
        let (frac_part, after_frac) = if let Some(stripped) = after_int.strip_prefix('.') {
            let n = stripped.bytes().take_while(u8::is_ascii_digit).count();
            stripped.split_at(n)
        } else {
            ("", after_int)
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(SizeError::Invalid);
        }
        let after_ws = after_frac.trim_start();
        let (factor, after_suffix) = match after_ws.chars().next() {
            Some(c) => match SUFFIXES.iter().find(|(s, _)| *s == c) {
                Some((_, f)) => (*f, &after_ws[1..]),
                None => (1, after_frac),
            },
            None => (1, after_frac),
        };
        if let Some(prev) = last_factor
            && factor >= prev
        {
            return Err(SizeError::Invalid);
        }
        last_factor = Some(factor);
        let int: u64 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| SizeError::Range)?
        };
        let mut value = int.checked_mul(factor).ok_or(SizeError::Range)?;
        if !frac_part.is_empty() {
            // Keep at most 18 digits so the integer fits; extra digits cannot matter
            // for a factor below 2^61.
            let digits = &frac_part[..frac_part.len().min(18)];
            let frac: u128 = digits.parse().unwrap_or(0);
            let scale = 10u128.pow(digits.len() as u32);
            let extra = (frac * u128::from(factor)) / scale;
            value = value
                .checked_add(u64::try_from(extra).map_err(|_| SizeError::Range)?)
                .ok_or(SizeError::Range)?;
        }
        total = total.checked_add(value).ok_or(SizeError::Range)?;
        rest = after_suffix;
        if rest.trim().is_empty() {
            return Ok(total);
        }
    }
}

/// Formats bytes like systemd's `FORMAT_BYTES()`: IEC units, one truncated decimal
/// shown only when non-zero, `B` only below 1 KiB (`0B`, `4K`, `98.9M`).
pub fn format_bytes(value: u64) -> String {
    const UNITS: [(&str, u64); 6] = [
        ("E", 1 << 60),
        ("P", 1 << 50),
        ("T", 1 << 40),
        ("G", 1 << 30),
        ("M", 1 << 20),
        ("K", 1 << 10),
    ];
    for (name, factor) in UNITS {
        if value >= factor {
            let int = value / factor;
            let decimal = ((u128::from(value) * 10 / u128::from(factor)) % 10) as u64;
            return if decimal > 0 {
                format!("{int}.{decimal}{name}")
            } else {
                format!("{int}{name}")
            };
        }
    }
    format!("{value}B")
}

/// Rounds up to a multiple of `grain`, saturating at `u64::MAX` ("infinity").
pub fn round_up(value: u64, grain: u64) -> u64 {
    if value == u64::MAX {
        return u64::MAX;
    }
    match value.checked_add(grain - 1) {
        Some(v) => v / grain * grain,
        None => u64::MAX,
    }
}

/// Rounds down to a multiple of `grain`; "infinity" stays infinity.
pub fn round_down(value: u64, grain: u64) -> u64 {
    if value == u64::MAX {
        return u64::MAX;
    }
    value / grain * grain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_like_systemd() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("200M"), Ok(200 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("1G 512M"), Ok((1 << 30) + (512 << 20)));
        assert_eq!(parse_size(" 10 K"), Ok(10240));
        assert_eq!(parse_size("5B"), Ok(5));
        assert_eq!(parse_size("-1"), Err(SizeError::Range));
        assert_eq!(parse_size("1m"), Err(SizeError::Invalid));
        assert_eq!(parse_size("512M 1G"), Err(SizeError::Invalid));
        assert_eq!(parse_size(""), Err(SizeError::Invalid));
        assert_eq!(parse_size("17E"), Err(SizeError::Range));
    }

    #[test]
    fn formats_like_upstream_examples() {
        // Values from spec §7.4, all observed in upstream output.
        assert_eq!(format_bytes(0), "0B");
        assert_eq!(format_bytes(4096), "4K");
        assert_eq!(format_bytes(67108864), "64M");
        assert_eq!(format_bytes(135286784), "129M");
        assert_eq!(format_bytes(103788544), "98.9M");
        assert_eq!(format_bytes(93835264), "89.4M");
        assert_eq!(format_bytes(3 << 29), "1.5G");
        assert_eq!(format_bytes((1 << 40) + (11 << 20)), "1T");
        assert_eq!(format_bytes(7158276096), "6.6G");
        assert_eq!(format_bytes(3600384), "3.4M");
    }

    #[test]
    fn rounding_saturates() {
        assert_eq!(round_up(1, 4096), 4096);
        assert_eq!(round_up(u64::MAX - 5, 4096), u64::MAX);
        assert_eq!(round_down(u64::MAX, 4096), u64::MAX);
        assert_eq!(round_down(8191, 4096), 4096);
    }
}
