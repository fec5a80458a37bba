// Package fake holds scriptable, inspectable stand-ins for every hal device,
// for tests, scenarios and the simulated board. A fake does what its device
// would do with the bytes it is given (a PIN pad builds and encrypts a real
// PIN block, a strict card fails on any APDU its script did not expect), so
// that the firmware above it runs exactly as it would on hardware.
//
// It must not know anything about payments beyond hal's value types.
package fake

import "sync"

// queue is a FIFO that wakes waiters, shared by the input fakes.
type queue[T any] struct {
	mu    sync.Mutex
	items []T
	ready chan struct{} // closed and replaced whenever an item is pushed
}

func newQueue[T any]() *queue[T] { return &queue[T]{ready: make(chan struct{})} }

func (q *queue[T]) push(v ...T) {
	q.mu.Lock()
	q.items = append(q.items, v...)
	close(q.ready)
	q.ready = make(chan struct{})
	q.mu.Unlock()
}

// pop returns the head, or a channel that is closed when something arrives.
func (q *queue[T]) pop() (T, bool, <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var zero T
	if len(q.items) == 0 {
		return zero, false, q.ready
	}
	v := q.items[0]
	q.items = q.items[1:]
	return v, true, nil
}

// dropLast removes the latest item not yet taken that match accepts, and
// reports whether there was one.
func (q *queue[T]) dropLast(match func(T) bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := len(q.items) - 1; i >= 0; i-- {
		if match(q.items[i]) {
			q.items = append(q.items[:i], q.items[i+1:]...)
			return true
		}
	}
	return false
}

func (q *queue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
