//! The floating-point time codes of IGMPv3 and MLDv2: Max Resp Code and QQIC.
//!
//! Small values are literal; large ones are `1|exp|mant`, meaning
//! `(mant | 1 << mant_bits) << (exp + 3)` (RFC 3376 §4.1.1, §4.1.7;
//! RFC 3810 §5.1.3, §5.1.9). IGMPv2 and MLDv1 use plain integers, also here.
//!
//! Encoding rounds **down**: it returns the code whose decoded value is the
//! largest not exceeding the requested value, and saturates at the largest
//! code, as Linux's `igmpv3_exp_field_encode` does. Rounding down never
//! lets hosts answer later than the querier will wait for them (RFC 3376
//! §8.3: reports must arrive within the Max Response Time the querier
//! counts on).

use std::time::Duration;

/// Largest value an 8-bit code can express: `0x1f << 10`.
pub const MAX_U8_VALUE: u32 = 31_744;
/// Largest value a 16-bit code can express: `0x1fff << 10`.
pub const MAX_U16_VALUE: u32 = 8_387_584;

/// Decode an 8-bit Max Resp Code or QQIC into its value in units
/// (RFC 3376 §4.1.1, §4.1.7).
pub fn decode_u8(code: u8) -> u32 {
    if code < 0x80 {
        u32::from(code)
    } else {
        let exp = u32::from((code >> 4) & 0x07);
        let mant = u32::from(code & 0x0f);
        (mant | 0x10) << (exp + 3)
    }
}

/// Encode a value in units as an 8-bit code, rounding down.
pub fn encode_u8(value: u32) -> u8 {
    if value < 0x80 {
        return value as u8;
    }
    let value = value.min(MAX_U8_VALUE);
    // value ≥ 128 has its top bit at position 7 + exp; the mantissa is the
    // next four bits below it.
    let exp = (31 - value.leading_zeros()) - 7;
    let mant = (value >> (exp + 3)) & 0x0f;
    0x80 | ((exp as u8) << 4) | mant as u8
}

/// Decode a 16-bit MLDv2 Maximum Response Code into milliseconds (RFC 3810 §5.1.3).
pub fn decode_u16(code: u16) -> u32 {
    if code < 0x8000 {
        u32::from(code)
    } else {
        let exp = u32::from((code >> 12) & 0x07);
        let mant = u32::from(code & 0x0fff);
        (mant | 0x1000) << (exp + 3)
    }
}

/// Encode milliseconds as a 16-bit MLDv2 Maximum Response Code, rounding down.
pub fn encode_u16(value: u32) -> u16 {
    if value < 0x8000 {
        return value as u16;
    }
    let value = value.min(MAX_U16_VALUE);
    let exp = (31 - value.leading_zeros()) - 15;
    let mant = (value >> (exp + 3)) & 0x0fff;
    0x8000 | ((exp as u16) << 12) | mant as u16
}

/// IGMPv3 Max Resp Code (units of 1/10 s) to a duration.
pub fn igmp_mrc_to_duration(code: u8) -> Duration {
    Duration::from_millis(u64::from(decode_u8(code)) * 100)
}

/// Duration to IGMPv3 Max Resp Code, rounded down to 1/10 s.
pub fn igmp_mrc_from_duration(d: Duration) -> u8 {
    encode_u8(units(d, 100))
}

/// IGMPv3 / MLDv2 QQIC (units of 1 s) to a duration (RFC 3376 §4.1.7, RFC 3810 §5.1.9).
pub fn qqic_to_duration(code: u8) -> Duration {
    Duration::from_secs(u64::from(decode_u8(code)))
}

/// Duration to QQIC, rounded down to whole seconds.
pub fn qqic_from_duration(d: Duration) -> u8 {
    encode_u8(units(d, 1000))
}

/// MLDv2 Maximum Response Code (ms) to a duration.
pub fn mld_mrc_to_duration(code: u16) -> Duration {
    Duration::from_millis(u64::from(decode_u16(code)))
}

/// Duration to MLDv2 Maximum Response Code, rounded down to 1 ms.
pub fn mld_mrc_from_duration(d: Duration) -> u16 {
    encode_u16(units(d, 1))
}

/// IGMPv2 Max Response Time: a plain count of 1/10 s (RFC 2236 §2.2).
pub fn igmpv2_mrt_to_duration(code: u8) -> Duration {
    Duration::from_millis(u64::from(code) * 100)
}

