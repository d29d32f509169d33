//! The emulated Entra directory: users, groups with members, service principals.

use crate::util;
use serde::Serialize;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub object_id: String,
    pub user_principal_name: String,
    pub display_name: String,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub object_id: String,
    pub display_name: String,
    /// Object ids of the members (users, service principals or groups).
    pub members: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub object_id: String,
    /// The application (client) id.
    pub app_id: String,
    pub display_name: String,
    /// Client secrets accepted by the token service (never dumped).
    #[serde(skip)]
    pub secrets: Vec<String>,
    /// For a managed identity: the ARM id of the identity resource (the `xms_mirid` claim).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_identity_resource_id: Option<String>,
}

/// Any directory object, as the token gateway or ARM may need to resolve it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    User(User),
    Group(Group),
    ServicePrincipal(ServicePrincipal),
}

impl Principal {
    pub fn object_id(&self) -> &str {
        match self {
            Principal::User(u) => &u.object_id,
            Principal::Group(g) => &g.object_id,
            Principal::ServicePrincipal(s) => &s.object_id,
        }
    }

    /// The name PostgreSQL uses as the role name: UPN for users, display name otherwise.
    pub fn login_name(&self) -> &str {
        match self {
            Principal::User(u) => &u.user_principal_name,
            Principal::Group(g) => &g.display_name,
            Principal::ServicePrincipal(s) => &s.display_name,
        }
    }
}

#[derive(Default, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    users: Vec<User>,
    groups: Vec<Group>,
    service_principals: Vec<ServicePrincipal>,
}

/// A cheap-to-clone handle on the directory shared by every part of the emulator.
#[derive(Clone, Default)]
pub struct Directory {
    data: Arc<Mutex<Data>>,
}

impl Directory {
    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a user; `upn` like `alice@contoso.example`.
    pub fn add_user(&self, upn: &str, display_name: &str) -> User {
        let u = User {
            object_id: util::uuid(),
            user_principal_name: upn.to_string(),
            display_name: display_name.to_string(),
        };
        self.lock().users.push(u.clone());
        u
    }

    /// Adds a group whose members are the given object ids.
    pub fn add_group(&self, display_name: &str, members: &[&str]) -> Group {
        let g = Group {
            object_id: util::uuid(),
            display_name: display_name.to_string(),
            members: members.iter().map(|m| m.to_string()).collect(),
        };
        self.lock().groups.push(g.clone());
        g
    }

    /// Adds `member` (an object id) to the group `group` (an object id). False if no such group.
    pub fn add_group_member(&self, group: &str, member: &str) -> bool {
        let mut d = self.lock();
        match d
            .groups
            .iter_mut()
            .find(|g| g.object_id.eq_ignore_ascii_case(group))
        {
            Some(g) => {
                if !g.members.iter().any(|m| m.eq_ignore_ascii_case(member)) {
                    g.members.push(member.to_string());
                }
                true
            }
            None => false,
        }
    }

    /// Registers an application with its service principal and one client secret (returned in `secrets`).
    pub fn add_service_principal(&self, display_name: &str) -> ServicePrincipal {
        let sp = ServicePrincipal {
            object_id: util::uuid(),
            app_id: util::uuid(),
            display_name: display_name.to_string(),
            secrets: vec![util::secret(40)],
            managed_identity_resource_id: None,
        };
        self.lock().service_principals.push(sp.clone());
        sp
    }

    /// Registers the service principal of a managed identity (no secret).
    pub(crate) fn add_managed_identity(
        &self,
        display_name: &str,
        object_id: &str,
        app_id: &str,
        resource_id: &str,
    ) {
        self.lock().service_principals.push(ServicePrincipal {
            object_id: object_id.to_string(),
            app_id: app_id.to_string(),
            display_name: display_name.to_string(),
            secrets: Vec::new(),
            managed_identity_resource_id: Some(resource_id.to_string()),
        });
    }

    /// Adds another client secret to an application; None if no such app id.
    pub fn add_secret(&self, app_id: &str) -> Option<String> {
        let mut d = self.lock();
        let sp = d
            .service_principals
            .iter_mut()
            .find(|s| s.app_id.eq_ignore_ascii_case(app_id))?;
        let s = util::secret(40);
        sp.secrets.push(s.clone());
        Some(s)
    }

