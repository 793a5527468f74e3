//! Kubernetes resource quantities (`"3800m"`, `"16Gi"`, `"129e6"`) as numbers.
//!
//! The grammar is the API server's (`k8s.io/apimachinery/pkg/api/resource`):
//!
//! ```text
//! quantity        ::= signedNumber suffix
//! signedNumber    ::= number | "+" number | "-" number
//! number          ::= digits | digits "." digits | digits "." | "." digits
//! suffix          ::= binarySI | decimalExponent | decimalSI
//! binarySI        ::= "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"          (powers of 1024)
//! decimalSI       ::= "n" | "u" | "m" | "" | "k" | "M" | "G" | "T" | "P" | "E"
//! decimalExponent ::= ("e" | "E") signedNumber                         (an integer)
//! ```
//!
//! `"E"` alone is exa (10^18); `"E"` followed by digits is an exponent (`"1E3"` = 1000). No
//! spaces, no other units (`"1KB"`, `"1kb"`, `"1ki"` are refused). The decimal part is converted
//! with one correctly rounded decimal-to-binary conversion, so `"3800m"` is exactly the `f64`
//! nearest 3.8 and `"129e6"` is exactly 129 000 000.

/// Longest quantity accepted (the API server's canonical forms are far shorter).
const MAX_LEN: usize = 64;

/// Why a quantity was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The text is empty.
    #[error("empty quantity")]
    Empty,
    /// The text is not a Kubernetes quantity.
    #[error("invalid quantity {input:?}: {reason}")]
    Invalid {
        /// The text (at most the first 64 characters).
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The quantity does not fit in a finite `f64`.
    #[error("quantity {input:?} is out of range")]
    OutOfRange {
        /// The text (at most the first 64 characters).
        input: String,
    },
}

fn invalid(input: &str, reason: &'static str) -> QuantityError {
    QuantityError::Invalid {
        input: input.chars().take(MAX_LEN).collect(),
        reason,
    }
}

/// The value of a quantity in its base unit (cores for CPU, bytes for memory). Negative
/// quantities are valid Kubernetes syntax and are returned as such; callers that need an amount
/// check the sign.
pub fn parse_quantity(input: &str) -> Result<f64, QuantityError> {
    if input.is_empty() {
        return Err(QuantityError::Empty);
    }
    if input.len() > MAX_LEN {
        return Err(invalid(input, "longer than 64 characters"));
    }
    let bytes = input.as_bytes();
    let mut pos = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            pos += 1;
            true
        }
        Some(b'+') => {
            pos += 1;
            false
        }
        _ => false,
    };
    let int_start = pos;
    while pos < bytes.len() && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    let int_part = &input[int_start..pos];
    let mut frac_part = "";
    if pos < bytes.len() && bytes[pos] == b'.' {
        pos += 1;
        let frac_start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        frac_part = &input[frac_start..pos];
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(invalid(input, "no digits before the unit"));
    }
    let (exp10, binary_power) = suffix(input, &input[pos..])?;
    // One correctly rounded conversion of `int.frac e exp10`.
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let frac_part = if frac_part.is_empty() { "0" } else { frac_part };
    let decimal = format!("{int_part}.{frac_part}e{exp10}");
    let magnitude: f64 = decimal
        .parse()
        .map_err(|_| invalid(input, "not a number"))?;
    // A power of 1024 is a power of two: the scaling is exact unless it overflows.
    let value = magnitude * 1024f64.powi(binary_power);
    if !value.is_finite() {
        return Err(QuantityError::OutOfRange {
            input: input.chars().take(MAX_LEN).collect(),
        });
    }
    Ok(if negative { -value } else { value })
}

