# What an app needs to connect with no password: its token is the password.

output "host" {
  description = "The server's host name."
  value       = var.server.host
}

output "port" {
  description = "The server's port."
  value       = var.server.port
}

output "database" {
  description = "The app database's name."
  value       = pgentra_database.this.name
}

output "users" {
  description = "Per app (by name): its PostgreSQL user name."
  value       = { for name, principal in pgentra_principal.app : name => principal.name }
}

output "environments" {
  description = "Per app (by name): the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER, PGSSLMODE) for its pods; PGPASSWORD is the app's Entra token for https://ossrdbms-aad.database.windows.net, fetched at run time."
  value = {
    for name, principal in pgentra_principal.app : name => {
      PGHOST     = var.server.host
      PGPORT     = tostring(var.server.port)
      PGDATABASE = pgentra_database.this.name
      PGUSER     = principal.name
      PGSSLMODE  = "verify-full"
    }
  }
}
