# One app database on a passwordless Flexible Server: the database, a role per app bound to its
# managed identity, the app's GRANTs by its access, and its AKS federated credentials. The same
# children as the Pulumi component pgentra:index:PasswordlessDatabase. See README.md.

terraform {
  required_version = ">= 1.0"
  required_providers {
    pgentra = {
      source  = "pgentra/pgentra"
      version = "~> 0.1"
    }
  }
}

locals {
  # The apps by name, with the optional attributes filled in.
  apps = {
    for app in var.apps : app.name => {
      name                         = app.name
      principal_id                 = app.principal_id
      access                       = app.access
      service_accounts             = try(app.service_accounts, null) == null ? [] : app.service_accounts
      oidc_issuer_url              = try(app.oidc_issuer_url, null)
      identity_name                = try(app.identity_name, null) == null ? app.name : app.identity_name
      identity_resource_group_name = try(app.identity_resource_group_name, null) == null ? var.server.resource_group_name : app.identity_resource_group_name
    }
  }

  # What each access level may do. A readwrite app runs its own migrations: it needs CREATE on
  # schema public (PostgreSQL 15 and later no longer give it to PUBLIC) and owns what it creates.
  privileges = {
    readwrite = {
      schema    = ["CREATE", "USAGE"]
      tables    = ["SELECT", "INSERT", "UPDATE", "DELETE"]
      sequences = ["SELECT", "UPDATE", "USAGE"]
    }
    readonly = {
      schema    = ["USAGE"]
      tables    = ["SELECT"]
      sequences = ["SELECT"]
    }
  }

  # The readwrite apps are the ones whose migrations create tables.
  table_owners = [for name, app in local.apps : name if app.access == "readwrite"]

  # Every app gets its access on the tables and sequences every other readwrite app's migrations
  # create from now on (ALTER DEFAULT PRIVILEGES FOR ROLE owner). Keyed "grantee/owner".
  future_objects = {
    for pair in setproduct(keys(local.apps), local.table_owners) : "${pair[0]}/${pair[1]}" => {
      grantee = pair[0]
      owner   = pair[1]
    } if pair[0] != pair[1]
  }

  # One federated credential per service account, keyed "app/namespace/name".
  service_accounts = merge({}, [
    for name, app in local.apps : {
      for account in app.service_accounts : "${name}/${account.namespace}/${account.name}" => {
        app       = name
        namespace = account.namespace
        name      = account.name
      }
    }
  ]...)
}

resource "pgentra_database" "this" {
  resource_group_name = var.server.resource_group_name
  server_name         = var.server.server_name
  name                = var.database_name
}

# SELECT * FROM pgaadauth_create_principal_with_oid(...): the role is the identity's name, bound to
# its object ID.
resource "pgentra_principal" "app" {
  for_each = local.apps

  sql_connection {
    host     = var.server.host
    port     = var.server.port
    username = var.server.admin_username
  }
  name           = each.value.name
  object_id      = each.value.principal_id
  principal_type = "service"
}

# GRANT CONNECT ON DATABASE db TO app;
resource "pgentra_grant" "connect" {
  for_each = local.apps

  sql_connection {
    host     = var.server.host
    port     = var.server.port
    username = var.server.admin_username
  }
  role        = pgentra_principal.app[each.key].name
  database    = pgentra_database.this.name
  object_type = "database"
  privileges  = ["CONNECT"]
}

# GRANT USAGE (and for readwrite CREATE) ON SCHEMA public TO app;
resource "pgentra_grant" "schema" {
  for_each = local.apps

  sql_connection {
    host     = var.server.host
    port     = var.server.port
    username = var.server.admin_username
  }
  role        = pgentra_principal.app[each.key].name
  database    = pgentra_database.this.name
  object_type = "schema"
  schema      = "public"
  privileges  = local.privileges[each.value.access].schema
}

# GRANT ... ON ALL TABLES IN SCHEMA public TO app; (the tables that exist now)
resource "pgentra_grant" "tables" {
  for_each = local.apps

  sql_connection {
    host     = var.server.host
    port     = var.server.port
    username = var.server.admin_username
  }
  role        = pgentra_principal.app[each.key].name
  database    = pgentra_database.this.name
  object_type = "table"
  schema      = "public"
  privileges  = local.privileges[each.value.access].tables
}

# GRANT ... ON ALL SEQUENCES IN SCHEMA public TO app; (serial and identity columns)
resource "pgentra_grant" "sequences" {
  for_each = local.apps

  sql_connection {
    host     = var.server.host
    port     = var.server.port
    username = var.server.admin_username
  }
  role        = pgentra_principal.app[each.key].name
  database    = pgentra_database.this.name
  object_type = "sequence"
  schema      = "public"
  privileges  = local.privileges[each.value.access].sequences
}

# GRANT owner TO admin; ALTER DEFAULT PRIVILEGES FOR ROLE owner needs the admin to be a member of
# the readwrite app's role.
resource "pgentra_grant" "admin_in_owner" {
  for_each = toset(local.table_owners)

  sql_connection {
    host     = var.server.host
    port     = var.server.port
    username = var.server.admin_username
  }
  role        = var.server.admin_username
  database    = pgentra_database.this.name
  object_type = "role"
  objects     = [pgentra_principal.app[each.key].name]
  privileges  = []
}

# ALTER DEFAULT PRIVILEGES FOR ROLE owner IN SCHEMA public GRANT ... ON TABLES TO grantee;
resource "pgentra_grant" "future_tables" {
  for_each = local.future_objects

  sql_connection {
    host     = var.server.host
    port     = var.server.port
    username = var.server.admin_username
  }
  role                     = pgentra_principal.app[each.value.grantee].name
  database                 = pgentra_database.this.name
  object_type              = "table"
  schema                   = "public"
  privileges               = local.privileges[local.apps[each.value.grantee].access].tables
  default_privileges       = true
  default_privileges_owner = pgentra_principal.app[each.value.owner].name

  depends_on = [pgentra_grant.admin_in_owner]
}

# ALTER DEFAULT PRIVILEGES FOR ROLE owner IN SCHEMA public GRANT ... ON SEQUENCES TO grantee;
resource "pgentra_grant" "future_sequences" {
  for_each = local.future_objects

  sql_connection {
    host     = var.server.host
    port     = var.server.port
    username = var.server.admin_username
  }
  role                     = pgentra_principal.app[each.value.grantee].name
  database                 = pgentra_database.this.name
  object_type              = "sequence"
  schema                   = "public"
  privileges               = local.privileges[local.apps[each.value.grantee].access].sequences
  default_privileges       = true
  default_privileges_owner = pgentra_principal.app[each.value.owner].name

  depends_on = [pgentra_grant.admin_in_owner]
}

# az identity federated-credential create --subject system:serviceaccount:<namespace>:<name>
resource "pgentra_federated_credential" "service_account" {
  for_each = local.service_accounts

  resource_group_name = local.apps[each.value.app].identity_resource_group_name
  identity_name       = local.apps[each.value.app].identity_name
  name                = replace("${each.value.namespace}-${each.value.name}", ".", "-")
  issuer              = local.apps[each.value.app].oidc_issuer_url
  subject             = "system:serviceaccount:${each.value.namespace}:${each.value.name}"
  audiences           = ["api://AzureADTokenExchange"]
}
