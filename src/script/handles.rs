//! Handles: the values `app.add_thread(...)`, `app.add_lock(...)` and the
//! other `add_*` methods of a `Program` return (`Thread`, `Process`,
//! `Interpreter`, `Lock`, `Queue`, `Device`, `Listener`, `Pool`), and that steps use to
//! name what they act on (`acquire(lock)`, `join(thread)`).
//!
//! `model.rs` makes them and `workload.rs` takes them; they live apart from
//! both so that neither imports the other for them.

use super::api::Api;
use std::fmt;

macro_rules! handle {
    ($(#[$doc:meta])* $name:ident, $script:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            /// The name it was declared with.
            pub name: String,
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($kind, "(\"{}\")"), self.name)
            }
        }
        impl $name {
            fn register(api: &mut Api) {
                api.engine()
                    .register_type_with_name::<$name>($script)
                    .register_fn("to_string", |h: &mut $name| h.to_string())
                    .register_fn("to_debug", |h: &mut $name| h.to_string())
                    .register_fn("name", |h: &mut $name| h.name.clone())
                    .register_fn("==", |a: $name, b: $name| a == b)
                    .register_fn("!=", |a: $name, b: $name| a != b);
            }
        }
    };
}

handle!(/// A declared thread.
    ThreadRef, "Thread", "thread");
handle!(/// A declared child process.
    ProcessRef, "Process", "process");
handle!(/// A declared interpreter.
    InterpRef, "Interpreter", "interpreter");
handle!(/// A declared lock.
    LockRef, "Lock", "lock");
handle!(/// A declared queue.
    QueueRef, "Queue", "queue");
handle!(/// A declared I/O device.
    DeviceRef, "Device", "device");
handle!(/// A declared listening socket, served by threads of the program.
    ListenerRef, "Listener", "listener");
handle!(/// A declared pool.
    PoolRef, "Pool", "pool");

/// Registers the handle types: their names, `to_string`, `name`, `==`, `!=`.
pub fn register(api: &mut Api) {
    ThreadRef::register(api);
    ProcessRef::register(api);
    InterpRef::register(api);
    LockRef::register(api);
    QueueRef::register(api);
    DeviceRef::register(api);
    ListenerRef::register(api);
    PoolRef::register(api);
}
