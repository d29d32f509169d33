//! The engine's side of a deployment: the stack's state (ID, inputs and outputs of each live
//! resource) and the operations `pulumi preview`, `up`, `refresh` and `destroy` perform on it,
//! in dependency order, independent resources concurrently.

use super::engine::{Diff, Rpc, Target};
use super::render::{self, Op, Tally};
use super::stack::{self, Declared};
use async_trait::async_trait;
use pgentra_core::props::Props;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

/// A resource the stack holds.
#[derive(Debug, Clone)]
pub struct Live {
    pub declared: Declared,
    pub id: String,
    pub inputs: Props,
    pub outputs: Props,
}

impl Live {
    fn target(&self) -> Target<'_> {
        Target {
            type_token: self.declared.type_token,
            name: &self.declared.name,
        }
    }
}

fn target(declared: &Declared) -> Target<'_> {
    Target {
        type_token: declared.type_token,
        name: &declared.name,
    }
}

/// Values the program learns once a resource exists, beside its outputs (the demo's: where the
/// emulator's PostgreSQL gateway for a new server listens), under a name the stack refers to.
#[async_trait]
pub trait AfterCreate: Send + Sync {
    async fn after_create(
        &self,
        declared: &Declared,
        outputs: &Props,
    ) -> Result<Option<(String, Props)>, String>;
}

pub struct Deployment {
    rpc: Rpc,
    hook: Arc<dyn AfterCreate>,
    /// Live resources, in the order they were created.
    pub live: Vec<Live>,
    /// Values from [`AfterCreate`], by name.
    extra: BTreeMap<String, Props>,
}

/// What `up` will do to one resource.
enum Plan {
    Create(Declared),
    Update {
        index: usize,
        news: Props,
        diff: Diff,
    },
    Delete(usize),
}

