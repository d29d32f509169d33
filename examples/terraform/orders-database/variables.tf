variable "location" {
  description = "The Azure region of the server and the identities."
  type        = string
  default     = "eastus"
}

variable "resource_group_name" {
  description = "An existing resource group to deploy into."
  type        = string
  default     = "rg-orders-prod"
}

variable "server_name" {
  description = "The server's name, also its DNS label <server_name>.postgres.database.azure.com: unique across Azure."
  type        = string
}

variable "admin_group_name" {
  description = "The display name of the Entra group that administers the server. The deployer must be a member: the module's Principals and Grants sign in as this group with the deployer's token."
  type        = string
  default     = "PG Admins Group"
}

variable "admin_group_object_id" {
  description = "The object ID of that Entra group."
  type        = string
}

variable "database_name" {
  description = "The app database."
  type        = string
  default     = "ordersdb"
}

variable "oidc_issuer_url" {
  description = "The AKS cluster's OIDC issuer URL (az aks show -g RG -n CLUSTER --query oidcIssuerProfile.issuerUrl -o tsv)."
  type        = string
}

variable "deployer_ip" {
  description = "The public IPv4 address the deployer connects from (the firewall rule lets it in)."
  type        = string
}

variable "apps" {
  description = "The apps, by their managed identity's name: access (\"readwrite\" or \"readonly\") and the AKS service accounts ({ namespace, name }) each runs as."
  type = map(object({
    access           = string
    service_accounts = list(object({ namespace = string, name = string }))
  }))
  default = {
    "id-orders-api" = {
      access           = "readwrite"
      service_accounts = [{ namespace = "orders", name = "orders-api" }]
    }
    "id-orders-reporting" = {
      access           = "readonly"
      service_accounts = [{ namespace = "reporting", name = "orders-reporting" }]
    }
  }
}
