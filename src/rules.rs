//! Per-property rules shared by resources and provider config: Azure's naming rules,
//! PostgreSQL's identifier limits, formats. Each returns what is allowed when it refuses.

use serde_json::Value;

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// A GUID such as `00000000-0000-0000-0000-000000000000` (subscription, tenant and object ids).
pub fn uuid(value: &Value) -> Result<(), String> {
    let s = text(value);
    let groups: Vec<&str> = s.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups.iter().zip(lengths).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a GUID; expected the form 00000000-0000-0000-0000-000000000000"))
    }
}

/// An absolute https:// URL (ARM endpoint, authority host).
pub fn https_url(value: &Value) -> Result<(), String> {
    let s = text(value);
    let rest = s.strip_prefix("https://").ok_or_else(|| format!("{s:?} must be an https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') || s.chars().any(char::is_whitespace) {
        return Err(format!("{s:?} must be an https:// URL with a host and no spaces"));
    }
    Ok(())
}

/// A resource group name: 1-90 letters, digits, `-`, `_`, `.`, `(` and `)`, not ending in `.`.
pub fn resource_group_name(value: &Value) -> Result<(), String> {
    let s = text(value);
    let ok = (1..=90).contains(&s.chars().count())
        && s.chars().all(|c| c.is_alphanumeric() || "-_.()".contains(c))
        && !s.ends_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a resource group name: use 1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'"))
    }
}

/// An Azure region name such as `eastus` (display names like `East US` are accepted by ARM too).
pub fn location(value: &Value) -> Result<(), String> {
    let s = text(value);
    if !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') {
        Ok(())
    } else {
        Err(format!("{s:?} is not an Azure region; use a name such as eastus or westeurope"))
    }
}

/// Azure tags: at most 50, names up to 512 characters without `<>%&\?/`, values up to 256.
pub fn tags(value: &Value) -> Result<(), String> {
    let Some(map) = value.as_object() else { return Ok(()) };
    if map.len() > 50 {
        return Err(format!("{} tags given; Azure allows at most 50", map.len()));
    }
    for (name, tag) in map {
        if name.is_empty() || name.chars().count() > 512 || name.chars().any(|c| "<>%&\\?/".contains(c)) {
            return Err(format!("tag name {name:?} must be 1-512 characters without < > % & \\ ? /"));
        }
        if tag.as_str().is_some_and(|v| v.chars().count() > 256) {
            return Err(format!("the value of tag {name:?} is longer than Azure's 256 characters"));
        }
    }
    Ok(())
}

/// A user-assigned identity name: 3-128 letters, digits, `-` and `_`, starting with a letter or digit.
pub fn identity_name(value: &Value) -> Result<(), String> {
    let s = text(value);
    let ok = (3..=128).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a managed identity name: use 3-128 letters, digits, '-' or '_', starting with a letter or digit"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uuid_accepts_a_guid_and_names_the_form_otherwise() {
        assert!(uuid(&json!("0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a69")).is_ok());
        let err = uuid(&json!("not-a-guid")).unwrap_err();
        assert!(err.contains("00000000-0000-0000-0000-000000000000"), "{err}");
        assert!(uuid(&json!("0b4f2b53-1f0c-4a8e-9a55-1d2f3c4b5a6")).is_err());
    }

    #[test]
    fn https_url_refuses_http_and_empty_hosts() {
        assert!(https_url(&json!("https://management.azure.com/")).is_ok());
        assert!(https_url(&json!("http://management.azure.com/")).is_err());
        assert!(https_url(&json!("https://")).is_err());
    }
}
