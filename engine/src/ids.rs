//! Typed ids: indices into the engine's vectors, one type per kind of entity,
//! so that a thread id can never be passed where a core id is expected.

use std::fmt;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);
        impl $name {
            /// The index into the owning vector.
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

typed_id!(/// A Python thread.
    ThreadId, "thread#");
typed_id!(/// A CPU core.
    CoreId, "core#");
typed_id!(/// An OS process (with its own interpreters and GILs).
    ProcessId, "process#");
typed_id!(/// A Python interpreter; each has its own GIL (PEP 684).
    InterpId, "interp#");
typed_id!(/// An I/O device (a disk, a network link).
    DeviceId, "device#");
typed_id!(/// A `threading.Lock`.
    LockId, "lock#");
typed_id!(/// A queue between threads (`queue.Queue`) or processes (`multiprocessing.Queue`).
    QueueId, "queue#");
typed_id!(/// A thread or process pool.
    PoolId, "pool#");
typed_id!(/// A listening socket served by threads of the same simulation (an in-model peer).
    ListenerId, "listener#");
typed_id!(/// An asyncio event loop.
    LoopId, "loop#");
typed_id!(/// An arrival source: an open workload sending requests to a listener.
    SourceId, "source#");
