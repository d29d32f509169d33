# The same inputs as the Pulumi component pgentra:index:PasswordlessDatabase, in snake_case.

variable "server" {
  description = "The Flexible Server the database goes on, and who to sign in to it as: host (its fully_qualified_domain_name), port (5432 on Azure), resource_group_name, server_name, and admin_username, the Microsoft Entra administrator (a group the deployer belongs to, or the deployer itself) the Principals and Grants sign in as with the deployer's token."
  type = object({
    host                = string
    port                = number
    resource_group_name = string
    server_name         = string
    admin_username      = string
  })
}

variable "database_name" {
  description = "The app database to create on the server."
  type        = string
}

# `any` rather than list(object(...)): Terraform 1.0 has no optional object attributes, and a
# typed object would drop the ones it does not declare. The validations below check the shape.
variable "apps" {
  description = <<-EOT
    The apps that use the database, each an object:
      name                         - the app's user-assigned managed identity's name, also its PostgreSQL role (known at plan time)
      principal_id                 - that identity's principal (object) ID
      access                       - "readwrite" (its migrations create the tables; it reads and writes them) or "readonly"
      service_accounts             - optional, [{ namespace, name }]: the AKS service accounts the app runs as
      oidc_issuer_url              - with service_accounts: the AKS cluster's OIDC issuer URL
      identity_name                - optional: the identity the federated credentials go on (default: name)
      identity_resource_group_name - optional: that identity's resource group (default: the server's)
  EOT
  type        = any

  validation {
    condition     = can([for app in var.apps : app.name]) && alltrue([for app in var.apps : can(regex("^\\S", app.name)) && can(tostring(app.principal_id))])
    error_message = "Each app needs a name (its managed identity's name, also its PostgreSQL role) and a principal_id (the identity's object ID): apps is a list of objects."
  }

  validation {
    condition     = alltrue([for app in var.apps : contains(["readwrite", "readonly"], try(tostring(app.access), ""))])
    error_message = "Each app's access must be \"readwrite\" (its migrations create the tables; it reads and writes them) or \"readonly\" (it reads them)."
  }

  validation {
    condition     = length(distinct([for app in var.apps : try(app.name, "")])) == length(var.apps)
    error_message = "Two apps have the same name: an app's name is its PostgreSQL role, so the names must be unique."
  }

  validation {
    condition = alltrue(flatten([for app in var.apps : [
      for account in(try(app.service_accounts, null) == null ? [] : app.service_accounts) :
      can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", account.namespace)) && can(regex("^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", account.name))
    ]]))
    error_message = "Each of an app's service_accounts needs a namespace and a name, as Kubernetes spells them: lower-case letters, digits and hyphens (a service account's name may also have dots)."
  }

  validation {
    condition = alltrue([for app in var.apps :
      can(regex("^https://[^?#]+$", app.oidc_issuer_url)) if length(try(app.service_accounts, null) == null ? [] : app.service_accounts) > 0
    ])
    error_message = "An app with service_accounts needs oidc_issuer_url, its AKS cluster's OIDC issuer URL (https://..., no query or fragment)."
  }
}
