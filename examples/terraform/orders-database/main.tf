# An environment stack for a platform team: a passwordless Flexible Server (Entra ID only, its
# Entra admin group, a firewall rule for the deployer), a managed identity per app, and one app
# database with its roles, GRANTs and AKS federated credentials from the passwordless-database
# module. See README.md.

terraform {
  required_version = ">= 1.0"
  required_providers {
    pgentra = {
      source  = "pgentra/pgentra"
      version = "~> 0.1"
    }
  }
}

# Configured from the environment, as in ../main.tf (ARM_* or the Azure CLI login; for the
# emulator also PGENTRA_ARM_ENDPOINT, AZURE_AUTHORITY_HOST and PGENTRA_CA_CERT_FILE).
provider "pgentra" {}

data "pgentra_client_config" "current" {}

resource "pgentra_flexible_server" "server" {
  resource_group_name   = var.resource_group_name
  server_name           = var.server_name
  location              = var.location
  version               = "16"
  sku_name              = "Standard_D2s_v3"
  storage_size_gb       = 64
  active_directory_auth = "Enabled"
  password_auth         = "Disabled"
  tenant_id             = data.pgentra_client_config.current.tenant_id
  public_network_access = "Enabled"
}

resource "pgentra_ad_admin" "admin" {
  resource_group_name = var.resource_group_name
  server_name         = pgentra_flexible_server.server.server_name
  object_id           = var.admin_group_object_id
  principal_name      = var.admin_group_name
  principal_type      = "Group"
  tenant_id           = data.pgentra_client_config.current.tenant_id
}

resource "pgentra_firewall_rule" "deployer" {
  resource_group_name = var.resource_group_name
  server_name         = pgentra_flexible_server.server.server_name
  name                = "allow-deployer"
  start_ip_address    = var.deployer_ip
  end_ip_address      = var.deployer_ip
}

# One user-assigned managed identity per app: its name is the app's PostgreSQL role.
resource "pgentra_managed_identity" "app" {
  for_each = var.apps

  resource_group_name = var.resource_group_name
  name                = each.key
  location            = var.location
}

module "orders_db" {
  source = "../modules/passwordless-database"

  server = {
    host                = pgentra_flexible_server.server.fully_qualified_domain_name
    port                = 5432
    resource_group_name = var.resource_group_name
    server_name         = pgentra_flexible_server.server.server_name
    admin_username      = pgentra_ad_admin.admin.principal_name
  }
  database_name = var.database_name
  apps = [
    for name, app in var.apps : {
      name             = pgentra_managed_identity.app[name].name
      principal_id     = pgentra_managed_identity.app[name].principal_id
      access           = app.access
      service_accounts = app.service_accounts
      oidc_issuer_url  = var.oidc_issuer_url
    }
  ]

  # The Principals and Grants reach the server through the firewall rule.
  depends_on = [pgentra_firewall_rule.deployer]
}
