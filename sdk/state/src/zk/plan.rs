//! Turns a batch of [`Op`]s into ZooKeeper writes and commits them.
//!
//! ZooKeeper has no "create or update" and no recursive delete, so the batch is first
//! planned against a view of the tree (listings read from the server, then updated by the
//! batch's own effects): a `Set` becomes creates for missing ancestors plus a create or a
//! set-data, a `Delete` becomes deletes of the whole subtree, children first. A failing
//! operation (deleting a missing node) is found while planning, before anything is written.
//! The plan is then committed as `multi` requests of bounded size.

use std::collections::{BTreeSet, HashMap, HashSet};

use futures::future::join_all;
use zookeeper_client as zk;

use super::{Session, znode};
use crate::error::{Result, StateError};
use crate::path;
use crate::persister::Op;

/// One ZooKeeper write, on a normalised state path.
#[derive(Debug)]
enum Write {
    Create(String, Vec<u8>),
    SetData(String, Vec<u8>),
    Delete(String),
}

impl Write {
    fn path(&self) -> &str {
        match self {
            Write::Create(p, _) | Write::SetData(p, _) | Write::Delete(p) => p,
        }
    }

    /// Approximate bytes the write adds to a request.
    fn size(&self) -> usize {
        let data = match self {
            Write::Create(_, d) | Write::SetData(_, d) => d.len(),
            Write::Delete(_) => 0,
        };
        64 + self.path().len() + data
    }
}

/// The children of every node seen so far, as the batch leaves them.
#[derive(Default)]
struct View {
    listing: HashMap<String, BTreeSet<String>>,
}

fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

impl View {
    /// Reads the listings of `nodes` concurrently (missing nodes are skipped).
    async fn prefetch(&mut self, session: &Session, nodes: HashSet<String>) -> Result<()> {
        let nodes: Vec<String> = nodes
            .into_iter()
            .filter(|n| !self.listing.contains_key(n))
            .collect();
        let client = &session.client;
        let answers = join_all(nodes.iter().map(|n| client.list_children(&znode(n)))).await;
        for (node, answer) in nodes.into_iter().zip(answers) {
            match answer {
                Ok(children) => {
                    self.listing.insert(node, children.into_iter().collect());
                }
                Err(zk::Error::NoNode) => {}
                Err(e) => return Err(session.error(&node, e)),
            }
        }
        Ok(())
    }

    /// The children of an existing node.
    async fn load(&mut self, session: &Session, node: &str) -> Result<&BTreeSet<String>> {
        if !self.listing.contains_key(node) {
            let names = match session.client.list_children(&znode(node)).await {
                Ok(names) => names.into_iter().collect(),
                Err(zk::Error::NoNode) => BTreeSet::new(),
                Err(e) => return Err(session.error(node, e)),
            };
            self.listing.insert(node.to_owned(), names);
        }
        Ok(&self.listing[node])
    }

    async fn exists(&mut self, session: &Session, node: &str) -> Result<bool> {
        if node.is_empty() {
            return Ok(true);
        }
        let mut parent = "";
        let mut end = 0;
        for segment in node.split('/') {
            end += segment.len();
            if !self.load(session, parent).await?.contains(segment) {
                return Ok(false);
            }
            parent = &node[..end];
            end += 1;
        }
        Ok(true)
    }

    fn created(&mut self, node: &str) {
        let (parent, name) = split(node);
        self.listing
            .entry(parent.to_owned())
            .or_default()
            .insert(name.to_owned());
        self.listing.insert(node.to_owned(), BTreeSet::new());
    }

    fn removed(&mut self, node: &str) {
        self.listing.remove(node);
        let (parent, name) = split(node);
        if let Some(children) = self.listing.get_mut(parent) {
            children.remove(name);
        }
    }

    /// Plans the deletion of `node` and its subtree, children first.
    async fn delete_subtree(
        &mut self,
        session: &Session,
        node: &str,
        writes: &mut Vec<Write>,
    ) -> Result<()> {
        let mut stack = vec![(node.to_owned(), false)];
        while let Some((current, expanded)) = stack.pop() {
            if expanded {
                self.removed(&current);
                writes.push(Write::Delete(current));
                continue;
            }
            let children: Vec<String> = self
                .load(session, &current)
                .await?
                .iter()
                .map(|c| format!("{current}/{c}"))
                .collect();
            stack.push((current, true));
            stack.extend(children.into_iter().map(|c| (c, false)));
        }
        Ok(())
    }
}

/// Plans and commits `ops` (paths already normalised and values checked).
pub(super) async fn apply(session: &Session, ops: Vec<Op>, budget: usize) -> Result<()> {
    let mut view = View::default();
    let mut wanted: HashSet<String> = HashSet::from([String::new()]);
    for op in &ops {
        if let Op::Set { path, .. } = op {
            wanted.extend(path::ancestors(path).map(str::to_owned));
        }
    }
    view.prefetch(session, wanted).await?;

    let mut writes = Vec::new();
    for op in ops {
        match op {
            Op::Set { path, value } => {
                for ancestor in path::ancestors(&path) {
                    if !view.exists(session, ancestor).await? {
                        view.created(ancestor);
                        writes.push(Write::Create(ancestor.to_owned(), Vec::new()));
                    }
                }
                if view.exists(session, &path).await? {
                    writes.push(Write::SetData(path, value));
                } else {
                    view.created(&path);
                    writes.push(Write::Create(path, value));
                }
            }
            Op::Delete { path } if path.is_empty() => {
                let top: Vec<String> = view.load(session, "").await?.iter().cloned().collect();
                for child in top {
                    view.delete_subtree(session, &child, &mut writes).await?;
                }
            }
            Op::Delete { path } => {
                if !view.exists(session, &path).await? {
                    return Err(StateError::NotFound { path });
                }
                view.delete_subtree(session, &path, &mut writes).await?;
            }
        }
    }
    commit(session, writes, budget).await
}

/// Commits `writes` in order, as few `multi` requests as the size budget allows.
async fn commit(session: &Session, writes: Vec<Write>, budget: usize) -> Result<()> {
    let mut start = 0;
    let mut chunk = 0;
    while start < writes.len() {
        let mut end = start;
        let mut size = 0;
        while end < writes.len() && (end == start || size + writes[end].size() <= budget) {
            size += writes[end].size();
            end += 1;
        }
        commit_one(session, &writes[start..end])
            .await
            .inspect_err(|e| {
                if chunk > 0 {
                    tracing::warn!(
                        error = %e,
                        committed = start,
                        total = writes.len(),
                        "a large state batch was only partly written"
                    );
                }
            })?;
        start = end;
        chunk += 1;
    }
    Ok(())
}

async fn commit_one(session: &Session, writes: &[Write]) -> Result<()> {
    let options = zk::CreateMode::Persistent.with_acls(session.acls());
    let mut multi = session.client.new_multi_writer();
    for write in writes {
        let znode = znode(write.path());
        let added = match write {
            Write::Create(_, data) => multi.add_create(&znode, data, &options),
            Write::SetData(_, data) => multi.add_set_data(&znode, data, None),
            Write::Delete(_) => multi.add_delete(&znode, None),
        };
        added.map_err(|e| session.error(write.path(), e))?;
    }
    match multi.commit().await {
        Ok(_) => Ok(()),
        Err(zk::MultiWriteError::OperationFailed { index, source }) => {
            let path = writes.get(index).map_or("", |w| w.path());
            Err(session.error(path, source))
        }
        Err(zk::MultiWriteError::RequestFailed { source }) => Err(session.error("", source)),
    }
}
