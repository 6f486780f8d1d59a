//! The Persister suite against the in-memory backend.

mod common;

use stead_state::{MemPersister, Persister};

fn fresh() -> Option<(Box<dyn Persister>, ())> {
    Some((Box::new(MemPersister::new()), ()))
}

persister_suite!(fresh);
