//! The SQL that emulates Azure's pgaadauth extension in a server's `postgres` database.
//!
//! The functions cannot ask the emulator's directory themselves, so the gateway keeps a copy of it
//! in the table `pgaadauth.directory` (refreshed at every login and whenever the directory
//! changes). A role's binding to its Entra principal is a comment on the role (roles and their
//! comments are cluster-wide, like Azure's security label):
//! `aadauth,oid=<objectId>,type=<user|group|service>,tenant_id=<tenant>[,mfa][,admin]`.

/// The cluster-wide role every Entra admin is a member of (created once per backend cluster).
pub const CLUSTER_SQL: &str = r#"
DO $$ BEGIN
  CREATE ROLE azure_pg_admin NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
"#;

/// Installs (idempotently) the directory table and the functions, in pg_catalog as on Azure.
pub const INSTALL_SQL: &str = r#"
CREATE SCHEMA IF NOT EXISTS pgaadauth;
REVOKE ALL ON SCHEMA pgaadauth FROM PUBLIC;
-- The roles created here, which the emulator drops when it stops (roles are the cluster's).
CREATE TABLE IF NOT EXISTS pgaadauth.created_roles (rolname text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS pgaadauth.directory (
  object_id text PRIMARY KEY,
  name text NOT NULL,
  type text NOT NULL CHECK (type IN ('user', 'group', 'service')),
  tenant_id text NOT NULL
);

CREATE OR REPLACE FUNCTION pg_catalog.pgaadauth_create_principal_with_oid(
  roleName text, objectId text, objectType text, isAdmin boolean, isMfa boolean)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  tenant text;
  label text;
BEGIN
  IF NOT pg_has_role(session_user, 'azure_pg_admin', 'MEMBER') THEN
    RAISE EXCEPTION 'Only members of "azure_pg_admin" can create Microsoft Entra roles'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF roleName IS NULL OR roleName = '' THEN
    RAISE EXCEPTION 'roleName must not be empty' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF objectType IS NULL OR objectType NOT IN ('user', 'group', 'service') THEN
    RAISE EXCEPTION 'Invalid objectType %; allowed: user, group, service', objectType
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT d.tenant_id INTO tenant FROM pgaadauth.directory d WHERE lower(d.object_id) = lower(objectId);
  IF tenant IS NULL THEN
    SELECT d.tenant_id INTO tenant FROM pgaadauth.directory d LIMIT 1;
  END IF;
  label := format('aadauth,oid=%s,type=%s,tenant_id=%s', lower(objectId), objectType, coalesce(tenant, ''));
  IF isMfa THEN label := label || ',mfa'; END IF;
  IF isAdmin THEN label := label || ',admin'; END IF;
  EXECUTE format('CREATE ROLE %I WITH LOGIN', roleName);
  INSERT INTO pgaadauth.created_roles VALUES (roleName) ON CONFLICT DO NOTHING;
  EXECUTE format('COMMENT ON ROLE %I IS %L', roleName, label);
  IF isAdmin THEN
    EXECUTE format('ALTER ROLE %I CREATEROLE CREATEDB', roleName);
    EXECUTE format('GRANT azure_pg_admin TO %I', roleName);
  END IF;
  RETURN format('Created role for "%s"', roleName);
END
$f$;

CREATE OR REPLACE FUNCTION pg_catalog.pgaadauth_create_principal(
  roleName text, isAdmin boolean, isMfa boolean)
RETURNS text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  n int;
  oid_ text;
  type_ text;
BEGIN
  IF NOT pg_has_role(session_user, 'azure_pg_admin', 'MEMBER') THEN
    RAISE EXCEPTION 'Only members of "azure_pg_admin" can create Microsoft Entra roles'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  -- The gateway refreshes the directory copy within ~50 ms of a change: wait that long for a
  -- principal created just before this call.
  FOR i IN 1..10 LOOP
    SELECT count(*), min(d.object_id), min(d.type) INTO n, oid_, type_
      FROM pgaadauth.directory d
     WHERE (d.type = 'user' AND lower(d.name) = lower(roleName))
        OR (d.type <> 'user' AND d.name = roleName);
    EXIT WHEN n > 0;
    PERFORM pg_sleep(0.05);
  END LOOP;
  IF n = 0 THEN
    RAISE EXCEPTION 'Could not validate AAD user % because its name is not found in the tenant.', roleName
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF n > 1 THEN
    RAISE EXCEPTION 'Could not validate AAD user % because its name is not unique in the tenant; use pgaadauth_create_principal_with_oid.', roleName
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN pg_catalog.pgaadauth_create_principal_with_oid(roleName, oid_, type_, isAdmin, isMfa);
END
$f$;

CREATE OR REPLACE FUNCTION pg_catalog.pgaadauth_list_principals(isAdminValue boolean)
RETURNS TABLE(rolname name, principalType text, objectId text, tenantId text, isMfa integer, isAdmin integer)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
  SELECT a.rolname,
         substring(d.description FROM 'type=([^,]*)'),
         substring(d.description FROM 'oid=([^,]*)'),
         substring(d.description FROM 'tenant_id=([^,]*)'),
         CASE WHEN d.description ~ ',mfa(,|$)' THEN 1 ELSE 0 END,
         CASE WHEN d.description ~ ',admin(,|$)' THEN 1 ELSE 0 END
    FROM pg_catalog.pg_authid a
    JOIN pg_catalog.pg_shdescription d ON d.objoid = a.oid AND d.classoid = 'pg_catalog.pg_authid'::regclass
   WHERE d.description LIKE 'aadauth,%'
     AND (NOT isAdminValue OR d.description ~ ',admin(,|$)')
   ORDER BY a.rolname
$f$;

-- What `SECURITY LABEL FOR "pgaadauth" ON ROLE r IS '<label>'` does on Azure (the gateway turns
-- that statement into this call): an Entra admin binds an existing role to an Entra object, or
-- re-binds it, keeping the role's privileges and what it owns.
CREATE OR REPLACE FUNCTION pg_catalog.pgentra_emulator_security_label(roleName text, label text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
BEGIN
  IF NOT pg_has_role(session_user, 'azure_pg_admin', 'MEMBER') THEN
    RAISE EXCEPTION 'Only members of "azure_pg_admin" can set the pgaadauth security label'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = roleName) THEN
    RAISE EXCEPTION 'role "%" does not exist', roleName USING ERRCODE = 'undefined_object';
  END IF;
  IF label IS NOT NULL AND label !~ '^aadauth(,|$)' THEN
    RAISE EXCEPTION 'invalid pgaadauth security label %', label USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF label IS NOT NULL AND substring(label FROM 'type=([^,]*)') NOT IN ('user', 'group', 'service') THEN
    RAISE EXCEPTION 'Invalid objectType in label %; allowed: user, group, service', label
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF label IS NOT NULL AND substring(label FROM 'oid=([^,]*)') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
    RAISE EXCEPTION 'Invalid objectId in label %', label USING ERRCODE = 'invalid_parameter_value';
  END IF;
  EXECUTE format('COMMENT ON ROLE %I IS %L', roleName, label);
END
$f$;

REVOKE ALL ON FUNCTION pg_catalog.pgentra_emulator_security_label(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_catalog.pgentra_emulator_security_label(text, text) TO azure_pg_admin;
REVOKE ALL ON FUNCTION pg_catalog.pgaadauth_create_principal_with_oid(text, text, text, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.pgaadauth_create_principal(text, boolean, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_catalog.pgaadauth_create_principal_with_oid(text, text, text, boolean, boolean) TO azure_pg_admin;
GRANT EXECUTE ON FUNCTION pg_catalog.pgaadauth_create_principal(text, boolean, boolean) TO azure_pg_admin;
"#;
