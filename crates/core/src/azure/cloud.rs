//! The Azure clouds: where ARM and Entra live, and the audiences of ARM and PostgreSQL tokens.

use crate::config::{Cloud, ProviderConfig};

/// The endpoints of one cloud, after `armEndpoint` and `authorityHost` overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudEndpoints {
    pub cloud: Cloud,
    /// ARM base URL, no trailing slash.
    pub arm_endpoint: String,
    /// Entra authority host, no trailing slash.
    pub authority_host: String,
    /// The scope of ARM tokens (`<arm resource>/.default`).
    pub arm_scope: String,
    /// The audience (resource) of PostgreSQL Entra tokens.
    pub postgres_audience: String,
}

impl CloudEndpoints {
    /// The cloud's own endpoints.
    pub fn of(cloud: Cloud) -> Self {
        let (arm, authority, postgres) = match cloud {
            Cloud::Public => (
                "https://management.azure.com",
                "https://login.microsoftonline.com",
                "https://ossrdbms-aad.database.windows.net",
            ),
            Cloud::UsGovernment => (
                "https://management.usgovcloudapi.net",
                "https://login.microsoftonline.us",
                "https://ossrdbms-aad.database.usgovcloudapi.net",
            ),
            Cloud::China => (
                "https://management.chinacloudapi.cn",
                "https://login.chinacloudapi.cn",
                "https://ossrdbms-aad.database.chinacloudapi.cn",
            ),
        };
        Self {
            cloud,
            arm_endpoint: arm.to_string(),
            authority_host: authority.to_string(),
            arm_scope: format!("{arm}/.default"),
            postgres_audience: postgres.to_string(),
        }
    }

    /// The configured cloud with `armEndpoint` and `authorityHost` applied. The token scopes stay
    /// the cloud's: an emulator (or a private ARM front) accepts the cloud's audiences.
    pub fn from_config(config: &ProviderConfig) -> Self {
        let mut endpoints = Self::of(config.cloud);
        if let Some(arm) = config.arm_endpoint.as_deref().filter(|s| !s.is_empty()) {
            endpoints.arm_endpoint = arm.trim_end_matches('/').to_string();
        }
        if let Some(authority) = config.authority_host.as_deref().filter(|s| !s.is_empty()) {
            endpoints.authority_host = authority.trim_end_matches('/').to_string();
        }
        endpoints
    }

    /// The scope of PostgreSQL tokens: the audience + `/.default`.
    pub fn postgres_scope(&self) -> String {
        format!("{}/.default", self.postgres_audience)
    }

    /// The scope of Microsoft Graph tokens in this cloud.
    pub fn graph_scope(&self) -> &'static str {
        match self.cloud {
            Cloud::Public => "https://graph.microsoft.com/.default",
            Cloud::UsGovernment => "https://graph.microsoft.us/.default",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn/.default",
        }
    }

    /// The token endpoint of a tenant.
    pub fn token_endpoint(&self, tenant_id: &str) -> String {
        format!("{}/{tenant_id}/oauth2/v2.0/token", self.authority_host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cloud_has_its_arm_authority_and_postgres_audience() {
        let gov = CloudEndpoints::of(Cloud::UsGovernment);
        assert_eq!(gov.arm_endpoint, "https://management.usgovcloudapi.net");
        assert_eq!(gov.authority_host, "https://login.microsoftonline.us");
        assert_eq!(
            gov.arm_scope,
            "https://management.usgovcloudapi.net/.default"
        );
        assert_eq!(
            gov.postgres_scope(),
            "https://ossrdbms-aad.database.usgovcloudapi.net/.default"
        );
        let china = CloudEndpoints::of(Cloud::China);
        assert_eq!(china.arm_endpoint, "https://management.chinacloudapi.cn");
        assert_eq!(china.authority_host, "https://login.chinacloudapi.cn");
        assert_eq!(
            china.postgres_audience,
            "https://ossrdbms-aad.database.chinacloudapi.cn"
        );
        let public = CloudEndpoints::of(Cloud::Public);
        assert_eq!(public.arm_scope, "https://management.azure.com/.default");
        assert_eq!(
            public.postgres_scope(),
            "https://ossrdbms-aad.database.windows.net/.default"
        );
    }

    #[test]
    fn overrides_replace_the_endpoints_but_keep_the_scopes() {
        let config = ProviderConfig {
            arm_endpoint: Some("https://127.0.0.1:8443/".into()),
            authority_host: Some("https://127.0.0.1:8444".into()),
            ..Default::default()
        };
        let e = CloudEndpoints::from_config(&config);
        assert_eq!(e.arm_endpoint, "https://127.0.0.1:8443");
        assert_eq!(e.authority_host, "https://127.0.0.1:8444");
        assert_eq!(e.arm_scope, "https://management.azure.com/.default");
        assert_eq!(
            e.token_endpoint("t"),
            "https://127.0.0.1:8444/t/oauth2/v2.0/token"
        );
    }
}
