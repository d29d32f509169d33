# The same settings as the Pulumi examples' stack config (../README.md), in snake_case.
# Set the required ones in terraform.tfvars or with -var / TF_VAR_<name>.

variable "location" {
  description = "The Azure region of the server and the identity."
  type        = string
  default     = "eastus"
}

variable "resource_group_name" {
  description = "An existing resource group to deploy into."
  type        = string
  default     = "rg-myapp-prod"
}

variable "server_name" {
  description = "The server's name, also its DNS label <server_name>.postgres.database.azure.com: unique across Azure."
  type        = string
}

variable "identity_name" {
  description = "The app's user-assigned managed identity; also its PostgreSQL role name."
  type        = string
  default     = "id-myapp-prod"
}

variable "federated_credential_name" {
  description = "The name of the identity's federated credential for the AKS service account."
  type        = string
  default     = "fc-myapp-aks"
}

variable "database_name" {
  description = "The database the grants are in."
  type        = string
  default     = "myappdb"
}

variable "admin_group_name" {
  description = "The display name of the Entra group that administers the server (its role name in PostgreSQL). The deployer must be a member: the SQL resources sign in as this group with the deployer's token."
  type        = string
  default     = "PG Admins Group"
}

variable "admin_group_object_id" {
  description = "The object ID of that Entra group."
  type        = string
}

variable "readwrite_group_name" {
  description = "The Entra group whose members read and write the app's tables."
  type        = string
  default     = "myapp-db-readwrite"
}

variable "developer_upn" {
  description = "A developer's user principal name, such as developer@yourcompany.com."
  type        = string
}

variable "oidc_issuer_url" {
  description = "The AKS cluster's OIDC issuer URL (az aks show -g RG -n CLUSTER --query oidcIssuerProfile.issuerUrl -o tsv)."
  type        = string
}

variable "deployer_ip" {
  description = "The public IPv4 address the deployer connects from (the firewall rule lets it in)."
  type        = string
}

variable "tags" {
  description = "Tags on the server and the identity."
  type        = map(string)
  default     = {}
}
