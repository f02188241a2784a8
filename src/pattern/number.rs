//! Numbers compared by value, the way EventBridge compares them: a pattern's `300` matches
//! an event's `300.0` and `3e2`. EventBridge compares numbers between -5.0e9 and 5.0e9 with
//! six digits after the decimal point, so a number is kept as an integer count of
//! millionths; anything outside that range is compared by its literal text only.

/// The largest magnitude EventBridge compares numerically (5.0e9), in millionths.
const LIMIT_MICROS: i64 = 5_000_000_000 * 1_000_000;

/// Why a number cannot take part in numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumberError {
    OutOfRange,
    TooPrecise,
    NotANumber,
}

impl NumberError {
    /// AWS's wording for a pattern number that cannot be compared.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            NumberError::OutOfRange => "Value must be between -5.0E9 and 5.0E9, inclusive",
            NumberError::TooPrecise => "Only values upto 6 decimals are supported",
            NumberError::NotANumber => "Value is not a number",
        }
    }
}

/// Parse a JSON number's text into millionths, exactly (no floating point, no allocation).
pub(crate) fn micros(text: &str) -> Result<i64, NumberError> {
    plain_micros(text.as_bytes()).unwrap_or_else(|| any_micros(text))
}

/// The common case, a plain decimal with at most ten integer and six fraction digits: it
/// fits an `i64` as it is read. `None` leaves anything else to [`any_micros`].
#[inline]
fn plain_micros(bytes: &[u8]) -> Option<Result<i64, NumberError>> {
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let mut value = 0i64;
    let mut at = 0;
    while let Some(digit @ b'0'..=b'9') = digits.get(at) {
        if at == 10 {
            return None;
        }
        value = value * 10 + i64::from(digit - b'0');
        at += 1;
    }
    if at == 0 {
        return None;
    }
    let mut fraction = 0;
    if let Some(&byte) = digits.get(at) {
        if byte != b'.' {
            return None;
        }
        at += 1;
        while let Some(digit @ b'0'..=b'9') = digits.get(at) {
            if fraction == 6 {
                return None;
            }
            value = value * 10 + i64::from(digit - b'0');
            at += 1;
            fraction += 1;
        }
        if at != digits.len() || fraction == 0 {
            return None;
        }
    }
    const SCALE: [i64; 7] = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];
    let value = value * SCALE[fraction];
    Some(match (value > LIMIT_MICROS, negative) {
        (true, _) => Err(NumberError::OutOfRange),
        (false, true) => Ok(-value),
        (false, false) => Ok(value),
    })
}

