//! Minting tickets: the login server's side.

use ed25519_dalek::Signer as _;

use crate::keys::{KeyError, PublicKey, SecretKey};
use crate::ticket::{RawTicket, Ticket, MAX_TICKET_LEN};
use crate::Error;

/// Signs tickets with one secret key.
#[derive(Clone, Debug)]
pub struct Signer {
    key: SecretKey,
}

impl Signer {
    pub fn new(key: SecretKey) -> Signer {
        Signer { key }
    }

    /// Reads the secret key file (refused if group or others can access it).
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Signer, KeyError> {
        SecretKey::from_file(path).map(Signer::new)
    }

    /// The public key that verifies this signer's tickets.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// Signs a ticket and returns its wire form (base64url with padding).
    /// Fails with [`Error::InvalidField`] for values the format cannot carry,
    /// and with [`Error::TooLong`] for a ticket over [`MAX_TICKET_LEN`]
    /// encoded, which every verifier would refuse.
    pub fn sign(&self, ticket: &Ticket) -> Result<String, Error> {
        let content = ticket.to_content()?;
        if encoded_len(64 + content.len()) > MAX_TICKET_LEN {
            return Err(Error::TooLong);
        }
        Ok(self.sign_content(content.as_bytes()))
    }

    /// Signs arbitrary content bytes. The format is not checked: this exists
    /// for tests and fuzzing that need signed but malformed tickets.
    pub fn sign_content(&self, content: &[u8]) -> String {
        RawTicket {
            signature: self.key.0.sign(content).to_bytes(),
            content: content.to_vec(),
        }
        .encode()
    }
}

/// Length of `n` bytes in padded base64.
fn encoded_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}
