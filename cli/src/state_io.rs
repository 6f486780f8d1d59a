//! `stead state export|import`: copies a service's whole state between backends, for
//! example from a single machine's redb file to ZooKeeper when the service moves to a
//! cluster.
//!
//! A location is a state directory (holding `state.redb`), a `.redb` file, or a ZooKeeper
//! URL `zk://[user:password@]host:port[,host:port][/path]` (the state is at the URL's
//! path, or at `/stead/<service>` with `--service`). The dump is JSON
//! ([`stead_state::StateDump`]). Importing into ZooKeeper takes the service's lock, so it
//! never overwrites the state of a running scheduler.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use stead_state::zk::{ZkOptions, ZkUrl};
use stead_state::{ImportMode, Persister, RedbPersister, StateDump, StateError, ZkPersister};

use super::CliError;
use stead::scheduler::STATE_FILE;

/// `stead state export`: prints the whole state as JSON.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The state to read: a state directory (holding state.redb), a .redb file, or
    /// zk://[user:password@]host:port[,host:port][/path].
    #[arg(long, value_name = "DIR|FILE|ZK_URL")]
    pub from: String,
    /// The service, for a zk:// URL without a path (the state is at /stead/<service>).
    #[arg(long)]
    pub service: Option<String>,
    /// Write the dump to this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `stead state import`: writes a dump made by `stead state export`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The state to write: a state directory (state.redb is created in it), a .redb file,
    /// or zk://[user:password@]host:port[,host:port][/path].
    #[arg(long, value_name = "DIR|FILE|ZK_URL")]
    pub to: String,
    /// The service, for a zk:// URL without a path (the state is at /stead/<service>).
    #[arg(long)]
    pub service: Option<String>,
    /// Read the dump from this file instead of standard input.
    #[arg(long, short, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Replace any state already at the target (refused by default).
    #[arg(long)]
    pub replace: bool,
    /// Print `{"imported": <nodes>, "to": <location>}` instead of a sentence.
    #[arg(long)]
    pub json: bool,
}

/// An opened state location.
enum Opened {
    /// A redb file.
    Redb(RedbPersister),
    /// A ZooKeeper state root.
    Zk(ZkPersister),
}

impl Opened {
    fn persister(&self) -> &dyn Persister {
        match self {
            Opened::Redb(p) => p,
            Opened::Zk(p) => p,
        }
    }
}

/// The redb file of a directory or file location.
fn redb_file(location: &str) -> PathBuf {
    let path = Path::new(location);
    if path.extension().is_some_and(|e| e == "redb") {
        path.to_path_buf()
    } else {
        path.join(STATE_FILE)
    }
}

/// Opens `location`; a redb file must already exist unless `create`.
fn open(location: &str, service: Option<&str>, create: bool) -> Result<Opened, StateError> {
    if location.starts_with("zk://") {
        let url = ZkUrl::parse(location)?;
        let zk = match (&url.path, service) {
            (Some(root), _) => ZkPersister::connect_with(&url, root, ZkOptions::default())?,
            (None, Some(service)) => ZkPersister::connect(location, service)?,
            (None, None) => {
                return Err(StateError::InvalidUrl {
                    url: url.to_string(),
                    reason: "give the state's znode in the URL or the service with --service \
                             (the state is then at /stead/<service>)"
                        .into(),
                });
            }
        };
        return Ok(Opened::Zk(zk));
    }
    let file = redb_file(location);
    if !create && !file.exists() {
        return Err(StateError::Io {
            path: file,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no state here"),
        });
    }
    Ok(Opened::Redb(RedbPersister::open(file)?))
}

/// Reads the whole state at `from` (see the module documentation for locations).
pub fn export_state(from: &str, service: Option<&str>) -> Result<StateDump, CliError> {
    let opened = open(from, service, false)?;
    Ok(stead_state::export(opened.persister())?)
}

/// Writes `dump` to `to`, replacing what is there only with `replace`; returns the number
/// of nodes written. ZooKeeper targets are written under the service's lock.
pub fn import_state(
    to: &str,
    service: Option<&str>,
    dump: &StateDump,
    replace: bool,
) -> Result<usize, CliError> {
    let opened = open(to, service, true)?;
    let lock = match &opened {
        Opened::Zk(zk) => Some(zk.lock(false)?),
        Opened::Redb(_) => None,
    };
    let mode = if replace {
        ImportMode::Replace
    } else {
        ImportMode::RequireEmpty
    };
    let imported = stead_state::import(opened.persister(), dump, mode);
    // Released before the process ends: dropped, the lock is deleted in the background,
    // and a process that exits first leaves it held until its session expires.
    if let Some(lock) = lock {
        lock.release()?;
    }
    Ok(imported?)
}

/// Runs `stead state export`.
pub(super) fn export(args: ExportArgs) -> Result<(), CliError> {
    let dump = export_state(&args.from, args.service.as_deref())?;
    let mut text = serde_json::to_string_pretty(&dump)
        .map_err(|e| CliError::Decode(format!("cannot encode the dump: {e}")))?;
    text.push('\n');
    match &args.output {
        Some(path) => std::fs::write(path, text)?,
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
    }
    eprintln!("exported {} nodes from {}", dump.nodes.len(), args.from);
    Ok(())
}

/// Runs `stead state import`.
pub(super) fn import(args: ImportArgs) -> Result<(), CliError> {
    let text = match &args.input {
        Some(path) => std::fs::read_to_string(path)?,
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        }
    };
    let dump: StateDump = serde_json::from_str(&text)
        .map_err(|e| CliError::Decode(format!("not a state dump: {e}")))?;
    let n = import_state(&args.to, args.service.as_deref(), &dump, args.replace)?;
    if args.json {
        return super::print_json(&serde_json::json!({ "imported": n, "to": args.to }));
    }
    super::render::emit(&format!("imported {n} nodes into {}", args.to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_hold_the_state_file() {
        assert_eq!(
            redb_file("/s/data-store"),
            Path::new("/s/data-store/state.redb")
        );
        assert_eq!(redb_file("/s/x.redb"), Path::new("/s/x.redb"));
    }

    #[test]
    fn redb_round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("a");
        let to = dir.path().join("b").join("copy.redb");
        {
            let p = RedbPersister::open(from.join(STATE_FILE)).unwrap();
            p.set("FrameworkID", b"fw-1").unwrap();
            p.set("Tasks/data-0/TaskInfo", b"\x00\x01").unwrap();
        }
        let from = from.to_string_lossy().to_string();
        let to = to.to_string_lossy().to_string();
        let dump = export_state(&from, None).unwrap();
        assert_eq!(
            import_state(&to, None, &dump, false).unwrap(),
            dump.nodes.len()
        );
        assert_eq!(export_state(&to, None).unwrap(), dump);
        let again = import_state(&to, None, &dump, false).unwrap_err();
        assert!(again.to_string().contains("not empty"), "{again}");
        assert!(import_state(&to, None, &dump, true).is_ok());

        let missing = dir.path().join("nothing").to_string_lossy().to_string();
        let err = export_state(&missing, None).unwrap_err().to_string();
        assert!(err.contains("no state here"), "{err}");
        let err = export_state("zk://127.0.0.1:1", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--service"), "{err}");
    }
}