/// Any number: exponents, more digits than fit, trailing zeros past six decimals.
fn any_micros(text: &str) -> Result<i64, NumberError> {
    let bytes = text.as_bytes();
    let (negative, rest) = match bytes.first() {
        Some(b'-') => (true, &bytes[1..]),
        Some(b'+') => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    // The significant digits accumulate in `value`; zeros wait in `zeros` until a non-zero
    // digit follows, so trailing zeros never count towards precision.
    let mut value: i128 = 0;
    let mut zeros: i64 = 0;
    let mut overflow = false;
    let mut any_digit = false;
    let mut fraction_digits: i64 = 0;
    let mut seen_point = false;
    let mut exponent: i64 = 0;
    let mut index = 0;
    while index < rest.len() {
        match rest[index] {
            digit @ b'0'..=b'9' => {
                any_digit = true;
                if seen_point {
                    fraction_digits += 1;
                }
                if digit == b'0' {
                    zeros += 1;
                } else {
                    for _ in 0..=zeros {
                        value = value.saturating_mul(10);
                    }
                    value += i128::from(digit - b'0');
                    zeros = 0;
                    if value > SATURATED {
                        overflow = true;
                        value = SATURATED;
                    }
                }
            }
            b'.' if !seen_point => seen_point = true,
            b'e' | b'E' => {
                let exp_text =
                    std::str::from_utf8(&rest[index + 1..]).map_err(|_| NumberError::NotANumber)?;
                exponent = exp_text.parse().map_err(|_| NumberError::NotANumber)?;
                break;
            }
            _ => return Err(NumberError::NotANumber),
        }
        index += 1;
    }
    if !any_digit {
        return Err(NumberError::NotANumber);
    }
    if value == 0 {
        return Ok(0);
    }
    // value = significant * 10^power
    let power = exponent
        .saturating_sub(fraction_digits)
        .saturating_add(zeros);
    if power < -6 {
        return Err(NumberError::TooPrecise);
    }
    if overflow || power > 16 {
        return Err(NumberError::OutOfRange);
    }
    let mut scaled = value;
    for _ in 0..power + 6 {
        scaled *= 10;
        if scaled > i128::from(LIMIT_MICROS) {
            return Err(NumberError::OutOfRange);
        }
    }
    if scaled > i128::from(LIMIT_MICROS) {
        return Err(NumberError::OutOfRange);
    }
    let scaled = i64::try_from(scaled).map_err(|_| NumberError::OutOfRange)?;
    Ok(if negative { -scaled } else { scaled })
}

/// Far beyond the limit in any scale that can still pass the precision check.
const SATURATED: i128 = 10i128.pow(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_written_differently_are_equal() {
        assert_eq!(micros("300"), micros("300.0"));
        assert_eq!(micros("300"), micros("3e2"));
        assert_eq!(micros("300"), micros("3.0E+2"));
        assert_eq!(micros("0.5"), Ok(500_000));
        assert_eq!(micros("-1.25"), Ok(-1_250_000));
        assert_eq!(micros("-0"), Ok(0));
        assert_eq!(micros("1e-6"), Ok(1));
    }

    #[test]
    fn range_is_five_billion_inclusive() {
        assert_eq!(micros("5000000000"), Ok(LIMIT_MICROS));
        assert_eq!(micros("-5e9"), Ok(-LIMIT_MICROS));
        assert_eq!(micros("5000000000.000001"), Err(NumberError::OutOfRange));
        assert_eq!(micros("123456789012"), Err(NumberError::OutOfRange));
        assert_eq!(micros("1e400"), Err(NumberError::OutOfRange));
    }

    #[test]
    fn more_than_six_decimals_is_too_precise() {
        assert_eq!(micros("0.0000001"), Err(NumberError::TooPrecise));
        assert_eq!(micros("1.1234560"), Ok(1_123_456));
        assert_eq!(
            micros("1.000000000000000000000000000000000000000000"),
            Ok(1_000_000)
        );
        assert_eq!(
            micros("0.000000000000000000000000000000000000000001"),
            Err(NumberError::TooPrecise)
        );
        assert_eq!(micros("100e-8"), Ok(1));
    }

    #[test]
    fn extreme_exponents_do_not_overflow() {
        assert_eq!(
            micros("10e9223372036854775807"),
            Err(NumberError::OutOfRange)
        );
        assert_eq!(
            micros("1e-9223372036854775808"),
            Err(NumberError::TooPrecise)
        );
        assert_eq!(micros("0e9223372036854775807"), Ok(0));
    }

    #[test]
    fn plain_decimals_read_as_the_general_path_reads_them() {
        let mut next = crate::pattern::test_rng::below_from(0x2545_F491_4F6C_DD1D);
        let mut plain = 0;
        for _ in 0..20_000 {
            let mut text = String::new();
            if next(3) == 0 {
                text.push('-');
            }
            for _ in 0..next(30) {
                text.push(char::from(b'0' + next(10) as u8));
            }
            if next(2) == 0 {
                text.push('.');
                for _ in 0..next(30) {
                    text.push(char::from(b'0' + next(10) as u8));
                }
            }
            if let Some(fast) = plain_micros(text.as_bytes()) {
                plain += 1;
                assert_eq!(fast, any_micros(&text), "{text}");
            }
        }
        assert!(plain > 3_000, "{plain}");
    }

    #[test]
    fn garbage_is_not_a_number() {
        assert_eq!(micros("abc"), Err(NumberError::NotANumber));
        assert_eq!(micros(""), Err(NumberError::NotANumber));
    }
}
