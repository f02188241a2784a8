//! DynamoDB numbers: exact decimals of up to 38 significant digits, compared by value and
//! added without floating-point rounding, as DynamoDB does (`1.50` equals `1.5`, and
//! `0.1 + 0.2` is exactly `0.3`).

use std::cmp::Ordering;
use std::fmt;

/// The most significant digits a DynamoDB number may hold.
pub const MAX_PRECISION: usize = 38;
/// Largest decimal exponent of the most significant digit (9.99…E+125).
const MAX_MAGNITUDE: i64 = 125;
/// Smallest decimal exponent of the most significant digit (1E-130).
const MIN_MAGNITUDE: i64 = -130;

/// Why a string is not a DynamoDB number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("A value provided cannot be converted into a number")]
    NotANumber,
    #[error("Attempting to store more than 38 significant digits in a Number")]
    TooPrecise,
    #[error(
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    )]
    Overflow,
    #[error(
        "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    )]
    Underflow,
}

/// An exact decimal: `digits × 10^exponent`, normalised so equal values are equal structs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Number {
    negative: bool,
    /// Most significant first, no leading or trailing zeros; empty means zero.
    digits: Vec<u8>,
    exponent: i64,
}

impl Number {
    pub fn zero() -> Number {
        Number {
            negative: false,
            digits: Vec::new(),
            exponent: 0,
        }
    }

    pub fn from_i64(value: i64) -> Number {
        Number::parse(&value.to_string()).unwrap_or_else(|_| Number::zero())
    }

    /// Parse DynamoDB's number syntax (optional sign, digits, optional fraction and exponent).
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let text = text.trim();
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exp_part) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
            None => (mantissa, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(NumberError::NotANumber);
        }
        if !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return Err(NumberError::NotANumber);
        }
        let mut exponent: i64 = match exp_part {
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty()
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                    || digits.len() > 6
                {
                    return Err(NumberError::NotANumber);
                }
                e.parse().map_err(|_| NumberError::NotANumber)?
            }
            None => 0,
        };
        exponent -= frac_part.len() as i64;
        let digits: Vec<u8> = int_part
            .bytes()
            .chain(frac_part.bytes())
            .map(|b| b - b'0')
            .collect();
        Number::normalise(negative, digits, exponent)
    }

    fn normalise(
        negative: bool,
        mut digits: Vec<u8>,
        mut exponent: i64,
    ) -> Result<Number, NumberError> {
        let leading = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..leading);
        while digits.last() == Some(&0) {
            digits.pop();
            exponent += 1;
        }
        if digits.is_empty() {
            return Ok(Number::zero());
        }
        if digits.len() > MAX_PRECISION {
            return Err(NumberError::TooPrecise);
        }
        let magnitude = exponent + digits.len() as i64 - 1;
        if magnitude > MAX_MAGNITUDE {
            return Err(NumberError::Overflow);
        }
        if magnitude < MIN_MAGNITUDE {
            return Err(NumberError::Underflow);
        }
        Ok(Number {
            negative,
            digits,
            exponent,
        })
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Significant digits, used for DynamoDB's item size arithmetic.
    pub fn significant_digits(&self) -> usize {
        self.digits.len().max(1)
    }

    pub fn negate(&self) -> Number {
        let mut out = self.clone();
        out.negative = !self.negative && !self.is_zero();
        out
    }

    pub fn add(&self, other: &Number) -> Result<Number, NumberError> {
        let exponent = self.exponent.min(other.exponent);
        let a = self.aligned(exponent);
        let b = other.aligned(exponent);
        let (negative, digits) = if self.negative == other.negative {
            (self.negative, add_magnitudes(&a, &b))
        } else {
            match compare_magnitudes(&a, &b) {
                Ordering::Less => (other.negative, sub_magnitudes(&b, &a)),
                _ => (self.negative, sub_magnitudes(&a, &b)),
            }
        };
        let mut most_first = digits;
        most_first.reverse();
        Number::normalise(negative, most_first, exponent)
    }

    pub fn sub(&self, other: &Number) -> Result<Number, NumberError> {
        self.add(&other.negate())
    }

    /// Digits least significant first, scaled to `exponent` (which is at most ours).
    fn aligned(&self, exponent: i64) -> Vec<u8> {
        let shift = (self.exponent - exponent) as usize;
        let mut out = vec![0; shift];
        out.extend(self.digits.iter().rev());
        out
    }
}

