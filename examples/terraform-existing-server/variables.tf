variable "server_host" {
  description = "The existing server's name as its certificate carries it, such as pg-myapp-prod.postgres.database.azure.com (az postgres flexible-server show --query fullyQualifiedDomainName). With private access it must resolve, where Terraform runs, to the server's private address."
  type        = string
}

variable "admin_name" {
  description = "The server's Entra admin the deployer signs in as (a group the deployer is a member of, or the deployer itself), as `az postgres flexible-server microsoft-entra-admin list` shows it."
  type        = string
}

variable "database_name" {
  description = "The existing database the app uses."
  type        = string
  default     = "myappdb"
}

variable "app_identity_name" {
  description = "The app's managed identity (made elsewhere): its name becomes its PostgreSQL role."
  type        = string
}

variable "app_identity_object_id" {
  description = "The app's managed identity's object (principal) ID, which the role is bound to."
  type        = string
}
