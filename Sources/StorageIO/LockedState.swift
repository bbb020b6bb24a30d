import Glibc

/// A value behind a pthread mutex, for state that many threads touch in short critical sections.
///
/// `Synchronization.Mutex` on Linux is a priority-inheriting futex: every contended acquisition
/// goes through the kernel's rt-mutex, which costs far more than the critical sections it guards
/// here (the store's state lock measured 14 % of the workflow-task transaction's CPU in it). This
/// is an adaptive mutex instead: a waiter spins briefly before it sleeps, which suits sections of
/// a few microseconds held by threads that are running.
package final class LockedState<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value

    package init(_ value: Value) {
        self.value = value
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always)
    package func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
