//! The `stead` command-line tool.

fn main() {}
