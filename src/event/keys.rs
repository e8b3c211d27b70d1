//! S3 event object keys: form-URL-encoded (`+` is a space, `%2B` a plus, UTF-8 bytes
//! percent-encoded). Decoding is strict — a malformed key is an error, never a guess — which
//! is why this is not `percent_encoding::percent_decode` (it passes bad sequences through).

use thiserror::Error;

/// S3's limit on key length, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("invalid percent-encoding at byte {position} of the event key")]
    InvalidPercent { position: usize },
    #[error("the decoded event key is not valid UTF-8")]
    InvalidUtf8,
    #[error("the event key is empty")]
    Empty,
    #[error("the decoded key is {0} bytes, longer than S3's {MAX_KEY_BYTES}-byte limit")]
    TooLong(usize),
}

/// Decodes a key as S3 writes it into event notifications.
pub fn decode_event_key(raw: &str) -> Result<String, KeyError> {
    let mut key = String::new();
    decode_event_key_into(raw.as_bytes(), &mut key)?;
    Ok(key)
}

/// [`decode_event_key`] into a reused buffer (reconcile decodes millions of keys).
pub fn decode_event_key_into(bytes: &[u8], key: &mut String) -> Result<(), KeyError> {
    fn hex(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
    let mut out = std::mem::take(key).into_bytes();
    out.clear();
    let mut i = 0;
    while i < bytes.len() {
        // Copy the run up to the next escape in one go.
        let run = bytes[i..]
            .iter()
            .position(|&b| b == b'%' || b == b'+')
            .unwrap_or(bytes.len() - i);
        out.extend_from_slice(&bytes[i..i + run]);
        i += run;
        match bytes.get(i) {
            Some(b'+') => {
                out.push(b' ');
                i += 1;
            }
            Some(_) => {
                // Two hex digits exactly: a sign ("%+A") or a short sequence is an error.
                let value = bytes
                    .get(i + 1..i + 3)
                    .and_then(|pair| Some(hex(pair[0])? << 4 | hex(pair[1])?))
                    .ok_or(KeyError::InvalidPercent { position: i })?;
                out.push(value);
                i += 3;
            }
            None => {}
        }
    }
    *key = String::from_utf8(out).map_err(|_| KeyError::InvalidUtf8)?;
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(KeyError::TooLong(key.len()));
    }
    Ok(())
}

/// Encodes a key the way S3 event notifications do (used for sample events and tests).
pub fn encode_event_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for &byte in key.as_bytes() {
        match byte {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b'*' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_is_a_space_and_percent_2b_is_a_plus() {
        assert_eq!(
            decode_event_key("Screen+Shot+1%2B1.png").unwrap(),
            "Screen Shot 1+1.png"
        );
    }

    #[test]
    fn unicode_and_percent_signs_decode() {
        assert_eq!(
            decode_event_key("caf%C3%A9/100%25+done.txt").unwrap(),
            "café/100% done.txt"
        );
    }

    #[test]
    fn slashes_are_kept() {
        assert_eq!(decode_event_key("a/b/c").unwrap(), "a/b/c");
    }

    #[test]
    fn malformed_sequences_are_errors() {
        assert_eq!(
            decode_event_key("bad%2"),
            Err(KeyError::InvalidPercent { position: 3 })
        );
        assert_eq!(
            decode_event_key("bad%zzx"),
            Err(KeyError::InvalidPercent { position: 3 })
        );
        for signed in ["a%+A", "a%-1", "a% 1"] {
            assert_eq!(
                decode_event_key(signed),
                Err(KeyError::InvalidPercent { position: 1 }),
                "{signed}"
            );
        }
        assert_eq!(decode_event_key("%FF%FE"), Err(KeyError::InvalidUtf8));
        assert_eq!(decode_event_key(""), Err(KeyError::Empty));
    }

    #[test]
    fn keys_beyond_1024_bytes_are_rejected() {
        assert!(decode_event_key(&"a".repeat(1024)).is_ok());
        assert_eq!(
            decode_event_key(&"a".repeat(1025)),
            Err(KeyError::TooLong(1025))
        );
    }

    #[test]
    fn encoding_round_trips() {
        for key in [
            "Screen Shot 2026.png",
            "1+1=2",
            "ünï/cødé 100%",
            "a?b&c=d#e",
            "  spaced  ",
        ] {
            assert_eq!(decode_event_key(&encode_event_key(key)).unwrap(), key);
        }
    }
}
