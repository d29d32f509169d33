//! One client session through a server's gateway: SSLRequest -> TLS -> StartupMessage ->
//! AuthenticationCleartextPassword -> the password checked as an Entra token (or as the server's
//! administrator password when password auth is on) -> a backend session as that role, relayed.

use super::wire::{self, PgError};
use super::ServerGateway;
use crate::Inner;
use serde_json::Value;
use std::io;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub(crate) async fn serve(
    inner: Arc<Inner>,
    gw: Arc<ServerGateway>,
    listener: TcpListener,
    tls: tokio_rustls::TlsAcceptor,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            r = listener.accept() => {
                let Ok((tcp, _)) = r else { continue };
                let (inner, gw, tls, mut stop) = (inner.clone(), gw.clone(), tls.clone(), stop.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        r = session(&inner, &gw, tls, tcp) => {
                            if let Err(e) = r {
                                tracing::debug!(error = %e, "pg gateway session ended");
                            }
                        }
                        _ = stop.changed() => {}
                    }
                });
            }
            _ = stop.changed() => return,
        }
    }
}

async fn fail<S: AsyncWrite + Unpin>(s: &mut S, e: PgError) -> io::Result<()> {
    s.write_all(&e.encode()).await?;
    s.flush().await?;
    let _ = s.shutdown().await;
    Ok(())
}

async fn session(
    inner: &Arc<Inner>,
    gw: &ServerGateway,
    tls: tokio_rustls::TlsAcceptor,
    mut tcp: TcpStream,
) -> io::Result<()> {
    // A relay of request/response traffic: Nagle's algorithm would hold each small message
    // back for the peer's delayed ACK.
    tcp.set_nodelay(true)?;
    loop {
        let (code, _) = wire::read_untyped(&mut tcp).await?;
        match code {
            wire::SSL_REQUEST => {
                tcp.write_all(b"S").await?;
                break;
            }
            wire::GSSENC_REQUEST => tcp.write_all(b"N").await?,
            wire::CANCEL_REQUEST => return Ok(()),
            wire::PROTOCOL_3 => {
                let e = PgError::fatal("28000", "SSL required")
                    .with_detail("Azure Database for PostgreSQL requires an encrypted connection (sslmode=require or stricter).");
                return fail(&mut tcp, e).await;
            }
            _ => {
                return fail(
                    &mut tcp,
                    PgError::fatal("08P01", "unsupported frontend protocol"),
                )
                .await
            }
        }
    }
    let mut s = tls.accept(tcp).await?;
    let (code, body) = wire::read_untyped(&mut s).await?;
    if code == wire::CANCEL_REQUEST {
        return Ok(());
    }
    if code != wire::PROTOCOL_3 {
        return fail(
            &mut s,
            PgError::fatal("08P01", "unsupported frontend protocol"),
        )
        .await;
    }
    let params = wire::parse_startup(&body)?;
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(user) = get("user").filter(|u| !u.is_empty()) else {
        return fail(
            &mut s,
            PgError::fatal(
                "28000",
                "no PostgreSQL user name specified in startup packet",
            ),
        )
        .await;
    };
    let database = get("database")
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| user.clone());
    // The first session materialises the server in the backend; one arriving while that runs
    // waits for it (reconciliations are serialised) instead of finding nothing there yet.
    gw.active.store(true, std::sync::atomic::Ordering::SeqCst);
    if gw.backend_database("postgres").is_none() {
        super::reconcile_boxed(inner.clone()).await;
    }
    s.write_all(&wire::auth_cleartext_password()).await?;
    s.flush().await?;
    let (tag, body) = wire::read_message(&mut s).await?;
    if tag != b'p' {
        let e = PgError::fatal(
            "08P01",
            format!("expected password response, got message type {tag}"),
        );
        return fail(&mut s, e).await;
    }
    let password = wire::password(&body);
    let role = match authenticate(inner, gw, &user, &password).await {
        Ok(r) => r,
        Err(e) => return fail(&mut s, e).await,
    };
    if gw.backend_database(&database).is_none() {
        // Created through ARM a moment ago: catch up rather than wait for the next tick.
        super::reconcile_boxed(inner.clone()).await;
    }
    let Some(real_db) = gw.backend_database(&database) else {
        return fail(
            &mut s,
            PgError::fatal("3D000", format!("database \"{database}\" does not exist")),
        )
        .await;
    };
    let mut backend = match TcpStream::connect(&gw.backend.addr).await {
        Ok(b) => {
            b.set_nodelay(true)?;
            b
        }
        Err(e) => {
            let m = format!(
                "the emulator's PostgreSQL backend at {} does not answer: {e}",
                gw.backend.addr
            );
            return fail(&mut s, PgError::fatal("08006", m)).await;
        }
    };
    let mut startup: Vec<(String, String)> =
        vec![("user".into(), role), ("database".into(), real_db)];
    startup.extend(
        params
            .into_iter()
            .filter(|(k, _)| k != "user" && k != "database"),
    );
    backend.write_all(&wire::startup_message(&startup)).await?;
    let (tag, body) = wire::read_message(&mut backend).await?;
    let auth_ok = tag == b'R' && body.get(..4) == Some(&0i32.to_be_bytes()[..]);
    if tag == b'R' && !auth_ok {
        let m = format!(
            "the emulator's PostgreSQL backend at {} asks for a password: it must trust local connections",
            gw.backend.addr
        );
        return fail(&mut s, PgError::fatal("28000", m)).await;
    }
    s.write_all(&wire::message(tag, &body)).await?;
    if !auth_ok {
        s.flush().await?;
        return Ok(());
    }
    relay(inner, gw, s, backend).await
}

