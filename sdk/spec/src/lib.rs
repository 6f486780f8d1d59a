//! The service specification data model and its validation rules, shared by the DSL macros and the runtime.
