//! Persistent scheduler state: the Persister interface, its backends, and the stores built on it.
