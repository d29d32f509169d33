//! A projected service-account token (the file `AZURE_FEDERATED_TOKEN_FILE` names): its claims,
//! and its RS256 signature checked against the issuer's JWKS, as Entra checks a client assertion.
//! The token is never printed; only its claims are.

use serde_json::Value;

pub(super) struct ProjectedToken {
    header: Value,
    pub claims: Value,
    /// `base64url(header) "." base64url(payload)`, what the signature covers.
    signed: String,
    signature: Vec<u8>,
}

impl ProjectedToken {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let parts: Vec<&str> = text.split('.').collect();
        let [header, payload, signature] = parts.as_slice() else {
            return Err(format!(
                "it is not a JWT: {} dot-separated parts, a signed JWT has 3",
                parts.len()
            ));
        };
        let json = |part: &str, what: &str| -> Result<Value, String> {
            let bytes = azure_core::base64::decode_url_safe(part)
                .map_err(|_| format!("its {what} is not base64url"))?;
            serde_json::from_slice(&bytes).map_err(|_| format!("its {what} is not JSON"))
        };
        Ok(Self {
            header: json(header, "header")?,
            claims: json(payload, "payload")?,
            signed: format!("{header}.{payload}"),
            signature: azure_core::base64::decode_url_safe(signature)
                .map_err(|_| "its signature is not base64url".to_string())?,
        })
    }

    pub fn claim(&self, name: &str) -> &str {
        self.claims
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `aud` as a list (a JWT may carry one string or an array).
    pub fn audiences(&self) -> Vec<String> {
        match self.claims.get("aud") {
            Some(Value::String(one)) => vec![one.clone()],
            Some(Value::Array(many)) => many
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn number(&self, name: &str) -> Option<i64> {
        self.claims.get(name).and_then(Value::as_i64)
    }

    /// The `kid` of the JWKS key whose RS256 signature verifies, or why none does.
    pub fn verify(&self, jwks: &Value) -> Result<String, String> {
        let alg = self.header.get("alg").and_then(Value::as_str).unwrap_or("");
        if alg != "RS256" {
            return Err(format!(
                "it is signed with {alg:?}; Kubernetes service-account tokens and Entra use RS256"
            ));
        }
        let kid = self.header.get("kid").and_then(Value::as_str);
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        // The key the header names; a header without kid may be signed by any RSA key.
        let candidates: Vec<&Value> = keys
            .iter()
            .filter(|k| k.get("kty").and_then(Value::as_str) == Some("RSA"))
            .filter(|k| kid.is_none() || k.get("kid").and_then(Value::as_str) == kid)
            .collect();
        if candidates.is_empty() {
            return Err(match kid {
                Some(kid) => format!("the issuer's JWKS has no RSA key with kid {kid:?}"),
                None => "the issuer's JWKS has no RSA key".into(),
            });
        }
        for key in candidates {
            let part = |name: &str| {
                key.get(name)
                    .and_then(Value::as_str)
                    .and_then(|v| azure_core::base64::decode_url_safe(v).ok())
            };
            let (Some(n), Some(e)) = (part("n"), part("e")) else {
                continue;
            };
            let public = ring::signature::RsaPublicKeyComponents { n, e };
            if public
                .verify(
                    &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                    self.signed.as_bytes(),
                    &self.signature,
                )
                .is_ok()
            {
                return Ok(key
                    .get("kid")
                    .and_then(Value::as_str)
                    .unwrap_or("(no kid)")
                    .to_owned());
            }
        }
        Err(match kid {
            Some(kid) => format!("its signature does not verify with the issuer's key {kid:?}"),
            None => "its signature verifies with none of the issuer's keys".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_a_signed_jwt_is_said_so() {
        // No Debug on the token (it would print it): take the refusal with err().
        let refusal = |text: &str| ProjectedToken::parse(text).err().expect("refused");
        assert!(refusal("abc").contains("1 dot-separated"));
        assert!(refusal("a.b.c").contains("header"));
        let header = azure_core::base64::encode_url_safe(br#"{"alg":"none"}"#);
        let payload = azure_core::base64::encode_url_safe(br#"{"sub":"x","aud":"a"}"#);
        let Ok(token) = ProjectedToken::parse(&format!("{header}.{payload}.\n")) else {
            panic!("a JWT with an empty signature parses")
        };
        assert_eq!(token.audiences(), vec!["a".to_string()]);
        assert!(token
            .verify(&serde_json::json!({"keys": []}))
            .unwrap_err()
            .contains("RS256"));
    }
}
