# The seed's passwordless PostgreSQL setup (shared/seed/passwordless-postgres-entra.md) in
# Terraform: a Flexible Server that only accepts Microsoft Entra tokens, its Entra admin group,
# the app's managed identity federated with an AKS service account, a database, a firewall rule
# for the deployer, and the roles and GRANTs inside the database. The same resources as the
# Pulumi examples (../yaml/Pulumi.yaml). See README.md (Azure) and README-emulator.md (local).

terraform {
  required_providers {
    pgentra = {
      source  = "pgentra/pgentra"
      version = "~> 0.1"
    }
  }
}

# Configured from the environment: ARM_SUBSCRIPTION_ID, ARM_TENANT_ID, ARM_CLIENT_ID,
# ARM_CLIENT_SECRET (or workload identity, a managed identity, the Azure CLI login), and for the
# emulator PGENTRA_ARM_ENDPOINT, AZURE_AUTHORITY_HOST and PGENTRA_CA_CERT_FILE.
provider "pgentra" {}

# Who the provider signs in as; its tenant is the tenant the server trusts.
data "pgentra_client_config" "current" {}

locals {
  read_write = ["SELECT", "INSERT", "UPDATE", "DELETE"]
}

# az postgres flexible-server create ... --active-directory-auth Enabled --password-auth Disabled
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
  tags                  = var.tags
}

# az postgres flexible-server ad-admin create --display-name "PG Admins Group" --object-id ...
resource "pgentra_ad_admin" "admin" {
  resource_group_name = var.resource_group_name
  server_name         = pgentra_flexible_server.server.server_name
  object_id           = var.admin_group_object_id
  principal_name      = var.admin_group_name
  principal_type      = "Group"
  tenant_id           = data.pgentra_client_config.current.tenant_id
}

# The deployer reaches the public endpoint from one address.
resource "pgentra_firewall_rule" "deployer" {
  resource_group_name = var.resource_group_name
  server_name         = pgentra_flexible_server.server.server_name
  name                = "allow-deployer"
  start_ip_address    = var.deployer_ip
  end_ip_address      = var.deployer_ip
}

resource "pgentra_database" "app" {
  resource_group_name = var.resource_group_name
  server_name         = pgentra_flexible_server.server.server_name
  name                = var.database_name
}

# az identity create --name id-myapp-prod
resource "pgentra_managed_identity" "app" {
  resource_group_name = var.resource_group_name
  name                = var.identity_name
  location            = var.location
  tags                = var.tags
}

# az identity federated-credential create --name fc-myapp-aks
#   --subject system:serviceaccount:myapp-ns:myapp-sa
resource "pgentra_federated_credential" "aks" {
  resource_group_name = var.resource_group_name
  identity_name       = pgentra_managed_identity.app.name
  name                = var.federated_credential_name
  issuer              = var.oidc_issuer_url
  subject             = "system:serviceaccount:myapp-ns:myapp-sa"
  audiences           = ["api://AzureADTokenExchange"]
}

# SELECT * FROM pgaadauth_create_principal(...): the role name is the identity's name, and binding
# it by object ID keeps it right even if another principal shares that name. Every Principal and
# Grant signs in to the server as its Entra admin group, with a fresh token of the deployer's.
resource "pgentra_principal" "app" {
  sql_connection {
    host     = pgentra_flexible_server.server.fully_qualified_domain_name
    username = pgentra_ad_admin.admin.principal_name
  }
  name           = pgentra_managed_identity.app.name
  object_id      = pgentra_managed_identity.app.principal_id
  principal_type = "service"

  depends_on = [pgentra_firewall_rule.deployer]
}

resource "pgentra_principal" "readwrite" {
  sql_connection {
    host     = pgentra_flexible_server.server.fully_qualified_domain_name
    username = pgentra_ad_admin.admin.principal_name
  }
  name = var.readwrite_group_name

  depends_on = [pgentra_firewall_rule.deployer]
}

resource "pgentra_principal" "developer" {
  sql_connection {
    host     = pgentra_flexible_server.server.fully_qualified_domain_name
    username = pgentra_ad_admin.admin.principal_name
  }
  name = var.developer_upn

  depends_on = [pgentra_firewall_rule.deployer]
}

# GRANT CONNECT ON DATABASE myappdb TO "id-myapp-prod";
resource "pgentra_grant" "app_connect" {
  sql_connection {
    host     = pgentra_flexible_server.server.fully_qualified_domain_name
    username = pgentra_ad_admin.admin.principal_name
  }
  role        = pgentra_principal.app.name
  database    = pgentra_database.app.name
  object_type = "database"
  privileges  = ["CONNECT"]
}

# GRANT USAGE ON SCHEMA public TO "id-myapp-prod";
resource "pgentra_grant" "app_schema_usage" {
  sql_connection {
    host     = pgentra_flexible_server.server.fully_qualified_domain_name
    username = pgentra_ad_admin.admin.principal_name
  }
  role        = pgentra_principal.app.name
  database    = pgentra_database.app.name
  object_type = "schema"
  schema      = "public"
  privileges  = ["USAGE"]
}

# GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "id-myapp-prod";
resource "pgentra_grant" "app_tables" {
  sql_connection {
    host     = pgentra_flexible_server.server.fully_qualified_domain_name
    username = pgentra_ad_admin.admin.principal_name
  }
  role        = pgentra_principal.app.name
  database    = pgentra_database.app.name
  object_type = "table"
  schema      = "public"
  privileges  = local.read_write
}

# ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES
# TO "id-myapp-prod"; (for tables the admin group's sessions create from now on)
resource "pgentra_grant" "app_future_tables" {
  sql_connection {
    host     = pgentra_flexible_server.server.fully_qualified_domain_name
    username = pgentra_ad_admin.admin.principal_name
  }
  role               = pgentra_principal.app.name
  database           = pgentra_database.app.name
  object_type        = "table"
  schema             = "public"
  privileges         = local.read_write
  default_privileges = true
}

# The readwrite group: the same CONNECT, USAGE and table privileges as the seed gives it.
resource "pgentra_grant" "readwrite_connect" {
  sql_connection {
    host     = pgentra_flexible_server.server.fully_qualified_domain_name
    username = pgentra_ad_admin.admin.principal_name
  }
  role        = pgentra_principal.readwrite.name
  database    = pgentra_database.app.name
  object_type = "database"
  privileges  = ["CONNECT"]
}

resource "pgentra_grant" "readwrite_schema_usage" {
  sql_connection {
    host     = pgentra_flexible_server.server.fully_qualified_domain_name
    username = pgentra_ad_admin.admin.principal_name
  }
  role        = pgentra_principal.readwrite.name
  database    = pgentra_database.app.name
  object_type = "schema"
  schema      = "public"
  privileges  = ["USAGE"]
}

resource "pgentra_grant" "readwrite_tables" {
  sql_connection {
    host     = pgentra_flexible_server.server.fully_qualified_domain_name
    username = pgentra_ad_admin.admin.principal_name
  }
  role        = pgentra_principal.readwrite.name
  database    = pgentra_database.app.name
  object_type = "table"
  schema      = "public"
  privileges  = local.read_write
}

# GRANT "myapp-db-readwrite" TO "developer@yourcompany.com";
resource "pgentra_grant" "developer_membership" {
  sql_connection {
    host     = pgentra_flexible_server.server.fully_qualified_domain_name
    username = pgentra_ad_admin.admin.principal_name
  }
  role        = pgentra_principal.developer.name
  database    = pgentra_database.app.name
  object_type = "role"
  objects     = [pgentra_principal.readwrite.name]
  privileges  = []
}
