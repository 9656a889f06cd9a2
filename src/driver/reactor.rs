//! Registering our own descriptors with tokio's reactor, safely.
//!
//! `AsyncFd::register` is unsafe because tokio cannot know that the value
//! owns its descriptor for its whole life. The types below do (each holds an
//! `OwnedFd` or is a std socket), so registration through [`OwnsFd`] is sound.

use std::io;
use std::os::fd::AsRawFd;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Values that own their file descriptor until dropped and never change it.
pub trait OwnsFd: AsRawFd + sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::super::tap::Tap {}
    impl Sealed for std::net::UdpSocket {}
}

impl OwnsFd for super::tap::Tap {}
impl OwnsFd for std::net::UdpSocket {}

/// Register `value` with the current runtime's reactor.
pub fn register<T: OwnsFd>(value: T, interest: Interest) -> io::Result<AsyncFd<T>> {
    // SAFETY: `T: OwnsFd` owns its descriptor for as long as it lives and
    // always returns the same one, which is the contract of `register`.
    unsafe { AsyncFd::register_with_interest(value, interest) }.map_err(|e| e.into_parts().1)
}
