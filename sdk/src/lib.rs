//! Stead: an SDK for running highly available stateful services on Mesos or on its embedded local cluster.