/// Relays a signed-in session: the backend's messages verbatim, the client's message by message,
/// with the database names in its SQL (simple queries and prepared statements) mapped to the
/// backend's (see [`super::rewrite`]).
async fn relay<A>(
    inner: &Inner,
    gw: &ServerGateway,
    mut client: A,
    backend: TcpStream,
) -> io::Result<()>
where
    A: AsyncRead + AsyncWrite + Unpin,
{
    client.flush().await?;
    let (client_read, mut client_write) = tokio::io::split(client);
    let (backend_read, backend_write) = backend.into_split();
    let mut from_client = tokio::io::BufReader::new(client_read);
    let mut to_backend = tokio::io::BufWriter::new(backend_write);
    let upstream = async {
        loop {
            let (tag, body) = wire::read_session_message(&mut from_client).await?;
            if matches!(tag, b'Q' | b'P')
                && inner
                    .faults()
                    .take_pg_statement(&statement_text(tag, &body))
            {
                // The injected fault: the gateway goes away mid-statement.
                return Ok(());
            }
            let body = match tag {
                b'Q' | b'P' => map_statement(gw, tag, body),
                _ => body,
            };
            to_backend.write_all(&wire::message(tag, &body)).await?;
            // Flush once the client has nothing more queued (a Bind/Execute/Sync burst goes as one).
            if from_client.buffer().is_empty() {
                to_backend.flush().await?;
            }
            if tag == b'X' {
                return Ok::<(), io::Error>(());
            }
        }
    };
    let downstream = async {
        let mut backend_read = backend_read;
        tokio::io::copy(&mut backend_read, &mut client_write).await?;
        client_write.shutdown().await
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
    Ok(())
}

/// The SQL of a Query or Parse body (lossy: only for matching faults).
fn statement_text(tag: u8, body: &[u8]) -> String {
    let start = match tag {
        b'P' => body
            .iter()
            .position(|b| *b == 0)
            .map_or(body.len(), |p| p + 1),
        _ => 0,
    };
    let rest = &body[start..];
    let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(&rest[..end]).into_owned()
}

/// A Query ('Q': sql NUL) or Parse ('P': name NUL sql NUL rest) body with its database names
/// mapped and a pgaadauth security label turned into the emulator's call.
fn map_statement(gw: &ServerGateway, tag: u8, body: Vec<u8>) -> Vec<u8> {
    let sql_start = match tag {
        b'P' => match body.iter().position(|b| *b == 0) {
            Some(p) => p + 1,
            None => return body,
        },
        _ => 0,
    };
    let Some(sql_len) = body[sql_start..].iter().position(|b| *b == 0) else {
        return body;
    };
    let Ok(sql) = std::str::from_utf8(&body[sql_start..sql_start + sql_len]) else {
        return body;
    };
    let labelled = super::rewrite::map_pgaadauth_label(sql);
    let sql_now = labelled.as_deref().unwrap_or(sql);
    let Some(mapped) =
        super::rewrite::map_database_names(sql_now, |db| gw.backend_database(db)).or(labelled)
    else {
        return body;
    };
    let mut out = Vec::with_capacity(body.len() + mapped.len());
    out.extend_from_slice(&body[..sql_start]);
    out.extend_from_slice(mapped.as_bytes());
    out.extend_from_slice(&body[sql_start + sql_len..]);
    out
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = match cur.get(p) {
            Some(x) => x,
            None => return "",
        };
    }
    cur.as_str().unwrap_or("")
}

/// The label field `k=` of a pgaadauth role comment.
fn label_field<'a>(label: &'a str, k: &str) -> &'a str {
    label
        .split(',')
        .find_map(|p| p.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
        .unwrap_or("")
}

fn backend_failure(e: impl std::fmt::Display) -> PgError {
    PgError::fatal(
        "08006",
        format!("the emulator's PostgreSQL backend failed: {e}"),
    )
}

