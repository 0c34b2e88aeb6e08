//! Fault injection for tests, in debug builds only.
//!
//! Some failures no input can cause: a panic inside the code that serves a
//! request is a bug, and the promise is that it fails that request (and at
//! worst the others on its connection) with an error, while the process,
//! the runtime's threads and later requests carry on. To test that promise,
//! a test arms a [`PanicSite`] with [`panic_next`]; the next request that
//! passes through that site panics there, once.
//!
//! Release builds keep the sites' calls to [`maybe_panic`], which compile
//! to nothing there, and have no [`panic_next`].

/// Where an armed panic fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PanicSite {
    /// A connection's reader task, on a runtime thread, as it hands a reply
    /// to the request waiting for it (`connection::pipe`).
    Reader = 1,
    /// The uds listener's reply conversion, on a runtime thread, as it turns
    /// a request's outcome into a response frame.
    Listener = 2,
    /// The Python binding's reply conversion (a reply into Python objects).
    Reply = 3,
}

#[cfg(debug_assertions)]
static ARMED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Makes the next request that reaches `site` panic there; `None` disarms.
/// One site is armed at a time, for one panic.
#[cfg(debug_assertions)]
pub fn panic_next(site: Option<PanicSite>) {
    ARMED.store(
        site.map_or(0, |site| site as u8),
        std::sync::atomic::Ordering::SeqCst,
    );
}

/// Panics if `site` is armed (and disarms it). Nothing in release builds.
#[inline]
pub fn maybe_panic(site: PanicSite) {
    #[cfg(debug_assertions)]
    {
        use std::sync::atomic::Ordering;
        let armed = site as u8;
        if ARMED.load(Ordering::Relaxed) == armed
            && ARMED
                .compare_exchange(armed, 0, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        {
            panic!("babushka's debug hook panicked at {site:?}, as a test asked");
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = site;
}

#[cfg(all(test, debug_assertions))]
mod tests {
    use super::*;

    #[test]
    fn an_armed_site_panics_once() {
        panic_next(Some(PanicSite::Reply));
        maybe_panic(PanicSite::Reader); // another site: nothing
        let caught = std::panic::catch_unwind(|| maybe_panic(PanicSite::Reply));
        assert!(caught.is_err());
        maybe_panic(PanicSite::Reply); // disarmed by the first
        panic_next(Some(PanicSite::Reply));
        panic_next(None);
        maybe_panic(PanicSite::Reply);
    }
}