/// Duration to IGMPv2 Max Response Time, rounded down and clamped to 1..=255.
///
/// Never 0: an 8-byte query with code 0 is an IGMPv1 query (RFC 3376 §7.1).
pub fn igmpv2_mrt_from_duration(d: Duration) -> u8 {
    units(d, 100).clamp(1, 255) as u8
}

/// MLDv1 Maximum Response Delay: plain milliseconds (RFC 2710 §3.4).
pub fn mldv1_mrd_to_duration(code: u16) -> Duration {
    Duration::from_millis(u64::from(code))
}

/// Duration to MLDv1 Maximum Response Delay, rounded down and clamped to 65535 ms.
pub fn mldv1_mrd_from_duration(d: Duration) -> u16 {
    units(d, 1).min(u32::from(u16::MAX)) as u16
}

/// Whole multiples of `unit_ms` in `d`, saturating at `u32::MAX`.
fn units(d: Duration, unit_ms: u128) -> u32 {
    u32::try_from(d.as_millis() / unit_ms).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_vectors() {
        assert_eq!(qqic_from_duration(Duration::from_secs(60)), 0x3c);
        assert_eq!(qqic_from_duration(Duration::from_secs(160)), 0x84);
        assert_eq!(igmp_mrc_from_duration(Duration::from_secs(6)), 0x3c);
        assert_eq!(igmp_mrc_from_duration(Duration::from_secs(24)), 0x8e);
        assert_eq!(mld_mrc_from_duration(Duration::from_millis(24_000)), 0x5dc0);
        assert_eq!(mld_mrc_from_duration(Duration::from_millis(48_000)), 0x8770);
        assert_eq!(qqic_to_duration(0x84), Duration::from_secs(160));
        assert_eq!(igmp_mrc_to_duration(0x8e), Duration::from_secs(24));
        assert_eq!(mld_mrc_to_duration(0x8770), Duration::from_millis(48_000));
    }

    #[test]
    fn limits() {
        assert_eq!(decode_u8(0xff), MAX_U8_VALUE);
        assert_eq!(decode_u16(0xffff), MAX_U16_VALUE);
        assert_eq!(encode_u8(u32::MAX), 0xff);
        assert_eq!(encode_u16(u32::MAX), 0xffff);
        assert_eq!(encode_u8(MAX_U8_VALUE + 1), 0xff);
        assert_eq!(qqic_from_duration(Duration::MAX), 0xff);
        assert_eq!(decode_u8(0x80), 128);
        assert_eq!(decode_u16(0x8000), 32_768);
    }

    #[test]
    fn all_8bit_codes_round_trip() {
        for code in 0..=u8::MAX {
            assert_eq!(encode_u8(decode_u8(code)), code, "code {code:#04x}");
        }
    }

    #[test]
    fn decoding_is_monotonic() {
        for code in 1..=u8::MAX {
            assert!(decode_u8(code) > decode_u8(code - 1));
        }
        for code in 1..=u16::MAX {
            assert!(decode_u16(code) > decode_u16(code - 1));
        }
    }

    #[test]
    fn all_16bit_codes_round_trip() {
        for code in 0..=u16::MAX {
            assert_eq!(encode_u16(decode_u16(code)), code, "code {code:#06x}");
        }
    }

    /// Rounding down: the encoded value never exceeds the request, and the
    /// next code up would.
    #[test]
    fn encoding_rounds_down() {
        for v in (0..=MAX_U8_VALUE + 10).chain([u32::MAX / 2]) {
            let c = encode_u8(v);
            assert!(decode_u8(c) <= v, "{v}");
            if let Some(next) = c.checked_add(1) {
                assert!(decode_u8(next) > v, "{v}");
            }
        }
        for v in (0..=MAX_U16_VALUE + 100).step_by(7) {
            let c = encode_u16(v);
            assert!(decode_u16(c) <= v, "{v}");
            if let Some(next) = c.checked_add(1) {
                assert!(decode_u16(next) > v, "{v}");
            }
        }
    }

    #[test]
    fn linear_codes() {
        assert_eq!(igmpv2_mrt_from_duration(Duration::from_secs(10)), 100);
        assert_eq!(igmpv2_mrt_from_duration(Duration::from_millis(50)), 1);
        assert_eq!(igmpv2_mrt_from_duration(Duration::from_secs(60)), 255);
        assert_eq!(igmpv2_mrt_to_duration(100), Duration::from_secs(10));
        assert_eq!(mldv1_mrd_from_duration(Duration::from_secs(10)), 10_000);
        assert_eq!(mldv1_mrd_from_duration(Duration::from_secs(100)), 65_535);
        assert_eq!(mldv1_mrd_to_duration(10_000), Duration::from_secs(10));
    }
}
