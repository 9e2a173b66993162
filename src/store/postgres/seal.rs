/*!
Sealing at rest: with `B24AUTH_STORE_KEY` set, the whole document is one ChaCha20-Poly1305 value
with the profile name as associated data (schema version 2): a database user without the key can
neither read it nor change one field of it (say, `b24auth.oauth_server`), nor move it to another
profile. A document that is not sealed so, or does not open, is refused, never used. Schema
version 1 sealed only the four secret fields; `migrate` upgrades such rows once.
*/

use std::sync::atomic::Ordering;

use anyhow::{anyhow, Context as _, Result};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use serde_json::Value;

use super::{PgStore, Unsealed};
use crate::profile::{Profile, SECRET_KEYS};

/// Schema 1: one sealed secret field.
pub(super) const SEALED_PREFIX: &str = "sealed:v1:";
/// Schema 2: the whole document, sealed.
pub(super) const DOCUMENT_PREFIX: &str = "sealed-document:v2:";

impl PgStore {
    /// The document as stored: sealed as a whole when there is a key.
    pub(super) fn seal_document(&self, name: &str, profile: &Profile) -> Result<String> {
        match &self.key {
            Some(key) => {
                let plain = serde_json::to_string(profile)?;
                return seal_with(key, &document_aad(name), &plain, DOCUMENT_PREFIX);
            }
            None => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    self.ui.warn(format_args!(
                        "B24AUTH_STORE_KEY is not set: tokens are stored in clear in {}",
                        self.display
                    ));
                }
            }
        }
        Ok(serde_json::to_string(profile)?)
    }

    /// A stored document: with a key, only one sealed as a whole under this profile's name.
    pub(super) fn open_document(&self, name: &str, stored: &str) -> Result<Profile> {
        let damaged = || format!("profile `{name}` in {} is damaged", self.display);
        if let Some(sealed) = stored.strip_prefix(DOCUMENT_PREFIX) {
            let key = self.key.as_ref().ok_or_else(|| {
                anyhow!("profile `{name}` is sealed: set B24AUTH_STORE_KEY to the key it was stored with")
            })?;
            let plain = open_with(key, &document_aad(name), sealed).map_err(|_| {
                anyhow!("B24AUTH_STORE_KEY does not open profile `{name}` in {}: wrong key, or the document was modified or moved from another profile", self.display)
            })?;
            return Profile::parse(plain.as_bytes()).with_context(damaged);
        }
        if self.key.is_some() {
            return Err(Unsealed {
                name: name.into(),
                store: self.display.clone(),
            }
            .into());
        }
        self.open_fields(name, stored)
    }

    /// Schema 1's form: JSON whose secret fields may be sealed one by one.
    pub(super) fn open_fields(&self, name: &str, stored: &str) -> Result<Profile> {
        let mut value: Value = serde_json::from_str(stored)
            .with_context(|| format!("profile `{name}` in {} is damaged", self.display))?;
        if let Value::Object(doc) = &mut value {
            for field in SECRET_KEYS {
                let Some(Value::String(s)) = doc.get(field) else {
                    continue;
                };
                let Some(sealed) = s.strip_prefix(SEALED_PREFIX) else {
                    continue;
                };
                let key = self.key.as_ref().ok_or_else(|| {
                    anyhow!("the secrets of profile `{name}` are sealed: set B24AUTH_STORE_KEY to the key they were stored with")
                })?;
                let plain = open(key, name, field, sealed)?;
                doc.insert(field.to_string(), Value::String(plain));
            }
        }
        Profile::parse(&serde_json::to_vec(&value)?)
            .with_context(|| format!("profile `{name}` in {} is damaged", self.display))
    }
}

/// The associated data binds a sealed value to its profile and field: a value copied into
/// another row or field does not open.
fn aad(name: &str, field: &str) -> Vec<u8> {
    format!("b24auth:v1:{name}:{field}").into_bytes()
}

/// Schema 2's associated data: the document opens only as this profile.
fn document_aad(name: &str) -> Vec<u8> {
    format!("b24auth:v2:document:{name}").into_bytes()
}

#[cfg(test)]
fn seal(key: &ChaCha20Poly1305, name: &str, field: &str, plain: &str) -> Result<String> {
    seal_with(key, &aad(name, field), plain, SEALED_PREFIX)
}

/// `prefix` + base64(nonce ‖ ciphertext) of `plain` under `aad`.
fn seal_with(key: &ChaCha20Poly1305, aad: &[u8], plain: &str, prefix: &str) -> Result<String> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| anyhow!("no randomness for sealing: {e}"))?;
    let ciphertext = key
        .encrypt(
            &nonce.into(),
            Payload {
                msg: plain.as_bytes(),
                aad,
            },
        )
        .map_err(|_| anyhow!("cannot seal the profile"))?;
    let mut out = nonce.to_vec();
    out.extend(ciphertext);
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::STANDARD.encode(out)
    ))
}

fn open(key: &ChaCha20Poly1305, name: &str, field: &str, sealed: &str) -> Result<String> {
    open_with(key, &aad(name, field), sealed).map_err(|_| {
        anyhow!(
            "B24AUTH_STORE_KEY does not open the sealed `{field}` of profile `{name}`: wrong key?"
        )
    })
}

/// The plaintext of a [`seal_with`] body (without its prefix); any failure is one error.
fn open_with(key: &ChaCha20Poly1305, aad: &[u8], sealed: &str) -> Result<String, ()> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|_| ())?;
    if bytes.len() < 12 {
        return Err(());
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| ())?;
    let plain = key
        .decrypt(
            &nonce.into(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| ())?;
    String::from_utf8(plain).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chacha20poly1305::aead::KeyInit;

    #[test]
    fn sealing_round_trips_and_binds_its_place() {
        let key = ChaCha20Poly1305::new_from_slice(&[7u8; 32]).unwrap();
        let sealed = seal(&key, "default", "refresh_token", "rt-123").unwrap();
        assert!(sealed.starts_with(SEALED_PREFIX) && !sealed.contains("rt-123"));
        let body = sealed.strip_prefix(SEALED_PREFIX).unwrap();
        assert_eq!(
            open(&key, "default", "refresh_token", body).unwrap(),
            "rt-123"
        );
        assert!(open(&key, "other", "refresh_token", body).is_err());
        assert!(open(&key, "default", "access_token", body).is_err());
        let wrong = ChaCha20Poly1305::new_from_slice(&[8u8; 32]).unwrap();
        assert!(open(&wrong, "default", "refresh_token", body).is_err());
    }

    #[test]
    fn a_sealed_document_opens_only_whole_and_as_its_profile() {
        let key = ChaCha20Poly1305::new_from_slice(&[7u8; 32]).unwrap();
        let sealed = seal_with(&key, &document_aad("a"), "{}", DOCUMENT_PREFIX).unwrap();
        let body = sealed.strip_prefix(DOCUMENT_PREFIX).unwrap();
        assert_eq!(open_with(&key, &document_aad("a"), body).unwrap(), "{}");
        assert!(open_with(&key, &document_aad("b"), body).is_err());
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert!(open_with(&key, &document_aad("a"), &tampered).is_err());
    }
}
