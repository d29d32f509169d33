output "host" {
  description = "The server's host name."
  value       = module.orders_db.host
}

output "database" {
  description = "The app database."
  value       = module.orders_db.database
}

output "users" {
  description = "Per app: its PostgreSQL user name."
  value       = module.orders_db.users
}

output "environments" {
  description = "Per app: PGHOST, PGPORT, PGDATABASE, PGUSER and PGSSLMODE for its pods."
  value       = module.orders_db.environments
}

output "client_ids" {
  description = "Per app: its identity's client ID, for the service account's azure.workload.identity/client-id annotation."
  value       = { for name, identity in pgentra_managed_identity.app : name => identity.client_id }
}
