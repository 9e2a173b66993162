/*!
The key that seals secrets in a PostgreSQL store (`B24AUTH_STORE_KEY`), read once when the store
opens.
*/

use anyhow::Result;
use base64::Engine as _;
use chacha20poly1305::aead::KeyInit;
use chacha20poly1305::ChaCha20Poly1305;

use crate::exit;
use crate::secret::Secret;

/// `B24AUTH_STORE_KEY`: 32 random bytes, base64.
pub(super) fn store_key(encoded: &Secret) -> Result<ChaCha20Poly1305> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.expose().trim())
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| {
            exit::usage("B24AUTH_STORE_KEY must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)")
        })?;
    let key = ChaCha20Poly1305::new_from_slice(&bytes)
        .map_err(|_| exit::usage("B24AUTH_STORE_KEY has the wrong length"))?;
    Ok(key)
}
