//! Bytes in JSON documents: the standard base64 alphabet (RFC 4648, with padding) that
//! Elasticsearch's `binary` field type expects. (Archived snapshots are gzip-compressed by the
//! stores' one codec, `crate::store::codec`, first.)

use greenkube_core::ports::StoreError;

use super::BACKEND;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(super) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn sextet(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes standard base64 (padding required, no whitespace); anything else is
/// [`InvalidData`].
///
/// [`InvalidData`]: greenkube_core::ports::StoreErrorKind::InvalidData
pub(super) fn base64_decode(text: &str, what: &str) -> Result<Vec<u8>, StoreError> {
    let bad = || StoreError::invalid_data(BACKEND, format!("{what} is not base64"));
    let chunks = text.as_bytes().chunks_exact(4);
    if !chunks.remainder().is_empty() {
        return Err(bad());
    }
    let quads = chunks.len();
    let mut out = Vec::with_capacity(quads * 3);
    for (q, quad) in chunks.enumerate() {
        let padding = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if padding > 2 || (padding > 0 && q + 1 != quads) {
            return Err(bad());
        }
        let mut n = 0u32;
        for &c in &quad[..4 - padding] {
            n = (n << 6) | sextet(c).ok_or_else(bad)?;
        }
        n <<= 6 * padding;
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&decoded[..3 - padding]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenkube_core::ports::StoreErrorKind;

    #[test]
    fn base64_matches_rfc_4648() {
        // RFC 4648, section 10.
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), encoded);
            assert_eq!(base64_decode(encoded, "x").unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64_encode(&all), "x").unwrap(), all);
    }

    #[test]
    fn base64_refuses_what_is_not() {
        for text in ["Zg=", "Zg=a", "Z===", "Zg==Zg==", "Zm9v!A==", "Zm 9v"] {
            let err = base64_decode(text, "a body").unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::InvalidData, "{text}");
        }
    }
}
