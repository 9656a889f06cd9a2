//! The binary's own modules: the command line and what each subcommand does.
//! The library has no part of this; each subcommand is a thin caller of it.

pub mod args;
pub mod check;
pub mod control;
pub mod replay;
pub mod run;
