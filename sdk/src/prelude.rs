//! Everything a service author needs: `use stead::prelude::*;`.
