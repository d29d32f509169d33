output "server_fqdn" {
  description = "The server's host name."
  value       = pgentra_flexible_server.server.fully_qualified_domain_name
}

output "app_client_id" {
  description = "For the service account's azure.workload.identity/client-id annotation."
  value       = pgentra_managed_identity.app.client_id
}

output "app_connection_string" {
  description = "The seed's connection string: no password in it; the app signs in with its identity's token."
  value       = "Host=${pgentra_flexible_server.server.fully_qualified_domain_name};Database=${pgentra_database.app.name};Username=${pgentra_principal.app.name};Ssl Mode=Require;"
}

output "deployer" {
  description = "Who deployed: the name of the identity the provider signed in as."
  value       = data.pgentra_client_config.current.name
}
