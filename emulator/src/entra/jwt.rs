//! RS256 JSON Web Tokens: signing with the emulator's key, the JWKS, and verification.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use rand_core::OsRng;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Why a JWT was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not RS256")]
    Algorithm,
    #[error("the token's key id is unknown")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    Signature,
    #[error("generating the RSA key: {0}")]
    KeyGen(String),
}

/// One RSA 2048 key pair, generated at emulator start, with its key id.
pub struct KeyPair {
    private: SigningKey<Sha256>,
    public: RsaPublicKey,
    kid: String,
}

/// A JWT split into its decoded parts (not yet verified).
#[derive(Debug, Clone)]
pub struct Decoded {
    pub header: Value,
    pub claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

impl KeyPair {
    pub fn generate() -> Result<Self, JwtError> {
        let key =
            RsaPrivateKey::new(&mut OsRng, 2048).map_err(|e| JwtError::KeyGen(e.to_string()))?;
        let public = key.to_public_key();
        let thumb = Sha256::digest(public.n().to_bytes_be());
        let kid = B64.encode(&thumb[..20]);
        Ok(Self {
            private: SigningKey::<Sha256>::new(key),
            public,
            kid,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `claims` as a compact JWT with header `{typ: JWT, alg: RS256, kid}`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": self.kid, "x5t": self.kid});
        let input = format!(
            "{}.{}",
            B64.encode(serde_json::to_vec(&header).unwrap_or_default()),
            B64.encode(serde_json::to_vec(claims).unwrap_or_default())
        );
        let sig = self.private.sign(input.as_bytes());
        format!("{input}.{}", B64.encode(sig.to_bytes()))
    }

    /// The public key as a JSON Web Key.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "x5t": self.kid,
            "n": B64.encode(self.public.n().to_bytes_be()),
            "e": B64.encode(self.public.e().to_bytes_be()),
        })
    }

    /// `{"keys": [jwk]}`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }

    /// Checks algorithm, key id and signature; returns the decoded token.
    pub fn verify(&self, token: &str) -> Result<Decoded, JwtError> {
        let d = decode(token)?;
        if d.header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(JwtError::Algorithm);
        }
        if let Some(kid) = d.header.get("kid").and_then(Value::as_str) {
            if kid != self.kid {
                return Err(JwtError::UnknownKey);
            }
        }
        let sig = Signature::try_from(d.signature.as_slice()).map_err(|_| JwtError::Signature)?;
        VerifyingKey::<Sha256>::new(self.public.clone())
            .verify(d.signing_input.as_bytes(), &sig)
            .map_err(|_| JwtError::Signature)?;
        Ok(d)
    }
}

/// Splits and base64url-decodes a compact JWT without checking anything.
pub fn decode(token: &str) -> Result<Decoded, JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let json_part = |p: &str| -> Result<Value, JwtError> {
        let bytes = B64
            .decode(p.trim_end_matches('='))
            .map_err(|_| JwtError::Malformed)?;
        serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
    };
    Ok(Decoded {
        header: json_part(h)?,
        claims: json_part(c)?,
        signing_input: format!("{h}.{c}"),
        signature: B64
            .decode(s.trim_end_matches('='))
            .map_err(|_| JwtError::Malformed)?,
    })
}