/// Checks the password for `user` on this server; returns the backend role to open the session as.
async fn authenticate(
    inner: &Inner,
    gw: &ServerGateway,
    user: &str,
    password: &str,
) -> Result<String, PgError> {
    let (props, admins, stored_password) = {
        let w = inner.world();
        let Some(s) = w.servers.get(&gw.key) else {
            return Err(PgError::fatal(
                "57P01",
                "terminating connection due to administrator command",
            ));
        };
        (
            Value::Object(s.props.clone()),
            s.admins.values().cloned().collect::<Vec<_>>(),
            w.passwords.get(&gw.key).cloned(),
        )
    };
    let entra_on = str_at(&props, &["authConfig", "activeDirectoryAuth"]) == "Enabled";
    let password_on = str_at(&props, &["authConfig", "passwordAuth"]) == "Enabled";

    let Ok(decoded) = inner.keys.verify(password) else {
        // Not a token of this tenant: a PostgreSQL password.
        if !password_on {
            return Err(PgError::password_failed(user)
                .with_detail("Password authentication is disabled on this server (authConfig.passwordAuth); sign in with a Microsoft Entra access token."));
        }
        let login = str_at(&props, &["administratorLogin"]);
        if !login.is_empty() && login == user && stored_password.as_deref() == Some(password) {
            let _g = inner.pg.admin_lock.lock().await;
            let created = gw
                .backend
                .ensure_admin_role(user, None)
                .await
                .map_err(backend_failure)?;
            inner.pg.made_role(user, created);
            return Ok(user.to_string());
        }
        return Err(PgError::password_failed(user));
    };
    if !entra_on {
        return Err(PgError::password_failed(user)
            .with_detail("Microsoft Entra authentication is disabled on this server (authConfig.activeDirectoryAuth)."));
    }
    let c = decoded.claims;
    let claim = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    if claim("iss") != crate::entra::tokens::issuer(inner) {
        return Err(PgError::password_failed(user)
            .with_detail("The access token was not issued by this server's tenant."));
    }
    let aud = claim("aud");
    if aud.trim_end_matches('/') != crate::POSTGRES_RESOURCE.trim_end_matches('/') {
        return Err(PgError::password_failed(user).with_detail(format!(
            "The access token's audience is '{aud}', not '{}'.",
            crate::POSTGRES_RESOURCE
        )));
    }
    let exp = c.get("exp").and_then(Value::as_u64).unwrap_or(0);
    if exp <= crate::util::now_secs() {
        return Err(PgError::password_failed(user).with_detail("The access token has expired."));
    }
    let oid = claim("oid").to_ascii_lowercase();
    let directory = &inner.directory;

    // The server's Entra administrators get their role on first login.
    for a in &admins {
        let p = a.get("properties").cloned().unwrap_or(Value::Null);
        let (name, aoid, ptype) = (
            str_at(&p, &["principalName"]),
            str_at(&p, &["objectId"]).to_ascii_lowercase(),
            str_at(&p, &["principalType"]),
        );
        if name != user || !(aoid == oid || (ptype == "Group" && directory.is_member(&aoid, &oid)))
        {
            continue;
        }
        let kind = match ptype {
            "User" => "user",
            "Group" => "group",
            _ => "service",
        };
        let label = format!(
            "aadauth,oid={aoid},type={kind},tenant_id={},admin",
            inner.opts.tenant_id
        );
        let _g = inner.pg.admin_lock.lock().await;
        let created = gw
            .backend
            .ensure_admin_role(user, Some(&label))
            .await
            .map_err(backend_failure)?;
        inner.pg.made_role(user, created);
        return Ok(user.to_string());
    }

    if let Err(e) = super::refresh_directory(inner, gw).await {
        tracing::warn!(error = %e, "pg gateway: refreshing the directory copy");
    }
    let label = gw.backend.role_label(user).await.map_err(backend_failure)?;
    match label {
        Some(label) if !label.is_empty() => {
            let (loid, kind) = (
                label_field(&label, "oid").to_ascii_lowercase(),
                label_field(&label, "type"),
            );
            if loid == oid || (kind == "group" && directory.is_member(&loid, &oid)) {
                return Ok(user.to_string());
            }
            if kind == "user" && claim("idtyp") == "app" {
                return Err(PgError::fatal(
                    "28000",
                    format!("Service Principals cannot generate AAD_AUTH_TOKENTYPE_APP_USER tokens for role[{user}]"),
                ));
            }
            Err(PgError::password_failed(user)
                .with_detail(format!("The access token belongs to object {oid}, not to the principal of role \"{user}\".")))
        }
        Some(_) => Err(PgError::password_failed(user)
            .with_detail(format!("Role \"{user}\" is not a Microsoft Entra role."))),
        None => {
            let is_token_principal = directory.find_by_name(user).iter().any(|p| {
                p.object_id().eq_ignore_ascii_case(&oid)
                    || (matches!(p, crate::Principal::Group(_))
                        && directory.is_member(p.object_id(), &oid))
            });
            if is_token_principal {
                Err(PgError::fatal(
                    "28000",
                    format!("role \"{user}\" does not exist"),
                ))
            } else {
                Err(PgError::password_failed(user))
            }
        }
    }
}
