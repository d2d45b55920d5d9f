//! Generated secrets: strong random alphanumeric strings from the OS random source.

use rand::TryRng;
use rand::rngs::SysRng;

use crate::error::{Error, Result};

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `length` characters from [A-Za-z0-9], with at least one upper-case letter,
/// one lower-case letter and one digit, so that databases with password rules
/// (SQL Server's) accept every generated password. Alphanumeric so the value
/// needs no quoting in `.env`, URLs or shell commands.
pub fn generate(length: usize) -> Result<String> {
    loop {
        let candidate = random_alphanumeric(length)?;
        let has = |f: fn(&u8) -> bool| candidate.as_bytes().iter().any(f);
        if has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase) && has(u8::is_ascii_digit) {
            return Ok(candidate);
        }
    }
}

fn random_alphanumeric(length: usize) -> Result<String> {
    let mut out = String::with_capacity(length);
    let mut buf = [0u8; 64];
    // Rejection sampling: 248 = 4 * 62, so bytes below it map uniformly.
    let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    while out.len() < length {
        SysRng
            .try_fill_bytes(&mut buf)
            .map_err(|e| Error::Entropy {
                message: e.to_string(),
            })?;
        for &b in buf.iter().filter(|&&b| b < limit) {
            if out.len() == length {
                break;
            }
            out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_the_length_and_alphabet_and_classes() {
        for length in [16, 32, 100] {
            let s = generate(length).unwrap();
            assert_eq!(s.len(), length);
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
            assert!(s.bytes().any(|b| b.is_ascii_digit()));
            assert!(s.bytes().any(|b| b.is_ascii_uppercase()));
        }
    }

    #[test]
    fn two_secrets_differ() {
        assert_ne!(generate(32).unwrap(), generate(32).unwrap());
    }
}