    /// Removes any object with this object id (and its group memberships).
    pub fn remove(&self, object_id: &str) {
        let mut d = self.lock();
        d.users
            .retain(|u| !u.object_id.eq_ignore_ascii_case(object_id));
        d.groups
            .retain(|g| !g.object_id.eq_ignore_ascii_case(object_id));
        d.service_principals
            .retain(|s| !s.object_id.eq_ignore_ascii_case(object_id));
        for g in &mut d.groups {
            g.members.retain(|m| !m.eq_ignore_ascii_case(object_id));
        }
    }

    /// Renames the object: a user's display name and, when given, its UPN; a group's or
    /// service principal's display name. False if no such object.
    pub fn rename(&self, object_id: &str, display_name: &str, upn: Option<&str>) -> bool {
        let mut d = self.lock();
        let same = |id: &str| id.eq_ignore_ascii_case(object_id);
        if let Some(u) = d.users.iter_mut().find(|u| same(&u.object_id)) {
            u.display_name = display_name.to_string();
            if let Some(upn) = upn {
                u.user_principal_name = upn.to_string();
            }
            return true;
        }
        if let Some(g) = d.groups.iter_mut().find(|g| same(&g.object_id)) {
            g.display_name = display_name.to_string();
            return true;
        }
        if let Some(s) = d.service_principals.iter_mut().find(|s| same(&s.object_id)) {
            s.display_name = display_name.to_string();
            return true;
        }
        false
    }

    pub fn service_principal_by_app_id(&self, app_id: &str) -> Option<ServicePrincipal> {
        self.lock()
            .service_principals
            .iter()
            .find(|s| s.app_id.eq_ignore_ascii_case(app_id))
            .cloned()
    }

    /// Finds any object by object id.
    pub fn get(&self, object_id: &str) -> Option<Principal> {
        let d = self.lock();
        if let Some(u) = d
            .users
            .iter()
            .find(|u| u.object_id.eq_ignore_ascii_case(object_id))
        {
            return Some(Principal::User(u.clone()));
        }
        if let Some(g) = d
            .groups
            .iter()
            .find(|g| g.object_id.eq_ignore_ascii_case(object_id))
        {
            return Some(Principal::Group(g.clone()));
        }
        d.service_principals
            .iter()
            .find(|s| s.object_id.eq_ignore_ascii_case(object_id))
            .map(|s| Principal::ServicePrincipal(s.clone()))
    }

    /// Every object: users, then groups, then service principals.
    pub fn all(&self) -> Vec<Principal> {
        let d = self.lock();
        let users = d.users.iter().cloned().map(Principal::User);
        let groups = d.groups.iter().cloned().map(Principal::Group);
        let sps = d
            .service_principals
            .iter()
            .cloned()
            .map(Principal::ServicePrincipal);
        users.chain(groups).chain(sps).collect()
    }

    /// Finds principals by login name (UPN, group or service principal display name).
    pub fn find_by_name(&self, name: &str) -> Vec<Principal> {
        let d = self.lock();
        let mut out: Vec<Principal> = Vec::new();
        out.extend(
            d.users
                .iter()
                .filter(|u| u.user_principal_name.eq_ignore_ascii_case(name))
                .cloned()
                .map(Principal::User),
        );
        out.extend(
            d.groups
                .iter()
                .filter(|g| g.display_name == name)
                .cloned()
                .map(Principal::Group),
        );
        out.extend(
            d.service_principals
                .iter()
                .filter(|s| s.display_name == name)
                .cloned()
                .map(Principal::ServicePrincipal),
        );
        out
    }

    /// Whether `member` is in `group`, directly or through nested groups.
    pub fn is_member(&self, group: &str, member: &str) -> bool {
        let d = self.lock();
        let mut stack = vec![group.to_ascii_lowercase()];
        let mut seen = Vec::new();
        while let Some(g) = stack.pop() {
            if seen.contains(&g) {
                continue;
            }
            seen.push(g.clone());
            let Some(grp) = d
                .groups
                .iter()
                .find(|x| x.object_id.eq_ignore_ascii_case(&g))
            else {
                continue;
            };
            for m in &grp.members {
                if m.eq_ignore_ascii_case(member) {
                    return true;
                }
                stack.push(m.to_ascii_lowercase());
            }
        }
        false
    }

    /// The directory as JSON (secrets left out).
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(&*self.lock()).unwrap_or_default()
    }
}
