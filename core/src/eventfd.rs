//! A Linux eventfd used as a level-triggered "something happened" flag: one
//! side writes, the other polls it (an event loop, or Tokio's reactor) and
//! clears it. The completion queue and the pipe's writer doorbell use it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A non-blocking eventfd; readable while its counter is not zero.
pub(crate) struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    pub(crate) fn new() -> io::Result<Self> {
        // SAFETY: eventfd takes no pointers; a negative result is checked below.
        let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        Ok(Self {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        })
    }

    /// Makes the descriptor readable (adds one to the counter).
    pub(crate) fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64. The only possible failure is
        // EAGAIN when the counter is saturated, which still leaves it readable.
        unsafe {
            libc::write(
                self.fd.as_raw_fd(),
                std::ptr::from_ref(&one).cast(),
                std::mem::size_of::<u64>(),
            );
        }
    }

    /// Resets the counter to zero, so the descriptor is no longer readable.
    pub(crate) fn clear(&self) {
        let mut count: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64. EAGAIN (nothing to
        // clear) is expected when the flag was not set.
        unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                std::ptr::from_mut(&mut count).cast(),
                std::mem::size_of::<u64>(),
            );
        }
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(fd: &EventFd) -> bool {
        let mut pollfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, zero timeout.
        unsafe { libc::poll(&raw mut pollfd, 1, 0) == 1 }
    }

    #[test]
    fn readable_from_notify_until_cleared() {
        let fd = EventFd::new().unwrap();
        assert!(!readable(&fd));
        fd.notify();
        fd.notify();
        assert!(readable(&fd));
        fd.clear();
        assert!(!readable(&fd));
        // Clearing a flag that is not set is harmless (EAGAIN is expected).
        fd.clear();
        assert!(!readable(&fd));
    }
}
