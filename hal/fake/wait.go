package fake

import "context"

// next blocks until q has an item or ctx is done.
func next[T any](ctx context.Context, q *queue[T]) (T, error) {
	for {
		v, ok, ready := q.pop()
		if ok {
			return v, nil
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-ready:
		}
	}
}