fn add_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let mut carry = 0;
    for i in 0..a.len().max(b.len()) {
        let sum = a.get(i).copied().unwrap_or(0) + b.get(i).copied().unwrap_or(0) + carry;
        out.push(sum % 10);
        carry = sum / 10;
    }
    if carry > 0 {
        out.push(carry);
    }
    out
}

/// `a - b` for magnitudes with `a >= b`, least significant digit first.
fn sub_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0i8;
    for (i, digit) in a.iter().enumerate() {
        let mut d = *digit as i8 - b.get(i).copied().unwrap_or(0) as i8 - borrow;
        borrow = if d < 0 { 1 } else { 0 };
        if d < 0 {
            d += 10;
        }
        out.push(d as u8);
    }
    out
}

/// Compare magnitudes given least significant digit first (same scale).
fn compare_magnitudes(a: &[u8], b: &[u8]) -> Ordering {
    let trim = |v: &[u8]| v.len() - v.iter().rev().take_while(|d| **d == 0).count();
    let (la, lb) = (trim(a), trim(b));
    la.cmp(&lb)
        .then_with(|| a[..la].iter().rev().cmp(b[..lb].iter().rev()))
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        let sign = |n: &Number| {
            if n.is_zero() {
                0
            } else if n.negative {
                -1
            } else {
                1
            }
        };
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal if sign(self) == 0 => Ordering::Equal,
            Ordering::Equal => {
                let magnitude = (self.exponent + self.digits.len() as i64)
                    .cmp(&(other.exponent + other.digits.len() as i64))
                    .then_with(|| self.digits.cmp(&other.digits));
                if self.negative {
                    magnitude.reverse()
                } else {
                    magnitude
                }
            }
            unequal => unequal,
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Plain decimal notation without exponent or redundant zeros.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut out = String::new();
        if self.negative {
            out.push('-');
        }
        let digits: String = self.digits.iter().map(|d| char::from(b'0' + d)).collect();
        if self.exponent >= 0 {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', self.exponent as usize));
        } else {
            let fraction = (-self.exponent) as usize;
            if fraction >= digits.len() {
                out.push_str("0.");
                out.extend(std::iter::repeat_n('0', fraction - digits.len()));
                out.push_str(&digits);
            } else {
                let (int, frac) = digits.split_at(digits.len() - fraction);
                out.push_str(int);
                out.push('.');
                out.push_str(frac);
            }
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        Number::parse(text).expect(text)
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(n("1.50").to_string(), "1.5");
        assert_eq!(n("-0012.500e1").to_string(), "-125");
        assert_eq!(n("0.001").to_string(), "0.001");
        assert_eq!(n("1e3").to_string(), "1000");
        assert_eq!(n("-0").to_string(), "0");
        assert_eq!(n(".5").to_string(), "0.5");
    }

    #[test]
    fn rejects_what_dynamodb_rejects() {
        assert_eq!(Number::parse("abc"), Err(NumberError::NotANumber));
        assert_eq!(Number::parse(""), Err(NumberError::NotANumber));
        assert_eq!(Number::parse("1e"), Err(NumberError::NotANumber));
        assert_eq!(Number::parse(&"1".repeat(39)), Err(NumberError::TooPrecise));
        assert_eq!(Number::parse("1e126"), Err(NumberError::Overflow));
        assert_eq!(Number::parse("1e-131"), Err(NumberError::Underflow));
    }

    #[test]
    fn exact_arithmetic() {
        assert_eq!(n("0.1").add(&n("0.2")).unwrap(), n("0.3"));
        assert_eq!(n("5").sub(&n("7.5")).unwrap().to_string(), "-2.5");
        assert_eq!(n("-5").add(&n("5")).unwrap(), Number::zero());
        assert_eq!(n("999").add(&n("1")).unwrap().to_string(), "1000");
    }

    #[test]
    fn ordering_by_value() {
        assert!(n("300") == n("300.0"));
        assert!(n("-10") < n("-9"));
        assert!(n("0.5") < n("1"));
        assert!(n("10") > n("9.99"));
        assert!(n("-0.1") < Number::zero());
    }
}
