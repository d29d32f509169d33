# Only the SQL half: the app's role and its GRANTs on an Azure Database for PostgreSQL flexible
# server that something else made and keeps (azurerm, azure-native, Bicep or the portal). pgentra
# manages nothing in Azure here; it signs in to the existing server as its Entra admin, with the
# deployer's own token, over verify-full TLS. See README.md, and the repository README's section
# on servers with private access.

terraform {
  required_providers {
    pgentra = {
      source  = "pgentra/pgentra"
      version = "~> 0.1"
    }
  }
}

# Configured from the environment (ARM_TENANT_ID, ARM_CLIENT_ID, ... or the Azure CLI login): only
# the token for PostgreSQL is asked for; no ARM request is made.
provider "pgentra" {}

locals {
  read_write = ["SELECT", "INSERT", "UPDATE", "DELETE"]
}

# SELECT * FROM pgaadauth_create_principal_with_oid(...): the app's managed identity, bound by its
# object ID.
resource "pgentra_principal" "app" {
  # Signs in to the existing server as its Entra admin.
  sql_connection {
    host     = var.server_host
    username = var.admin_name
  }
  name           = var.app_identity_name
  object_id      = var.app_identity_object_id
  principal_type = "service"
}

# The first hardening step: PUBLIC (every role) may not connect; only roles granted CONNECT may.
resource "pgentra_grant" "public_connect" {
  # Signs in to the existing server as its Entra admin.
  sql_connection {
    host     = var.server_host
    username = var.admin_name
  }
  role        = "PUBLIC"
  database    = var.database_name
  object_type = "database"
  privileges  = ["CONNECT"]
  revoke      = true
}

resource "pgentra_grant" "app_connect" {
  # Signs in to the existing server as its Entra admin.
  sql_connection {
    host     = var.server_host
    username = var.admin_name
  }
  role        = pgentra_principal.app.name
  database    = var.database_name
  object_type = "database"
  privileges  = ["CONNECT"]
}

resource "pgentra_grant" "app_schema_usage" {
  # Signs in to the existing server as its Entra admin.
  sql_connection {
    host     = var.server_host
    username = var.admin_name
  }
  role        = pgentra_principal.app.name
  database    = var.database_name
  object_type = "schema"
  schema      = "public"
  privileges  = ["USAGE"]
}

resource "pgentra_grant" "app_tables" {
  # Signs in to the existing server as its Entra admin.
  sql_connection {
    host     = var.server_host
    username = var.admin_name
  }
  role        = pgentra_principal.app.name
  database    = var.database_name
  object_type = "table"
  schema      = "public"
  privileges  = local.read_write
}

resource "pgentra_grant" "app_future_tables" {
  # Signs in to the existing server as its Entra admin.
  sql_connection {
    host     = var.server_host
    username = var.admin_name
  }
  role               = pgentra_principal.app.name
  database           = var.database_name
  object_type        = "table"
  schema             = "public"
  privileges         = local.read_write
  default_privileges = true
}

output "app_role" {
  value = pgentra_principal.app.name
}

output "app_connection_string" {
  value = "Host=${var.server_host};Database=${var.database_name};Username=${pgentra_principal.app.name};Ssl Mode=VerifyFull;"
}