/// `(power of ten, power of 1024)` of a suffix.
fn suffix(input: &str, text: &str) -> Result<(i32, i32), QuantityError> {
    let scale = match text {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 1),
        "Mi" => (0, 2),
        "Gi" => (0, 3),
        "Ti" => (0, 4),
        "Pi" => (0, 5),
        "Ei" => (0, 6),
        _ => {
            let Some(exponent) = text.strip_prefix(['e', 'E']) else {
                return Err(invalid(input, "unknown unit"));
            };
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(input, "unknown unit"));
            }
            // Anything beyond ±400 is zero or infinite in f64 anyway.
            let value: i32 = digits.parse().unwrap_or(i32::MAX).min(400);
            let value = if exponent.starts_with('-') {
                -value
            } else {
                value
            };
            (value, 0)
        }
    };
    Ok(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_the_api_server_writes() {
        let cases: &[(&str, f64)] = &[
            ("3800m", 3.8),
            ("100m", 0.1),
            ("250m", 0.25),
            ("1", 1.0),
            ("1.5", 1.5),
            ("0.5", 0.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("+2", 2.0),
            ("-1", -1.0),
            ("0", 0.0),
            ("16Gi", 17_179_869_184.0),
            ("123Mi", 128_974_848.0),
            ("128974848", 128_974_848.0),
            ("129e6", 129_000_000.0),
            ("129E6", 129_000_000.0),
            ("1.5e3", 1500.0),
            ("12e-3", 0.012),
            ("1k", 1000.0),
            ("1M", 1_000_000.0),
            ("2G", 2_000_000_000.0),
            ("1T", 1e12),
            ("1P", 1e15),
            ("1E", 1e18),
            ("1E3", 1000.0),
            ("1E+3", 1000.0),
            ("1Ki", 1024.0),
            ("1.5Ki", 1536.0),
            ("0.5Gi", 536_870_912.0),
            ("1Ti", 1_099_511_627_776.0),
            ("1Pi", 1_125_899_906_842_624.0),
            ("1Ei", 1_152_921_504_606_846_976.0),
            ("500n", 0.000_000_5),
            ("250u", 0.000_25),
            ("7901580Ki", 8_091_217_920.0),
            ("32781880Ki", 33_568_645_120.0),
        ];
        for &(text, expected) in cases {
            assert_eq!(parse_quantity(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn decimal_conversion_is_correctly_rounded() {
        // 3800m is the f64 nearest 3.8, not 3800 × 0.001 (which is 3.8000000000000003).
        assert_eq!(
            parse_quantity("3800m").map(f64::to_bits),
            Ok(3.8f64.to_bits())
        );
        assert_eq!(parse_quantity("300m"), Ok(0.3));
        assert_eq!(parse_quantity("1.1"), Ok(1.1));
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert_eq!(parse_quantity(""), Err(QuantityError::Empty));
        let bad = [
            "abc", "1.2.3", "1Kb", "1KB", "1kb", "1ki", "1KiB", "Gi", "1 Gi", " 1", "1 ", "1e",
            "1e+", "1e-", "1ee3", "1e3.5", "1i", "--1", "+-1", ".", "-", "+", "NaN", "inf", "1Gi1",
            "1mm", "1,5", "0x10", "1_000", "٣",
        ];
        for text in bad {
            match parse_quantity(text) {
                Err(QuantityError::Invalid { input, .. }) => assert_eq!(input, text),
                other => panic!("{text:?} gave {other:?}"),
            }
        }
        let long = "1".repeat(65);
        assert!(matches!(
            parse_quantity(&long),
            Err(QuantityError::Invalid { reason, .. }) if reason == "longer than 64 characters"
        ));
    }

    #[test]
    fn out_of_range_is_refused_not_infinite() {
        assert_eq!(
            parse_quantity("1e400"),
            Err(QuantityError::OutOfRange {
                input: "1e400".to_owned()
            })
        );
        assert_eq!(
            parse_quantity("2e308"),
            Err(QuantityError::OutOfRange {
                input: "2e308".to_owned()
            })
        );
        // Within 64 characters a binary suffix cannot overflow.
        assert_eq!(
            parse_quantity("999999999999999999999999999999Ei"),
            Ok(1e30 * 1_152_921_504_606_846_976.0)
        );
        assert_eq!(parse_quantity("1e-400"), Ok(0.0));
    }

    #[test]
    fn messages_name_the_input() {
        let err = parse_quantity("12 cores").expect_err("refused");
        assert_eq!(
            err.to_string(),
            "invalid quantity \"12 cores\": unknown unit"
        );
    }
}