impl Deployment {
    pub fn new(rpc: Rpc, hook: Arc<dyn AfterCreate>) -> Self {
        Self {
            rpc,
            hook,
            live: Vec::new(),
            extra: BTreeMap::new(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Live> {
        self.live.iter().find(|l| l.declared.name == name)
    }

    fn known_outputs(&self) -> BTreeMap<String, Props> {
        let mut all = self.extra.clone();
        for live in &self.live {
            all.insert(live.declared.name.clone(), live.outputs.clone());
        }
        all
    }

    /// `pulumi preview` of a new stack: Check and Create with preview=true, in order, with the
    /// outputs of earlier previews (mostly unknown) flowing into later inputs.
    pub async fn preview(&self, program: &[Declared]) -> Result<Tally, String> {
        let started = Instant::now();
        let mut tally = Tally::default();
        let mut outputs = self.known_outputs();
        render::say(format!(
            " {}  {:<34} {:<24} {}",
            " ", "Type", "Name", "Plan"
        ));
        for declared in topological(program)? {
            let news = stack::resolve(&declared.inputs, &outputs);
            let t = target(declared);
            let checked = self
                .rpc
                .check(&t, &Props::default(), &news)
                .await
                .map_err(|e| e.to_string())?;
            // The line first: the plugin's log lines for it (the SQL it would run) follow.
            render::resource(Op::Create, declared.type_token, &declared.name, "create");
            let (_, planned) = self
                .rpc
                .create(&t, &checked, true)
                .await
                .map_err(|e| e.to_string())?;
            let unknown = render::unknown_outputs(&planned);
            if !unknown.is_empty() {
                render::detail(format!("known after create: {}", unknown.join(", ")));
            }
            outputs.insert(declared.name.clone(), planned);
            tally.add("to create");
        }
        tally.summary(started);
        Ok(tally)
    }

    /// Creates `to_create` (none of them live yet) in dependency order, each as soon as what it
    /// refers to exists, independent ones at once.
    async fn create_all(
        &mut self,
        to_create: Vec<Declared>,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let names: BTreeSet<String> = to_create.iter().map(|d| d.name.clone()).collect();
        let mut waiting: Vec<Declared> = topological(&to_create)?.into_iter().cloned().collect();
        let mut running = JoinSet::new();
        let mut failure: Option<String> = None;
        loop {
            if failure.is_none() {
                let (ready, rest): (Vec<Declared>, Vec<Declared>) =
                    waiting.into_iter().partition(|d| {
                        d.depends_on()
                            .iter()
                            .all(|dep| !names.contains(dep) || self.get(dep).is_some())
                    });
                waiting = rest;
                for declared in ready {
                    let news = stack::resolve(&declared.inputs, &self.known_outputs());
                    render::resource(
                        Op::Create,
                        declared.type_token,
                        &declared.name,
                        "creating...",
                    );
                    let rpc = self.rpc.clone();
                    let hook = self.hook.clone();
                    running.spawn(async move {
                        let started = Instant::now();
                        let result = create_one(&rpc, hook.as_ref(), &declared, &news).await;
                        (declared, started, result)
                    });
                }
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let (declared, started, result) =
                joined.map_err(|e| format!("a create task failed: {e}"))?;
            match result {
                Ok((live, extra)) => {
                    render::resource(
                        Op::Create,
                        declared.type_token,
                        &declared.name,
                        format!("created ({})", render::elapsed(started.elapsed())),
                    );
                    if let Some((name, values)) = extra {
                        self.extra.insert(name, values);
                    }
                    self.live.push(live);
                    tally.add("created");
                }
                Err(e) => {
                    render::resource(
                        Op::Create,
                        declared.type_token,
                        &declared.name,
                        "**creating failed**",
                    );
                    failure.get_or_insert(e);
                }
            }
        }
        match failure {
            Some(e) => Err(e),
            None if !waiting.is_empty() => Err(format!(
                "{} resources were never ready to create (a reference to a resource that is not in the stack?)",
                waiting.len()
            )),
            None => Ok(()),
        }
    }

    /// `pulumi up` on an empty stack: everything is created.
    pub async fn up_new(&mut self, program: &[Declared]) -> Result<Tally, String> {
        let started = Instant::now();
        let mut tally = Tally::default();
        self.create_all(program.to_vec(), &mut tally).await?;
        tally.summary(started);
        Ok(tally)
    }

    /// `pulumi up` on a live stack: Check and Diff each declared resource against its state and
    /// show the plan, then apply it: updates in place, creates, deletes of what left the program.
    pub async fn up(&mut self, program: &[Declared]) -> Result<Tally, String> {
        let started = Instant::now();
        let mut tally = Tally::default();
        let outputs = self.known_outputs();
        let mut plans = Vec::new();
        for declared in topological(program)? {
            let news = stack::resolve(&declared.inputs, &outputs);
            let Some(index) = self
                .live
                .iter()
                .position(|l| l.declared.name == declared.name)
            else {
                render::resource(Op::Create, declared.type_token, &declared.name, "create");
                // The connection is the same for every SQL resource; the rest says what is new.
                for key in news.values.keys().filter(|k| *k != "connection") {
                    render::detail(format!("+ {key}: {}", render::value(&news, key)));
                }
                plans.push(Plan::Create(declared.clone()));
                continue;
            };
            let live = &self.live[index];
            let checked = self
                .rpc
                .check(&live.target(), &live.inputs, &news)
                .await
                .map_err(|e| e.to_string())?;
            let diff = self
                .rpc
                .diff(
                    &live.target(),
                    &live.id,
                    &live.outputs,
                    &live.inputs,
                    &checked,
                )
                .await
                .map_err(|e| e.to_string())?;
            if diff.changed.is_empty() {
                tally.add("unchanged");
                continue;
            }
            if !diff.replaces.is_empty() {
                return Err(format!(
                    "{} {} would be replaced ({}); the demo's changes are all in place",
                    declared.type_token,
                    declared.name,
                    diff.replaces.join(", ")
                ));
            }
            render::resource(
                Op::Update,
                declared.type_token,
                &declared.name,
                format!("update [diff: {}]", diff.changed.join(", ")),
            );
            for line in render::changes(&live.inputs, &checked, Some(&diff.changed)) {
                render::detail(line);
            }
            plans.push(Plan::Update {
                index,
                news: checked,
                diff,
            });
        }
        for (index, live) in self.live.iter().enumerate() {
            if !program.iter().any(|d| d.name == live.declared.name) {
                render::resource(
                    Op::Delete,
                    live.declared.type_token,
                    &live.declared.name,
                    "delete",
                );
                plans.push(Plan::Delete(index));
            }
        }
        if plans.is_empty() {
            tally.summary(started);
            return Ok(tally);
        }
        render::say(" applying:");
        self.apply(plans, &mut tally).await?;
        tally.summary(started);
        Ok(tally)
    }

    async fn apply(&mut self, plans: Vec<Plan>, tally: &mut Tally) -> Result<(), String> {
        let mut updates = JoinSet::new();
        let mut creates = Vec::new();
        let mut deletes = Vec::new();
        for plan in plans {
            match plan {
                Plan::Update { index, news, diff } => {
                    let live = self.live[index].clone();
                    render::resource(
                        Op::Update,
                        live.declared.type_token,
                        &live.declared.name,
                        "updating...",
                    );
                    let rpc = self.rpc.clone();
                    updates.spawn(async move {
                        let started = Instant::now();
                        let result = rpc
                            .update(&live.target(), &live.id, &live.outputs, &live.inputs, &news)
                            .await;
                        (index, news, diff, started, result)
                    });
                }
                Plan::Create(declared) => creates.push(declared),
                Plan::Delete(index) => deletes.push(index),
            }
        }
        while let Some(joined) = updates.join_next().await {
            let (index, news, diff, started, result) =
                joined.map_err(|e| format!("an update task failed: {e}"))?;
            let outputs = result.map_err(|e| e.to_string())?;
            let live = &mut self.live[index];
            render::resource(
                Op::Update,
                live.declared.type_token,
                &live.declared.name,
                format!(
                    "updated ({}) [{}]",
                    render::elapsed(started.elapsed()),
                    diff.changed.join(", ")
                ),
            );
            live.inputs = news;
            live.outputs = outputs;
            tally.add("updated");
        }
        self.create_all(creates, tally).await?;
        for index in deletes.into_iter().rev() {
            let live = self.live.remove(index);
            self.delete_one(&live).await?;
            tally.add("deleted");
        }
        Ok(())
    }

    async fn delete_one(&self, live: &Live) -> Result<(), String> {
        let started = Instant::now();
        render::resource(
            Op::Delete,
            live.declared.type_token,
            &live.declared.name,
            "deleting...",
        );
        self.rpc
            .delete(&live.target(), &live.id, &live.outputs, &live.inputs)
            .await
            .map_err(|e| e.to_string())?;
        render::resource(
            Op::Delete,
            live.declared.type_token,
            &live.declared.name,
            format!("deleted ({})", render::elapsed(started.elapsed())),
        );
        Ok(())
    }

    /// `pulumi refresh`: Read every resource and take what it finds as the new state, showing
    /// the inputs that drifted from what the state held and what is gone.
    pub async fn refresh(&mut self) -> Result<Tally, String> {
        let started = Instant::now();
        let mut tally = Tally::default();
        let mut reads = JoinSet::new();
        for (index, live) in self.live.iter().enumerate() {
            let rpc = self.rpc.clone();
            let live = live.clone();
            reads.spawn(async move {
                let result = rpc
                    .read(&live.target(), &live.id, &live.outputs, &live.inputs)
                    .await;
                (index, result)
            });
        }
        let mut results = BTreeMap::new();
        while let Some(joined) = reads.join_next().await {
            let (index, result) = joined.map_err(|e| format!("a read task failed: {e}"))?;
            results.insert(index, result.map_err(|e| e.to_string())?);
        }
        let mut gone = Vec::new();
        for (index, found) in results {
            let live = &mut self.live[index];
            let (type_token, name) = (live.declared.type_token, live.declared.name.clone());
            match found {
                None => {
                    render::resource(Op::Delete, type_token, &name, "deleted outside the stack");
                    gone.push(index);
                    tally.add("deleted outside");
                }
                Some((outputs, mut inputs)) => {
                    inputs.inherit_secrets(&live.inputs);
                    let drift = render::changes(&live.inputs, &inputs, None);
                    if drift.is_empty() {
                        tally.add("unchanged");
                    } else {
                        render::resource(Op::Refresh, type_token, &name, "drifted");
                        for line in drift {
                            render::detail(line);
                        }
                        tally.add("drifted");
                    }
                    live.inputs = inputs;
                    live.outputs = outputs;
                }
            }
        }
        for index in gone.into_iter().rev() {
            self.live.remove(index);
        }
        tally.summary(started);
        Ok(tally)
    }

    /// `pulumi destroy`: deletes every resource once nothing that refers to it is left,
    /// independent ones at once.
    pub async fn destroy(&mut self) -> Result<Tally, String> {
        let started = Instant::now();
        let mut tally = Tally::default();
        let mut running = JoinSet::new();
        let mut deleting = BTreeSet::new();
        let mut failure = None;
        loop {
            if failure.is_none() {
                let ready: Vec<Live> = self
                    .live
                    .iter()
                    .filter(|l| !deleting.contains(&l.declared.name))
                    .filter(|l| {
                        !self
                            .live
                            .iter()
                            .any(|other| other.declared.depends_on().contains(&l.declared.name))
                    })
                    .cloned()
                    .collect();
                for live in ready {
                    deleting.insert(live.declared.name.clone());
                    render::resource(
                        Op::Delete,
                        live.declared.type_token,
                        &live.declared.name,
                        "deleting...",
                    );
                    let rpc = self.rpc.clone();
                    running.spawn(async move {
                        let started = Instant::now();
                        let result = rpc
                            .delete(&live.target(), &live.id, &live.outputs, &live.inputs)
                            .await;
                        (live, started, result)
                    });
                }
            }
            let Some(joined) = running.join_next().await else {
                break;
            };
            let (live, started, result) =
                joined.map_err(|e| format!("a delete task failed: {e}"))?;
            match result {
                Ok(()) => {
                    render::resource(
                        Op::Delete,
                        live.declared.type_token,
                        &live.declared.name,
                        format!("deleted ({})", render::elapsed(started.elapsed())),
                    );
                    self.live.retain(|l| l.declared.name != live.declared.name);
                    tally.add("deleted");
                }
                Err(e) => {
                    render::resource(
                        Op::Delete,
                        live.declared.type_token,
                        &live.declared.name,
                        "**deleting failed**",
                    );
                    failure.get_or_insert(e.to_string());
                }
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        tally.summary(started);
        Ok(tally)
    }
}

async fn create_one(
    rpc: &Rpc,
    hook: &dyn AfterCreate,
    declared: &Declared,
    news: &Props,
) -> Result<(Live, Option<(String, Props)>), String> {
    let t = target(declared);
    let checked = rpc
        .check(&t, &Props::default(), news)
        .await
        .map_err(|e| e.to_string())?;
    let (id, outputs) = rpc
        .create(&t, &checked, false)
        .await
        .map_err(|e| e.to_string())?;
    let extra = hook.after_create(declared, &outputs).await?;
    Ok((
        Live {
            declared: declared.clone(),
            id,
            inputs: checked,
            outputs,
        },
        extra,
    ))
}

/// The program's resources ordered so each comes after what it refers to (declaration order
/// where free); a cycle or a reference to nothing is the program's error.
fn topological(program: &[Declared]) -> Result<Vec<&Declared>, String> {
    let names: BTreeSet<&str> = program.iter().map(|d| d.name.as_str()).collect();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < program.len() {
        let next = program.iter().find(|d| {
            !placed.contains(d.name.as_str())
                && d.depends_on()
                    .iter()
                    .all(|dep| !names.contains(dep.as_str()) || placed.contains(dep.as_str()))
        });
        let Some(next) = next else {
            return Err("the program's references form a cycle".to_owned());
        };
        placed.insert(&next.name);
        order.push(next);
    }
    Ok(order)
}
